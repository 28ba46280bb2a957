# Two applications of one database behind one real PgBouncer 1.18, each from
# its own pool_config(..., 'pgbouncer') snippet pasted whole one after the
# other: each snippet's [databases] entry is named after its application, so
# both entries are there (they used to share the database's name, the second
# overwriting the first), each pool sized as its application's recommendation
# says, and each entry's server logins charged to its own application. The
# server-wide settings of the snippets are commented out: pasted twice they
# set nothing. The applications worked before with different loads (shop 4
# statements at once, billing 1), so their recommendations differ; a few
# seconds of load give floors (insufficient_data) rather than a minute's
# recommendation, which is what the pools are checked against all the same:
# PgBouncer must run whatever pool_config() says.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('two_apps', "pgpool_stats.sample_interval = '50ms'\n");
my %budget = (shop => 12, billing => 4);
$node->safe_psql('postgres', qq{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('shop', $budget{shop});
    SELECT pgpool_stats.set_budget('billing', $budget{billing});});
my $server = 'host=' . $node->host . ' port=' . $node->port;

sub admitted {
    my ($app) = @_;
    return ledger_row($node, $app)->{admitted};
}

# Load: shop runs 4 statements at once, billing 1, for 2 s each.
my %load = (shop => 4, billing => 1);
my @running;
for my $app (sort keys %load) {
    push @running, map {
        IPC::Run::start(['psql', '-X', '-At', "$server dbname=postgres user=app application_name=$app",
            '-c', 'SELECT pg_sleep(2)'], '>', \my $o, '2>', \my $e)
    } 1 .. $load{$app};
}
$_->finish for @running;
is(scalar(grep { $_->result != 0 } @running), 0, 'the load ran: shop 4 at once, billing 1');

# Each application's snippet and its recommendation as JSON, in one
# statement (a recommendation moves with every sample: the pair is taken
# again until both say the same numbers).
my (%snippet, %rec);
for my $app (sort keys %load) {
    for (1 .. 20) {
        my ($text, $json) = split /\x1f/, $node->safe_psql('postgres',
            "SELECT pgpool_stats.pool_config('$app', 'pgbouncer', 1) || chr(31) || "
            . "pgpool_stats.pool_config('$app', 'json', 1)");
        my $r = decode_json($json);
        my ($p, $o) = $text =~ /^\Q$app\E = .* pool_size=(\d+) reserve_pool=(\d+) /m;
        ($snippet{$app}, $rec{$app}) = ($text, $r);
        last if defined $p && $p == $r->{pool_size} && $o == $r->{max_overflow};
    }
    note("$app: $snippet{$app}");
    like($snippet{$app},
        qr/^\Q$app\E = dbname=postgres application_name=\Q$app\E pool_size=$rec{$app}{pool_size} reserve_pool=$rec{$app}{max_overflow} max_db_connections=\d+$/m,
        "$app: one entry named after the application, for database postgres, sized as its JSON says");
    like($snippet{$app},
        qr/^; pgpool_stats: .* at most \d+ of the recommended budget of $rec{$app}{max_connections} connections \(its budget now: $budget{$app}\)$/m,
        "$app: the header quotes the recommended budget and the budget now");
    like($snippet{$app}, qr/^; \[pgbouncer\]\n; query_wait_timeout = $rec{$app}{pool_timeout_seconds}$/m,
        "$app: the server-wide settings only as a commented suggestion");
}
isnt("$rec{shop}{pool_size}+$rec{shop}{max_overflow}",
    "$rec{billing}{pool_size}+$rec{billing}{max_overflow}",
    'the two recommendations differ (shop ' . ($rec{shop}{pool_size} + $rec{shop}{max_overflow})
    . ', billing ' . ($rec{billing}{pool_size} + $rec{billing}{max_overflow}) . ' per instance)');

# Both snippets whole, one after the other, each entry completed with this
# server's address: one PgBouncer configuration.
my $ini = join '', map { $snippet{$_} =~ s/^(\Q$_\E = .*)$/$1 $server/mr } sort keys %snippet;
my ($port, $dir) = start_pgbouncer($node, 'two_apps', $ini);  # dies if PgBouncer refuses it

my ($head, @rows) = split /\n/,
    `psql -X -A -F , -h 127.0.0.1 -p $port -U postgres pgbouncer -c "SHOW DATABASES"`;
for my $app (sort keys %rec) {
    my %col;
    @col{split /,/, $head} = split /,/, ((grep { /^\Q$app\E,/ } @rows)[0] // '');
    is($col{database}, 'postgres', "SHOW DATABASES: entry $app leads to database postgres");
    is($col{pool_size}, $rec{$app}{pool_size}, "... its pool_size is $app\'s recommended pool_size");
    is($col{reserve_pool}, $rec{$app}{max_overflow}, "... its reserve_pool is $app\'s max_overflow");
    is($col{max_connections}, $rec{$app}{pool_size} + $rec{$app}{max_overflow},
        "... its max_db_connections is $app\'s per-instance total");
}
my ($config) = grep { /^query_wait_timeout,/ }
    split /\n/, `psql -X -A -F , -h 127.0.0.1 -p $port -U postgres pgbouncer -c "SHOW CONFIG"`;
my (undef, $wait, $default) = split /,/, $config // '';
is($wait, $default, "query_wait_timeout stays PgBouncer's default ($default): the pasted suggestions set nothing");

# Clients through each entry: PgBouncer's server logins are charged to that
# entry's application only.
sub through {
    my ($entry, $sql) = @_;
    my ($out, $err) = ('', '');
    IPC::Run::run(['psql', '-X', '-At', "host=127.0.0.1 port=$port user=app dbname=$entry",
        '-c', $sql], '>', \$out, '2>', \$err) or diag($err);
    chomp $out;
    return $out;
}
for my $app (sort keys %rec) {
    my ($other) = grep { $_ ne $app } keys %rec;
    my %before = map { $_ => admitted($_) } keys %rec;
    is(through($app, 'SELECT current_database()'), 'postgres', "a client of entry $app is served");
    cmp_ok(admitted($app), '>', $before{$app}, "... PgBouncer's server login was charged to $app");
    is(admitted($other), $before{$other}, "... and not to $other");
}

# A burst through billing's entry: more clients than its pool, all served
# (they queue in PgBouncer), on at most billing's per-instance total of
# server logins; shop's count does not move.
my $cap = $rec{billing}{pool_size} + $rec{billing}{max_overflow};
my %before = map { $_ => admitted($_) } keys %rec;
my @burst = map {
    IPC::Run::start(['psql', '-X', '-At', "host=127.0.0.1 port=$port user=app dbname=billing",
        '-c', 'SELECT pg_sleep(0.5)'], '>', \my $o, '2>', \my $e)
} 1 .. $cap + 2;
$_->finish for @burst;
is(scalar(grep { $_->result != 0 } @burst), 0, ($cap + 2) . ' clients through billing: all served');
cmp_ok(admitted('billing') - $before{billing}, '<=', $cap,
    "... on at most $cap new server logins of billing (its entry's max_db_connections)");
is(admitted('shop'), $before{shop}, '... none charged to shop');

stop_pgbouncer($dir);
ok(poll_until($node, q{SELECT coalesce(sum(connections), 0) = 0 FROM pgpool_stats.applications
          WHERE application_name IN ('shop', 'billing')}),
    "PgBouncer's server connections were released when it stopped");
ledger_matches_activity($node, 'at the end');
$node->stop;
done_testing();
