# Recommendations from real workloads (test/clients/workload.py, asyncpg):
# each workload must produce its finding, and the recommended settings,
# applied (the budget through set_budget, the pool through pool_config()'s
# asyncpg keyword arguments evaluated by the real client), must keep the same
# demand within the budget without a single rejection.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('recommendations', "pgpool_stats.sample_interval = '100ms'\n");
# The services log in as a plain role (superusers are exempt from budgets),
# and may read their own pool_config(): the documented grant.
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    GRANT EXECUTE ON FUNCTION pgpool_stats.pool_config TO app});

sub workload {
    my ($mode, $app, @opts) = @_;
    my ($out, $err) = run_command(['/usr/bin/python3', "$root/test/clients/workload.py", $mode,
        '--host', $node->host, '--port', $node->port, '--user', 'app', '--app', $app, @opts]);
    my $result = eval { decode_json($out) };
    die "workload $mode $app failed: $err $out" unless $result;
    return $result;
}

sub recommendation {
    my ($app) = @_;
    my $line = $node->safe_psql('postgres', qq{
        SELECT array_to_string(findings, ','), max_connections, reserved_connections, pool_size,
               max_overflow, coalesce(extract(epoch FROM idle_in_transaction_timeout)::int, -1),
               peak_active, peak_connections
        FROM pgpool_stats.recommend('$app')});
    my %r;
    @r{qw(findings max_connections reserved_connections pool_size max_overflow
          idle_timeout peak_active peak_connections)} = split /\|/, $line, -1;
    $r{finding} = { map { $_ => 1 } split /,/, $r{findings} };
    return \%r;
}

# Applies the recommendation: the budget it names, then the same demand
# through a pool built from pool_config(APP, 'asyncpg'). The applied run is
# judged by the ledger's refusal counter and the history since it began.
sub apply_and_rerun {
    my ($app, $r, $busy, $query_seconds) = @_;
    $node->safe_psql('postgres', qq{
        SELECT pgpool_stats.set_budget('$app', $r->{max_connections},
                                       reserved_connections => $r->{reserved_connections})});
    my $start = $node->safe_psql('postgres', qq{
        SELECT rejected || '|' || now() FROM pgpool_stats.applications
        WHERE application_name = '$app'});
    my ($rejected_before, $since) = split /\|/, $start;
    my $run = workload('pool', $app, '--settings-from', 'asyncpg', '--busy', $busy,
        '--query-seconds', $query_seconds, '--seconds', 4);
    # Against the JSON read with the text: the recommendation moves with
    # every sample, so recommend() above is a moment older.
    my $per_instance = $run->{recommendation}{pool_size} + $run->{recommendation}{max_overflow};
    is($run->{pool}{max_size}, $per_instance,
        "$app: the pool took max_size $per_instance from pool_config()");
    is($run->{rejected}, 0, "$app: no login refused with the recommended settings");
    cmp_ok($run->{queries}, '>', 0, "$app: the workload ran ($run->{queries} queries)");
    my $row = ledger_row($node, $app);
    is($row->{rejected}, $rejected_before, "$app: the ledger counted no rejection either");
    my $peak = $node->safe_psql('postgres', qq{
        SELECT max(connections) FROM pgpool_stats.history
        WHERE application_name = '$app' AND sample_time > '$since'});
    cmp_ok($peak, '<=', $r->{max_connections},
        "$app: at most $peak connections, within the recommended budget $r->{max_connections}");
    return $run;
}

# A pool of a dozen connections of which two are ever busy.
workload('pool', 'bigpool', '--min-size', 12, '--max-size', 12, '--busy', 2,
    '--query-seconds', 0.5, '--seconds', 7);
my $r = recommendation('bigpool');
ok($r->{finding}{over_provisioned}, "bigpool: over_provisioned ($r->{findings})");
ok(!$r->{finding}{starved} && !$r->{finding}{churning}, 'bigpool: nothing else wrong');
is($r->{peak_connections}, 12, 'bigpool: 12 connections were held');
cmp_ok($r->{max_connections}, '<', 12, "bigpool: budget $r->{max_connections}, well under the 12 held");
cmp_ok($r->{max_connections}, '>=', 2, 'bigpool: ... and not under the 2 really used at once');
apply_and_rerun('bigpool', $r, 2, 0.5);

# A client that logs in for every query.
workload('churn', 'churny', '--rate', 50, '--seconds', 7);
$r = recommendation('churny');
ok($r->{finding}{churning}, "churny: churning ($r->{findings})");
apply_and_rerun('churny', $r, 1, 0.05);

# An application refused at its budget: four busy workers, a budget of two.
$node->safe_psql('postgres', "SELECT pgpool_stats.set_budget('starved', 2)");
my $starved = workload('pool', 'starved', '--max-size', 4, '--busy', 4, '--query-seconds', 0.5,
    '--seconds', 7);
cmp_ok($starved->{rejected}, '>', 0, "starved: $starved->{rejected} logins refused at its budget");
is_deeply([keys %{ $starved->{sqlstates} }], ['53300'], 'starved: every refusal is 53300');
$r = recommendation('starved');
ok($r->{finding}{starved}, "starved: starved ($r->{findings})");
ok($r->{finding}{near_budget}, 'starved: near_budget (it ran at its cap)');
cmp_ok($r->{max_connections}, '>', 2, "starved: the budget grows to $r->{max_connections}");
apply_and_rerun('starved', $r, 4, 0.5);

# A leaked transaction: one of two sessions sits idle in a transaction.
my $leak = IPC::Run::start(['/usr/bin/python3', "$root/test/clients/workload.py", 'leak',
    '--host', $node->host, '--port', $node->port, '--user', 'app', '--app', 'leaky', '--connections', 1,
    '--seconds', 8], '>', \my $leak_out, '2>', \my $leak_err);
workload('pool', 'leaky', '--min-size', 1, '--max-size', 1, '--busy', 1, '--query-seconds', 0.1,
    '--seconds', 7);
$leak->finish;
$r = recommendation('leaky');
ok($r->{finding}{idle_in_transaction}, "leaky: idle_in_transaction ($r->{findings})");
is($r->{idle_timeout}, 60, 'leaky: a 60 s idle-in-transaction timeout is recommended');
my $run = apply_and_rerun('leaky', $r, 1, 0.1);
is($run->{session}{idle_in_transaction_session_timeout}, '60000',
    'leaky: the pooled sessions run with the recommended timeout');
is($run->{session}{application_name}, 'leaky', 'leaky: ... and the budgeted application_name');

ledger_matches_activity($node, 'after every workload');
$node->stop;
done_testing();
