# Guarantees at the edges of capacity: waiting logins never take a reserved
# slot; a full application table stays exact when a budget arrives; a server
# restarted smaller than its reservations, and a restore into a smaller server,
# keep every budget, say so and let the DBA climb down.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $tooling = $ENV{PGAPPNAME};

# N sessions of application APP held open (psql in pg_sleep) until killed.
sub hold {
    my ($node, $app, $n, $user) = @_;
    my $connstr = $node->connstr('postgres') . " application_name='$app' user=" . ($user // 'postgres');
    my @h = map {
        IPC::Run::start(['psql', '-X', '-d', $connstr, '-c', 'SELECT pg_sleep(600)'],
            '>', \my $o, '2>', \my $e)
    } 1 .. $n;
    poll_until($node, connections_sql($app, '>=', $n))
        or die "$n sessions of $app did not connect";
    return @h;
}

# Ends the held sessions of the applications (their backends sleep and
# would not notice psql going away) and their psql processes.
sub release_all {
    my ($node, $apps, @h) = @_;
    $node->safe_psql('postgres', 'SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity '
        . 'WHERE application_name = ANY (ARRAY[' . join(',', map { "'$_'" } @$apps) . '])');
    for (@h) { $_->kill_kill; $_->finish }
}

sub capacity_column {
    my ($node, $column) = @_;
    return $node->safe_psql('postgres', "SELECT $column FROM pgpool_stats.capacity");
}

# --- 1. Waiting logins and reservations -------------------------------------
# 57 slots for non-superusers (60 - 3); "checkout" reserves 10, the test's
# tooling 2; "api" holds its budget of 2 and lets logins wait (long enough
# for the whole scenario on a slow machine).
my $node = pgpool_node('waiters', "max_connections = 60\nsuperuser_reserved_connections = 3\n"
    . "authentication_timeout = 600s\n");
$node->safe_psql('postgres', qq{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('$tooling', NULL, reserved_connections => 2);
    SELECT pgpool_stats.set_budget('checkout', 10, reserved_connections => 10);
    SELECT pgpool_stats.set_budget('api', 2, admission_timeout => '5 minutes');
});
my @api = hold($node, 'api', 2, 'app');

# 60 logins of api queue on its full budget, in waves of 10 (a wave at once
# would hold 60 process slots while starting, and PostgreSQL's own limit
# would refuse the surplus before we see it). Only as many as there are
# unreserved slots (57 - 12 reserved - 2 held = 43) may wait; the rest are
# refused at once. Without that bound they filled PostgreSQL's process
# slots and checkout's reserved logins met "sorry, too many clients".
my @waves;
for my $wave (1 .. 6) {
    my ($out, $err) = ('', '');
    push @waves, [IPC::Run::start(['/usr/bin/python3', "$root/test/clients/storm.py",
        '--host', $node->host, '--port', $node->port, '--user', 'app', '--app', 'api',
        '--count', 10, '--timeout', 600], '>', \$out, '2>', \$err), \$out];
    poll_until($node, q{SELECT admission_waiting + rejected >= } . 10 * $wave
        . q{ FROM pgpool_stats.applications WHERE application_name = 'api'})
        or diag("wave $wave: not every login reached admission");
}
wait_until($node, q{SELECT admission_waiting = 43 FROM pgpool_stats.capacity},
    'capacity shows 43 logins waiting');
wait_until($node, q{SELECT rejected = 17 FROM pgpool_stats.applications WHERE application_name = 'api'},
    'the other 17 are refused at once');

my $checkout = storm($node, app => 'checkout', user => 'app', count => 10, hold => 0);
is($checkout->{admitted}, 10, 'all 10 reserved logins of checkout are admitted while 43 of api wait');
is($checkout->{errors} + $checkout->{rejected}, 0, 'none refused, by us or by PostgreSQL');

# More budget for api: the waiters are admitted at once.
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('api', 60, admission_timeout => '5 minutes')});
my %total = (admitted => 0, refused => 0, messages => '');
for (@waves) {
    $_->[0]->finish;
    my $q = JSON::PP::decode_json(${ $_->[1] });
    $total{admitted} += $q->{admitted};
    $total{refused} += $q->{sqlstates}{53300} // 0;
    $total{messages} .= join("\n", @{ $q->{messages} }) . "\n";
}
release_all($node, ['api'], @api);
is($total{admitted}, 43, 'the waiters are admitted when the budget grows');
is($total{refused}, 17, 'the refused ones got 53300');
like($total{messages}, qr/It cannot wait for a slot: waiting would hold a process slot that other applications have reserved/,
    'with a DETAIL saying why it could not wait');
unlike(slurp_file($node->logfile), qr/sorry, too many clients already|remaining connection slots are reserved/,
    'PostgreSQL itself never ran out of process slots');
poll_until($node, connections_sql('api', '=', 0));
ledger_matches_activity($node, 'after the queue');
$node->stop;

