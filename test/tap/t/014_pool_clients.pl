# pool_config() consumed by the real pools: the SQLAlchemy example sizes its
# QueuePool from pool_config(..., 'json') at start-up and serves its load
# within the recommended budget; the 'sqlalchemy' and 'psycopg_pool' texts
# evaluated by the real libraries; the 'pgbouncer' snippet loaded by a real
# PgBouncer, whose server connections are then counted under the budget.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('pool_clients', "pgpool_stats.sample_interval = '100ms'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    GRANT EXECUTE ON FUNCTION pgpool_stats.pool_config TO app});
my @server = ('--host', $node->host, '--port', $node->port, '--user', 'app');

sub json_of {
    my ($what, @cmd) = @_;
    my ($out, $err) = run_command(\@cmd);
    my $result = eval { decode_json($out) };
    die "$what failed: $err $out" unless $result;
    return $result;
}

# A new service: never seen, so the example keeps SQLAlchemy's defaults.
my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' user=app dbname=postgres';
my $first = json_of('example', '/usr/bin/python3', "$root/examples/sqlalchemy_pool/app.py",
    '--dsn', $dsn, '--name', 'shop-api', '--threads', 1, '--seconds', 0.5);
is($first->{source}, 'defaults', 'a service the server never saw keeps its own defaults');

# What the server then sees of shop-api: a dozen connections of which two are
# busy, and one leaked transaction beside them, for a little over the minute
# a recommendation needs before it is more than a floor (insufficient_data).
my $leak = IPC::Run::start(['/usr/bin/python3', "$root/test/clients/workload.py", 'leak', @server,
    '--app', 'shop-api', '--connections', 3, '--seconds', 63], '>', \my $leak_out, '2>', \my $leak_err,
    IPC::Run::timeout(120));
json_of('workload', '/usr/bin/python3', "$root/test/clients/workload.py", 'pool', @server,
    '--app', 'shop-api', '--min-size', 12, '--max-size', 12, '--busy', 2, '--query-seconds', 0.5,
    '--seconds', 62);
$leak->finish;
# recommend() and pool_config()'s JSON are one recommendation (each call
# observes on its own, so they are compared until they agree).
ok(poll_until($node, q{
    SELECT r.pool_size = (c->>'pool_size')::int AND r.max_overflow = (c->>'max_overflow')::int
           AND r.max_connections = (c->>'max_connections')::int
           AND r.reserved_connections = (c->>'reserved_connections')::int
           AND r.pool_timeout_seconds = (c->>'pool_timeout_seconds')::int
    FROM pgpool_stats.recommend('shop-api') r, (SELECT pgpool_stats.pool_config('shop-api')::json) AS j(c)}),
    'recommend() and pool_config() recommend the same');
