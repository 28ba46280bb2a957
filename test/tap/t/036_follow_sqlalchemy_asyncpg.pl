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
use JSON::PP;

my $node = pgpool_node('follow_sqlalchemy_asyncpg', "max_connections = 60\n");
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');

follow_checks(follow_under_load($node, 'sqlalchemy', '--app', 'shop-sqlalchemy', '--budget', 12,
    '--steps', '4,16,drop', @SIZING), 'sqlalchemy', 2);

my ($down, $up, $drop) = follow_checks(follow_under_load($node, 'asyncpg', '--app', 'shop-asyncpg',
    '--budget', 12, '--steps', '4,16,drop', @SIZING), 'asyncpg', 2);
# asyncpg's pool cannot be resized: each change replaced it (and the first
# size, at start).
is($drop->{replacements}, 4, 'asyncpg: four sizes, four replacement pools');

# asyncpg: a long checkout in flight when the pool shrinks 4 -> 2 holds one of
# the retired pool's connections; its 3 idle ones close at once, so another
# acquisition gets a connection without waiting for the long one.
{
    my ($o, $e) = run_command(['/usr/bin/python3', "$ENV{PGPOOL_STATS_ROOT}/clients/python/tests/asyncpg_retire.py",
        $node->host, $node->port]);
    my $r = eval { JSON::PP::decode_json((split /\n/, $o)[-1] // '') } or die "asyncpg_retire.py: $e $o";
    is($r->{size_before}, 4, 'asyncpg: the pool held its 4 connections before shrinking');
    ok(defined $r->{acquired_after},
        sprintf('asyncpg: shrunk to 2 under a long checkout, an acquisition was served (%.3f s)',
            $r->{acquired_after} // -1));
    ok(!$r->{long_checkout_done}, '... while the long checkout was still out');
    cmp_ok($r->{size_while_held} // 99, '<=', 2, "... within the new size ($r->{size_while_held})");
}

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
