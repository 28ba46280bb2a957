# Helpers for the tests of the Prometheus side of pgpool_stats: the real
# prometheus-postgres-exporter with our queries file, the text exposition
# read into families and samples, and promtool (Debian's prometheus package).
package PgpoolStatsPrometheus;

use strict;
use warnings;

use Exporter 'import';
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

our @EXPORT = qw(start_exporter scrape_exporter parse_exposition pgpool_families promtool
    metrics_of yaml_file);

my $root = $ENV{PGPOOL_STATS_ROOT} or die "PGPOOL_STATS_ROOT is not set (run tools/test.sh)";

# The real exporter with integrations/postgres_exporter/queries.yaml, scraping
# DBNAME of NODE as USER. Returns its handle and port; it dies with the test.
my @exporters;
sub start_exporter {
    my ($node, %o) = @_;
    my $port = PostgreSQL::Test::Cluster::get_free_port();
    my ($out, $err) = ('', '');
    my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' user=' . ($o{user} // 'postgres')
        . ' dbname=' . ($o{dbname} // 'postgres') . ' sslmode=disable';
    my $h = IPC::Run::start(['prometheus-postgres-exporter',
            "--web.listen-address=127.0.0.1:$port", '--disable-default-metrics',
            '--disable-settings-metrics',
            "--extend.query-path=$root/integrations/postgres_exporter/queries.yaml"],
        '>', \$out, '2>', \$err,
        init => sub { $ENV{DATA_SOURCE_NAME} = $dsn });
    push @exporters, $h;
    return { handle => $h, port => $port, log => \$err };
}

# The exporter's page once it serves pgpool_stats's families (custom queries
# run from the second scrape on, once it knows the server's version), polled
# until the test's deadline; '' if it never did.
sub scrape_exporter {
    my ($exporter) = @_;
    my $http = HTTP::Tiny->new(timeout => 10);
    my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
    while (time < $deadline) {
        my $r = $http->get("http://127.0.0.1:$exporter->{port}/metrics");
        return $r->{content}
            if $r->{success} && $r->{content} =~ /^pgpool_stats_capacity_slots\{/m;
        select(undef, undef, undef, 0.2);
    }
    return '';
}

END {
    $_->kill_kill for @exporters;
}

# The text exposition as { families => { name => { type, help, labels } },
# samples => [ [ name, { label => value }, value ] ] }; labels of a family is
# the sorted, comma-joined set of label names its samples carry.
sub parse_exposition {
    my ($text) = @_;
    my (%families, @samples);
    for my $line (split /\n/, $text) {
        if ($line =~ /^# (HELP|TYPE) (\S+) (.*)$/) {
            $families{$2}{ lc $1 } = $3;
            next;
        }
        next if $line =~ /^#/ || $line !~ /\S/;
        my ($name, $rest) = $line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/ or die "bad line: $line";
        my %labels;
        if ($rest =~ s/^\{//) {
            while ($rest =~ s/^([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)",?//) {
                my ($k, $v) = ($1, $2);
                $v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
                $labels{$k} = $v;
            }
            $rest =~ s/^\}// or die "bad labels: $line";
        }
        my ($value) = $rest =~ /^ (\S+)/ or die "no value: $line";
        push @samples, [ $name, \%labels, $value ];
        my $names = join ',', sort keys %labels;
        my $seen = $families{$name}{labels};
        die "family $name has samples with labels ($seen) and ($names)"
            if defined $seen && $seen ne $names;
        $families{$name}{labels} = $names;
    }
    return { families => \%families, samples => \@samples };
}

# pgpool_stats's families of a parsed exposition, without the labels IGNORED
# (e.g. the exporter's own "server").
sub pgpool_families {
    my ($parsed, @ignored) = @_;
    my %ignore = map { $_ => 1 } @ignored;
    my %out;
    while (my ($name, $f) = each %{ $parsed->{families} }) {
        next unless $name =~ /^pgpool_stats_/;
        $out{$name} = { %$f,
            labels => join ',', grep { !$ignore{$_} } split /,/, $f->{labels} // '' };
    }
    return \%out;
}

# Runs promtool with ARGS (and INPUT on stdin when given): (ok, stdout, stderr).
sub promtool {
    my ($input, @args) = @_;
    my ($out, $err) = ('', '');
    my $ok = IPC::Run::run(['promtool', @args], '<', \($input // ''), '>', \$out, '2>', \$err);
    return ($ok, $out, $err);
}

# A YAML file (rules, promtool tests) as Perl data, read by PyYAML (Debian's
# python3-yaml): Perl has no YAML parser among the dependencies.
sub yaml_file {
    my ($path) = @_;
    my ($out, $err) = ('', '');
    IPC::Run::run(['/usr/bin/python3', '-c',
            'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', $path],
        '>', \$out, '2>', \$err) or die "cannot read $path: $err";
    return decode_json($out);
}

# SELECT pgpool_stats.metrics() in DBNAME (default postgres).
sub metrics_of {
    my ($node, $dbname) = @_;
    return $node->safe_psql($dbname // 'postgres', 'SELECT pgpool_stats.metrics()') . "\n";
}

1;
