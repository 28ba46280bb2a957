# The queries file for prometheus-postgres-exporter, with the real exporter
# (Debian's prometheus-postgres-exporter) against a real server: a pg_monitor
# role scrapes, and the figures it serves equal the views. (The exporter runs
# user queries from its second scrape on, once it knows the server version.)
use strict;
use warnings;

use HTTP::Tiny;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('exporter');
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    CREATE ROLE exporter LOGIN IN ROLE pg_monitor;
    SELECT pgpool_stats.set_budget('api', 3, reserved_connections => 1);
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

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $exporter = IPC::Run::start(['prometheus-postgres-exporter',
        "--web.listen-address=127.0.0.1:$port", '--disable-default-metrics',
        '--disable-settings-metrics',
        "--extend.query-path=$root/integrations/postgres_exporter/queries.yaml"],
    '>', \my $exporter_out, '2>', \my $exporter_err,
    init => sub {
        $ENV{DATA_SOURCE_NAME} = 'host=' . $node->host . ' port=' . $node->port
            . ' user=exporter dbname=postgres sslmode=disable';
    });
my $http = HTTP::Tiny->new(timeout => 10);
my $body = '';
for (1 .. 100) {
    my $r = $http->get("http://127.0.0.1:$port/metrics");
    if ($r->{success} && $r->{content} =~ /^pgpool_stats_capacity_capacity\{/m) {
        $body = $r->{content};
        last;
    }
    select(undef, undef, undef, 0.2);
}
ok($body ne '', 'the exporter serves pgpool_stats metrics') or diag $exporter_err;

sub sample {
    my ($name, $labels) = @_;
    my ($value) = $body =~ /^\Q$name\E\{[^}]*\Q$labels\E[^}]*\} (\S+)$/m;
    return $value;
}

my $row = ledger_row($node, 'api');
is(sample('pgpool_stats_application_connections', 'application_name="api"'), 2,
    'connections of api, as the view says');
is(sample('pgpool_stats_application_admitted', 'application_name="api"'), $row->{admitted},
    "admitted counter of api ($row->{admitted})");
is(sample('pgpool_stats_application_rejected', 'application_name="api"'), 2,
    'rejected counter of api (2)');
like($body, qr/^# TYPE pgpool_stats_application_rejected counter$/m, 'rejected is a counter');
is(sample('pgpool_stats_budget_max_connections', 'application_name="api"'), 3, 'the budget cap of api');
is(sample('pgpool_stats_budget_reserved_connections', 'application_name="api"'), 1,
    'its reservation');
like($body, qr/^pgpool_stats_budget_max_connections\{[^}]*mode="enforce"/m, 'the mode is a label');
my ($capacity) = split /\|/, $node->safe_psql('postgres', 'SELECT capacity FROM pgpool_stats.capacity');
is(sample('pgpool_stats_capacity_capacity', ''), $capacity, "the server's capacity ($capacity)");
unlike($body, qr/pg_exporter_last_scrape_error 1/, 'the scrape had no error');

$exporter->kill_kill;
$_->kill_kill for @held;
$node->stop;
done_testing();
