# The visual report: pgpool_stats.report() after real workloads is a
# self-contained HTML page with one chart per application, budgets and
# reservations drawn, findings beside; headless Chromium (Debian's chromium)
# renders it to a PNG, kept in the test's folder for a person to look at
# (PGPOOL_STATS_REPORT_PNG copies it elsewhere).
use strict;
use warnings;

use File::Copy;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('report', "pgpool_stats.sample_interval = '100ms'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('checkout', 12, reserved_connections => 4);
    SELECT pgpool_stats.set_budget('reports', 3);
});

sub workload {
    my ($mode, $app, @opts) = @_;
    return IPC::Run::start(['/usr/bin/python3', "$root/test/clients/workload.py", $mode,
        '--host', $node->host, '--port', $node->port, '--user', 'app', '--app', $app, @opts],
        '>', \my $out, '2>', \my $err);
}
# A dozen connections with two busy, a job refused at its budget, a leak.
my @load = (
    workload('pool', 'checkout', '--min-size', 10, '--max-size', 10, '--busy', 3,
        '--query-seconds', 0.3, '--seconds', 8),
    workload('pool', 'reports', '--max-size', 5, '--busy', 5, '--query-seconds', 0.5,
        '--seconds', 8),
    workload('leak', 'batch<&>', '--connections', 2, '--seconds', 6));
$_->finish for @load;

my $html = $node->safe_psql('postgres', q{SELECT pgpool_stats.report('5 minutes')});
like($html, qr/^<!DOCTYPE html>/, 'report() returns an HTML page');
is(scalar(() = $html =~ /<svg /g), 3 + 1, 'one chart per application (checkout, reports, batch, and this psql)')
    or diag(join ', ', $html =~ /<h2>([^<]*)<\/h2>/g);
like($html, qr/>budget 12<\/text>/, "checkout's budget is drawn");
like($html, qr/>reserved 4<\/text>/, "... and its reservation");
like($html, qr/<h2>batch&lt;&amp;&gt;<\/h2>/, 'names are escaped');
like($html, qr/<span class='finding'>starved<\/span>/, "reports' refusals show as starved");
like($html, qr/<span class='finding'>idle_in_transaction<\/span>/, "the leak shows as idle_in_transaction");
unlike($html, qr/https?:|<script/i, 'self-contained: nothing fetched, no script');

my $dir = $PostgreSQL::Test::Utils::tmp_check;
PostgreSQL::Test::Utils::append_to_file("$dir/report.html", $html);
my ($out, $err) = run_command(['chromium', '--headless', '--no-sandbox', '--disable-gpu',
    '--hide-scrollbars', '--window-size=1300,1500', "--screenshot=$dir/report.png",
    "file://$dir/report.html"]);
ok(-s "$dir/report.png", 'headless Chromium rendered it to a PNG') or diag $err;
# The lines are really drawn: pixels of each series' colour, far more than
# the legend's swatches (about 30 pixels per colour and chart; a page whose
# lines were missing had 126 of each).
my ($colours) = run_command(['/usr/bin/python3', "$root/test/clients/png_colors.py",
    "$dir/report.png", '1565c0', 'ef6c00', 'c62828', '2e7d32']);
my $px = JSON::PP::decode_json($colours);
cmp_ok($px->{'1565c0'}, '>', 400, "the connections lines are drawn ($px->{'1565c0'} blue pixels)");
cmp_ok($px->{'ef6c00'}, '>', 400, "the active lines are drawn ($px->{'ef6c00'} orange pixels)");
cmp_ok($px->{'c62828'}, '>', 300, "the budget lines are drawn ($px->{'c62828'} red pixels)");
cmp_ok($px->{'2e7d32'}, '>', 300, "the reservation line is drawn ($px->{'2e7d32'} green pixels)");
copy("$dir/report.png", $ENV{PGPOOL_STATS_REPORT_PNG}) if $ENV{PGPOOL_STATS_REPORT_PNG};

# Arguments.
my ($rc, $stdout, $stderr) = $node->psql('postgres', q{SELECT pgpool_stats.report('-1 hour')});
like($stderr, qr/window must be positive/, 'a negative window is refused');
($rc, $stdout, $stderr) = $node->psql('postgres', q{SELECT pgpool_stats.report(NULL)});
like($stderr, qr/window must not be NULL/, 'a NULL window is refused');
$node->stop;
done_testing();
