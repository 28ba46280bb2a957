# The visual report: pgpool_stats.report() after real workloads is a
# self-contained HTML page: a summary table of every application with the
# counters of pgpool_stats.applications, a server-wide chart of connections
# stacked by application against capacity, and per application a chart with
# value and time axes, its budget and reservation, roll-ups drawn as bands,
# and marks of refusals, would-be refusals and reaps where they happened.
# Headless Chromium (Debian's chromium) renders it at a desktop's and a
# phone's width; the PNGs stay in the test's folder for a person to look at
# (PGPOOL_STATS_REPORT_PNG copies the desktop one there, and the phone one
# beside it as NAME-phone.png), and their pixels are counted by colour.
use strict;
use warnings;

use File::Copy;
use JSON::PP;
use List::Util qw(max min sum);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $started = time;
# Samples every 100 ms in the smallest ring of fine samples (1024 rows), so
# that within the test the samples of a busy minute are overwritten and the
# report draws that minute from its roll-up.
my $node = pgpool_node('report',
    "pgpool_stats.sample_interval = '100ms'\npgpool_stats.history_samples = 1024\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('checkout', 12, reserved_connections => 4);
    SELECT pgpool_stats.set_budget('reports', 3);
    SELECT pgpool_stats.set_budget('audit', 2, mode => 'monitor');
    SELECT pgpool_stats.set_budget('etl', 10, idle_in_transaction_timeout => '1 second');
});

sub workload {
    my ($mode, $app, @opts) = @_;
    return IPC::Run::start(['/usr/bin/python3', "$root/test/clients/workload.py", $mode,
        '--host', $node->host, '--port', $node->port, '--user', 'app', '--app', $app, @opts],
        '>', \my $out, '2>', \my $err);
}

# The first minute: a pool of ten with three busy, a job refused at its
# budget, a monitored pool of four over its budget of two.
my $first_load = time;
my @load = (
    workload('pool', 'checkout', '--min-size', 10, '--max-size', 10, '--busy', 3,
        '--query-seconds', 0.3, '--seconds', 8),
    workload('pool', 'reports', '--max-size', 5, '--busy', 5, '--query-seconds', 0.5,
        '--seconds', 8),
    workload('pool', 'audit', '--min-size', 4, '--max-size', 4, '--busy', 4,
        '--query-seconds', 0.3, '--seconds', 8));
$_->finish for @load;
my $load_end = $node->safe_psql('postgres', 'SELECT now()');

# Two idle sessions fill the ring of fine samples until that load is in
# minute roll-ups only: its last minute closed, its samples overwritten.
my ($fillers) = hold_sessions($node,
    map { { dbname => 'postgres', user => 'app', application_name => "filler-$_" } } 1 .. 2);
wait_until($node, qq{
    SELECT EXISTS (SELECT FROM pgpool_stats.history_minutes
                   WHERE application_name = 'checkout' AND minute + '1 minute' >= '$load_end')
       AND NOT EXISTS (SELECT FROM pgpool_stats.history
                       WHERE application_name = 'checkout' AND resolution = 'sample')},
    'the first load is in minute roll-ups only');
release_sessions($node, $fillers, 'app');

# Then, in fine samples: a churning service, the job refused again, a leak
# of two sessions, and two sessions the reaper ends after 1 s idle in a
# transaction.
@load = (
    workload('churn', 'signup', '--rate', 50, '--seconds', 4),
    workload('pool', 'reports', '--max-size', 5, '--busy', 5, '--query-seconds', 0.5,
        '--seconds', 3),
    workload('leak', 'batch<&>', '--connections', 2, '--seconds', 5),
    workload('leak', 'etl', '--connections', 2, '--seconds', 4));
$_->finish for @load;
wait_until($node, q{SELECT count(*) = 2 FROM pgpool_stats.reaped WHERE application_name = 'etl'},
    'the reaper ended both sessions of etl');

