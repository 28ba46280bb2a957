# Helpers shared by the TAP tests of pgpool_stats: a cluster with the library
# preloaded, login storms with a real client, and the ledger-equals-reality
# check that every test ends with.
package PgpoolStatsTest;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use Time::HiRes ();
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(pgpool_node storm ledger_matches_activity ledger_row wait_until connections_sql
    worker_memory_used start_pgbouncer stop_pgbouncer hold_sessions release_sessions poll_until);

my $root = $ENV{PGPOOL_STATS_ROOT} or die "PGPOOL_STATS_ROOT is not set (run tools/test.sh)";

# A started cluster with pgpool_stats preloaded and created in "postgres".
# Extra postgresql.conf lines come as a string.
sub pgpool_node {
    my ($name, $conf, %init) = @_;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init(%init);
    $node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgpool_stats'\n"
        . "log_statement = none\n" . ($conf // ''));
    $node->start;
    $node->safe_psql('postgres', 'CREATE EXTENSION pgpool_stats');
    return $node;
}

# COUNT clients of application APP log in at once and hold their sessions
# until every attempt is over (test/clients/storm.py). Returns the summary.
sub storm {
    my ($node, %o) = @_;
    my @cmd = ('/usr/bin/python3', "$root/test/clients/storm.py",
        '--host', $node->host, '--port', $node->port,
        '--user', $o{user} // 'postgres', '--app', $o{app}, '--count', $o{count},
        '--hold', $o{hold} // 0, '--dbname', $o{dbname} // 'postgres');
    push @cmd, '--password', $o{password} if defined $o{password};
    my $before = connections_of($node, $o{app});
    my ($out, $err) = run_command(\@cmd);
    my $summary = eval { decode_json($out) };
    die "storm failed: $err $out" unless $summary;
    # The storm is over when its sessions are gone: closed backends exit
    # asynchronously, and the ledger rightly counts them until they have.
    poll_until($node, connections_sql($o{app}, '<=', $before))
        or die "sessions of the storm of $o{app} were not released";
    return $summary;
}

sub connections_sql {
    my ($app, $op, $n) = @_;
    return "SELECT coalesce((SELECT connections FROM pgpool_stats.applications "
        . "WHERE application_name = '$app'), 0) $op $n";
}

sub connections_of {
    my ($node, $app) = @_;
    my $sql = connections_sql($app, '+', 0);
    return $node->safe_psql('postgres', $sql);
}

# Where pgpool_stats.applications (application_name => connections) and the
# client backends pg_stat_activity shows differ; both read in one query.
my $ledger_activity_difference = q{
        WITH ledger AS (
            SELECT application_name, connections FROM pgpool_stats.applications WHERE connections > 0),
        activity AS (
            SELECT application_name, count(*)::int AS connections FROM pg_stat_activity
            WHERE backend_type = 'client backend' GROUP BY 1)
        SELECT coalesce(l.application_name, a.application_name) || ': ledger '
               || coalesce(l.connections, 0) || ', pg_stat_activity ' || coalesce(a.connections, 0)
        FROM ledger l FULL JOIN activity a USING (application_name)
        WHERE l.connections IS DISTINCT FROM a.connections
        UNION ALL
        SELECT 'total: ledger ' || c.connections || ', pg_stat_activity ' || a.n
        FROM pgpool_stats.capacity c,
             (SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend') a
        WHERE c.connections <> a.n};

# The ledger equals pg_stat_activity, once they agree (polled, at most the
# test timeout): an exiting backend leaves the ledger before it leaves
# pg_stat_activity, and on 18 a refused login shows there ('starting') until
# it has exited.
sub ledger_matches_activity {
    my ($node, $label) = @_;
    poll_until($node, "SELECT NOT EXISTS ($ledger_activity_difference)");
    is($node->safe_psql('postgres', $ledger_activity_difference), '', "ledger equals pg_stat_activity: $label");
}

# One row of pgpool_stats.applications as a hash.
sub ledger_row {
    my ($node, $app) = @_;
    my @cols = qw(connections admission_waiting max_connections reserved_connections mode
                  peak_connections admitted rejected would_reject);
    my $line = $node->safe_psql('postgres',
        'SELECT ' . join(', ', map { "coalesce(${_}::text, '')" } @cols)
        . " FROM pgpool_stats.applications WHERE application_name = '$app'");
    my %row;
    @row{@cols} = split /\|/, $line, -1;
    return \%row;
}

# The bytes TopMemoryContext of the pgpool_stats worker has in use, from
# pg_log_backend_memory_contexts() and the server log.
sub worker_memory_used {
    my ($node) = @_;
    my $worker = $node->safe_psql('postgres',
        q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgpool_stats'});
    my $offset = -s $node->logfile;
    $node->safe_psql('postgres', "SELECT pg_log_backend_memory_contexts($worker)");
    for (1 .. 100) {
        my $log = slurp_file($node->logfile, $offset);
        # TopMemoryContext is level 0 up to 17, level 1 from 18 on.
        return $1 if $log =~ /\[$worker\] LOG:  level: [01]; TopMemoryContext: .* (\d+) used/;
        select(undef, undef, undef, 0.1);
    }
    die 'no memory context dump from the worker';
}

# A real PgBouncer (Debian's pgbouncer) in front of NODE. INI is the
# configuration: its [databases] entries, and [pgbouncer] settings if any;
# a [pgbouncer] section of listening, trust authentication for roles app and
# postgres, transaction pooling and the files is added here (after a
# pool_config() snippet, whose server-wide part is commented out, or after
# INI's own [pgbouncer] section: PgBouncer reads a section named twice as
# one). Returns (port, directory); it stops with the test.
my @bouncers;
sub start_pgbouncer {
    my ($node, $name, $ini) = @_;
    my $dir = "${PostgreSQL::Test::Utils::tmp_check}/pgbouncer_$name";
    mkdir $dir;
    my $port = PostgreSQL::Test::Cluster::get_free_port();
    PostgreSQL::Test::Utils::append_to_file("$dir/pgbouncer.ini", $ini . <<"INI");
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
pool_mode = transaction
INI
    PostgreSQL::Test::Utils::append_to_file("$dir/userlist.txt", qq{"app" ""\n"postgres" ""\n});
    PostgreSQL::Test::Utils::run_command(['pgbouncer', '-d', "$dir/pgbouncer.ini"]);
    for (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default) {
        last if -s "$dir/pgbouncer.pid";
        select(undef, undef, undef, 0.1);
    }
    die "pgbouncer did not start: " . (-e "$dir/pgbouncer.log" ? slurp_file("$dir/pgbouncer.log") : '')
        unless -s "$dir/pgbouncer.pid";
    push @bouncers, "$dir/pgbouncer.pid";
    return ($port, $dir);
}

# Stops the PgBouncer of DIR (SIGINT: at once, closing its server
# connections) and waits until it is gone.
sub stop_pgbouncer {
    my ($dir) = @_;
    my $pidfile = "$dir/pgbouncer.pid";
    return unless -e $pidfile;
    my $pid = slurp_file($pidfile) =~ s/\s+//gr;
    kill 'INT', $pid if $pid;
    for (1 .. 100) {
        last unless kill 0, $pid;
        select(undef, undef, undef, 0.1);
    }
}

END {
    stop_pgbouncer($_ =~ s{/pgbouncer\.pid$}{}r) for @bouncers;
}

# Opens the sessions of SPECS (test/clients/hold_sessions.py: libpq
# parameters, and statements to run once logged in) one after another and
# holds them; returns the handle and the result of each attempt.
sub hold_sessions {
    my ($node, @specs) = @_;
    my ($in, $out, $err) = ('', '', '');
    my $json = JSON::PP->new->ascii->canonical;
    my $h = IPC::Run::start(['/usr/bin/python3', "$root/test/clients/hold_sessions.py",
            $node->host, $node->port, $json->encode(\@specs)],
        '<', \$in, '>', \$out, '2>', \$err,
        IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
    $h->pump until $out =~ /\n/;
    return ($h, decode_json($out));
}

# Ends the sessions of a hold_sessions handle and waits until USER has none.
sub release_sessions {
    my ($node, $h, $user) = @_;
    $h->finish;    # closes the client's input: it closes its sessions
    poll_until($node, "SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = '$user'")
        or die 'the held sessions did not end';
}

# Polls SQL until it returns 't' (at most the test timeout).
sub wait_until {
    my ($node, $sql, $label) = @_;
    ok(poll_until($node, $sql), $label);
}

# Polls SQL on NODE's "postgres" until it returns 't' (true), for up to
# timeout_default seconds; returns whether it did. As poll_query_until, but
# the query goes on psql's command line, not its stdin: while the server
# restarts psql exits at once, and writing to its closed stdin killed the
# test with EPIPE (seen on 16 in 015_faults' crash restart).
sub poll_until {
    my ($node, $sql) = @_;
    my $cmd = [$node->installed_command('psql'), '-XAtq', '-d', $node->connstr('postgres'), '-c', $sql];
    my ($out, $err) = ('', '');
    for (my $attempt = 0; $attempt < 10 * $PostgreSQL::Test::Utils::timeout_default; ++$attempt) {
        ($out, $err) = ('', '');
        IPC::Run::run($cmd, '<', '/dev/null', '>', \$out, '2>', \$err);
        return 1 if $out =~ /^t\s*$/ && $err eq '';
        Time::HiRes::sleep(0.1);
    }
    diag("poll_until: $sql\nlast answer: $out\nlast error: $err");
    return 0;
}

1;
