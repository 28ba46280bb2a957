# Login storms against budgets: exactly the budget is admitted, every time,
# with the right error for everyone else; monitor mode, superusers, the
# enforce switch; budget changes reach logins at commit, rollbacks never.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('storms', "max_connections = 130\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('api', 10);
});

for my $round (1 .. 3) {
    my $s = storm($node, app => 'api', user => 'app', count => 100);
    is($s->{admitted}, 10, "round $round: exactly 10 of 100 concurrent logins admitted");
    is($s->{rejected}, 90, "round $round: the other 90 refused");
    is_deeply($s->{sqlstates}, { '53300' => 90 }, "round $round: every refusal is SQLSTATE 53300");
    like($s->{messages}[0] // '', qr/too many connections for application "api"/,
        "round $round: the message names the application");
}
my $api = ledger_row($node, 'api');
is($api->{admitted}, 30, 'admitted counts every admitted login');
is($api->{rejected}, 270, 'rejected counts every refusal');
is($api->{peak_connections}, 10, 'the peak never passed the budget');
ledger_matches_activity($node, 'after the storms');

# A budget change reaches logins when it commits. The worker, which would
# reload it within a second anyway, is stopped meanwhile, so only the commit
# path can make the next login see it.
my $worker_pid = $node->safe_psql('postgres',
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgpool_stats'");
ok($worker_pid =~ /^\d+$/, 'the worker is visible as backend_type pgpool_stats');
kill 'STOP', $worker_pid;
my $app_connstr = $node->connstr('postgres') . ' user=app application_name=api';
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('api', 0)});
$node->connect_fails($app_connstr, 'a committed budget of 0 refuses the very next login',
    expected_stderr => qr/too many connections for application "api"/);
$node->safe_psql('postgres', q{
    BEGIN; SELECT pgpool_stats.set_budget('api', 10); ROLLBACK;
});
$node->connect_fails($app_connstr, 'a rolled-back change never takes effect',
    expected_stderr => qr/too many connections for application "api"/);
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('api', 10)});
$node->connect_ok($app_connstr, 'raising the budget admits the very next login');
kill 'CONT', $worker_pid;

# Monitor mode admits everyone and counts what enforce would have refused.
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('watched', 4, mode => 'monitor')});
my $s = storm($node, app => 'watched', user => 'app', count => 12);
is($s->{admitted}, 12, 'monitor mode: all 12 admitted');
my $watched = ledger_row($node, 'watched');
is($watched->{would_reject}, 8, 'monitor mode: the 8 over budget are counted in would_reject');
is($watched->{rejected}, 0, 'monitor mode: nobody rejected');

# Superusers are counted but never refused while exempt_superusers is on.
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('ops', 2)});
$s = storm($node, app => 'ops', user => 'postgres', count => 6);
is($s->{admitted}, 6, 'superusers over budget are admitted');
is(ledger_row($node, 'ops')->{peak_connections}, 6, 'and counted');
$node->safe_psql('postgres', q{
    ALTER SYSTEM SET pgpool_stats.exempt_superusers = off; SELECT pg_reload_conf();
});
wait_until($node, q{SELECT current_setting('pgpool_stats.exempt_superusers') = 'off'},
    'exempt_superusers off is in effect');
$s = storm($node, app => 'ops', user => 'postgres', count => 6);
is($s->{admitted}, 2, 'with exempt_superusers off, superusers get their budget too');

# enforce = off: the master switch turns every refusal into would_reject.
$node->safe_psql('postgres', q{
    ALTER SYSTEM SET pgpool_stats.enforce = off; SELECT pg_reload_conf();
});
wait_until($node, q{SELECT current_setting('pgpool_stats.enforce') = 'off'}, 'enforce off is in effect');
$s = storm($node, app => 'api', user => 'app', count => 25);
is($s->{admitted}, 25, 'enforce off: everyone admitted');
is(ledger_row($node, 'api')->{would_reject}, 15, 'enforce off: 15 counted as would_reject');
$node->safe_psql('postgres', q{
    ALTER SYSTEM RESET pgpool_stats.enforce; ALTER SYSTEM RESET pgpool_stats.exempt_superusers;
    SELECT pg_reload_conf();
});
wait_until($node, q{SELECT current_setting('pgpool_stats.enforce') = 'on'}, 'enforce is on again');

