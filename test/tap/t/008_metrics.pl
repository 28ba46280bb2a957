# metrics(): Prometheus text that promtool accepts, with escaped labels and
# bounded cardinality (top 50 applications, budgets first, then by
# connections; the rest's gauges as "(other)"),
# in the vocabulary docs/metrics.md tables: every family there and no other,
# of the type and with the labels it says.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('metrics');
$node->safe_psql('postgres', q{CREATE ROLE app LOGIN; SELECT pgpool_stats.set_budget('api', 10, 2);
    SELECT pgpool_stats.set_budget('batch', NULL, 1, mode => 'monitor')});

# A name with the characters the format escapes (quote and backslash are
# printable ASCII, so PostgreSQL keeps them).
storm($node, app => 'we"ird\\app', user => 'app', count => 2);
storm($node, app => 'api', user => 'app', count => 3);

my $dir = PostgreSQL::Test::Utils::tempdir();
sub check_with_promtool {
    my ($label) = @_;
    my $text = $node->safe_psql('postgres', 'SELECT pgpool_stats.metrics()');
    open my $fh, '>', "$dir/metrics.txt" or die $!;
    print $fh "$text\n";
    close $fh;
    my ($out, $err) = ('', '');
    my $ok = IPC::Run::run(['promtool', 'check', 'metrics'], '<', "$dir/metrics.txt", '>', \$out, '2>', \$err);
    ok($ok, "promtool check metrics accepts it: $label") or diag("$out $err");
    return $text;
}

my $text = check_with_promtool('a few applications');
like($text, qr/^pgpool_stats_admitted_total\{application_name="we\\"ird\\\\app"\} 2$/m,
    'quote and backslash are escaped in the label');
like($text, qr/^pgpool_stats_admitted_total\{application_name="api"\} 3$/m, 'counters per application');
like($text, qr/^pgpool_stats_budget_max_connections\{application_name="api",mode="enforce"\} 10$/m,
    'budgets, with their mode');
like($text, qr/^pgpool_stats_budget_reserved_connections\{application_name="batch",mode="monitor"\} 1$/m,
    'a reservation without a cap');
unlike($text, qr/^pgpool_stats_budget_max_connections\{application_name="batch"/m, '... has no cap series');
like($text, qr/^pgpool_stats_capacity_slots \d+$/m, 'capacity');

# The families against the table of docs/metrics.md.
my %documented;
open my $doc, '<', "$ENV{PGPOOL_STATS_ROOT}/docs/metrics.md" or die $!;
while (<$doc>) {
    next unless /^\| `(pgpool_stats_\w+)` \| (gauge|counter) \| ([^|]*?) *\|/;
    my ($name, $type, $labels) = ($1, $2, $3);
    $documented{$name} = { type => $type, labels => join ',', sort $labels =~ /`(\w+)`/g };
}
close $doc;
my %served;
for (split /\n/, $text) {
    $served{$1}{type} = $2 if /^# TYPE (\S+) (\S+)$/;
    next if /^#/;
    my ($name, $labels) = /^(\w+)(?:\{(.*)\})? \S+$/ or next;
    $served{$name}{labels} = join ',', sort(($labels // '') =~ /(\w+)="/g);
}
cmp_ok(scalar keys %documented, '>=', 29, 'docs/metrics.md tables the families');
is_deeply(\%served, \%documented, 'metrics() serves exactly the documented families, types and labels');

# 60 more applications: 50 series plus "(other)".
for my $k (1 .. 60) {
    $node->safe_psql('postgres', 'SELECT 1', connstr => $node->connstr('postgres') . " application_name=many$k");
}
$text = check_with_promtool('62 applications');
my $series = () = $text =~ /^pgpool_stats_connections\{/mg;
is($series, 51, 'the top 50 applications and "(other)" for the gauges of the rest');
# batch has a budget but never logged in: the least busy of all, it still
# ranks first (budgets do), so the alerts on it keep a series.
like($text, qr/^pgpool_stats_budget_reserved_connections\{application_name="batch",mode="monitor"\} 1$/m,
    'a budget without a session keeps its series among 62 applications');
like($text, qr/^pgpool_stats_rejected_total\{application_name="batch"\} 0$/m, '... and its counters');
# Its counters are the ledger's overflow row's alone (none here): the rest
# changes from scrape to scrape, and their sum would not be a counter.
my ($other_admitted) = $text =~ /^pgpool_stats_admitted_total\{application_name="\(other\)"\} (\d+)$/m;
is($other_admitted, $node->safe_psql('postgres', q{SELECT coalesce(sum(admitted), 0)
    FROM pgpool_stats.applications WHERE application_name = '(other)'}),
    '"(other)"\'s counters are the overflow row\'s, not a sum over the rest');

$node->stop;
done_testing();