my ($budget, $reserved, $pool_size, $max_overflow) = split /\|/, $node->safe_psql('postgres',
    "SELECT max_connections, reserved_connections, pool_size, max_overflow
     FROM pgpool_stats.recommend('shop-api')");
$node->safe_psql('postgres',
    "SELECT pgpool_stats.set_budget('shop-api', $budget, reserved_connections => $reserved)");
note("recommended: budget $budget (reserved $reserved), pool_size $pool_size, max_overflow $max_overflow");

# The example, restarted: it sizes its QueuePool from pool_config().
my $since = $node->safe_psql('postgres', 'SELECT now()');
my $rejected_before = ledger_row($node, 'shop-api')->{rejected};
my $run = json_of('example', '/usr/bin/python3', "$root/examples/sqlalchemy_pool/app.py",
    '--dsn', $dsn, '--name', 'shop-api', '--threads', 4, '--seconds', 4);
is($run->{source}, 'pgpool_stats', 'the example sized its pool from pool_config()');
# Against the size its follower computed from its own reading of
# pool_config(): the recommendation still moves with every sample, so
# recommend()'s figures above are a moment older.
my $target = $run->{target};
note("the example's follower: $target->{min_size}..$target->{max_size} ($target->{reason})");
is($run->{pool_size}, $target->{min_size}, "QueuePool pool_size $target->{min_size}: the recommended pool_size");
is($run->{pool_size} + $run->{max_overflow}, $target->{max_size},
    "QueuePool pool_size + max_overflow $target->{max_size}: the recommended per-instance total");
is($run->{failures}, 0, 'no request failed') or diag explain $run->{first_failures};
cmp_ok($run->{served}, '>', 0, "it served $run->{served} requests with 4 threads");
is(ledger_row($node, 'shop-api')->{rejected}, $rejected_before, 'no login of it was refused');
my $peak = $node->safe_psql('postgres',
    "SELECT max(connections) FROM pgpool_stats.history
     WHERE application_name = 'shop-api' AND sample_time > '$since'");
cmp_ok($peak, '<=', $budget, "at most $peak connections, within its budget of $budget");

# The example follows its budget while it serves: lowered to 2 under it, its
# QueuePool shrinks to 2 in all (the share of one instance), its requests wait
# in the pool instead of failing, and the server never counts more.
my $follow = IPC::Run::start(['/usr/bin/python3', "$root/examples/sqlalchemy_pool/app.py",
    '--dsn', $dsn, '--name', 'shop-api', '--threads', 4, '--seconds', 12, '--query', 'SELECT pg_sleep(0.05)'],
    '>', \my $follow_out, '2>', \my $follow_err, IPC::Run::timeout(120));
poll_until($node, connections_sql('shop-api', '>=', 3))
    or die 'the example did not start serving';
$node->safe_psql('postgres', "SELECT pgpool_stats.set_budget('shop-api', 2)");
# Checked while the example still serves (it serves 12 s): a count of 2 or
# less after it has exited would prove nothing.
my ($counted, $serving);
my $until = Time::HiRes::time() + 8;
while (Time::HiRes::time() < $until) {
    $counted = $node->safe_psql('postgres', connections_sql('shop-api', '+', 0));
    $serving = $follow->pumpable;
    last if $counted <= 2 || !$serving;
    Time::HiRes::sleep(0.05);
}
ok($counted <= 2 && $counted >= 1 && $serving,
    "budget lowered to 2 while the example serves: the server soon counts $counted of its connections (1..2)"
    . ($serving ? '' : ' (but the example had stopped)'));
$follow->finish;
my $followed = decode_json($follow_out);
is($followed->{pool_size} + $followed->{max_overflow}, 2, 'the example\'s QueuePool followed: 2 in all');
cmp_ok($followed->{resizes}, '>=', 2, "it resized at start and on the announcement ($followed->{resizes})");
is($followed->{failures}, 0, 'no request failed while it shrank') or diag explain $followed->{first_failures};
$node->safe_psql('postgres',
    "SELECT pgpool_stats.set_budget('shop-api', $budget, reserved_connections => $reserved)");

# The example's own load has moved the recommendation, and it still moves
# with every sample: each client below is checked against the JSON read in
# the same statement as its text.
sub recommended {
    my ($r) = @_;
    ($pool_size, $max_overflow) = ($r->{pool_size}, $r->{max_overflow});
    note("recommended with that text: pool_size $pool_size, max_overflow $max_overflow");
}

# pool_config('shop-api', CLIENT) and its JSON from one moment: one
# statement, again until two in a row recommend the same (each call observes
# on its own; observed_seconds and samples grow with every sample).
sub pool_config_with_json {
    my ($client) = @_;
    my $previous = '';
    for (1 .. 50) {
        my ($text, $json) = split /\x1f/, $node->safe_psql('postgres',
            "SELECT pgpool_stats.pool_config('shop-api', '$client') || chr(31) || pgpool_stats.pool_config('shop-api')");
        my $r = decode_json($json);
        my $recommended = JSON::PP->new->canonical->encode({ %$r, observed_seconds => 0, samples => 0 });
        return ($text, $r) if $recommended eq $previous;
        $previous = $recommended;
        Time::HiRes::sleep(0.05);
    }
    die "pool_config('shop-api') recommended something else at each of 50 readings";
}

# The Python texts, evaluated by the real libraries.
my $formats = json_of('formats', '/usr/bin/python3', "$root/test/clients/pool_config_formats.py",
    @server, '--app', 'shop-api');
recommended($formats->{pool_config});
is($formats->{sqlalchemy}{pool_size}, $pool_size, 'sqlalchemy text: create_engine() took pool_size');
is($formats->{sqlalchemy}{session}{application_name}, 'shop-api',
    'sqlalchemy text: sessions carry the budgeted application_name');
is($formats->{sqlalchemy}{session}{idle_in_transaction_session_timeout}, '60000',
    'sqlalchemy text: ... and the recommended idle-in-transaction timeout');
is($formats->{psycopg_pool}{min_size}, $pool_size, 'psycopg_pool text: min_size is pool_size');
is($formats->{psycopg_pool}{max_size}, $pool_size + $max_overflow,
    'psycopg_pool text: max_size is pool_size + max_overflow');
is($formats->{psycopg_pool}{timeout}, 30, 'psycopg_pool text: timeout');
is($formats->{psycopg_pool}{session}{application_name}, 'shop-api',
    'psycopg_pool text: sessions carry the budgeted application_name');
is($formats->{psycopg_pool}{session}{idle_in_transaction_session_timeout}, '60000',
    'psycopg_pool text: ... and the recommended idle-in-transaction timeout');

# The PgBouncer snippet, completed with this server's address, loaded by a
# real PgBouncer: its entry is named after the application, for this
# database.
my ($snippet, $snippet_config) = pool_config_with_json('pgbouncer');
recommended($snippet_config);
my $ini = $snippet =~ s/^(shop-api = dbname=postgres .*)$/$1 . ' host=' . $node->host . ' port=' . $node->port/mer;
like($ini, qr/ host=/, 'the entry shop-api, for database postgres, was completed with host and port');
my ($bouncer_port, $bouncer_dir) = start_pgbouncer($node, 'snippet', $ini);  # dies if PgBouncer refuses it
my $admitted_before = ledger_row($node, 'shop-api')->{admitted};
my $through = `psql -X -At "host=127.0.0.1 port=$bouncer_port user=app dbname=shop-api application_name=behind-bouncer" -c "SELECT current_setting('application_name')"`;
chomp $through;
is($through, 'behind-bouncer', 'a client connects through pgbouncer (its own application_name is kept)');
cmp_ok(ledger_row($node, 'shop-api')->{admitted}, '>', $admitted_before,
    'the server connection pgbouncer opened was admitted under the budget of shop-api');
my ($head, @rows) = split /\n/,
    `psql -X -A -F , -h 127.0.0.1 -p $bouncer_port -U postgres pgbouncer -c "SHOW DATABASES"`;
my %col;
@col{split /,/, $head} = split /,/, ((grep { /^shop-api,/ } @rows)[0] // '');
is($col{database}, 'postgres', 'the entry shop-api leads to database postgres');
is($col{pool_size}, $pool_size, 'pgbouncer runs the recommended pool_size');
is($col{reserve_pool}, $max_overflow, 'pgbouncer runs max_overflow as its reserve_pool');
is($col{max_connections}, $pool_size + $max_overflow, 'pgbouncer caps the database at the per-instance total');

stop_pgbouncer($bouncer_dir);
ok(poll_until($node, connections_sql('shop-api', '=', 0)),
    "PgBouncer's server connection was released when it stopped");
ledger_matches_activity($node, 'after every client');
$node->stop;
done_testing();