# An application_name outside printable ASCII is charged as PostgreSQL cleans
# it, from the parameter and from -c in options alike: each byte becomes '?'
# up to 15, \xNN from 16 on ("caf\xc3\xa9"), which a budget may name.
my $cafe = "caf\xc3\xa9";    # UTF-8 bytes
my $clean = $node->pg_version >= 16 ? 'caf\xc3\xa9' : 'caf??';

# set_budget() refuses the raw name and its HINT names the stored form, which
# is what pg_stat_activity shows for a session connecting with it: checked
# for a short name and for 21 three-byte characters (63 bytes, the cleaned
# form clipped to 63).
for my $raw ($cafe, "\xe2\x82\xac" x 21) {
    my ($rc, $o, $e) = $node->psql('postgres', "SELECT pgpool_stats.set_budget(\$n\$$raw\$n\$, 1)",
        extra_params => ['-v', 'VERBOSITY=default']);
    my ($hinted) = $e =~ /HINT:  Budget "(.*)", the name pg_stat_activity shows for it\./;
    ok(defined $hinted, 'a name outside printable ASCII is refused with a HINT naming its stored form')
        or diag($e);
    my $session = IPC::Run::start(
        ['psql', '-X', '-q', '-d', $node->connstr('postgres') . " user=app application_name=$raw"],
        '<', \(my $in = ''), '>', \(my $out = ''), '2>', \(my $err = ''));
    wait_until($node, q{SELECT count(*) = 1 FROM pg_stat_activity WHERE usename = 'app'}, 'session up');
    is($node->safe_psql('postgres', q{SELECT application_name FROM pg_stat_activity WHERE usename = 'app'}),
        $hinted // '', 'the HINT names what pg_stat_activity shows');
    $session->kill_kill;
    $session->finish;
    wait_until($node, q{SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = 'app'}, 'session gone');
}
$node->safe_psql('postgres', "SELECT pgpool_stats.set_budget(\$n\$$clean\$n\$, 1)");
my ($in, $o, $e) = ('', '', '');
my $holder = IPC::Run::start(
    ['psql', '-X', '-q', '-d', $node->connstr('postgres') . " user=app application_name=$cafe"],
    '<', \$in, '>', \$o, '2>', \$e);
wait_until($node, qq{SELECT connections = 1 FROM pgpool_stats.applications
                     WHERE application_name = \$n\$$clean\$n\$}, "charged as \"$clean\"");
# Charged at authentication; pg_stat_activity names the role a moment later.
wait_until($node, q{SELECT count(*) = 1 FROM pg_stat_activity WHERE usename = 'app'}, 'session up');
is($node->safe_psql('postgres',
    q{SELECT application_name FROM pg_stat_activity WHERE usename = 'app'}), $clean,
    'the name pg_stat_activity shows');
{
    # Only -c in options names the application: no PGAPPNAME, and a client
    # without psql's fallback_application_name.
    local %ENV = %ENV;
    delete $ENV{PGAPPNAME};
    my ($out, $err) = run_command(['/usr/bin/python3', '-c', <<'PY', $node->host, $node->port, $cafe]);
import sys, psycopg2
host, port, app = sys.argv[1:]
try:
    psycopg2.connect(host=host, port=port, dbname="postgres", user="app",
                     options="-c application_name=" + app)
    print("admitted")
except psycopg2.OperationalError as e:
    print("refused:", e)
PY
    like($out, qr/^refused: .*too many connections for application "\Q$clean\E"/s,
        'the same name from -c in options is the same application, over its budget of 1');
}
$holder->kill_kill;
$holder->finish;
wait_until($node, qq{SELECT connections = 0 FROM pgpool_stats.applications
                     WHERE application_name = \$n\$$clean\$n\$}, 'released');

# 18+: the magic block names the library and its version (PG_MODULE_MAGIC_EXT).
SKIP: {
    skip 'pg_get_loaded_modules() exists from PostgreSQL 18 on', 1 if $node->pg_version < 18;
    is($node->safe_psql('postgres', q{SELECT module_name || ' ' || version
        FROM pg_get_loaded_modules() WHERE file_name = 'pgpool_stats.so'}), 'pgpool_stats 1.1',
        'pg_get_loaded_modules() shows pgpool_stats 1.1');
}

ledger_matches_activity($node, 'at the end');
$node->stop;
done_testing();
