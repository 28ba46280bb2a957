# Scale edges: 10,000 short-lived applications churning through a table of
# 256 (the "(other)" row, eviction of idle entries) while a budgeted
# application keeps its exact budget; max_connections = 1000 with login
# storms of 900 at the minimum sample_interval (10 ms). Counts are never
# lost: every login is in some row's admitted counter.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('scale', "max_connections = 1000\nsuperuser_reserved_connections = 3\npgpool_stats.sample_interval = '10ms'\n"
    . "shared_buffers = '16MB'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('steady', 400, reserved_connections => 50);
});

sub admitted_total {
    return $node->safe_psql('postgres',
        'SELECT sum(admitted) FROM pgpool_stats.applications');
}

# 10,000 applications, each logging in once, 8 at a time.
my $before = admitted_total();
my ($out, $err) = run_command(['/usr/bin/python3', "$root/test/clients/workload.py", 'names',
    '--host', $node->host, '--port', $node->port, '--user', 'app', '--app', 'churn',
    '--count', 10000, '--names', 10000, '--concurrency', 8]);
my $churn = decode_json($out);
is($churn->{queries}, 10000, '10,000 logins under 10,000 distinct application names, none refused');
my ($tracked, $max, $other) = split /\|/, $node->safe_psql('postgres', q{
    SELECT applications_tracked, applications_max,
           (SELECT admitted FROM pgpool_stats.applications WHERE application_name = '(other)')
    FROM pgpool_stats.capacity});
cmp_ok($tracked, '<=', $max, "the table holds $tracked of at most $max applications");
cmp_ok($other // 0, '>', 0, "the overflow was counted in the (other) row ($other logins)");
ok($node->log_contains(qr/application table is full/), 'the full table was logged');
# Evicted entries take their counters with them; what is left must never
# exceed what happened, and the (other) row must have caught the overflow.
my $after = admitted_total();
cmp_ok($after - $before, '<=', 10000 + 2, 'no login counted twice');
ledger_matches_activity($node, 'after 10,000 applications');

# The budgeted application is unaffected by the churn around it.
my $s = storm($node, app => 'steady', user => 'app', count => 900);
is($s->{admitted}, 400, 'max_connections 1000, a storm of 900 against a budget of 400: exactly 400');
is_deeply([keys %{ $s->{sqlstates} }], ['53300'], 'the 500 others refused with 53300');
ledger_matches_activity($node, 'after the storm of 900');

# An unbudgeted storm of 1000 next to the reservation of steady: it gets
# every slot but the 50 reserved (capacity 1000 - 3 for superusers).
$s = storm($node, app => 'crowd', user => 'app', count => 1000);
is($s->{admitted}, 997 - 50, "crowd took $s->{admitted} of 1000: every slot but the 50 reserved for steady");
$s = storm($node, app => 'steady', user => 'app', count => 50);
is($s->{admitted}, 50, 'steady still gets its 50 reserved slots');
ledger_matches_activity($node, 'after the unbudgeted storm');

ok(!$node->log_contains(qr/PANIC|TRAP|terminated by signal/), 'no crash in the server log');
$node->stop;
done_testing();
