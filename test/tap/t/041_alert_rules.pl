# The alert rules (integrations/prometheus/pgpool_stats.rules.yml) with
# promtool: they load (check rules); they fire as
# test/prometheus/pgpool_stats.rules.test.yml says on synthetic series of
# both routes (test rules), and every alert is tested firing, on both routes
# where it is not route-specific, with a runbook that docs/metrics.md has;
# and on the real output of both routes from one server where every condition
# was made true, the same alerts fire for the same applications.
use strict;
use warnings;

use File::Basename;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;
use PgpoolStatsPrometheus;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $rules_file = "$root/integrations/prometheus/pgpool_stats.rules.yml";

# 1. The file loads.
my ($ok, $out, $err) = promtool(undef, 'check', 'rules', $rules_file);
ok($ok, 'promtool check rules accepts the rules') or diag "$out$err";
like($out, qr/SUCCESS: 11 rules found/, '11 rules');

# 2. Structure: every alert has a severity, a summary, a description and a
# runbook pointing at its own section of docs/metrics.md.
my $rules = yaml_file($rules_file);
my @alerts = map { @{ $_->{rules} } } @{ $rules->{groups} };
my $docs = slurp_file("$root/docs/metrics.md");
my %headings = map { lc($_) => 1 } $docs =~ /^### (\w+)$/mg;
for my $rule (@alerts) {
    my $name = $rule->{alert} // "(a recording rule)";
    like($rule->{labels}{severity} // '', qr/^(critical|warning|info)$/, "$name: a severity");
    ok(($rule->{annotations}{summary} // '') ne '' && ($rule->{annotations}{description} // '') ne '',
        "$name: a summary and a description");
    my $runbook = $rule->{annotations}{runbook} // '';
    is($runbook, 'docs/metrics.md#' . lc $name, "$name: its runbook is its section of docs/metrics.md");
    ok($headings{ lc $name }, "$name: docs/metrics.md has the section");
}

# 3. The synthetic tests pass, and they test every alert firing: those on
# pgpool_stats's series on both routes.
my $tests_file = "$root/test/prometheus/pgpool_stats.rules.test.yml";
($ok, $out, $err) = promtool(undef, 'test', 'rules', $tests_file);
ok($ok, 'promtool test rules: the synthetic series of both routes') or diag "$out$err";
my $tests = yaml_file($tests_file);
my (%fires_in, @route_groups);
for my $t (@{ $tests->{tests} }) {
    for my $case (@{ $t->{alert_rule_test} // [] }) {
        $fires_in{ $case->{alertname} }{ $t->{name} } = 1 if @{ $case->{exp_alerts} // [] };
    }
    push @route_groups, $t->{name} if $t->{name} =~ /textfile collector|exporter with the queries file/;
}
is(scalar @route_groups, 2, 'one group of tests per route');
my %route_specific = map { $_ => 1 }
    qw(PgpoolStatsMetricsAbsent PgpoolStatsExporterWithoutMetrics PgpoolStatsTextfileStale);
for my $rule (@alerts) {
    my $name = $rule->{alert};
    if ($route_specific{$name}) {
        ok(scalar keys %{ $fires_in{$name} // {} }, "$name is tested firing");
    } else {
        ok((!grep { !$fires_in{$name}{$_} } @route_groups), "$name is tested firing on both routes");
    }
}

# 4. A real server where every condition the rules watch comes true, read by
# both routes before and after; the two reads become series in promtool
# (the first for minutes 0-9, the second from minute 10 on), with the labels
# Prometheus would add (job, instance).
my $node = pgpool_node('alerts', "max_connections = 40\npgpool_stats.max_applications = 16\n"
    . "pgpool_stats.sample_interval = '100ms'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    CREATE ROLE exporter LOGIN IN ROLE pg_monitor;
    SELECT pgpool_stats.set_budget('api', 2);
    SELECT pgpool_stats.set_budget('batch', 1, mode => 'monitor');
    SELECT pgpool_stats.set_budget('big', 500);
    SELECT pgpool_stats.set_budget('leaky', 5, idle_in_transaction_timeout => '1 second');
});
my $exporter = start_exporter($node, user => 'exporter');
my @before = (metrics_of($node), scrape_exporter($exporter));
ok($before[1] ne '', 'the exporter serves pgpool_stats metrics') or diag ${ $exporter->{log} };

my $s = storm($node, app => 'api', user => 'app', count => 4);
is($s->{admitted}, 2, 'api: 2 of 4 admitted, 2 refused');
$s = storm($node, app => 'batch', user => 'app', count => 3);
is($s->{admitted}, 3, 'batch (monitor): all 3 admitted, 2 of them over its cap');

my @held;
sub hold {
    my ($app, $sql) = @_;
    my $in = $sql;
    my $h = IPC::Run::start(['psql', '-X', '-q', '-d',
        $node->connstr('postgres') . " user=app application_name=$app"], '<', \$in, '>', \my $o, '2>', \my $e);
    $h->pump while length $in;
    push @held, $h;
}
hold('leaky', "BEGIN;\nSELECT 1;\n");
wait_until($node, q{SELECT reaped = 1 FROM pgpool_stats.applications WHERE application_name = 'leaky'},
    'the reaper terminated the idle transaction of leaky');
hold('api', "SELECT 1;\n") for 1 .. 2;
wait_until($node, connections_sql('api', '=', 2), 'api holds its whole budget');
# A reservation beyond the capacity, written directly (set_budget refuses it).
$node->safe_psql('postgres',
    q{INSERT INTO pgpool_stats.budget (application_name, reserved_connections) VALUES ('hog', 100)});
wait_until($node, q{SELECT reserved_over_capacity > 0 AND free_unreserved = 0 FROM pgpool_stats.capacity},
    'reservations exceed the capacity');
# Fill the table of applications (the superuser is never refused).
my $k = 0;
while ($node->safe_psql('postgres',
        'SELECT applications_tracked < applications_max FROM pgpool_stats.capacity') eq 't') {
    $k++;
    $node->safe_psql('postgres', 'SELECT 1',
        connstr => $node->connstr('postgres') . " application_name=fill$k");
    die 'the table does not fill' if $k > 50;
}
pass("the table of applications is full after $k more applications");
my @after = (metrics_of($node), scrape_exporter($exporter));

my %route = (
    'metrics()' => { labels => { job => 'node', instance => 'db1:9100' } },
    'exporter' => { labels => { job => 'postgres', instance => 'db1:9187' } },
);
my $wanted = sub { $_[0] =~ /^pgpool_stats_/ || $_[0] eq 'pg_up' };
sub selector {
    my ($name, $labels) = @_;
    my @pairs = map {
        my $v = $labels->{$_} =~ s/(["\\])/\\$1/gr =~ s/\n/\\n/gr;
        qq{$_="$v"}
    } grep { $labels->{$_} ne '' } sort keys %$labels;
    return $name . '{' . join(',', @pairs) . '}';
}
my @expected = (
    { eval_time => '12m', alerts => [
        [ PgpoolStatsLoginsRefused => 'api' ],
        [ PgpoolStatsLoginsWouldBeRefused => 'batch' ],
        [ PgpoolStatsSessionsReaped => 'leaky' ] ] },
    { eval_time => '75m', alerts => [
        [ PgpoolStatsApplicationsTableFull => undef ],
        [ PgpoolStatsBudgetsOvercommitted => undef ],
        [ PgpoolStatsNearBudget => 'api' ],
        [ PgpoolStatsReservationsOverCapacity => undef ],
        [ PgpoolStatsServerNearCapacity => undef ] ] },
);
my $dir = PostgreSQL::Test::Utils::tempdir();
my $index = 0;
for my $name (sort keys %route) {
    my ($first, $second) = map { parse_exposition($_) } ($name eq 'metrics()'
        ? ($before[0], $after[0]) : ($before[1], $after[1]));
    my %values;
    for my $pass ([ 0, $first ], [ 1, $second ]) {
        for my $sample (@{ $pass->[1]{samples} }) {
            next unless $wanted->($sample->[0]);
            my $key = selector($sample->[0], { %{ $sample->[1] }, %{ $route{$name}{labels} } });
            $values{$key}[ $pass->[0] ] = $sample->[2];
        }
    }
    my @series = map {
        my ($v1, $v2) = @{ $values{$_} };
        { series => $_,
          values => (defined $v1 ? "${v1}x9" : '_x10') . ' ' . (defined $v2 ? "${v2}x70" : '_x70') }
    } sort keys %values;
    cmp_ok(scalar @series, '>', 100, "$name: the series of both reads");
    my $test = {
        rule_files => [ $rules_file ],
        evaluation_interval => '1m',
        tests => [ {
            interval => '1m',
            input_series => \@series,
            promql_expr_test => [ map {
                my $e = $_;
                { expr => 'count by (alertname, application_name) (ALERTS{alertstate="firing"})',
                  eval_time => $e->{eval_time},
                  exp_samples => [ map {
                      { labels => '{alertname="' . $_->[0] . '"'
                            . (defined $_->[1] ? ',application_name="' . $_->[1] . '"' : '') . '}',
                        value => 1 }
                  } @{ $e->{alerts} } ] }
            } @expected ],
        } ],
    };
    # promtool reads YAML, and JSON is YAML.
    my $file = "$dir/real_" . $index++ . '.test.json';
    open my $fh, '>', $file or die $!;
    print $fh JSON::PP->new->canonical->pretty->encode($test);
    close $fh;
    ($ok, $out, $err) = promtool(undef, 'test', 'rules', $file);
    ok($ok, "real series of $name: the refusals, would-be refusals and the reap fire at once; "
        . 'near budget, near capacity, reservations over capacity, overcommit and the full table '
        . 'after their durations') or diag "$out$err";
}

$_->kill_kill for @held;
$exporter->{handle}->kill_kill;
$node->stop;
done_testing();
