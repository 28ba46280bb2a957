# Pools that follow their budget (clients/python, pgpool_stats_follow):
# PgBouncer's per-application pools, with the real PgBouncer. The follower
# writes each application's [databases] entry (named after it, pool_size =
# its share) into a file pgbouncer.ini includes, and RELOADs PgBouncer (and
# RECONNECTs the entry when its pool shrinks). Under load through PgBouncer:
# the pool follows a lowered budget within 2 s, PgBouncer's server
# connections and the server's count stay within it afterwards, clients see
# no refusal (they wait in PgBouncer), a raised budget is used, a dropped one
# gives the follower's own size back. The command line: it refuses a name
# PgBouncer cannot read as an entry, and follows until SIGTERM.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use PgpoolStatsTest;
use FollowTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('follow_pgbouncer', "max_connections = 60\n");
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');

my $include = "${PostgreSQL::Test::Utils::tmp_check}/pgpool_stats_follow.ini";
append_to_file($include, "[databases]\n");
# The include file starts with its own [databases]: any section may follow.
my ($port, $dir) = start_pgbouncer($node, 'follow', <<"INI");
[databases]
%include $include
[pgbouncer]
query_wait_timeout = 30
max_client_conn = 200
INI
my $server = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';

my ($down, $up, $drop) = follow_checks(follow_under_load($node, 'pgbouncer', '--app', 'shop-bouncer',
    '--budget', 12, '--steps', '4,16,drop', @SIZING, '--bouncer-port', $port, '--server', $server,
    '--include', $include), 'pgbouncer', 2);
like(slurp_file($include), qr/^shop-bouncer = dbname=postgres .*application_name=shop-bouncer pool_size=10 reserve_pool=0 max_db_connections=10$/m,
    'the include file holds the entry, named after the application, at the service\'s own size');

# The command line, as an operator runs it beside a PgBouncer.
my @cli = ('/usr/bin/python3', '-m', 'pgpool_stats_follow.pgbouncer_follower',
    '--dsn', 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres user=postgres',
    '--server', $server, '--admin', "host=127.0.0.1 port=$port dbname=pgbouncer user=postgres",
    '--include', $include, '--max-size', 10, '--instances', 2);
$ENV{PYTHONPATH} = "$root/clients/python";
my ($stdout, $stderr) = ('', '');
my $bad = IPC::Run::run([@cli, '--app', 'shop api'], '>', \$stdout, '2>', \$stderr);
ok(!$bad, 'a name PgBouncer cannot read as an entry is refused');
like($stderr, qr/cannot follow application 'shop api' through PgBouncer: PgBouncer reads an entry name only of/,
    '... saying why');

$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('shop-cli', 8)});
# A client of shop-bouncer, whose entry the file holds, in a session while a
# new follower of shop-cli and shop-bouncer starts: it reads shop-cli first,
# and its first file must keep shop-bouncer's entry (else PgBouncer removes
# the entry on RELOAD and closes the client).
append_to_file($include, "stale-entry = dbname=postgres pool_size=3\n");
my ($cin, $cout, $cerr) = ('', '', '');
my $client = IPC::Run::start(['psql', '-X', '-A', '-t', '-h', '127.0.0.1', '-p', $port, '-U', 'postgres',
    'shop-bouncer'], '<', \$cin, '>', \$cout, '2>', \$cerr,
    IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
$cin .= "SELECT 'before';\n";
$client->pump until $cout =~ /before/;
my ($in, $out, $err) = ('', '', '');
my $h = IPC::Run::start([@cli, '--app', 'shop-cli', '--app', 'shop-bouncer'], '<', \$in, '>', \$out,
    '2>', \$err, IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
$h->pump until $out =~ /following/;
$cin .= "SELECT 'after';\n\\q\n";
$client->finish;
like($cout, qr/after/, 'a client of a followed entry the file held keeps its session while a follower starts')
    or diag $cerr;
sub pool_size_of {
    my ($entry) = @_;
    my ($head, @rows) = split /\n/,
        `psql -X -A -F , -h 127.0.0.1 -p $port -U postgres pgbouncer -c "SHOW DATABASES"`;
    my %col;
    @col{split /,/, $head} = split /,/, ((grep { /^\Q$entry\E,/ } @rows)[0] // '');
    return $col{pool_size} // '';
}
my $deadline = time + 10;
sleep 0.05 while pool_size_of('shop-cli') ne '4' && time < $deadline;
is(pool_size_of('shop-cli'), '4', 'the command line: PgBouncer runs shop-cli at its share, 8 / 2');
my $start = time;
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('shop-cli', 2)});
sleep 0.02 while pool_size_of('shop-cli') ne '1' && time < $start + 10;
my $took = time - $start;
is(pool_size_of('shop-cli'), '1', sprintf('... and at 1 for a budget of 2, %.3f s after the change', $took));
cmp_ok($took, '<', 2, '... within 2 s');
my @entries = slurp_file($include) =~ /^(\S+) = /mg;
is("@entries", 'shop-bouncer shop-cli', 'the file is the follower\'s own: the entries of what it follows');
$h->signal('TERM');
$h->finish;
is($h->full_result(0), 0, 'SIGTERM: it stops cleanly (exit status 0)');

stop_pgbouncer($dir);
ledger_matches_activity($node, 'after the followers');
$node->stop;
done_testing();
