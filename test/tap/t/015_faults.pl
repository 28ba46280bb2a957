# Faults around the worker and in the middle of storms: the worker stopped
# (admission goes on without it) and killed (a crash restart, after which the
# budgets hold), a pg_terminate_backend storm against a login storm, GUCs
# changed and reloaded mid-storm, budgets changed mid-storm. After each, the
# ledger equals pg_stat_activity and the budget admits exactly its cap.
# (Exits of single sessions, failed passwords, missing databases and roles,
# a SIGKILLed backend: 005_exit_paths.pl; a client vanishing during an
# admission wait: 003_admission_wait.pl.)
use strict;
use warnings;

use IPC::Run;
use Time::HiRes qw(sleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('faults',
    "max_connections = 150\nrestart_after_crash = on\npgpool_stats.sample_interval = '100ms'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('api', 10);
});

sub worker_pid {
    return $node->safe_psql('postgres',
        "SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE backend_type = 'pgpool_stats'");
}

sub budget_holds {
    my ($label, $cap) = @_;
    # After a restart the worker loads the budgets first; a login that
    # waited longer than that load could take would be admitted uncapped.
    wait_until($node, "SELECT max_connections = $cap FROM pgpool_stats.applications WHERE application_name = 'api'",
        "$label: the budget of api is loaded");
    my $s = storm($node, app => 'api', user => 'app', count => 40);
    is($s->{admitted}, $cap, "$label: $cap of 40 admitted");
    is_deeply([keys %{ $s->{sqlstates} }], ['53300'], "$label: the others refused with 53300");
    ledger_matches_activity($node, $label);
}

# A storm in the background: returns the harness and a ref to its output.
sub start_storm {
    my (%o) = @_;
    my $out = '';
    my $h = IPC::Run::start(['/usr/bin/python3', "$root/test/clients/storm.py",
        '--host', $node->host, '--port', $node->port, '--user', 'app', '--app', $o{app},
        '--count', $o{count}, '--hold', $o{hold}], '>', \$out, '2>', \my $err);
    return ($h, \$out);
}

# 1. The worker stopped by SIGTERM: admission lives in the backends and the
# shared ledger, so it goes on; the postmaster starts a new worker.
my $worker = worker_pid();
ok($worker > 0, "the worker runs (pid $worker)");
kill 'TERM', $worker;
ok(poll_until($node, "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $worker"), 'the worker is gone');
budget_holds('while the worker is away', 10);
ok(poll_until($node, "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgpool_stats' AND pid <> $worker"),
    'a new worker was started');
$node->safe_psql('postgres', "SELECT pgpool_stats.set_budget('api', 7)");
budget_holds('a budget change after the worker came back', 7);

# 2. The worker SIGKILLed: like any process attached to shared memory, the
# postmaster restarts the whole cluster; the budgets are reloaded from the
# table and hold.
$worker = worker_pid();
kill 'KILL', $worker;
ok(poll_until($node, "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgpool_stats' AND pid <> $worker"),
    'the cluster and a new worker are back after the SIGKILL');
ok($node->log_contains(qr/terminating any other active server processes/),
    'it was a crash restart (documented)');
budget_holds('after the worker was SIGKILLed', 7);

# 3. pg_terminate_backend against a storm: 100 logins hold their sessions
# while every session of the application is terminated, repeatedly.
$node->safe_psql('postgres', "SELECT pgpool_stats.set_budget('victims', 60)");
my ($h, $out) = start_storm(app => 'victims', count => 100, hold => 3);
my $killed = 0;
for (1 .. 20) {
    $killed += $node->safe_psql('postgres', q{
        SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
        WHERE application_name = 'victims' AND pid <> pg_backend_pid()});
    sleep 0.1;
}
$h->finish;
cmp_ok($killed, '>', 0, "$killed sessions terminated during the storm");
ok(poll_until($node, connections_sql('victims', '=', 0)),
    'every terminated session was released');
ledger_matches_activity($node, 'after the pg_terminate_backend storm');
my $s = storm($node, app => 'victims', user => 'app', count => 80);
is($s->{admitted}, 60, 'victims: the budget of 60 holds exactly afterwards');

# 4. GUCs changed and reloaded in the middle of storms.
($h, $out) = start_storm(app => 'api', count => 100, hold => 2);
for my $conf ("pgpool_stats.enforce = off\npgpool_stats.sample_interval = '10ms'\n",
              "pgpool_stats.enforce = on\npgpool_stats.exempt_superusers = off\n",
              "pgpool_stats.sample_interval = '1s'\npgpool_stats.reap = off\n") {
    $node->append_conf('postgresql.conf', $conf);
    $node->reload;
    sleep 0.3;
}
$node->append_conf('postgresql.conf',
    "pgpool_stats.exempt_superusers = on\npgpool_stats.reap = on\npgpool_stats.sample_interval = '100ms'\n");
