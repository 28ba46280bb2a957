# The hour tier of the history (issue 15), without waiting hours: a dump
# made by the core itself (test/tools/history_dump.cpp: a ledger and a
# history fed a tick every 10 s for three hours, with a small minute ring, as
# on a server that has run for weeks) is restored by a real server at start.
# Its hour rows are served by pgpool_stats.history_hours (min / mean / p95 of
# the minute maxima / max) and, for what is older than the minutes, by
# pgpool_stats.history; recommend(..., '7 days') and report('7 days') reach
# back into them; they are written again at the next clean shutdown.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $tool = PostgreSQL::Test::Utils::tempdir() . '/history_dump';
my ($out, $err) = run_command(['g++', '-std=c++17', '-O1', "-I$root/src", '-o', $tool,
    "$root/test/tools/history_dump.cpp",
    map { "$root/src/core/$_.cpp" } qw(dump history ledger admission)]);
die "building history_dump failed: $err" unless -x $tool;

# The sampler ticks every 10 s here, as in the dump, so that a tick of the
# recommendation is a tick of the rows.
my $node = pgpool_node('hours', "pgpool_stats.sample_interval = '10s'\n");
my ($major, $now_us) = split /\|/, $node->safe_psql('postgres', q{
    SELECT current_setting('server_version_num')::int / 100,
           ((extract(epoch FROM now()) - 946684800) * 1000000)::bigint});
$node->stop;
($out, $err) = run_command([$tool, $node->data_dir . '/pg_stat/pgpool_stats.stat', $major,
    $now_us, 3]);
like($out, qr/^3 hour rows, 16 minute rows/, 'the core wrote three hours of one application');
$node->start;
ok($node->log_contains('restored counters and history'), 'the server restored the dump');

my @hours = split /\n/, $node->safe_psql('postgres', q{
    SELECT samples, minutes, connections_min, connections_mean, connections_p95, connections_max,
           active_min, round(active_mean::numeric, 3), active_p95, active_max, idle_max
    FROM pgpool_stats.history_hours WHERE application_name = 'steady' ORDER BY hour});
is(scalar @hours, 3, 'history_hours serves the three hours');
is($hours[0], '360|60|3|3|3|3|1|1.200|1|5|2',
    'an hour: 360 ticks in 60 minutes; 3 connections throughout; active 1, and 5 in three minutes '
    . '(mean 1.2, the p95 of the minute maxima 1, max 5)');

my ($hour_rows, $older) = split /\|/, $node->safe_psql('postgres', q{
    SELECT count(*), bool_and(sample_time < (SELECT min(minute) FROM pgpool_stats.history_minutes))
    FROM pgpool_stats.history WHERE application_name = 'steady' AND resolution = 'hour'});
cmp_ok($hour_rows, '>=', 2, "pgpool_stats.history shows hours ($hour_rows)");
is($older, 't', 'only those older than the minute rows');

# Active sessions summed over the window's ticks: three hours of 360 ticks
# at a mean of 1.2 (1296), and the tick that closed the third hour, a fine
# sample of 5. The dump's fine samples within the third hour are not counted
# again, nor its last minutes.
my ($covered, $peak, $active_ticks) = split /\|/, $node->safe_psql('postgres', q{
    SELECT extract(epoch FROM "window") > 3 * 3600 - 60, peak_active, round(mean_active * samples)
    FROM pgpool_stats.recommend('steady', '7 days')});
is($covered, 't', 'recommend() over 7 days covers the three hours');
is($peak, 5, 'and sees their peak of 5 active sessions');
is($active_ticks, 1301, 'and every active session of them once (an hour stands for its ticks keeping its mean)');
like($node->safe_psql('postgres', q{SELECT pgpool_stats.report('7 days')}),
    qr/history covers the last 3 h/, 'report(7 days) states that it covers those hours');

$node->restart;
is($node->safe_psql('postgres',
        q{SELECT count(*) FROM pgpool_stats.history_hours WHERE application_name = 'steady'}),
    3, 'the hour rows survive a clean restart');

$node->stop;
done_testing();
