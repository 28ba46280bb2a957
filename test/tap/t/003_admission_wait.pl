# admission_timeout: a login waits for a slot and gets it when one frees; it
# is refused when the wait runs out (bounded by authentication_timeout); a
# client that gives up while waiting leaves nothing behind.
use strict;
use warnings;

use IPC::Run;
use Time::HiRes qw(time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use PgpoolStatsTest;

my $node = pgpool_node('wait', "authentication_timeout = '5s'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('queue', 1, admission_timeout => '8 seconds');
});
my $connstr = $node->connstr('postgres') . ' user=app application_name=queue';

# Holds the one slot of "queue" for $seconds.
sub hold_slot {
    my ($seconds) = @_;
    my $h = IPC::Run::start(['psql', '-X', '-d', $connstr, '-c', "SELECT pg_sleep($seconds)"],
        '>', \my $o, '2>', \my $e);
    wait_until($node, q{SELECT connections = 1 FROM pgpool_stats.applications WHERE application_name = 'queue'},
        'the slot is held');
    return $h;
}

# 1. The wait ends in admission when the holder leaves. The holder leaves
# when the test ends it, a second after the waiter is seen waiting: a
# holder timed to leave by itself could be gone before a loaded machine
# has started the waiter (and it must be admitted before the 5 s
# authentication_timeout).
my $holder = hold_slot(60);
my $t0 = time;
my ($out, $err) = ('', '');
my $waiter = IPC::Run::start(['psql', '-X', '-At', '-d', $connstr, '-c', 'SELECT 42'],
    '>', \$out, '2>', \$err);
wait_until($node,
    q{SELECT admission_waiting = 1 FROM pgpool_stats.applications WHERE application_name = 'queue'},
    'the second login is shown in admission_waiting');
sleep 1;
$node->safe_psql('postgres', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                               WHERE application_name = 'queue' AND query LIKE 'SELECT pg_sleep%'});
$waiter->finish;
is($out, "42\n", 'the waiting login is admitted once the slot frees');
cmp_ok(time - $t0, '>=', 1, 'it really waited');
$holder->finish;
is(ledger_row($node, 'queue')->{admission_waiting}, 0, 'nobody is left waiting');

# 2. The wait is cut short by authentication_timeout (5s) before the 8s
# admission_timeout, and the client gets our refusal, not a timeout.
$holder = hold_slot(15);
$t0 = time;
$node->connect_fails($connstr, 'a wait longer than authentication_timeout ends in a refusal',
    expected_stderr => qr/too many connections for application "queue"/);
my $waited = time - $t0;
cmp_ok($waited, '>=', 4, "the refusal came after waiting ($waited s)");
# The refusal (not a timeout) is what expected_stderr saw; this bound only
# says the wait did not run on to the 8 s admission_timeout.
cmp_ok($waited, '<', 7.5, 'and before the admission_timeout of 8 s');

# 3. A client that vanishes while waiting is noticed and leaves no trace.
my $quitter = IPC::Run::start(['psql', '-X', '-d', $connstr, '-c', 'SELECT 1'], '>', \my $o3, '2>', \my $e3);
wait_until($node,
    q{SELECT admission_waiting = 1 FROM pgpool_stats.applications WHERE application_name = 'queue'},
    'a third login waits');
$quitter->signal('KILL');
$quitter->finish;
wait_until($node,
    q{SELECT admission_waiting = 0 FROM pgpool_stats.applications WHERE application_name = 'queue'},
    'the vanished client is no longer waiting');
ok($node->log_contains(qr/client of application "queue" disconnected while waiting for admission/),
    'the server noticed the client leave');
is(ledger_row($node, 'queue')->{connections}, 1, 'only the holder is charged');
$node->safe_psql('postgres',
    q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'queue'});
$holder->finish;

wait_until($node,
    q{SELECT connections = 0 FROM pgpool_stats.applications WHERE application_name = 'queue'},
    'the holder is released');
ledger_matches_activity($node, 'after the waits');

# 4. First come, first served: 20 logins of a budget of 2 arrive 150 ms apart
# and each holds its session 0.9 s, so slots free one at a time while up to 18
# wait. They are admitted in arrival order (no pair out of order; the
# condition-variable race admitted 72 of 190 pairs out of order), and one
# that gives up while waiting (client 5) blocks no one behind it.
$node->safe_psql('postgres',
    q{SELECT pgpool_stats.set_budget('line', 2, admission_timeout => '20 seconds')});
$node->safe_psql('postgres', q{ALTER SYSTEM SET authentication_timeout = '60s'; SELECT pg_reload_conf()});
my ($json, $stderr) = run_command(['/usr/bin/python3', "$ENV{PGPOOL_STATS_ROOT}/test/clients/arrival_order.py",
    $node->host, $node->port, 'line', 20, 0.15, 0.9, 5]);
my $r = JSON::PP::decode_json($json);
is_deeply($r->{gave_up}, [5], 'client 5 gave up while waiting');
is_deeply($r->{refused}, [], 'nobody was refused');
my @order = @{ $r->{order} };
is(scalar(@order), 19, 'the 19 others were admitted');
my $inversions = 0;
for my $i (0 .. $#order) {
    $inversions += grep { $order[$_] < $order[$i] } $i + 1 .. $#order;
}
is($inversions, 0, 'admitted in arrival order (pairs out of order: ' . $inversions . ')')
    or diag("order: @order");
wait_until($node,
    q{SELECT connections = 0 AND admission_waiting = 0 FROM pgpool_stats.applications WHERE application_name = 'line'},
    'everyone left, nobody waits');
ledger_matches_activity($node, 'after the line');
$node->stop;
done_testing();
