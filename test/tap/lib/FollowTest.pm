# Helpers of the TAP tests of the followers (clients/python, 035-037): run
# clients/python/tests/follow_under_load.py for one library and check what it
# measured against the rule of clients/README.md.
package FollowTest;

use strict;
use warnings;

use Exporter 'import';
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(follow_under_load follow_checks @SIZING share expected_max);

my $root = $ENV{PGPOOL_STATS_ROOT} or die "PGPOOL_STATS_ROOT is not set (run tools/test.sh)";

# The service's own size: 2..10, floor 2, ceiling 20, 2 instances; the slow
# timer at 30 s, so only an announcement can make a follower act within
# seconds. A fresh application has too little data (under a minute), so it
# wants its own 10, capped by the share: floor(budget / 2).
our @SIZING = ('--min-size', 2, '--max-size', 10, '--floor', 2, '--ceiling', 20, '--instances', 2,
    '--interval', 30, '--workers', 8);
sub share { my ($budget) = @_; my $s = int($budget / 2); return $s < 1 ? 1 : $s }
sub expected_max { my ($budget) = @_; my $s = share($budget); return $s < 10 ? $s : 10 }

# Runs follow_under_load.py LIBRARY against NODE; returns its JSON.
sub follow_under_load {
    my ($node, $library, @args) = @_;
    my ($o, $e) = run_command(['/usr/bin/python3', "$root/clients/python/tests/follow_under_load.py",
        $library, '--host', $node->host, '--port', $node->port, @args]);
    my $r = eval { decode_json((split /\n/, $o)[-1] // '') };
    die "follow_under_load.py $library failed: $e $o" unless $r;
    return $r;
}

# The checks of a run with --budget 12 --steps 4,16,drop and @SIZING: the
# pool within its share of the lowered budget within BOUND seconds, the
# server within the budget afterwards, growth to the raised share, the
# service's own size once the budget is dropped, and no error in the
# workload.
sub follow_checks {
    my ($r, $library, $bound) = @_;
    is($r->{start}{max_size}, expected_max(12), "$library: at start, the share of budget 12: 6");
    my ($down, $up, $drop) = @{ $r->{steps} };
    for my $step ($down, $up) {
        ok($step->{insufficient_data}, "$library: budget $step->{budget}: a fresh application (too little data)");
        is($step->{instance_share}, share($step->{budget}),
            "$library: budget $step->{budget}: share $step->{instance_share}");
        is($step->{max_size}, expected_max($step->{budget}),
            "$library: budget $step->{budget}: the pool's max_size is " . expected_max($step->{budget}));
    }
    ok(defined $down->{within_after} && $down->{within_after} < $bound,
        sprintf('%s: lowered 12 -> 4: within its share of 2 in %.3f s (bound %s s)', $library,
            $down->{within_after} // -1, $bound));
    note(sprintf('%s: follow times: lowered %.3f s (applied %.3f s, server within the pool\'s size %.3f s), '
            . 'raised %.3f s, dropped %.3f s', $library,
        map { $_ // -1 } $down->{within_after}, $down->{applied_after}, $down->{ledger_within_after},
        $up->{applied_after}, $drop->{applied_after}));
    cmp_ok($down->{pool_max}, '<=', 2, "$library: afterwards the pool held at most 2 ($down->{pool_max})");
    # One instance runs here: the server counts no more than its share.
    cmp_ok($down->{ledger_max}, '<=', share(4),
        "$library: the server counted at most the share of 2 ($down->{ledger_max}, $down->{ledger_samples} samples)");
    cmp_ok($down->{ledger_max}, '>=', 1, "$library: ... and counted the application at all");
    ok(defined $up->{applied_after} && $up->{applied_after} < $bound,
        sprintf('%s: raised 4 -> 16: max_size 8 in %.3f s', $library, $up->{applied_after} // -1));
    is($up->{pool_max}, 8, "$library: under load the pool grew to its new share of 8");
    cmp_ok($up->{ledger_max}, '<=', share(16), "$library: within the share of 8 of 16 ($up->{ledger_max})");
    cmp_ok($up->{ledger_max}, '>=', 1, "$library: ... and counted at all");
    is_deeply($drop->{target}, [2, 10], "$library: budget dropped: back to the service's own size 2..10");
    is($drop->{max_size}, 10, "$library: ... max_size 10");
    ok(defined $drop->{applied_after} && $drop->{applied_after} < $bound, "$library: ... at once");
    my @refused = grep { $_->{sqlstate} eq '53300' } @{ $r->{errors} };
    is(scalar(@refused), 0, "$library: the workload saw no 53300") or diag explain \@refused;
    is($r->{error_count}, 0, "$library: nor any other error") or diag explain $r->{errors};
    is($_->{rejected}, 0, "$library: the server refused no login of it (budget $_->{budget})") for ($down, $up);
    cmp_ok($r->{queries}, '>', 100, "$library: the workload ran ($r->{queries} queries)");
    cmp_ok($r->{announcements}, '>=', 3, "$library: the follower heard the announcements ($r->{announcements})");
    return ($down, $up, $drop);
}

1;