# What the report will be checked against, read before it (nothing changes
# these rows meanwhile but time: the ring only drops the oldest samples).
my $epoch = q{((extract(epoch FROM %s) - 946684800) * 1000000)::bigint};  # PostgreSQL's epoch
my $fine_from = $node->safe_psql('postgres', sprintf(
    q{SELECT %s FROM pgpool_stats.history WHERE resolution = 'sample'
      ORDER BY sample_time LIMIT 1}, sprintf($epoch, 'sample_time')));
sub rows {
    my ($sql) = @_;
    return map { [split /\|/] } grep { length } split /\n/, $node->safe_psql('postgres', $sql);
}
# Rows as the report draws them: fine samples, and minutes up to where
# samples begin (the view history leaves out the minute that straddles that).
my $fine_from_ts = "'2000-01-01 00:00:00+00'::timestamptz + $fine_from * '1 microsecond'::interval";
sub history_rows {
    my ($app, $sample_condition, $minute_condition) = @_;
    return rows(sprintf(q{
        SELECT %s, 'sample' FROM pgpool_stats.history
        WHERE application_name = '%s' AND resolution = 'sample' AND %s
        UNION ALL
        SELECT %s, 'minute' FROM pgpool_stats.history_minutes
        WHERE application_name = '%s' AND minute < %s AND %s},
        sprintf($epoch, 'sample_time'), $app, $sample_condition,
        sprintf($epoch, 'minute'), $app, $fine_from_ts, $minute_condition));
}
my @refusals = history_rows('reports', 'rejected > 0', 'rejected > 0');
my @over_budget = history_rows('audit', 'would_reject > 0', 'would_reject > 0');
my @reaps = rows(sprintf(q{SELECT %s FROM pgpool_stats.reaped WHERE application_name = 'etl'},
    sprintf($epoch, 'reaped_at')));
my ($minute) = rows(sprintf(q{
    SELECT %s, connections_min, connections_mean, connections_max
    FROM pgpool_stats.history_minutes
    WHERE application_name = 'checkout' AND connections_max >= 10 AND minute < %s
    ORDER BY minute LIMIT 1},
    sprintf($epoch, 'minute'), $fine_from_ts));

my $html = $node->safe_psql('postgres',
    q{SET timezone = 'UTC'; SELECT pgpool_stats.report('10 minutes')});
my $reported = time;
my $dir = $PostgreSQL::Test::Utils::tmp_check;
PostgreSQL::Test::Utils::append_to_file("$dir/report.html", $html);
my %view = map { my @r = split /\|/; ($r[0] => {connections => $r[1], rejected => $r[2],
            would_reject => $r[3], reaped => $r[4], rate => $r[5]}) }
    split /\n/, $node->safe_psql('postgres', q{
        SELECT application_name, connections, rejected, would_reject, reaped,
               round(connects_per_second::numeric, 3)
        FROM pgpool_stats.applications});
my $capacity = $node->safe_psql('postgres', 'SELECT capacity FROM pgpool_stats.capacity');

like($html, qr/^<!DOCTYPE html>/, 'report() returns an HTML page');
unlike($html, qr/https?:|<script/i, 'self-contained: nothing fetched, no script');
like($html, qr/<h2>batch&lt;&amp;&gt;<\/h2>/, 'names are escaped');

# The window covered beside the one asked for.
my ($covered) = $html =~ m{<span class='covered'>([^<]*)</span>};
like($covered, qr/^asked 10 min, history covers the last (\d+ min)? ?(\d+ s)?$/,
    "the header says what was asked and what history covered: $covered");
my ($last) = $covered =~ /the last (.*)$/;
my $covered_s = 0;
$covered_s += $1 * 60 while $last =~ /(\d+) min/g;
$covered_s += $1 while $last =~ /(\d+) s\b/g;
# History starts at the minute of the first row: up to a minute before the
# node did.
cmp_ok($covered_s, '<=', $reported - $started + 61, 'no more than the node has recorded');
cmp_ok($covered_s, '>=', $reported - $first_load - 1, '... and at least since the first workload');

