# pool_config() text pasted as it is, with names that need quoting. The real
# PgBouncer 1.18 loads the snippet written for a database whose name it reads
# as an entry name (dots, a hyphen) and serves a client through it, its server
# connection logging in under an application_name full of quotes, backslashes
# and '=' / '#'; the real SQLAlchemy and psycopg_pool build pools from their
# texts whose sessions carry that name verbatim. A database name PgBouncer
# cannot read as an entry (a space, a double quote, a newline that would add
# a setting line) is refused by pool_config() with 0A000; that PgBouncer 1.18
# indeed has no quoting for entry names is checked on the binary too.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('paste', "pgpool_stats.sample_interval = '50ms'\n");
my $app = q{o'brien "shop" \ =#1};
my $dotted = 'a.b-1';
my @refused = ('billing db', 'a"b', "line\nauth_type = any");
$node->safe_psql('postgres', qq{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget(\$\$$app\$\$, 10);
    CREATE DATABASE "$dotted";});
for my $db ($dotted, @refused) {
    (my $ident = $db) =~ s/"/""/g;
    $node->safe_psql('postgres', qq{CREATE DATABASE "$ident"}) unless $db eq $dotted;
    $node->safe_psql($db, 'CREATE EXTENSION pgpool_stats');
}

sub admitted {
    return $node->safe_psql('postgres',
        "SELECT admitted FROM pgpool_stats.applications WHERE application_name = \$\$$app\$\$");
}

# The snippet for the dotted database, completed with this server's address.
my $snippet = $node->safe_psql($dotted, "SELECT pgpool_stats.pool_config(\$\$$app\$\$, 'pgbouncer')");
like($snippet, qr/^\Q$dotted\E = dbname=\Q$dotted\E application_name='o''brien "shop" \\ =#1' /m,
    'the dotted name is the entry as it is; the application_name is single-quoted, quote doubled');
my $ini = $snippet =~ s/^(\Q$dotted\E = .*)$/$1 . ' host=' . $node->host . ' port=' . $node->port/mer;
my ($bouncer_port, $bouncer_dir) = start_pgbouncer($node, 'dotted', $ini);  # dies if PgBouncer refuses it
my $before = admitted();
my $through = `psql -X -At "host=127.0.0.1 port=$bouncer_port user=app dbname=$dotted" -c "SELECT current_database()"`;
chomp $through;
is($through, $dotted, 'a client reaches the dotted database through the pasted entry');
cmp_ok(admitted(), '>', $before,
    "PgBouncer's server connection logged in under the quoted application_name, verbatim");
stop_pgbouncer($bouncer_dir);

# The Python formats, evaluated by the real libraries: the sessions carry the
# name exactly (quotes and backslash escaped for Python, not altered).
my ($out, $err) = run_command(['/usr/bin/python3', "$root/test/clients/pool_config_formats.py",
    '--host', $node->host, '--port', $node->port, '--user', 'postgres', '--dbname', $dotted,
    '--app', $app]);
my $formats = eval { decode_json($out) } or die "pool_config_formats.py failed: $err $out";
is($formats->{sqlalchemy}{session}{application_name}, $app, 'sqlalchemy text: the name verbatim');
is($formats->{psycopg_pool}{session}{application_name}, $app, 'psycopg_pool text: the name verbatim');

# Names PgBouncer cannot read as an entry name: refused, nothing written.
for my $db (@refused) {
    my ($rc, $stdout, $stderr) = $node->psql($db,
        "\\set VERBOSITY verbose\nSELECT pgpool_stats.pool_config(\$\$$app\$\$, 'pgbouncer')");
    (my $shown = $db) =~ s/\n/\\x0a/g;
    like($stderr, qr/ERROR:  0A000: pool_config cannot write database name "\Q$shown\E" as a PgBouncer entry/,
        "database \"$shown\": refused with 0A000");
    is($stdout, '', "database \"$shown\": no text written");
    my $json = $node->safe_psql($db, "SELECT pgpool_stats.pool_config(\$\$$app\$\$)");
    like($json, qr/^\{"application_name": /, "database \"$shown\": json does not name it, and is written");
}

# Why they are refused rather than quoted: PgBouncer 1.18 stops at a quoted
# entry name (what pool_config() wrote before) with a syntax error.
my $quoted_dir = "${PostgreSQL::Test::Utils::tmp_check}/pgbouncer_quoted";
mkdir $quoted_dir;
append_to_file("$quoted_dir/pgbouncer.ini", qq{[databases]
"billing db" = dbname='billing db' host=127.0.0.1
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = } . PostgreSQL::Test::Cluster::get_free_port() . qq{
auth_type = trust
auth_file = $quoted_dir/userlist.txt
});
append_to_file("$quoted_dir/userlist.txt", qq{"app" ""\n});
my ($bo, $be) = ('', '');
my $h = eval { IPC::Run::run(['pgbouncer', "$quoted_dir/pgbouncer.ini"], '>', \$bo, '2>', \$be,
    IPC::Run::timeout(10)) };
ok(!$h, 'PgBouncer 1.18 refuses a double-quoted entry name');
like($be, qr/syntax error in configuration/, '... as a syntax error');

$node->stop;
done_testing();
