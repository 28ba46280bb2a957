# metrics(): Prometheus text that promtool accepts, with escaped labels and
# bounded cardinality (top 50 applications by connections, the rest "(other)").
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('metrics');
$node->safe_psql('postgres', q{CREATE ROLE app LOGIN; SELECT pgpool_stats.set_budget('api', 10, 2)});

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
like($text, qr/^pgpool_stats_admitted_total\{application="we\\"ird\\\\app"\} 2$/m,
    'quote and backslash are escaped in the label');
like($text, qr/^pgpool_stats_admitted_total\{application="api"\} 3$/m, 'counters per application');
like($text, qr/^pgpool_stats_budget_max_connections\{application="api"\} 10$/m, 'budgets');
like($text, qr/^pgpool_stats_capacity \d+$/m, 'capacity');

# 60 more applications: 50 series plus "(other)".
for my $k (1 .. 60) {
    $node->safe_psql('postgres', 'SELECT 1', connstr => $node->connstr('postgres') . " application_name=many$k");
}
$text = check_with_promtool('62 applications');
my $series = () = $text =~ /^pgpool_stats_connections\{/mg;
is($series, 51, 'the top 50 applications and "(other)"');
like($text, qr/^pgpool_stats_admitted_total\{application="\(other\)"\} \d+$/m, '"(other)" sums the rest');

$node->stop;
done_testing();
