# What real clients see when pgpool_stats refuses a login or reaps a session:
# asyncpg, psycopg2, SQLAlchemy (test/clients/client_errors.py) and libpq
# through psql.
# The table in docs/clients.md is this test's output.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('client_errors', "pgpool_stats.sample_interval = '100ms'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('full', 0);
    SELECT pgpool_stats.set_budget('leaky', 5, idle_in_transaction_timeout => '1 second');
});

my ($out, $err) = run_command(['/usr/bin/python3', "$root/test/clients/client_errors.py",
    '--host', $node->host, '--port', $node->port, '--user', 'app', '--app', 'full',
    '--reaped-app', 'leaky', '--idle', 4]);
my $seen = eval { decode_json($out) } or die "client_errors.py failed: $err $out";
note(explain $seen);

my $a = $seen->{asyncpg};
is($a->{refused}{class}, 'asyncpg.exceptions.TooManyConnectionsError',
    'asyncpg: a refused login raises TooManyConnectionsError');
is($a->{refused}{sqlstate}, '53300', 'asyncpg: ... with sqlstate 53300');
is($a->{refused}{message}, 'too many connections for application "full"', 'asyncpg: ... and our message');
ok($a->{reaped}{class}, "asyncpg: the reaped session's next query fails ($a->{reaped}{class}: $a->{reaped}{message})");

my $p = $seen->{psycopg2};
is($p->{refused}{class}, 'psycopg2.OperationalError', 'psycopg2: a refused login raises OperationalError');
like($p->{refused}{message}, qr/FATAL:  too many connections for application "full"/,
    'psycopg2: ... whose message carries the server FATAL (libpq exposes no SQLSTATE for a failed login)');
ok($p->{reaped}{class}, "psycopg2: the reaped session's next query fails ($p->{reaped}{class}: $p->{reaped}{message})");

my $q = $seen->{sqlalchemy};
is($q->{refused}{class}, 'sqlalchemy.exc.OperationalError', 'SQLAlchemy: a refused login raises its OperationalError');
like($q->{refused}{message}, qr/too many connections for application "full"/, 'SQLAlchemy: ... with the server FATAL');
is($q->{reaped}{class}, 'sqlalchemy.exc.OperationalError', "SQLAlchemy: the reaped session's next query fails");
is($q->{pre_ping_after_reap}, 42, 'SQLAlchemy: with pool_pre_ping the pool replaces the reaped connection');

# libpq through psql: the message, DETAIL and HINT, and exit status 2. The
# query goes in -c, not on standard input: psql refused at login exits
# without reading it, and writing to its closed pipe would kill this test.
my ($rc, $stdout, $stderr) = $node->psql('postgres', undef, extra_params => ['-c', 'SELECT 1'],
    connstr => $node->connstr('postgres') . ' user=app application_name=full');
is($rc, 2, 'psql: a refused login exits with status 2');
like($stderr, qr/FATAL:  too many connections for application "full"/, 'psql: the FATAL message');
like($stderr, qr/DETAIL:  0 of 0 connections in use; the budget of "full" allows 0/, 'psql: its DETAIL');
like($stderr, qr/HINT:  .*pgpool_stats\.set_budget\('full'/, 'psql: its HINT');

is($node->safe_psql('postgres', q{
    SELECT count(*) FROM pgpool_stats.reaped
    WHERE application_name = 'leaky' AND reason = 'idle_in_transaction' AND action = 'terminated'}), 4,
    'the four reaped sessions are in pgpool_stats.reaped');
is(ledger_row($node, 'full')->{rejected}, 4, 'the four refusals are counted');
ledger_matches_activity($node, 'after the clients');
$node->stop;
done_testing();
