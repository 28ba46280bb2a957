# The reaper, with real sessions: an idle-in-transaction session of a reaped
# application is terminated after its timeout and not before, with a clear
# error; a busy one survives; monitor mode records; superusers survive; idle
# sessions; reap() dry run and for real; the master switch.
use strict;
use warnings;

use IPC::Run;
use Time::HiRes qw(time sleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('reaper', "pgpool_stats.sample_interval = '100ms'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('leaky', 20, idle_in_transaction_timeout => '2 seconds');
    SELECT pgpool_stats.set_budget('watched', 20, mode => 'monitor', idle_in_transaction_timeout => '1 second');
    SELECT pgpool_stats.set_budget('idler', 20, idle_session_timeout => '2 seconds');
});

my %sessions;
# A psql session of APP as ROLE that runs SQL and then waits for more input.
sub open_session {
    my ($name, $app, $role, $sql) = @_;
    my %s = (in => "\\set VERBOSITY verbose\n$sql", out => '', err => '');
    $s{h} = IPC::Run::start(['psql', '-X', '-q', '-d', $node->connstr('postgres') . " application_name=$app user=$role"],
        '<', \$s{in}, '>', \$s{out}, '2>', \$s{err});
    $s{h}->pump while length $s{in};
    $sessions{$name} = \%s;
}
sub alive {
    my ($app, $role) = @_;
    return $node->safe_psql('postgres',
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$app' AND usename = '$role'");
}
sub in_transaction {
    my ($app) = @_;
    wait_until($node, "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = '$app'"
        . " AND usename = 'app' AND state = 'idle in transaction'", "$app is idle in transaction");
}

open_session('leak', 'leaky', 'app', "BEGIN;\nSELECT 1;\n");
open_session('busy', 'leaky', 'app', "BEGIN;\nSELECT pg_sleep(4);\nCOMMIT;\n");
open_session('super', 'leaky', 'postgres', "BEGIN;\nSELECT 1;\n");
open_session('watch', 'watched', 'app', "BEGIN;\nSELECT 1;\n");
open_session('idle', 'idler', 'app', "SELECT 1;\n");
in_transaction('leaky');

# When it was terminated is judged by the server's own clock (idle_for, as
# the reaper saw it), not by this script's, which a loaded machine delays.
wait_until($node, q{SELECT count(*) = 1 FROM pgpool_stats.reaped WHERE application_name = 'leaky'},
    'after its timeout the idle-in-transaction session is terminated');
my $idle_for = $node->safe_psql('postgres',
    q{SELECT extract(epoch FROM idle_for) FROM pgpool_stats.reaped WHERE application_name = 'leaky'});
cmp_ok($idle_for, '>=', 2, "not before its 2 s timeout (idle for $idle_for s)");
cmp_ok($idle_for, '<', 3.5, '... and within a few 100 ms samples of it');
wait_until($node, q{SELECT NOT EXISTS (SELECT FROM pg_stat_activity
                                       WHERE pid = (SELECT pid FROM pgpool_stats.reaped
                                                    WHERE application_name = 'leaky'))},
    'its backend has exited');
is(alive('leaky', 'postgres'), '1', 'a superuser session of the same application survives');
ok($node->log_contains(qr/pgpool_stats: terminated session \d+ of application "leaky" \(role "app"\): idle_in_transaction for/),
    'the action is in the server log');

# The terminated client is told why, with 25P03.
my $leak = $sessions{leak};
$leak->{in} .= "SELECT 2;\n";
$leak->{h}->pump while length $leak->{in};
$leak->{h}->finish;
like($leak->{err}, qr/FATAL:  25P03: terminating connection: idle in transaction longer than the idle_in_transaction_timeout of application "leaky" \(2\.0 s\)/,
    'the client sees 25P03 and why');

# The busy session ran its 4 s statement, committed, and lives on.
wait_until($node, q{SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'leaky' AND usename = 'app' AND state = 'idle'},
    'the busy session of the same application survived and is idle now');

# Monitor mode: recorded once, not terminated. Wait for the record and for
# samples of 'watched' at least 1.5 s after it: the reaper passes that follow
# those samples must neither record it again nor terminate it.
poll_until($node, q{
    SELECT (SELECT max(sample_time) FROM pgpool_stats.history
            WHERE application_name = 'watched' AND resolution = 'sample')
         > (SELECT min(reaped_at) FROM pgpool_stats.reaped WHERE application_name = 'watched') + interval '1.5 s'});
is(alive('watched', 'app'), '1', 'monitor mode: the session lives');
is($node->safe_psql('postgres', q{SELECT count(*) || '/' || min(action) || '/' || min(reason) FROM pgpool_stats.reaped
                                  WHERE application_name = 'watched'}), '1/would_terminate/idle_in_transaction',
    'monitor mode: recorded once as would_terminate');

# Idle sessions, with idle_session_timeout: 57P05.
wait_until($node, q{SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'idler'},
    'an idle session past idle_session_timeout is terminated');
my $idle = $sessions{idle};
$idle->{in} .= "SELECT 2;\n";
$idle->{h}->pump while length $idle->{in};
$idle->{h}->finish;
like($idle->{err}, qr/FATAL:  57P05: terminating connection: idle longer than the idle_session_timeout of application "idler"/,
    'the idle client sees 57P05');

# What the view and the counters say.
is($node->safe_psql('postgres', q{
    SELECT reason || '/' || action || '/' || usename || '/' || datname || '/' || (idle_for >= '2 s') || '/'
           || (xact_age IS NOT NULL) || '/' || (query = 'SELECT 1;')
    FROM pgpool_stats.reaped WHERE application_name = 'leaky'}),
    'idle_in_transaction/terminated/app/postgres/true/true/true', 'pgpool_stats.reaped describes it');
is($node->safe_psql('postgres', q{SELECT reaped FROM pgpool_stats.applications WHERE application_name = 'leaky'}),
    '1', 'applications.reaped counts it');
# pg_monitor includes pg_read_all_stats; a role granted only the view does not.
$node->safe_psql('postgres', q{
    CREATE ROLE viewer;
    GRANT SELECT ON pgpool_stats.reaped TO viewer;
    GRANT EXECUTE ON FUNCTION pgpool_stats.reaped_snapshot() TO viewer;
    CREATE ROLE watcher IN ROLE pg_monitor;
});
is($node->safe_psql('postgres', q{SET ROLE viewer; SELECT count(*) FILTER (WHERE query IS NULL) || '/' || count(*) FROM pgpool_stats.reaped}),
    '3/3', 'without pg_read_all_stats the query text is hidden');
is($node->safe_psql('postgres', q{SET ROLE watcher; SELECT count(*) FILTER (WHERE query IS NOT NULL) FROM pgpool_stats.reaped}),
    '3', 'pg_monitor (which includes pg_read_all_stats) sees it');

# reap(): a dry run touches nothing; for real, it terminates.
open_session('manual', 'manual', 'app', "BEGIN;\nSELECT 1;\n");
in_transaction('manual');
is($node->safe_psql('postgres', q{SELECT action FROM pgpool_stats.reap('manual', '0')}), 'would_terminate',
    'reap() dry run lists the session');
is(alive('manual', 'app'), '1', 'and kills nothing');
is($node->safe_psql('postgres', q{SELECT action FROM pgpool_stats.reap('manual', '0', dry_run => false)}),
    'terminated', 'reap() for real terminates it');
wait_until($node, q{SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'manual'}, 'it is gone');

# The master switch.
$node->safe_psql('postgres', q{ALTER SYSTEM SET pgpool_stats.reap = off; SELECT pg_reload_conf()});
wait_until($node, q{SELECT current_setting('pgpool_stats.reap') = 'off'}, 'reap = off is in effect');
open_session('spared', 'leaky', 'app', "BEGIN;\nSELECT 1;\n");
in_transaction('leaky');
sleep 3;  # past its 2 s timeout: with reap on, the reaper would have terminated it by now
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leaky' AND state = 'idle in transaction' AND usename = 'app'}),
    '1', 'with pgpool_stats.reap off nothing is terminated');

for my $s (values %sessions) { $s->{h}->kill_kill; }
$node->stop;
done_testing();
