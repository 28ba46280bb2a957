# Pools that follow their budget (clients/python, pgpool_stats_follow):
# SQLAlchemy's QueuePool (resized in place: FollowingQueuePool) and asyncpg's
# Pool (replaced: FollowingPool) under load, with the real libraries. The
# budget is lowered, raised and dropped while workers run short queries: the
# pool is within its share once the checkouts in flight at the change have
# ended (the documented bound; with these 20 ms queries well under 2 s, the
# bound asserted here), the server counts no more than the budget, the
# workload sees no refusal, and without a budget the pool is back at the
# service's own size.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;
use FollowTest;

my $node = pgpool_node('follow_sqlalchemy_asyncpg', "max_connections = 60\n");
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');

follow_checks(follow_under_load($node, 'sqlalchemy', '--app', 'shop-sqlalchemy', '--budget', 12,
    '--steps', '4,16,drop', @SIZING), 'sqlalchemy', 2);

my ($down, $up, $drop) = follow_checks(follow_under_load($node, 'asyncpg', '--app', 'shop-asyncpg',
    '--budget', 12, '--steps', '4,16,drop', @SIZING), 'asyncpg', 2);
# asyncpg's pool cannot be resized: each change replaced it (and the first
# size, at start).
is($drop->{replacements}, 4, 'asyncpg: four sizes, four replacement pools');

# A long checkout in flight when the budget shrinks: the follower never takes
# it away; the pool is within its share once it is given back.
my $r = follow_under_load($node, 'sqlalchemy', '--app', 'shop-long', '--budget', 12, '--steps', '4',
    @SIZING, '--query', 'SELECT pg_sleep(random() * 1.5)', '--workers', 6);
($down) = @{ $r->{steps} };
ok(defined $down->{within_after} && $down->{within_after} < 5,
    sprintf('sqlalchemy, checkouts of up to 1.5 s: within its share in %.3f s, after they ended',
        $down->{within_after} // -1));
cmp_ok($down->{within_after}, '>', 0.05, '... not before (nothing was taken from its user)');
is($r->{error_count}, 0, '... and no checkout failed') or diag explain $r->{errors};

ledger_matches_activity($node, 'after the followers');
$node->stop;
done_testing();
