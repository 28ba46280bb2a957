# PgBouncer in front of a budget, with the real pgbouncer: its server
# connections carry the application_name of their [databases] entry, so the
# budget counts the pooler's connections. Sized right (pool_size = budget),
# clients queue in PgBouncer and the server never refuses. Sized over the
# budget, the server refuses PgBouncer's extra login (counted, logged by
# PgBouncer), and clients still queue on the connections it has. With no
# server connection possible at all, a client's login through PgBouncer is
# refused with the server's own message.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('pgbouncer', "pgpool_stats.sample_interval = '50ms'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('pooler', 2);
    SELECT pgpool_stats.set_budget('oversized', 2);
    SELECT pgpool_stats.set_budget('closed', 0);
});
my $server = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';
my ($port, $dir) = start_pgbouncer($node, 'budgets', <<"INI");
[databases]
right = $server application_name=pooler pool_size=2
over = $server application_name=oversized pool_size=4
closed = $server application_name=closed pool_size=2
[pgbouncer]
query_wait_timeout = 20
INI

# SIX clients at once, each one transaction of 0.5 s, through database DB.
sub clients {
    my ($db) = @_;
    my @h = map {
        IPC::Run::start(['psql', '-X', '-At', '-h', '127.0.0.1', '-p', $port, '-U', 'app', $db,
            '-c', 'SELECT pg_sleep(0.5)'], '>', \my $o, '2>', \my $e)
    } 1 .. 6;
    my $failed = 0;
    for (@h) { $_->finish; $failed++ if $_->result != 0; }
    return $failed;
}

sub peak_of {
    my ($app) = @_;
    return $node->safe_psql('postgres',
        "SELECT coalesce(max(connections), 0) FROM pgpool_stats.history WHERE application_name = '$app'");
}

is(clients('right'), 0, 'pool_size = budget: all 6 clients served');
is(ledger_row($node, 'pooler')->{rejected}, 0, '... and the server never refused PgBouncer');
cmp_ok(peak_of('pooler'), '<=', 2, '... which held at most its budget of 2 server connections');

is(clients('over'), 0, 'pool_size 4 over a budget of 2: all 6 clients still served (they queue)');
cmp_ok(ledger_row($node, 'oversized')->{rejected}, '>=', 1, '... the server refused the extra logins');
cmp_ok(peak_of('oversized'), '<=', 2, '... and PgBouncer never held more than the budget');
like(slurp_file("$dir/pgbouncer.log"), qr/login failed: FATAL: too many connections for application "oversized"/,
    'PgBouncer logged the refusal');

my ($rc, $out, $err) = (0, '', '');
my $h = IPC::Run::run(['psql', '-X', '-At', '-h', '127.0.0.1', '-p', $port, '-U', 'app', 'closed',
    '-c', 'SELECT 1'], '>', \$out, '2>', \$err);
ok(!$h, 'no server connection possible: the login through PgBouncer fails');
like($err, qr/FATAL:  too many connections for application "closed"/,
    "... with the server's own message, relayed by PgBouncer");

# PgBouncer's server connections take their clients' application_name by
# SET after login, so pg_stat_activity groups them differently from the
# ledger (which counts what they logged in as): compare the totals, read in
# one statement once they agree (a refused or exiting backend shows in
# pg_stat_activity until it has exited).
my $totals = q{SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
                      || ' ' || (SELECT connections FROM pgpool_stats.capacity)};
poll_until($node, "SELECT split_part(t, ' ', 1) = split_part(t, ' ', 2) FROM ($totals) AS r(t)");
my ($activity, $ledger) = split / /, $node->safe_psql('postgres', $totals);
is($ledger, $activity, 'the ledger counts exactly the server connections PgBouncer keeps open');
$node->stop;
done_testing();
