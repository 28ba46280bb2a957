# Pools that follow their budget (clients/python, pgpool_stats_follow):
# psycopg_pool's ConnectionPool and AsyncConnectionPool under load, with the
# real library. The budget is lowered, raised and dropped while workers run
# short queries: the pool follows the announcement within 2 s (the slow
# timer is 30 s, so only LISTEN can do it), holds no more than its share
# afterwards, the server counts no more than the budget, the workload sees no
# refusal (it waits in its pool), and without a budget the pool is back at
# the service's own size. A follower that lost its session catches up when
# it is back; a follower of a hot standby polls instead. The
# rule itself: clients/python/tests/test_rule.py (run here too).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;
use FollowTest;
use JSON::PP;

my $root = $ENV{PGPOOL_STATS_ROOT};
my ($out, $err) = run_command(['/usr/bin/python3', '-m', 'unittest', 'discover', '-s',
    "$root/clients/python/tests", '-p', 'test_*.py']);
like($err, qr/\nOK\b/, 'the rule\'s unit tests pass') or diag $err;

my $node = pgpool_node('follow_psycopg', "max_connections = 60\n", allows_streaming => 1);
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');

# FollowingConnectionPool opens nothing while it is over its size: neither
# when resize() raises min_size nor to replace an expired connection.
{
    my ($o, $e) = run_command(['/usr/bin/python3', "$root/clients/python/tests/psycopg_overflow.py",
        'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres user=app']);
    my $r = eval { JSON::PP::decode_json((split /\n/, $o)[-1] // '') } or die "psycopg_overflow.py: $e $o";
    is($r->{grow_min}{opened}, 0, 'psycopg_pool: resized to 3..3 while holding 4, it opened none');
    is($r->{grow_min}{pool_size}, 3, '... and holds 3 once they are back');
    is($r->{expired}{opened}, 1,
        'psycopg_pool: 4 expired connections back into a pool of 1: only the one within the size is replaced');
    is($r->{expired}{pool_size}, 1, '... and it holds 1');
}

for my $library (qw(psycopg_pool psycopg_pool_async)) {
    follow_checks(follow_under_load($node, $library, '--app', "shop-$library", '--budget', 12,
        '--steps', '4,16,drop', @SIZING), $library, 2);
}

# The follower's session ends (a failover, a network cut, here
# pg_terminate_backend) and the budget changes while it is away: it
# reconnects (after 1 s) and reads everything again at once.
my $r = follow_under_load($node, 'psycopg_pool', '--app', 'shop-reconnect', '--budget', 12,
    '--steps', 'kill:4', @SIZING);
my ($lost) = @{ $r->{steps} };
cmp_ok($r->{reconnections}, '>=', 1, 'the follower lost its session and connected again');
is($lost->{max_size}, 2, 'the change made while it was away was followed');
ok(defined $lost->{within_after} && $lost->{within_after} < 5,
    sprintf('... once it was back (%.3f s: the retry after 1 s, then at once)', $lost->{within_after} // -1));
is($r->{error_count}, 0, 'no error in the workload') or diag explain $r->{errors};

# A follower of a hot standby: no LISTEN there, so it polls (interval 1 s).
$node->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('follow_standby');
$standby->init_from_backup($node, 'backup', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby);
$r = follow_under_load($node, 'psycopg_pool', '--app', 'shop-standby', '--budget', 12, '--steps', '4,drop',
    '--watch-host', $standby->host, '--watch-port', $standby->port,
    @SIZING, '--interval', 1);  # the last --interval counts
ok($r->{standby}, 'the follower knows it reads a standby');
is($r->{announcements}, 0, '... and heard no announcement there');
my ($down, $drop) = @{ $r->{steps} };
is($down->{max_size}, 2, 'budget lowered on the primary: the pool follows from the standby');
ok(defined $down->{within_after} && $down->{within_after} < 10,
    sprintf('... within its poll and the replay (%.3f s)', $down->{within_after} // -1));
is_deeply($drop->{target}, [2, 10], 'budget dropped on the primary: back to the service\'s own size');
is($r->{error_count}, 0, 'no error in the workload') or diag explain $r->{errors};

ledger_matches_activity($node, 'after the followers');
$standby->stop;
$node->stop;
done_testing();
