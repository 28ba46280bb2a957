# Hot standby: the budgets replicated from the primary are enforced there; the
# views, history and metrics work; changing a budget there is a clear error.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use PgpoolStatsTest;

my $primary = pgpool_node('primary', "pgpool_stats.sample_interval = '100ms'\n", allows_streaming => 1);
$primary->safe_psql('postgres', q{CREATE ROLE app LOGIN; SELECT pgpool_stats.set_budget('api', 4);
    SELECT pgpool_stats.set_budget('gone', 3)});
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->append_conf('postgresql.conf', "max_connections = 40\npgpool_stats.sample_interval = '100ms'\n");
$standby->start;
$primary->wait_for_catchup($standby);

wait_until($standby, q{SELECT max_connections = 4 FROM pgpool_stats.applications WHERE application_name = 'api'},
    'the standby loaded the budget');
my $s = storm($standby, app => 'api', user => 'app', count => 20);
is($s->{admitted}, 4, 'the budget is enforced on the standby: 4 of 20');
is_deeply($s->{sqlstates}, { '53300' => 16 }, 'the others are refused with 53300');

# A change on the primary reaches the standby's logins.
$primary->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('api', 7)});
$primary->wait_for_catchup($standby);
wait_until($standby, q{SELECT max_connections = 7 FROM pgpool_stats.applications WHERE application_name = 'api'},
    'a change on the primary reaches the standby');
$s = storm($standby, app => 'api', user => 'app', count => 20);
is($s->{admitted}, 7, 'and is enforced there');

# The standby has no commit path: it learns of changes from the relcache
# invalidations its replay brings, within seconds (its safety reload is once
# a minute). A row added and one deleted in one transaction of the primary
# arrive together.
wait_until($standby, q{SELECT max_connections = 3 FROM pgpool_stats.applications WHERE application_name = 'gone'},
    'the standby holds the budget about to be deleted');
my $started = time;
$primary->safe_psql('postgres', q{
    BEGIN;
    INSERT INTO pgpool_stats.budget (application_name, max_connections) VALUES ('batch', 2);
    DELETE FROM pgpool_stats.budget WHERE application_name = 'gone';
    COMMIT;
});
$primary->wait_for_catchup($standby);
wait_until($standby, q{SELECT max_connections = 2 FROM pgpool_stats.applications WHERE application_name = 'batch'
    AND (SELECT max_connections IS NULL FROM pgpool_stats.applications WHERE application_name = 'gone')},
    'a budget inserted and one deleted on the primary reach the standby');
my $took = time - $started;
cmp_ok($took, '<', 20, "within seconds of the replay ($took s), not at the minute's safety reload");
$primary->safe_psql('postgres', q{SELECT pgpool_stats.drop_budget('batch')});
$primary->wait_for_catchup($standby);
wait_until($standby, q{SELECT max_connections IS NULL FROM pgpool_stats.applications WHERE application_name = 'batch'},
    'a budget dropped on the primary is dropped on the standby');

# Changing budgets on the standby: a clear error pointing to the primary.
my ($ret, $out, $err) = $standby->psql('postgres', q{SELECT pgpool_stats.set_budget('api', 1)});
like($err, qr/cannot change budgets on a hot standby/, 'set_budget on a standby is refused');
like($err, qr/HINT:  Change the budget on the primary/, 'with a hint to the primary');

# Telemetry works on the standby.
wait_until($standby, q{SELECT count(*) > 0 FROM pgpool_stats.history WHERE application_name = 'api'},
    'history is sampled on the standby');
like($standby->safe_psql('postgres', 'SELECT pgpool_stats.metrics()'),
    qr/^pgpool_stats_rejected_total\{application_name="api"\} 29$/m, 'metrics on the standby');
ledger_matches_activity($standby, 'on the standby');

# A lock on the budget table held on the primary is replayed on the standby.
# A standby that starts meanwhile meets it at its first reading of the
# budgets: its logins are admitted at once, without budgets (not each after
# waiting 5 s for a first load that cannot come), its worker samples on and
# never waits on the lock, and the budgets are enforced once it is released.
my $lock_in = "BEGIN;\nLOCK TABLE pgpool_stats.budget IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n";
my $locker = IPC::Run::start(['psql', '-X', '-At', '-d', $primary->connstr('postgres')],
    '<', \$lock_in, '>', \my $lock_out, '2>', \my $lock_err);
$locker->pump until $lock_out =~ /locked/;
# A checkpoint logs the locks held, and the standby's restart point is made
# from it: the restarted standby replays the lock before it lets sessions in,
# so its worker meets it at the first reading.
$primary->safe_psql('postgres', 'CHECKPOINT');
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'CHECKPOINT');
my $log_offset = -s $standby->logfile;
$standby->restart;
ok($standby->wait_for_log(
        qr/the budget table is locked by another session; logins are admitted without budgets until it can be read/,
        $log_offset), 'the restarted standby meets the replayed lock at its first reading and says so');
$s = storm($standby, app => 'api', user => 'app', count => 10);
is($s->{admitted}, 10, 'meanwhile its logins are admitted without budgets');
# A login that waits for the first load says so when it gives up (after 5 s);
# the log, not this script's clock, shows that none did.
ok(!$standby->log_contains(qr/budgets not loaded yet/, $log_offset), 'no login waited for the first load');
is($standby->safe_psql('postgres',
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pgpool_stats' AND wait_event_type = 'Lock'"),
    '0', 'the worker does not wait on the lock');
$lock_in .= "COMMIT;\n\\q\n";
$locker->finish;
$primary->wait_for_catchup($standby);
ok($standby->wait_for_log(qr/the budget table is no longer locked/, $log_offset),
    'the lock released, the worker reads the budgets');
wait_until($standby, q{SELECT max_connections = 7 FROM pgpool_stats.applications WHERE application_name = 'api'},
    'the budget is back on the standby');
$s = storm($standby, app => 'api', user => 'app', count => 20);
is($s->{admitted}, 7, 'and enforced again: 7 of 20');

$standby->stop;
$primary->stop;
done_testing();
