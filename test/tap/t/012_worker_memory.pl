# The worker's memory stays flat: every loop's allocations go to a context
# reset each loop. (The budget reload's commit once left TopMemoryContext
# current, and a sample in the same loop iteration leaked into it. That
# happens only when a sample and a reload fall due together, so this guard
# catches such a leak with some probability per reload, not with certainty.)
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('memory', "pgpool_stats.sample_interval = '10ms'\n");
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('api', 5, idle_in_transaction_timeout => '1 hour')});
poll_until($node, q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgpool_stats'})
    or die 'the pgpool_stats worker did not start';
# Spans of time, not waits for an event: this test measures the worker's
# memory across many of its loops (a sample and a reaper pass every 10 ms).
sleep 3;  # caches warm after the first reload
my $before = worker_memory_used($node);
# 15 budget reloads, 1500 samples and reaper passes. The worker reads the
# table when news of the table itself arrives: turning one of its triggers
# off and on again is DDL that changes it (a relcache invalidation each time;
# ENABLE of an enabled trigger would change nothing and send none).
for (1 .. 15) {
    $node->safe_psql('postgres', 'ALTER TABLE pgpool_stats.budget DISABLE TRIGGER budget_check_roles;
        ALTER TABLE pgpool_stats.budget ENABLE TRIGGER budget_check_roles');
    sleep 1;
}
my $after = worker_memory_used($node);
cmp_ok($after - $before, '<', 2048, "TopMemoryContext of the worker stays flat ($before -> $after bytes used)");

$node->stop;
done_testing();
