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
sleep 3;  # caches warm after the first reloads
my $before = worker_memory_used($node);
sleep 15;  # 15 budget reloads, 1500 samples and reaper passes
my $after = worker_memory_used($node);
cmp_ok($after - $before, '<', 2048, "TopMemoryContext of the worker stays flat ($before -> $after bytes used)");

$node->stop;
done_testing();