$node->reload;
$h->finish;
ok(poll_until($node, connections_sql('api', '=', 0)), 'the storm under reloads ended');
budget_holds('after GUC reloads mid-storm', 7);

# 5. The budget changed again and again while storms log in.
($h, $out) = start_storm(app => 'api', count => 100, hold => 2);
for my $cap (20, 3, 15, 0, 12, 5) {
    $node->safe_psql('postgres', "SELECT pgpool_stats.set_budget('api', $cap)");
    sleep 0.1;
}
$h->finish;
my $mid = eval { JSON::PP::decode_json($$out) } // {};
cmp_ok($mid->{admitted} // 99, '<=', 20, "the storm under changing budgets admitted $mid->{admitted}, never over the largest cap");
ok(poll_until($node, connections_sql('api', '=', 0)), 'its sessions were released');
budget_holds('after budget changes mid-storm', 5);

# 6. The budget table locked by a long transaction (a DBA's LOCK TABLE, an
# open TRUNCATE or ALTER, DROP EXTENSION not yet committed): the worker
# keeps the budgets it has and goes on sampling and reaping; it reads the
# table once the lock is gone. A new worker meets the lock at its first
# reading of the budgets.
my $lock_in = "BEGIN;\nLOCK TABLE pgpool_stats.budget IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n";
my $locker = IPC::Run::start(['psql', '-X', '-At', '-d', $node->connstr('postgres') . ' application_name=locker'],
    '<', \$lock_in, '>', \my $lock_out, '2>', \my $lock_err);
$locker->pump until $lock_out =~ /locked/;
my $idle_in = '';
my $idle = IPC::Run::start(['psql', '-X', '-d', $node->connstr('postgres') . ' application_name=api user=app'],
    '<', \$idle_in, '>', \my $idle_out, '2>', \my $idle_err);
ok(poll_until($node, connections_sql('api', '=', 1)), 'one session of api, for the sampler to see');
my $log_offset = -s $node->logfile;
$worker = worker_pid();
kill 'TERM', $worker;
ok(poll_until($node, "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgpool_stats' AND pid <> $worker"),
    'a new worker started while the budget table is locked');
my $since = $node->safe_psql('postgres', 'SELECT now()');
ok(poll_until($node, qq{SELECT count(*) >= 10 FROM pgpool_stats.history
                        WHERE application_name = 'api' AND sample_time > '$since'}),
    'the worker goes on sampling (10 samples of api since it started)');
is($node->safe_psql('postgres',
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pgpool_stats' AND wait_event_type = 'Lock'"),
    '0', 'it does not wait on the lock');
ok($node->wait_for_log(qr/pgpool_stats: the budget table is locked by another session; budgets are kept as they were/,
        $log_offset), 'and says why it did not read the budgets');
$idle_in .= "\\q\n";
$idle->finish;
budget_holds('while the budget table is locked', 5);
# The locking transaction also changes the budget with the table's triggers
# off: no commit path and no news, so only the worker's own retry can bring
# it to the ledger, long before the minute's safety reload.
$lock_in .= "SET LOCAL session_replication_role = replica;\n"
    . "UPDATE pgpool_stats.budget SET max_connections = 6 WHERE application_name = 'api';\nCOMMIT;\n\\q\n";
$locker->finish;
my $released = Time::HiRes::time();
ok($node->wait_for_log(qr/pgpool_stats: the budget table is no longer locked/, $log_offset),
    'once the lock is released the worker reads the budgets again');
ok(poll_until($node, q{SELECT max_connections = 6 FROM pgpool_stats.applications WHERE application_name = 'api'}),
    'and takes the change made under the lock');
my $took = Time::HiRes::time() - $released;
cmp_ok($took, '<', 15, sprintf('within seconds of the release (%.1f s), not at the safety reload', $took));
my @locked_lines = (slurp_file($node->logfile, $log_offset) =~ /the budget table is locked by another session/g);
is(scalar(@locked_lines), 1, 'the lock was said once, not at every retry');
budget_holds('after the lock was released', 6);

ok(!$node->log_contains(qr/PANIC|TRAP|terminated by signal 11|terminated by signal 6/),
    'no PANIC, assertion or segfault in the server log');
$node->stop;
done_testing();
