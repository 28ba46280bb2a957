# The queries file for prometheus-postgres-exporter, with the real exporter
# (Debian's prometheus-postgres-exporter) against a real server: a pg_monitor
# role scrapes; the figures it serves equal the views; promtool accepts its
# page; and it serves the same families as metrics() (names, types, labels,
# help texts: one vocabulary, docs/metrics.md), also against 1.0's SQL.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;
use PgpoolStatsPrometheus;

my $node = pgpool_node('exporter');
# Every kind of budget, so that every family has samples: a cap with a
# reservation, a reservation without a cap (monitor), a cap of 0 (no
# utilization: the exporter must not serve NaN).
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    CREATE ROLE exporter LOGIN IN ROLE pg_monitor;
    SELECT pgpool_stats.set_budget('api', 3, reserved_connections => 1);
    SELECT pgpool_stats.set_budget('batch', NULL, reserved_connections => 2, mode => 'monitor');
    SELECT pgpool_stats.set_budget('closed', 0);
});
my $s = storm($node, app => 'api', user => 'app', count => 5);
is($s->{admitted}, 3, 'api: 3 of 5 admitted, 2 refused');

# Two sessions of api held open while the exporter scrapes.
my @held = map {
    my $in = "SELECT 1;\n";
    my $h = IPC::Run::start(['psql', '-X', '-q', '-d',
        $node->connstr('postgres') . ' user=app application_name=api'], '<', \$in, '>', \my $o);
    $h->pump while length $in;
    $h
} 1 .. 2;
wait_until($node, connections_sql('api', '=', 2), 'api holds 2 sessions');

my $exporter = start_exporter($node, user => 'exporter');
my $body = scrape_exporter($exporter);
ok($body ne '', 'the exporter serves pgpool_stats metrics') or diag ${ $exporter->{log} };
my $metrics = metrics_of($node);

my $exported = parse_exposition($body);
sub sample {
    my ($parsed, $name, %want) = @_;
    my @found = grep {
        my $l = $_->[1];
        $_->[0] eq $name && !grep { ($l->{$_} // '') ne $want{$_} } keys %want
    } @{ $parsed->{samples} };
    return @found == 1 ? $found[0][2] : undef;
}

my $row = ledger_row($node, 'api');
is(sample($exported, 'pgpool_stats_connections', application_name => 'api'), 2,
    'connections of api, as the view says');
is(sample($exported, 'pgpool_stats_admitted_total', application_name => 'api'), $row->{admitted},
    "admitted counter of api ($row->{admitted})");
is(sample($exported, 'pgpool_stats_rejected_total', application_name => 'api'), 2,
    'rejected counter of api (2)');
like($body, qr/^# TYPE pgpool_stats_rejected_total counter$/m, 'rejected is a counter');
is(sample($exported, 'pgpool_stats_budget_max_connections', application_name => 'api',
        mode => 'enforce'), 3, 'the budget cap of api, with its mode');
is(sample($exported, 'pgpool_stats_budget_reserved_connections', application_name => 'api'), 1,
    'its reservation');
is(sample($exported, 'pgpool_stats_budget_reserved_connections', application_name => 'batch',
        mode => 'monitor'), 2, 'the reservation of a budget without a cap');
is(sample($exported, 'pgpool_stats_budget_max_connections', application_name => 'batch'), undef,
    '... which has no cap series');
is(sample($exported, 'pgpool_stats_budget_utilization_ratio', application_name => 'closed'), undef,
    'a cap of 0 has no utilization');
unlike($body, qr/^pgpool_stats_\S+ NaN$/m, 'no NaN anywhere');
my ($capacity) = split /\|/, $node->safe_psql('postgres', 'SELECT capacity FROM pgpool_stats.capacity');
is(sample($exported, 'pgpool_stats_capacity_slots'), $capacity, "the server's capacity ($capacity)");
unlike($body, qr/pg_exporter_last_scrape_error 1/, 'the scrape had no error');

# promtool on the whole page (1.0's file: 6 problems, counters without _total
# and gauges with it).
my ($ok, $out, $err) = promtool($body, 'check', 'metrics');
ok($ok && $out eq '' && $err eq '', "promtool check metrics: the exporter's page is clean")
    or diag "$out$err";
($ok, $out, $err) = promtool($metrics, 'check', 'metrics');
ok($ok && $out eq '' && $err eq '', 'promtool check metrics: metrics() is clean') or diag "$out$err";

# One vocabulary: the same families, types, labels (but the exporter's own
# "server") and help texts on both routes.
my $from_exporter = pgpool_families($exported, 'server');
my $from_metrics = pgpool_families(parse_exposition($metrics));
cmp_ok(scalar keys %$from_metrics, '>=', 29, 'metrics() serves the families');
is_deeply($from_exporter, $from_metrics,
    'the exporter serves the same families as metrics(): names, types, labels, help');
is($from_exporter->{pgpool_stats_connections}{labels}, 'application_name',
    'the label is application_name');

# The figures that do not move between the two reads agree (those of the
# budgeted applications and the server's; the test's own sessions log in
# between the reads).
my $parsed_metrics = parse_exposition($metrics);
my @stable = qw(pgpool_stats_admitted_total pgpool_stats_rejected_total
    pgpool_stats_would_reject_total pgpool_stats_budget_max_connections
    pgpool_stats_budget_reserved_connections pgpool_stats_capacity_slots
    pgpool_stats_capacity_max_connections pgpool_stats_capacity_reserved_connections
    pgpool_stats_capacity_budgeted_connections pgpool_stats_capacity_overcommit
    pgpool_stats_capacity_reserved_over_capacity pgpool_stats_capacity_applications_max);
my (%a, %b);
my $key = sub { my ($s) = @_; join ' ', $s->[0], map { "$_=$s->[1]{$_}" } sort grep { $_ ne 'server' } keys %{ $s->[1] } };
my $compared = sub {
    my ($s) = @_;
    my $app = $s->[1]{application_name};
    return (grep { $_ eq $s->[0] } @stable) && (!defined $app || $app =~ /^(api|batch|closed)$/);
};
$a{ $key->($_) } = $_->[2] for grep { $compared->($_) } @{ $exported->{samples} };
$b{ $key->($_) } = $_->[2] for grep { $compared->($_) } @{ $parsed_metrics->{samples} };
cmp_ok(scalar keys %a, '>=', 20, 'series compared');
is_deeply(\%a, \%b, 'counters, budgets and capacity: the same series and values on both routes');

# The same file against 1.0's SQL (a package upgrade brings it before
# ALTER EXTENSION UPDATE runs): same families, no error.
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', q{CREATE EXTENSION pgpool_stats VERSION '1.0'});
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'pgpool_stats'}),
    '1.0', 'database old has 1.0');
my $old = start_exporter($node, user => 'exporter', dbname => 'old');
my $old_body = scrape_exporter($old);
ok($old_body ne '', 'the exporter serves pgpool_stats metrics from 1.0') or diag ${ $old->{log} };
unlike($old_body, qr/pg_exporter_last_scrape_error 1/, '... without an error');
is_deeply(pgpool_families(parse_exposition($old_body), 'server'), $from_metrics,
    '... in the same vocabulary');
is_deeply(pgpool_families(parse_exposition(metrics_of($node, 'old'))), $from_metrics,
    "metrics() in 1.0's SQL serves the same vocabulary");

$exporter->{handle}->kill_kill;
$old->{handle}->kill_kill;
$_->kill_kill for @held;
$node->stop;
done_testing();
