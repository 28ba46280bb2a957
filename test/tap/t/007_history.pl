# History: fine samples at the configured rate, a bounded ring that keeps the
# newest, per-minute roll-ups (min / mean / max), refusals per interval, reset.
use strict;
use warnings;

use IPC::Run;
use Time::HiRes qw(time sleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

# The smallest fine ring (1024 rows), sampled every 100ms.
my $node = pgpool_node('history',
    "pgpool_stats.sample_interval = '100ms'\npgpool_stats.history_samples = 1024\n");
$node->safe_psql('postgres', q{CREATE ROLE app LOGIN; SELECT pgpool_stats.set_budget('capped', 1)});

my $root = $ENV{PGPOOL_STATS_ROOT};
sub hold {
    my ($app, $count) = @_;
    return IPC::Run::start(['/usr/bin/python3', "$root/test/clients/storm.py",
            '--host', $node->host, '--port', $node->port, '--user', 'app', '--app', $app,
            '--count', $count, '--hold', 300], '>', \my $out, '2>', \my $err);
}
# "hist" under study; two fillers so that the 1024-row ring wraps within the
# test (3 rows per 100ms: about 34 s). They log in well inside a minute, so
# that their first minute has ticks before them (checked below).
poll_until($node, 'SELECT extract(second FROM clock_timestamp()) BETWEEN 5 AND 45');
my @holders = (hold('hist', 3), hold('filler1', 1), hold('filler2', 1));
wait_until($node, q{SELECT sum(connections) = 5 FROM pgpool_stats.applications
                    WHERE application_name IN ('hist', 'filler1', 'filler2')},
    'hist holds 3 sessions, the fillers one each');

# Rate: over a measured window, one row per 100ms for an application with sessions.
# The window opens once the sampler has seen the 3 sessions (its newest sample
# of hist shows them), so that every sample inside it shows them too.
poll_until($node, q{SELECT connections = 3 FROM pgpool_stats.history
                                      WHERE application_name = 'hist' AND resolution = 'sample'
                                      ORDER BY sample_time DESC LIMIT 1});
my $t0 = $node->safe_psql('postgres', 'SELECT now()');
sleep 3;  # the measured window itself: the samples taken in it are counted
my $t1 = $node->safe_psql('postgres', 'SELECT now()');
my ($rows, $seconds) = split /\|/, $node->safe_psql('postgres', qq{
    SELECT count(*), extract(epoch FROM '$t1'::timestamptz - '$t0'::timestamptz)
    FROM pgpool_stats.history
    WHERE application_name = 'hist' AND resolution = 'sample'
      AND sample_time > '$t0' AND sample_time <= '$t1'});
my $expected = $seconds / 0.1;
# The worker skips the ticks it is late for: a loaded machine loses some.
cmp_ok($rows, '>=', 0.6 * $expected, "about 10 samples per second: $rows rows in $seconds s");
cmp_ok($rows, '<=', 1.1 * $expected + 1, 'and not more');
is($node->safe_psql('postgres', qq{
    SELECT min(connections) || '/' || max(connections) FROM pgpool_stats.history
    WHERE application_name = 'hist' AND sample_time > '$t0'}), '3/3', 'each sample shows the 3 sessions');

# Refusals show in the sample of their interval.
my $s = storm($node, app => 'capped', user => 'app', count => 6);
wait_until($node, q{SELECT coalesce(sum(rejected), 0) = 5 FROM pgpool_stats.history
                    WHERE application_name = 'capped'}, 'the 5 refusals are in the history');

# A roll-up per application per minute, with min/mean/max. The minute in
# which the sessions connected has ticks without them (zeros); wait for a
# minute spent wholly with 3 sessions.
ok(poll_until($node, q{SELECT count(*) > 0 FROM pgpool_stats.history_minutes
                                         WHERE application_name = 'hist' AND connections_min = 3}),
    'a whole minute with 3 sessions was rolled up');
is($node->safe_psql('postgres', q{
    SELECT connections_min || '/' || connections_mean || '/' || connections_max || '/' || (samples > 400)
    FROM pgpool_stats.history_minutes WHERE application_name = 'hist' AND connections_min = 3 LIMIT 1}),
    '3/3/3/true', 'min / mean / max of a steady minute, from about 600 samples (over 400)');
is($node->safe_psql('postgres', q{
    SELECT connections_min = 0 AND connections_max = 3 AND connections_mean > 0 AND connections_mean < 3
    FROM pgpool_stats.history_minutes WHERE application_name = 'hist' ORDER BY minute LIMIT 1}),
    't', 'the minute in which they connected counts the ticks before as zeros');
is($node->safe_psql('postgres', q{
    SELECT sum(rejected) FROM pgpool_stats.history_minutes WHERE application_name = 'capped'}), '5',
    'the roll-up keeps the refusals');

# By now the 1024-row ring has wrapped (3 applications' rows at 10/s would be
# more): it holds at most 1024 rows, the newest.
my ($count, $lag) = split /\|/, $node->safe_psql('postgres', q{
    SELECT count(*), extract(epoch FROM now() - max(sample_time)) < 2
    FROM pgpool_stats.history WHERE resolution = 'sample'});
cmp_ok($count, '<=', 1024, "the fine ring is bounded ($count rows)");
is($lag, 't', 'and keeps the newest');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM pgpool_stats.history WHERE resolution = 'minute'}),
    '>', 0, 'what the fine ring lost is covered by minute rows');

# The minute the fine samples begin in is shown as a minute row too (its
# first part is covered by nothing else): refusals in it after the first
# sample are in the samples, and must not be counted again in that row.
# The refusals come late in a minute; once it is rolled up, the fine ring
# (about 34 s here) still begins inside it.
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('straddle', 0)});
poll_until($node, 'SELECT extract(second FROM clock_timestamp()) BETWEEN 30 AND 50');
storm($node, app => 'straddle', user => 'app', count => 3);
wait_until($node, q{SELECT count(*) > 0 FROM pgpool_stats.history_minutes WHERE application_name = 'straddle'},
    'the minute of the refusals is rolled up');
is($node->safe_psql('postgres', q{
    SELECT sum(rejected) FROM pgpool_stats.history WHERE application_name = 'straddle'}), '3',
    'summed over the view, each refusal counts once');
diag($node->safe_psql('postgres', q{
    SELECT string_agg(resolution || ' ' || sample_time || ' ' || rejected, ', ' ORDER BY sample_time)
    FROM pgpool_stats.history WHERE application_name = 'straddle'}));

# reset() erases the history of one application.
$node->safe_psql('postgres', q{SELECT pgpool_stats.reset('capped')});
is($node->safe_psql('postgres', q{
    SELECT (SELECT count(*) FROM pgpool_stats.history WHERE application_name = 'capped')
         + (SELECT count(*) FROM pgpool_stats.history_minutes WHERE application_name = 'capped')}),
    '0', 'reset erases its history');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM pgpool_stats.history WHERE application_name = 'hist'}),
    '>', 0, 'and only its own');

for my $h (@holders) { $h->kill_kill; $h->finish; }
$node->stop;
done_testing();
