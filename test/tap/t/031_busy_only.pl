# The worker's work follows what is busy, not the size of the table (issue
# 14): with 20,000 budgets, refusals of applications that hold no session
# reach the history through the ledger's refusal log (the sampler no longer
# visits every entry), held sessions through the census, and writes the
# budget trigger never saw reach the ledger on the next news of the table
# (a relcache invalidation), not on a timer.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use PgpoolStatsTest;

my $node = pgpool_node('busy',
    "pgpool_stats.max_applications = 20000\npgpool_stats.sample_interval = '10ms'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    INSERT INTO pgpool_stats.budget (application_name, max_connections)
    SELECT 'app' || g, 0 FROM generate_series(1, 19990) g;
});
wait_until($node, q{SELECT count(*) = 19990 FROM pgpool_stats.applications WHERE max_connections = 0},
    'the 19,990 budgets are in the ledger');

# Refused applications without a session: each refusal is in the history.
my @refused = map { "app$_" } (7, 777, 7777, 17777, 19990);
storm($node, app => $_, user => 'app', count => 3) for @refused;
my $in = join ',', map { "'$_'" } @refused;
wait_until($node, qq{SELECT count(DISTINCT application_name) = 5 AND sum(rejected) = 15
    FROM pgpool_stats.history WHERE application_name IN ($in)},
    'every refusal of five applications without sessions reached the history');
is($node->safe_psql('postgres', qq{SELECT sum(rejected) FROM pgpool_stats.applications
    WHERE application_name IN ($in)}), 15, 'as the counters say');
# Each sample row carries only the refusals since the previous one.
is($node->safe_psql('postgres', qq{SELECT sum(rejected) FROM pgpool_stats.history
    WHERE application_name IN ($in) AND resolution = 'sample'}), 15,
    'no refusal is counted twice across samples');

# Held sessions of an application: sampled, with its peak of active sessions.
my ($h) = hold_sessions($node, map { { application_name => 'held', user => 'app', dbname => 'postgres' } } 1 .. 3);
wait_until($node, q{SELECT max(connections) = 3 FROM pgpool_stats.history WHERE application_name = 'held'},
    'held sessions are sampled');
release_sessions($node, $h, 'app');
ledger_matches_activity($node, 'after the held sessions left');

# Writes with the budget trigger disabled: no news, no change; the news of
# re-enabling the trigger (DDL on the table) makes the worker read it.
# The safety reload runs once a minute: well under that, it was the news.
my $started = time;
$node->safe_psql('postgres', q{
    ALTER TABLE pgpool_stats.budget DISABLE TRIGGER ALL;
    INSERT INTO pgpool_stats.budget (application_name, max_connections) VALUES ('unseen', 1);
    DELETE FROM pgpool_stats.budget WHERE application_name = 'app7';
    ALTER TABLE pgpool_stats.budget ENABLE TRIGGER ALL;
});
wait_until($node, q{SELECT (SELECT max_connections FROM pgpool_stats.applications WHERE application_name = 'unseen') = 1
    AND (SELECT max_connections IS NULL FROM pgpool_stats.applications WHERE application_name = 'app7')},
    'a row added and a row deleted behind the trigger are in the ledger after the next news of the table');
my $took = time - $started;
cmp_ok($took, '<', 20, "within seconds of the news ($took s), not at the minute's safety reload");
my $s = storm($node, app => 'unseen', user => 'app', count => 3);
is($s->{admitted}, 1, 'and the added budget is enforced: 1 of 3');
$s = storm($node, app => 'app7', user => 'app', count => 2);
is($s->{admitted}, 2, 'the deleted one is gone: 2 of 2');
is($node->safe_psql('postgres', q{SELECT budget_total FROM pgpool_stats.capacity}), 1,
    'the capacity view sums the caps as they are now');

$node->stop;
done_testing();