# --- 2. A full application table ---------------------------------------------
# 16 entries: the tooling, 14 busy applications and one idle; then X's three
# sessions are counted in "(other)" until X gets a budget.
$node = pgpool_node('full_table', "pgpool_stats.max_applications = 16\n");
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');
my @busy = map { hold($node, "busy$_", 1) } 1 .. 14;
$node->safe_psql('postgres', 'SELECT 1', extra_params => ['-d', $node->connstr('postgres') . ' application_name=idle']);
my @x = map {
    IPC::Run::start(['psql', '-X', '-d', $node->connstr('postgres') . ' application_name=X',
        '-c', 'SELECT pg_sleep(600)'], '>', \my $o, '2>', \my $e)
} 1 .. 3;
wait_until($node, q{SELECT connections = 3 FROM pgpool_stats.applications WHERE application_name = '(other)'},
    'full table: the three sessions of X are counted in (other)');
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('X', 2)});
is($node->safe_psql('postgres',
    q{SELECT string_agg(application_name || '=' || connections, ',' ORDER BY application_name)
      FROM pgpool_stats.applications WHERE application_name IN ('X', '(other)')}),
    '(other)=0,X=3', 'the budget moved the sessions of X to its own entry at once');
$node->connect_fails($node->connstr('postgres') . ' application_name=X user=app',
    'full table: the next login of X is refused by its budget of 2',
    expected_stderr => qr/too many connections for application "X".*\n.*3 of 2 connections in use/);
ledger_matches_activity($node, 'full table, after the budget');

# A client calling itself "(other)" is counted in the one overflow row.
my @o = hold($node, '(other)', 1);
is($node->safe_psql('postgres',
    q{SELECT count(*) || ':' || sum(connections) FROM pgpool_stats.applications WHERE application_name = '(other)'}),
    '1:1', 'a client named (other) shares the one (other) row');
release_all($node, ['X', '(other)', map { "busy$_" } 1 .. 14], @busy, @x, @o);
poll_until($node, connections_sql('X', '=', 0));
ledger_matches_activity($node, 'full table, all released');
$node->stop;

# --- 3. Restarted with fewer connections than reserved ------------------------
$node = pgpool_node('smaller', "max_connections = 100\n");
$node->safe_psql('postgres', q{
    SELECT pgpool_stats.set_budget('a', 60, reserved_connections => 50);
    SELECT pgpool_stats.set_budget('b', 40, reserved_connections => 30);
    SELECT pgpool_stats.set_budget('c', 5);
});
$node->append_conf('postgresql.conf', "max_connections = 50\n");
$node->restart;
# capacity 47, 80 reserved
poll_until($node, q{SELECT reserved_over_capacity = 33 FROM pgpool_stats.capacity})
    or die 'capacity does not show the reservations beyond it';
pass('capacity shows 33 reserved beyond capacity after the restart');
$node->wait_for_log(qr/WARNING:  pgpool_stats: reservations exceed the server's capacity by 33/);
pass('the worker warns at start with the numbers');
like($node->safe_psql('postgres', q{SELECT findings::text FROM pgpool_stats.recommend('a')}),
    qr/overcommitted/, 'recommend() reports overcommitted');
my ($rc, $stdout, $stderr) = $node->psql('postgres', q{SELECT pgpool_stats.set_budget('a', 60, 51)});
like($stderr, qr/reservations would exceed the server's capacity/, 'a raise is refused');
($rc, $stdout, $stderr) = $node->psql('postgres', q{SELECT pgpool_stats.set_budget('a', 60, 40)});
is($rc, 0, 'a step down that still leaves them above capacity is accepted');
like($stderr, qr/WARNING:  reservations exceed the server's capacity by 23/, 'with a WARNING');
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('a', 60, 10)});
is(capacity_column($node, 'reserved_over_capacity'), '0', 'the last step makes them fit');
$node->connect_ok($node->connstr('postgres') . ' application_name=unbudgeted',
    'unbudgeted applications find a slot again');

# --- 4. pg_dump of it, restored into a smaller server --------------------------
$node->append_conf('postgresql.conf', "max_connections = 100\n");
$node->restart;
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('a', 60, 50)});
my $dump = "${PostgreSQL::Test::Utils::tmp_check}/budgets.dump";
$node->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres')], 'pg_dump');
my $small = PostgreSQL::Test::Cluster->new('restored');
$small->init;
$small->append_conf('postgresql.conf', "shared_preload_libraries = 'pgpool_stats'\nmax_connections = 40\n");
$small->start;
($rc, $stdout, $stderr) = ('', '', '');
IPC::Run::run(['pg_restore', '-d', $small->connstr('postgres'), $dump], '>', \$stdout, '2>', \$stderr);
is($?, 0, 'pg_restore into max_connections = 40 succeeds');
is($small->safe_psql('postgres',
    q{SELECT string_agg(application_name || ':' || coalesce(max_connections::text, '-') || '/' || reserved_connections, ',' ORDER BY application_name) FROM pgpool_stats.budget}),
    'a:60/50,b:40/30,c:5/0', 'every budget row is kept');
poll_until($small, q{SELECT reserved_over_capacity = 43 FROM pgpool_stats.capacity})
    or die 'restored capacity not shown';
pass('capacity shows the reservations beyond the smaller server');
# The restoring session's own WARNING (the worker's says "pgpool_stats:").
like(slurp_file($small->logfile), qr/WARNING:  reservations exceed the server's capacity by 43/,
    'the budget trigger warned the restoring session');

done_testing();
