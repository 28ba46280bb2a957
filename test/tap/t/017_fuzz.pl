# Fuzz: random calls of every SQL function of pgpool_stats with arguments
# drawn from hostile values (NULLs, extremes, overflowing and absurd numbers
# and intervals, huge, non-ASCII and injection strings), in batches through
# psql, for PGPOOL_STATS_FUZZ_SECONDS (default 20). Every statement must end
# in success or a clean error of an expected class; never an internal error,
# never a lost connection; the server log shows no crash; the ledger and the
# budget table stay consistent. The seed is printed: PGPOOL_STATS_FUZZ_SEED
# replays a run.
use strict;
use warnings;

use Time::HiRes qw(time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $seconds = $ENV{PGPOOL_STATS_FUZZ_SECONDS} // 20;
my $seed = $ENV{PGPOOL_STATS_FUZZ_SEED} // (time() * 1000) % 2**31;
srand($seed);
note("seed $seed");

my $node = pgpool_node('fuzz', "pgpool_stats.sample_interval = '50ms'\n");
$node->safe_psql('postgres', "SELECT pgpool_stats.set_budget('keep', 5, 2)");

sub pick { return $_[int(rand(@_))]; }

my @names = ("NULL", "''", "'keep'", "'api'", "repeat('x', 63)", "repeat('x', 64)",
    "repeat('y', 100000)", "'caf' || chr(233)", "E'tab\\there'", "'(other)'",
    q{$q$x'); DROP TABLE pgpool_stats.budget; --$q$}, q{'"quoted" \\name'}, "'pg_regress'",
    "chr(127)", "'%s%n%x'", "'a' || repeat(' ', 62)");
my @ints = ("NULL", 0, 1, -1, 2, 5, 60, 2147483647, -2147483648, "'2147483648'::int",
    "(2^31 - 1)::int", 1000000);
my @intervals = ("NULL", "'0'", "'1 microsecond'", "'-1 second'", "'10 minutes'", "'1 hour'",
    "'365 days'", "'366 days'", "'178000000 years'", "'-178000000 years'",
    "'1 month -31 days'", "'1 day -86401 seconds'");
my @floats = ("NULL", 0, 0.7, 1, 1.0000001, -0.5, "'NaN'", "'Infinity'", "'-Infinity'", 1e-300);
my @modes = ("NULL", "'enforce'", "'monitor'", "'off'", "''", "'ENFORCE'");
my @clients = ("NULL", "'json'", "'sqlalchemy'", "'hikaricp'", "'asyncpg'", "'psycopg_pool'",
    "'pgbouncer'", "'JSON'", "''", "repeat('c', 10000)", "'json; SELECT 1'");
my @roles = ("NULL", "'{}'", "'{postgres}'", "'{nobody}'", "array_fill('r'::name, ARRAY[17])",
    "ARRAY[NULL]::name[]");
my @bools = ("NULL", "true", "false");

my @calls = (
    sub { sprintf "SELECT pgpool_stats.set_budget(%s, %s, %s, %s, %s::interval, %s::interval, %s::interval, %s::name[], %s)",
        pick(@names), pick(@ints), pick(@ints), pick(@modes), pick(@intervals), pick(@intervals),
        pick(@intervals), pick(@roles), pick(@names) },
    sub { sprintf "SELECT pgpool_stats.set_budget(%s, %s)", pick(@names), pick(@ints) },
    sub { sprintf "SELECT pgpool_stats.drop_budget(%s)", pick(@names) },
    sub { sprintf "SELECT pgpool_stats.reset(%s)", pick(@names) },
    sub { sprintf "SELECT count(*) FROM pgpool_stats.reap(%s, %s::interval, %s)",
        pick(@names), pick(@intervals), pick(@bools) },
    sub { sprintf "SELECT count(*) FROM pgpool_stats.recommend(%s, %s::interval, %s, %s::float8)",
        pick(@names), pick(@intervals), pick(@ints), pick(@floats) },
    sub { sprintf "SELECT length(pgpool_stats.pool_config(%s, %s, %s))",
        pick(@names), pick(@clients), pick(@ints) },
    sub { "SELECT length(pgpool_stats.metrics())" },
    sub { sprintf "SELECT length(pgpool_stats.report(%s::interval))", pick(@intervals) },
    sub { sprintf "SELECT count(*) FROM pgpool_stats.%s",
        pick(qw(applications capacity history history_minutes reaped recommendations)) },
    sub { sprintf "UPDATE pgpool_stats.budget SET max_connections = %s, reserved_connections = %s "
        . "WHERE application_name = %s", pick(@ints), pick(@ints), pick(@names) },
    sub { sprintf "INSERT INTO pgpool_stats.budget (application_name, max_connections, mode) "
        . "VALUES (%s, %s, %s)", pick(@names), pick(@ints), pick(@modes) },
);

# SQLSTATE classes a clean refusal may have: data exceptions, integrity
# constraints, syntax/access rule (unknown names), raised by our validation,
# and 0A000 for a name pool_config()'s client format cannot carry.
my $allowed = qr/^(00000|0A000|22...|23...|42...|P0001)$/;
my (%states, @bad);
my $statements = 0;
my $deadline = time() + $seconds;
while (time() < $deadline) {
    my @batch = map { pick(@calls)->() } 1 .. 200;
    my $script = join '', map { "$_;\n\\echo STATE :SQLSTATE\n" } @batch;
    my ($out, $err);
    my $ok = IPC::Run::run(['psql', '-X', '-q', '-d', $node->connstr('postgres'),
        '-v', 'ON_ERROR_STOP=0', '-v', 'VERBOSITY=terse'], '<', \$script, '>', \$out, '2>', \$err);
    my @got = $out =~ /^STATE (\S*)$/mg;
    if (@got != @batch) {
        push @bad, "the session ended after " . scalar(@got) . " of " . scalar(@batch)
            . " statements: $err";
        last;
    }
    for my $i (0 .. $#got) {
        $states{$got[$i]}++;
        push @bad, "$got[$i]: $batch[$i]" unless $got[$i] =~ $allowed;
    }
    $statements += @batch;
}
note(join ', ', map { "$_ x$states{$_}" } sort keys %states);
cmp_ok($statements, '>=', 200, "$statements random statements in $seconds s");
cmp_ok($states{'00000'} // 0, '>', 0, 'some of them succeeded');
cmp_ok(scalar(grep { $_ ne '00000' } keys %states), '>', 3, 'many kinds of refusal were met');
is_deeply(\@bad, [], 'every statement ended in success or a clean error of an expected class')
    or diag("seed $seed");

ok(!$node->log_contains(qr/PANIC|TRAP|terminated by signal|internal error/),
    'no crash and no internal error in the server log');
is($node->safe_psql('postgres', q{
    SELECT count(*) FROM pgpool_stats.budget
    WHERE NOT (max_connections IS NULL OR reserved_connections <= max_connections)
       OR reserved_connections < 0 OR length(application_name) > 63}), 0,
    'every budget in the table is still valid');
is($node->safe_psql('postgres', q{
    SELECT count(*) FROM pgpool_stats.budget b FULL JOIN pgpool_stats.applications a
        USING (application_name)
    WHERE b.application_name IS NOT NULL
      AND (a.application_name IS NULL OR a.max_connections IS DISTINCT FROM b.max_connections)}), 0,
    'the ledger shows exactly the budgets of the table');
ledger_matches_activity($node, 'after the fuzz');
$node->stop;
done_testing();
