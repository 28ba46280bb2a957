# When the backend status array cannot be attached (its size is not the one we
# compute: a layout change we do not know), the server still starts, says so
# in one LOG line, admits exactly the budgets, and reports session states as
# unknown (counted in connections, in no state column) instead of guessing;
# the reaper, which needs states, leaves sessions alone.
#
# Needs the library built with a wrong size on purpose:
#   make PG_CONFIG=... PGPOOL_STATS_PERTURB_STATUS_SIZE=1 install
# which `tools/test.sh status_size` does (then reinstalls the normal build) and
# sets PGPOOL_STATS_PERTURBED_BUILD=1. Without that variable this file skips:
# the normal build must attach, which 006_states.pl proves.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

plan skip_all => 'needs the library built with PGPOOL_STATS_PERTURB_STATUS_SIZE=1 '
    . '(run: tools/test.sh status_size)'
    unless $ENV{PGPOOL_STATS_PERTURBED_BUILD};

my $node = pgpool_node('status_size', "max_connections = 60\n");
ok(1, 'the server started with the perturbed build');
like(slurp_file($node->logfile),
    qr/LOG:  pgpool_stats: cannot attach to the backend status array; session states will be reported as unknown\n.*DETAIL:  ShmemIndex entry size is wrong for data structure "Backend Status Array"/,
    'one LOG line says states will be unknown, and why');
is(() = slurp_file($node->logfile) =~ /cannot attach to the backend status array/g, 1,
    'said once');

$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('api', 10, idle_session_timeout => '1s');
});
my $s = storm($node, app => 'api', user => 'app', count => 40);
is($s->{admitted}, 10, 'exactly 10 of 40 concurrent logins admitted');
is_deeply($s->{sqlstates}, { '53300' => 30 }, 'the other 30 refused with 53300');

# Idle sessions are counted, in no state; and an idle_session_timeout of 1s
# is not applied: the reaper cannot see that they are idle.
my @sessions;
for (1 .. 3) {
    my $in = '';
    push @sessions, IPC::Run::start(
        ['psql', '-X', '-q', '-d', $node->connstr('postgres') . ' user=app application_name=api'],
        '<', \$in, '>', \my $o, '2>', \my $e);
}
wait_until($node, connections_sql('api', '=', 3), 'three idle sessions are counted');
wait_until($node, q{SELECT count(*) = 3 FROM pg_stat_activity WHERE application_name = 'api' AND state = 'idle'},
    'pg_stat_activity sees them idle');
is($node->safe_psql('postgres', q{
    SELECT active, idle, idle_in_transaction, waiting, connections
    FROM pgpool_stats.applications WHERE application_name = 'api'}), '0|0|0|0|3',
    'while in pgpool_stats the states are unknown: in connections, in no state column');
sleep 3;  # three reaper passes past the 1s timeout
is($node->safe_psql('postgres', connections_sql('api', '+', 0)), '3',
    'the reaper leaves sessions whose state it cannot read');
like($node->safe_psql('postgres', 'SELECT pgpool_stats.metrics()'),
    qr/^pgpool_stats_connections\{application_name="api"\} 3$/m, 'metrics() answers');
ledger_matches_activity($node, 'states unknown');

$_->kill_kill for @sessions;
# Bails out if it fails: the processes forked after the caught ERROR must
# still answer SIGTERM.
$node->stop('fast');
ok(1, 'a fast shutdown completes');
done_testing();
