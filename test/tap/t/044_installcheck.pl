# `make installcheck` pointed at a live server (PGHOST/PGPORT, as a DBA on
# staging would run it) leaves that server alone: the suite runs in a
# temporary instance of its own, and the live server's budgets, counters,
# peaks and stats_reset are what they were; pg_regress never logged in there.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};

# The "live" server: budgets in "postgres", telemetry from real logins.
my $live = pgpool_node('live');
$live->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('checkout', 5, reserved_connections => 2, comment => 'live');
    SELECT pgpool_stats.set_budget('blocked', 0);
    SELECT pgpool_stats.set_budget('batch', 0, mode => 'monitor');
});
poll_until($live, q{SELECT count(*) = 3 FROM pgpool_stats.applications WHERE max_connections IS NOT NULL})
    or die 'budgets not loaded';
my $connstr = $live->connstr('postgres') . ' user=app';
$live->safe_psql('postgres', 'SELECT 1', connstr => "$connstr application_name=checkout") for 1 .. 3;
$live->safe_psql('postgres', 'SELECT 1', connstr => "$connstr application_name=batch") for 1 .. 2;
$live->connect_fails("$connstr application_name=blocked", 'the live server refuses over a budget',
    expected_stderr => qr/too many connections for application "blocked"/);

# What must survive: the budget table, and per application its counters,
# peaks and stats_reset (the reads below log in as psql, not as these).
my $budgets_sql = q{SELECT string_agg(b::text, E'\n' ORDER BY application_name) FROM pgpool_stats.budget b};
my $telemetry_sql = q{
    SELECT string_agg(concat_ws(' ', application_name, admitted, rejected, would_reject, reaped,
                                peak_connections, peak_active, stats_reset), E'\n' ORDER BY application_name)
    FROM pgpool_stats.applications WHERE application_name IN ('checkout', 'blocked', 'batch')};
my $budgets = $live->safe_psql('postgres', $budgets_sql);
my $telemetry = $live->safe_psql('postgres', $telemetry_sql);
like($telemetry, qr/^batch 2 0 2 .*\nblocked 0 1 0 .*\ncheckout 3 0 0 /,
    'the live server has telemetry: logins admitted, refused, would be refused');

# make installcheck as a DBA would point it at this server. Its output goes
# where we can write (EXTRA_REGRESS_OPTS too, so that a Makefile without
# REGRESS_DIR would really reach the live server, and fail this test).
my $out = "${PostgreSQL::Test::Utils::tmp_check}/installcheck";
mkdir $out or die "mkdir $out: $!";
my ($stdout, $stderr) = ('', '');
my $ok = IPC::Run::run(['make', '-C', $root, 'installcheck', "REGRESS_DIR=$out",
        "EXTRA_REGRESS_OPTS=--outputdir=$out"],
    '>', \$stdout, '2>', \$stderr,
    init => sub {
        $ENV{PGHOST} = $live->host;
        $ENV{PGPORT} = $live->port;
        $ENV{PGDATABASE} = 'postgres';
    });
ok($ok, 'make installcheck succeeds') or diag("$stdout\n$stderr");
# 15 says "creating temporary instance", 16+ "using temp instance on port N";
# against an existing server pg_regress says "using postmaster on ...".
like($stdout, qr/creating temporary instance|using temp instance on port/,
    'it ran in a temporary instance of its own');
unlike($stdout, qr/using postmaster on/, 'not on an existing server');
like($stdout, qr/All \d+ tests passed/, 'every regress file passed there');
unlike($stdout, qr/port ${\ $live->port }\b/, 'not on the live server\'s port');

is($live->safe_psql('postgres', $budgets_sql), $budgets, 'the live server\'s budgets are unchanged');
is($live->safe_psql('postgres', $telemetry_sql), $telemetry,
    'its counters, peaks and stats_reset are unchanged');
is($live->safe_psql('postgres',
    q{SELECT count(*) FROM pgpool_stats.applications WHERE application_name = 'pg_regress'}),
    '0', 'pg_regress never logged in there');
is($live->safe_psql('postgres', q{SELECT count(*) FROM pg_database WHERE datname = 'contrib_regression'}),
    '0', 'nor created its database');
ledger_matches_activity($live, 'after make installcheck');

done_testing();
