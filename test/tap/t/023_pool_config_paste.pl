# pool_config() text pasted as it is, with names that need quoting. The
# pgbouncer snippet names its [databases] entry after the application and
# points it at the database with dbname=: the real PgBouncer 1.18 loads, in
# one configuration, the snippets of applications named with every kind of
# character it reads as an entry name (dots, a hyphen, digits, capitals) for
# databases whose names need quoting as a connection-string value (a space, a
# double and a single quote, non-ASCII, "pgbouncer"), and serves each
# application's clients in its database, its server connections charged to
# that application. An application_name PgBouncer cannot read as an entry
# name (quotes, a backslash, '=' / '#', a space) is refused by pool_config()
# with 0A000, and the hand-written entry its hint describes works: PgBouncer's
# server connection logs in under that name verbatim. A database name with a
# newline (which would add a setting line) is refused. The real SQLAlchemy and
# psycopg_pool build pools from their texts whose sessions carry the hostile
# name verbatim. That PgBouncer 1.18 indeed has no quoting for entry names is
# checked on the binary too.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('paste', "pgpool_stats.sample_interval = '50ms'\n");
my $hostile = q{o'brien "shop" \ =#1};
# Each application (an entry name PgBouncer reads) and the database its
# snippet is written in (a name PgBouncer reads only as a quoted value, or
# as it is).
my %database_of = (
    'a.b-1'      => 'a.b-1',
    'A_B'        => 'billing db',
    '1'          => 'a"b',
    '-'          => "o'brien",
    'PgBouncer'  => 'pgbouncer',
    'pgbouncer2' => "caf\xc3\xa9",
);
my @apps = sort keys %database_of;
my $newline_db = "line\nauth_type = any";
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');
for my $name ($hostile, @apps) {
    $node->safe_psql('postgres', "SELECT pgpool_stats.set_budget(\$\$$name\$\$, 10)");
}
for my $db (sort(values %database_of), $newline_db) {
    (my $ident = $db) =~ s/"/""/g;
    $node->safe_psql('postgres', qq{CREATE DATABASE "$ident"});
    $node->safe_psql($db, 'CREATE EXTENSION pgpool_stats');
}

sub admitted {
    my ($name) = @_;
    return $node->safe_psql('postgres',
        "SELECT admitted FROM pgpool_stats.applications WHERE application_name = \$\$$name\$\$");
}

# Every application's snippet, in its database, completed with this server's
# address: pasted one after the other into one configuration.
my $server = ' host=' . $node->host . ' port=' . $node->port;
my $ini = '';
for my $app (@apps) {
    my $db = $database_of{$app};
    my $snippet = $node->safe_psql($db, "SELECT pgpool_stats.pool_config('$app', 'pgbouncer')");
    (my $value = $db) =~ s/'/''/g;
    $value = "'$value'" if $db =~ /[ '"\\]/;
    like($snippet, qr/^\Q$app = dbname=$value application_name=$app pool_size=\E\d+ /m,
        "$app: the entry is the application, dbname= its database ($value)");
    $ini .= $snippet =~ s/^(\Q$app\E = .*)$/$1$server/mr;
}
# The hostile name, by hand as pool_config()'s hint says: an entry name
# PgBouncer reads, and the name quoted as a connection-string value.
(my $quoted = $hostile) =~ s/'/''/g;
$ini .= "[databases]\nhand = dbname=a.b-1 application_name='$quoted'$server\n";
my ($bouncer_port, $bouncer_dir) = start_pgbouncer($node, 'pasted', $ini);  # dies if PgBouncer refuses it

for my $app (@apps, 'hand') {
    my $db = $app eq 'hand' ? 'a.b-1' : $database_of{$app};
    my $charged = $app eq 'hand' ? $hostile : $app;
    my $before = admitted($charged);
    my ($out, $err) = ('', '');
    IPC::Run::run(['psql', '-X', '-At', "host=127.0.0.1 port=$bouncer_port user=app dbname=$app",
        '-c', 'SELECT current_database()'], '>', \$out, '2>', \$err);
    chomp $out;
    is($out, $db, "a client of entry $app reaches database \"$db\"") or diag($err);
    cmp_ok(admitted($charged), '>', $before,
        "... through a server connection that logged in as \"$charged\", charged to it");
}
stop_pgbouncer($bouncer_dir);

# The Python formats, evaluated by the real libraries: the sessions carry the
# name exactly (quotes and backslash escaped for Python, not altered).
my ($out, $err) = run_command(['/usr/bin/python3', "$root/test/clients/pool_config_formats.py",
    '--host', $node->host, '--port', $node->port, '--user', 'postgres', '--dbname', 'a.b-1',
    '--app', $hostile]);
my $formats = eval { decode_json($out) } or die "pool_config_formats.py failed: $err $out";
is($formats->{sqlalchemy}{session}{application_name}, $hostile, 'sqlalchemy text: the name verbatim');
is($formats->{psycopg_pool}{session}{application_name}, $hostile, 'psycopg_pool text: the name verbatim');

# Refused, nothing written: an application_name PgBouncer cannot read as an
# entry name, and a database name with a newline.
my ($rc, $stdout, $stderr) = $node->psql('a.b-1',
    "\\set VERBOSITY verbose\nSELECT pgpool_stats.pool_config(\$\$$hostile\$\$, 'pgbouncer')");
like($stderr,
    qr/ERROR:  0A000: pool_config cannot write application_name "\Q$hostile\E" as a PgBouncer entry name/,
    'an application_name with quotes and spaces: refused with 0A000');
like($stderr, qr/HINT:  .*write the entry by hand/, '... the hint says how to write it by hand');
is($stdout, '', '... no text written');
($rc, $stdout, $stderr) = $node->psql($newline_db,
    "\\set VERBOSITY verbose\nSELECT pgpool_stats.pool_config('a.b-1', 'pgbouncer')");
like($stderr,
    qr/ERROR:  0A000: pool_config cannot write database name "line\\x0aauth_type = any" in a PgBouncer entry/,
    'a database name with a newline: refused with 0A000');
is($stdout, '', '... no text written');
like($node->safe_psql($newline_db, "SELECT pgpool_stats.pool_config('a.b-1')"),
    qr/^\{"application_name": "a.b-1"/, '... json does not name the database, and is written');

# Why such an application_name is refused rather than quoted as an entry
# name: PgBouncer 1.18 stops at a quoted entry name with a syntax error.
my $quoted_dir = "${PostgreSQL::Test::Utils::tmp_check}/pgbouncer_quoted";
mkdir $quoted_dir;
append_to_file("$quoted_dir/pgbouncer.ini", qq{[databases]
"billing api" = dbname=postgres host=127.0.0.1
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