# The summary table, first: every application with the counters of
# pgpool_stats.applications.
cmp_ok(index($html, "<table class='summary'>"), '<', index($html, '<svg'),
    'the summary table comes before any chart');
sub cell {
    my ($app, $class) = @_;
    my ($row) = $html =~ m{<tr data-app='\Q$app\E'>(.*?)</tr>}s or return undef;
    my ($value) = $row =~ m{<td class='(?:n )?\Q$class\E(?: [^']*)?'>(.*?)</td>}s;
    return $value;
}
sub number { my ($v) = @_; $v //= ''; $v =~ s/<small>.*?<\/small>//g; $v =~ s/<[^>]*>//g;
    $v =~ s/^\s+|\s+$//g; return $v }
for my $app ('checkout', 'reports', 'audit', 'batch<&>', 'etl', 'signup') {
    my $escaped = $app =~ s/&/&amp;/gr =~ s/</&lt;/gr =~ s/>/&gt;/gr;
    my $v = $view{$app};
    is(number(cell($escaped, 'refused')), $v->{rejected}, "$app: refused as the view says");
    is(number(cell($escaped, 'would')), $v->{would_reject}, "$app: would be refused likewise");
    is(number(cell($escaped, 'reaped')), $v->{reaped}, "$app: reaped likewise");
    is(number(cell($escaped, 'now')), $v->{connections}, "$app: connections now likewise");
}
cmp_ok($view{reports}{rejected}, '>', 0, 'reports was refused');
cmp_ok($view{audit}{would_reject}, '>', 0, "audit's monitor budget would have refused logins");
is($view{audit}{rejected}, 0, '... and refused none');
like(cell('audit', 'would'), qr/^[1-9]\d*$/, "the table shows audit's would-be refusals");
is($view{etl}{reaped}, 2, "etl's two sessions were reaped");
is(number(cell('checkout', 'budget')), '12 (4 reserved)', "checkout's budget in the table");
like(cell('audit', 'budget'), qr/^2 <span class='mode monitor'>monitor<\/span>$/,
    "audit's budget says monitor");
cmp_ok(number(cell('checkout', 'peak')), '>=', 10, "checkout's peak of ten");
# The login rate decays with time: the report's is at least the view's, read after it.
my $rate = number(cell('signup', 'rate'));
cmp_ok($view{signup}{rate}, '>', 0.5, "signup's login rate is high ($view{signup}{rate} per second)");
ok($rate >= $view{signup}{rate} - 0.01 && $rate <= $view{signup}{rate} * 1.2 + 0.01,
    "the table prints signup's login rate ($rate per second)");
like(cell('signup', 'findings'), qr/>churning</, 'signup is churning');

# The server-wide chart: six applications by name, then the rest, against capacity.
my ($server) = $html =~ m{(<section class='card server'>.*?</section>)}s;
ok($server, 'a server-wide chart');
my @series = $server =~ m{data-series='([^']*)'}g;
is(scalar @series, 7, 'six applications stacked by name, then the rest: ' . join ', ', @series);
is($series[-1], 'the rest', '"the rest" on top');
my %names = map { $_ => 1 } qw(checkout reports audit etl signup filler-1 filler-2 022_report.pl),
    'batch&lt;&amp;&gt;';
is(scalar(grep { $names{$_} } @series[0 .. 5]), 6, 'the stacked ones are applications of the test');
my @means = $server =~ m{<td class='n'>(\d+\.\d)</td>}g;
is_deeply([@means[0 .. 5]], [sort { $b <=> $a } @means[0 .. 5]], 'stacked by mean, largest first');
my ($peak_total) = $server =~ /Highest total in the window <b>(\d+)<\/b>/;
cmp_ok($peak_total, '>=', 10 + 3 + 4, "the highest total holds the three pools at once ($peak_total)");
like($server, qr/>capacity $capacity<\/text>/, 'the capacity is drawn');

