# The Grafana dashboard (integrations/grafana/pgpool_stats.json): its
# structure (panels with unique ids, a place on the grid that overlaps no
# other, a data source that is the dashboard's variable, targets with an
# expression), its queries in the documented vocabulary, each panel described
# in docs/metrics.md; and every query, the variables' too, parsed by promtool
# (as recording rules: promtool check rules) and evaluated on synthetic series
# of both routes (promtool test rules), each returning data.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsPrometheus;

my $root = $ENV{PGPOOL_STATS_ROOT} or die 'PGPOOL_STATS_ROOT is not set';
my $dash = decode_json(slurp_file("$root/integrations/grafana/pgpool_stats.json"));
my $docs = slurp_file("$root/docs/metrics.md");

# 1. Structure.
ok($dash->{title} && $dash->{uid} && $dash->{schemaVersion} =~ /^\d+$/, 'title, uid, schemaVersion');
my %vars = map { $_->{name} => $_ } @{ $dash->{templating}{list} };
is($vars{datasource}{type}, 'datasource', 'a data source variable ...');
is($vars{datasource}{query}, 'prometheus', '... of Prometheus data sources');
my $ds_ok = sub { my ($ds) = @_; ref $ds eq 'HASH' && $ds->{type} eq 'prometheus' && $ds->{uid} eq '${datasource}' };
my @panels = map { ($_, @{ $_->{panels} // [] }) } @{ $dash->{panels} };
my %known_types = map { $_ => 1 } qw(row timeseries stat table);
my (%ids, @boxes, @queries);
for my $p (@panels) {
    my $name = "panel " . ($p->{id} // '?') . ' "' . ($p->{title} // '') . '"';
    ok(defined $p->{id} && $p->{id} =~ /^\d+$/ && !$ids{ $p->{id} }++, "$name: a unique id");
    ok($known_types{ $p->{type} // '' }, "$name: a known type ($p->{type})");
    my $g = $p->{gridPos} // {};
    ok((!grep { !defined $g->{$_} || $g->{$_} !~ /^\d+$/ } qw(h w x y)) && $g->{w} > 0 && $g->{h} > 0
        && $g->{x} + $g->{w} <= 24, "$name: a place on the 24-column grid");
    for my $b (@boxes) {
        my $overlap = $g->{x} < $b->{x} + $b->{w} && $b->{x} < $g->{x} + $g->{w}
            && $g->{y} < $b->{y} + $b->{h} && $b->{y} < $g->{y} + $g->{h};
        ok(!$overlap, "$name does not overlap panel $b->{id}") if $overlap;
    }
    push @boxes, { %$g, id => $p->{id} };
    like($docs, qr/^- \*\*\Q$p->{title}\E\*\*/m, "$name: described in docs/metrics.md");
    next if $p->{type} eq 'row';
    ok($ds_ok->($p->{datasource}), "$name: the data source is the variable");
    ok(($p->{description} // '') ne '', "$name: a description");
    ok(ref $p->{targets} eq 'ARRAY' && @{ $p->{targets} }, "$name: targets");
    my %refs;
    for my $t (@{ $p->{targets} }) {
        ok(($t->{expr} // '') ne '' && $t->{refId} && !$refs{ $t->{refId} }++,
            "$name/$t->{refId}: an expression and a unique refId");
        ok($ds_ok->($t->{datasource}), "$name/$t->{refId}: the data source is the variable");
        like($t->{expr}, qr/instance="\$instance"/, "$name/$t->{refId}: on the chosen server");
        push @queries, { record => "dashboard:panel$p->{id}:$t->{refId}", expr => $t->{expr},
            name => "$name/$t->{refId}" };
    }
    ok(!$p->{repeat} || $vars{ $p->{repeat} }, "$name: repeats over a variable") if $p->{repeat};
}
cmp_ok(scalar @queries, '>=', 30, scalar(@queries) . ' queries');

# 2. The vocabulary: every metric a query names is in the tables of
# docs/metrics.md.
my %documented = map { $_ => 1 } $docs =~ /^\| `(pgpool_stats_\w+)` \| (?:gauge|counter) \|/mg;
my %used = map { $_ => 1 } map { $_->{expr} =~ /\b(pgpool_stats_\w+)/g } @queries,
    map { { expr => ref $_->{query} ? $_->{query}{query} : '' } } values %vars;
for my $metric (sort keys %used) {
    ok($documented{$metric}, "$metric is in the documented vocabulary");
}
# Every family is on the dashboard somewhere, but the server's
# superuser_reserved_connections (a constant of its configuration).
my @unused = grep { !$used{$_} } sort keys %documented;
is_deeply(\@unused, ['pgpool_stats_capacity_superuser_reserved_connections'],
    'the dashboard shows every family but superuser_reserved_connections');

# 3. Every query evaluated on synthetic series of both routes: the families
# of docs/metrics.md with the labels the tables say, for applications api
# (enforce) and batch (monitor), and the labels each route's series carry.
my %family_labels;
for ($docs =~ /^(\| `pgpool_stats_\w+` \| (?:gauge|counter) \| [^|]*\|)/mg) {
    my ($name, $type, $labels) = /^\| `(\w+)` \| (\w+) \| ([^|]*)\|/;
    $family_labels{$name} = { type => $type, labels => [ $labels =~ /`(\w+)`/g ] };
}
my %routes = (
    metrics => { instance => 'db1:9100', labels => 'job="node",instance="db1:9100"' },
    exporter => { instance => 'db1:9187', labels => 'job="postgres",instance="db1:9187",server="db1:5432"' },
);
my %mode = (api => 'enforce', batch => 'monitor');
my $dir = PostgreSQL::Test::Utils::tempdir();
for my $route (sort keys %routes) {
    my $r = $routes{$route};
    my $grafana = sub {
        my ($expr) = @_;
        $expr =~ s/\$instance\b/$r->{instance}/g;
        $expr =~ s/\$application_name\b/(api|batch)/g;
        $expr =~ s/\$__rate_interval\b/5m/g;
        $expr =~ s/\$__range\b/1h/g;
        return $expr;
    };
    my @series;
    for my $family (sort keys %family_labels) {
        my $f = $family_labels{$family};
        my $values = $f->{type} eq 'counter' ? '0+2x90' : $family =~ /_ratio$/ ? '0.5x90' : '3x90';
        my @apps = (grep { $_ eq 'application_name' } @{ $f->{labels} }) ? qw(api batch) : (undef);
        for my $app (@apps) {
            my $labels = $r->{labels};
            $labels .= qq{,application_name="$app"} if defined $app;
            $labels .= qq{,mode="$mode{$app}"} if grep { $_ eq 'mode' } @{ $f->{labels} };
            push @series, { series => "$family\{$labels\}", values => $values };
        }
    }
    my @rules = map { { record => $_->{record}, expr => $grafana->($_->{expr}) } } @queries;
    unlike(join("\n", map { $_->{expr} } @rules), qr/\$/, "$route: every variable was substituted");
    my $json = JSON::PP->new->canonical->pretty;
    my $rules_file = "$dir/dashboard_$route.rules.json";
    open my $fh, '>', $rules_file or die $!;
    print $fh $json->encode({ groups => [ { name => 'dashboard', rules => \@rules } ] });
    close $fh;
    my ($ok, $out, $err) = promtool(undef, 'check', 'rules', $rules_file);
    ok($ok, "$route: promtool parses every query of the dashboard") or diag "$out$err";
    like($out, qr/SUCCESS: ${\ scalar @rules} rules found/, "$route: all ${\ scalar @rules} of them");

    # The variables: the servers, then the applications of the chosen one.
    my ($instance_query) = $vars{instance}{query}{query} =~ /^label_values\((.+), (\w+)\)$/;
    my ($app_query, $app_label) = $grafana->($vars{application_name}{query}{query})
        =~ /^label_values\((.+), (\w+)\)$/;
    my $test = {
        rule_files => [ $rules_file ],
        evaluation_interval => '1m',
        tests => [ {
            interval => '1m',
            input_series => \@series,
            promql_expr_test => [
                { expr => "group by (instance) ($instance_query)", eval_time => '60m',
                  exp_samples => [ { labels => qq({instance="$r->{instance}"}), value => 1 } ] },
                { expr => "group by ($app_label) ($app_query)", eval_time => '60m',
                  exp_samples => [ map { { labels => qq({application_name="$_"}), value => 1 } } qw(api batch) ] },
                map { { expr => "count($_->{record}) > bool 0", eval_time => '60m',
                        exp_samples => [ { labels => '{}', value => 1 } ] } } @queries ],
        } ],
    };
    my $test_file = "$dir/dashboard_$route.test.json";
    open $fh, '>', $test_file or die $!;
    print $fh $json->encode($test);
    close $fh;
    ($ok, $out, $err) = promtool(undef, 'test', 'rules', $test_file);
    ok($ok, "$route: every query of the dashboard and its variables returns data") or diag "$out$err";
}

done_testing();