# Per application: a chart with axes, levels, bands and marks.
my $charts = () = $html =~ /<svg class='chart'/g;
my $listed = () = $html =~ /<tr data-app=/g;
is($charts, 1 + $listed, 'one chart per application, and the server chart');
sub section {
    my ($app) = @_;
    my ($s) = $html =~ m{(<section class='card app' id='app-\d+'><div class='head'><h2>\Q$app\E</h2>.*?</section>)}s;
    return $s // '';
}
# The chart's scales, read from the page: x of an instant, y of a value.
sub scales {
    my ($s) = @_;
    my ($from, $to) = $s =~ /data-window='(-?\d+) (-?\d+)'/;
    my ($left, $width) = $s =~ /data-plot='(\d+) (\d+)'/;
    my %label = reverse($s =~ m{<text x='40' y='([\d.]+)' text-anchor='end'>(\d+)</text>}g);
    my @values = sort { $a <=> $b } keys %label;
    my ($v0, $v1) = ($values[0], $values[-1]);
    my ($y0, $y1) = ($label{$v0} - 4, $label{$v1} - 4);
    return (sub { my $share = ($_[0] - $from) / ($to - $from);
                  $left + $width * min(1, max(0, $share)) },
            sub { $y0 + ($_[0] - $v0) * ($y1 - $y0) / ($v1 - $v0) }, \@values, $from, $to);
}
my $checkout = section('checkout');
like($checkout, qr/>budget 12<\/text>/, "checkout's budget is drawn");
like($checkout, qr/>reserved 4<\/text>/, '... and its reservation');
my ($grid) = $checkout =~ m{<g class='grid'[^>]*>(.*?)</g>}s;
cmp_ok(scalar(() = $grid =~ /<line /g), '>=', 5, 'gridlines across the chart');
my ($x_of, $y_of, $values, $from, $to) = scales($checkout);
my $step = $values->[1] - $values->[0];
ok(@$values >= 3 && (grep { $step == $_ } 1, 2, 5, 10, 20, 50)
        && !(grep { $values->[$_] - $values->[$_ - 1] != $step } 1 .. $#$values),
    "value ticks in a nice step: @$values");
my @times = map { my @p = split /:/; $p[0] * 3600 + $p[1] * 60 + ($p[2] // 0) }
    $checkout =~ m{class='time'[^>]*>([\d:]+)</text>}g;
my @steps = map { ($times[$_] - $times[$_ - 1]) % 86400 } 1 .. $#times;
my %nice = map { $_ => 1 } 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600;
ok(@times >= 3 && @times <= 7 && $nice{$steps[0]} && !(grep { $_ != $steps[0] } @steps),
    'time ticks in a nice step: ' . join ' ', $checkout =~ m{class='time'[^>]*>([\d:]+)</text>}g);

# The roll-up of checkout's busy minute, drawn as a band from its lowest to
# its highest with its mean, at the minute's place on the axis.
ok($minute, 'checkout has a busy minute roll-up from before the fine samples');
my ($m_start, $c_min, $c_mean, $c_max) = @$minute;
my $x_mid = $x_of->((max($m_start, $from) + min($m_start + 60_000_000, $fine_from)) / 2);
# A step path (M x,y then H x / V y) read at x: its upper edge, or its line.
sub path_at {
    my ($d, $x) = @_;
    my ($px, $py) = $d =~ /^M([\d.]+),([\d.]+)/;
    while ($d =~ /([HV])([\d.]+)/g) {
        if ($1 eq 'V') { $py = $2; next }
        return $py if $x >= $px && $x <= $2;
        $px = $2;
    }
    return undef;
}
my ($band) = $checkout =~ m{<path class='band' fill='#1565c0'[^>]* d='([^']*)'};
ok($band, "checkout's connections have a band");
my ($right) = $checkout =~ /data-plot='(\d+ \d+)'/;
$right = eval join '+', split / /, $right;
my ($band_lower) = $band =~ /H${right}(V.*)$/;  # from the right edge back to the left
my ($mean) = $checkout =~ m{<path class='mean' stroke='#1565c0'[^>]* d='([^']*)'};
ok(abs(path_at($band, $x_mid) - $y_of->($c_max)) <= 1,
    "the band's top is the minute's highest ($c_max connections)");
my $lowest = do {  # the lower edge, walked right to left
    my ($x, $y) = ($right, undef);
    my $found;
    while ($band_lower =~ /([HV])([\d.]+)/g) {
        if ($1 eq 'V') { $y = $2; next }
        $found //= $y if $x_mid <= $x && $x_mid >= $2;
        $x = $2;
    }
    $found;
};
ok(abs($lowest - $y_of->($c_min)) <= 1, "its bottom the minute's lowest ($c_min)");
ok(abs(path_at($mean, $x_mid) - $y_of->($c_mean)) <= 1,
    "and the line the minute's mean ($c_mean), not its highest");

# Marks on the time axis: every refusal row of reports under a mark, and
# every mark over a refusal row; likewise audit's would-be refusals; etl's reaps.
sub spans_of {
    my ($s, $class) = @_;
    return map { [$_->[0], $_->[0] + $_->[1]] }
        map { [/x='([\d.]+)' y='\d+' width='([\d.]+)'/] } $s =~ m{(<rect class='$class'[^>]*>)}g;
}
sub row_end {
    my ($start, $resolution) = @_;
    return $resolution eq 'sample' ? $start + 100_000 : min($start + 60_000_000, $fine_from);
}
sub row_span {  # [x0, x1] of a history row on a chart's axis
    my ($x, $start, $resolution) = @_;
    return [$x->($start), $x->(row_end($start, $resolution))];
}
sub overlaps { my ($a, $b) = @_; return $a->[0] <= $b->[1] + 1.5 && $b->[0] <= $a->[1] + 1.5 }
for my $case (['reports', 'mark-refused', \@refusals, 'refusal'],
              ['audit', 'mark-would', \@over_budget, 'would-be refusal']) {
    my ($app, $class, $rows, $what) = @$case;
    my $s = section($app);
    my ($x) = scales($s);
    my @marks = spans_of($s, $class);
    my @expected = map { row_span($x, @$_) } grep { row_end(@$_) > $from } @$rows;
    cmp_ok(scalar @marks, '>', 0, "$app: ${\ scalar @marks} $class marks");
    is(scalar(grep { my $r = $_; !grep { overlaps($r, $_) } @marks } @expected), 0,
        "$app: every $what of the history is marked");
    is(scalar(grep { my $m = $_; !grep { overlaps($m, $_) } @expected } @marks), 0,
        "$app: every mark is over a $what");
}
my $etl = section('etl');
my ($etl_x) = scales($etl);
my @reap_x = $etl =~ m{<path class='mark-reap' d='M([\d.]+),}g;
is(scalar @reap_x, 2, 'two reaps marked on etl');
ok((grep { my $r = $_->[0]; grep { abs($_ - $etl_x->($r)) <= 1 } @reap_x } @reaps) == 2,
    '... each at the moment of its reaping');
like($html, qr/<span class='finding'>starved<\/span>/, "reports' refusals show as starved");
like(section('batch&lt;&amp;&gt;'), qr/<span class='finding'>idle_in_transaction<\/span>/,
    'the leak shows as idle_in_transaction');
like(section('batch&lt;&amp;&gt;'), qr/class='mean' stroke='#8e24aa'/,
    '... and its sessions idle in a transaction are drawn');
is(scalar(() = $html =~ /the 99th percentile of concurrently active sessions/g), 1,
    'the rule behind max_connections is said once, in the notes');

# Rendered by Chromium at a desktop's and a phone's width, each as tall as
# the page (about 500 and 1000 pixels per application).
sub screenshot {
    my ($name, $width, $height) = @_;
    my ($out, $err) = run_command(['chromium', '--headless', '--no-sandbox', '--disable-gpu',
        '--hide-scrollbars', "--window-size=$width,$height", "--screenshot=$dir/$name",
        "file://$dir/report.html"]);
    ok(-s "$dir/$name", "headless Chromium rendered it $width pixels wide") or diag $err;
}
sub colours {
    my ($png, @specs) = @_;
    my ($json) = run_command(['/usr/bin/python3', "$root/test/clients/png_colors.py",
        "$dir/$png", @specs]);
    return JSON::PP::decode_json($json);
}
screenshot('report.png', 1300, 1500 + 500 * $charts);
screenshot('report-phone.png', 390, min(16000, 2500 + 1000 * $charts));

# Colours, each used for one thing only (src/core/report.cpp): the lines
# (antialiased: wide tolerance), fills and marks (narrow).
my %want = (
    '1565c0' => [400, 'connections lines'],
    'ef6c00' => [400, 'active lines'],
    '8e24aa/20' => [100, 'idle in transaction line'],
    'c62828/20' => [150, 'budget lines'],
    '2e7d32/20' => [100, 'reservation line'],
    'd50000/10' => [20, 'refusal marks'],
    'ff8a80/10' => [20, 'would-be refusal marks'],
    '4a148c/10' => [10, 'reap marks'],
    'e4e4e4/3' => [3000, 'gridlines'],
    'd5e3f4/4' => [200, 'the band of connections (blue at 18 % over white)'],
    '4e79a7/10' => [200, 'the largest stacked application'],
    'f28e2b/10' => [50, 'the second'],
    'b9b0ab/8' => [20, 'the rest'],
);
my $px = colours('report.png', sort keys %want);
cmp_ok($px->{$_}, '>', $want{$_}[0], "desktop: $want{$_}[1] drawn ($px->{$_} pixels of $_)")
    for sort keys %want;
my $phone = colours('report-phone.png', '1565c0', 'e4e4e4/3', '4e79a7/10', 'd50000/10');
cmp_ok($phone->{'1565c0'}, '>', 200, "phone: connections lines drawn ($phone->{'1565c0'} pixels)");
cmp_ok($phone->{'e4e4e4/3'}, '>', 1000, "phone: gridlines drawn ($phone->{'e4e4e4/3'} pixels)");
cmp_ok($phone->{'4e79a7/10'}, '>', 50, "phone: the stack drawn ($phone->{'4e79a7/10'} pixels)");
cmp_ok($phone->{'d50000/10'}, '>', 5, "phone: refusal marks drawn ($phone->{'d50000/10'} pixels)");
if (my $copy = $ENV{PGPOOL_STATS_REPORT_PNG}) {
    copy("$dir/report.png", $copy);
    copy("$dir/report-phone.png", $copy =~ s/(\.png)?$/-phone.png/r);
}

# Labels in the session's time zone.
my $kolkata = $node->safe_psql('postgres',
    q{SET timezone = 'Asia/Kolkata'; SELECT pgpool_stats.report('10 minutes')});
like($kolkata, qr/\(IST, UTC\+05:30\): <span class='covered'>/, "the header names the session's time zone");
# The window starts at the oldest history row in both reports: 5 h 30 apart on the clock.
my @utc_from = $html =~ m{<div class='meta'><b>[\d-]+ (\d\d):(\d\d):(\d\d)</b>};
my @ist_from = $kolkata =~ m{<div class='meta'><b>[\d-]+ (\d\d):(\d\d):(\d\d)</b>};
is((($ist_from[0] - $utc_from[0]) * 3600 + ($ist_from[1] - $utc_from[1]) * 60
        + $ist_from[2] - $utc_from[2] + 86400) % 86400, 5.5 * 3600,
    "times are in the session's time zone: from @utc_from[0..1] UTC is @ist_from[0..1] IST");

# Arguments.
my ($rc, $stdout, $stderr) = $node->psql('postgres', q{SELECT pgpool_stats.report('-1 hour')});
like($stderr, qr/window must be positive/, 'a negative window is refused');
($rc, $stdout, $stderr) = $node->psql('postgres', q{SELECT pgpool_stats.report(NULL)});
like($stderr, qr/window must not be NULL/, 'a NULL window is refused');
$node->stop;
done_testing();
