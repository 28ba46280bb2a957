# Soak: mixed load (test/clients/soak.py: storms, churn through more names
# than max_applications, idle-in-transaction leaks and reaping, budget
# changes, pg_terminate_backend rounds, late naming, a line of waiters) for PGPOOL_STATS_SOAK_SECONDS
# (default 180: three minutes in CI; tools/soak.sh runs it longer), then: zero ledger drift, no
# crash, the worker's memory flat, every refusal and every reap the clients
# saw accounted for by the server's counters, and the other way round.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $seconds = $ENV{PGPOOL_STATS_SOAK_SECONDS} // 180;
my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('soak', "max_connections = 120\npgpool_stats.max_applications = 64\n"
    . "pgpool_stats.sample_interval = '100ms'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('storm', 10);
    SELECT pgpool_stats.set_budget('leaky', 20, idle_in_transaction_timeout => '1 second');
    SELECT pgpool_stats.set_budget('late', 4);
    SELECT pgpool_stats.set_budget('line', 3, admission_timeout => '2 seconds');
});
my $worker = $node->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgpool_stats'});

# The worker's memory, once the load has filled every table.
my $load = IPC::Run::start(['/usr/bin/python3', "$root/test/clients/soak.py",
    '--host', $node->host, '--port', $node->port, '--user', 'app', '--admin', 'postgres',
    '--seconds', $seconds], '>', \my $out, '2>', \my $err);
sleep(int($seconds / 4));
my $memory_early = worker_memory_used($node);
$load->finish;
my $memory_late = worker_memory_used($node);
my $seen = eval { decode_json($out) } or BAIL_OUT("soak load failed: $err $out");
note(explain $seen);

ok($seen->{'storm admitted'} > 0 && $seen->{'churn logins'} > 0 && $seen->{leaks} > 0,
    "the load ran: $seen->{'storm admitted'} storm sessions, $seen->{'churn logins'} churn logins, "
    . "$seen->{leaks} leaks, $seen->{'budget changes'} budget changes, "
    . "$seen->{'terminate rounds'} terminate rounds in $seconds s");

# No drift: once the load is gone, the ledger holds only what is really there.
ok(poll_until($node, q{
    SELECT (SELECT connections FROM pgpool_stats.capacity) =
           (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')}),
    'the ledger settles on the sessions that really exist');
ledger_matches_activity($node, 'after the soak');

# Every refusal the clients saw, and nothing else, was counted.
my ($rejected, $late_rejected, $line_rejected, $other_refusals) = split /\|/, $node->safe_psql('postgres', q{
    SELECT (SELECT rejected FROM pgpool_stats.applications WHERE application_name = 'storm'),
           (SELECT rejected FROM pgpool_stats.applications WHERE application_name = 'late'),
           (SELECT rejected FROM pgpool_stats.applications WHERE application_name = 'line'),
           (SELECT coalesce(sum(rejected), 0) FROM pgpool_stats.applications
            WHERE application_name NOT IN ('storm', 'late', 'line'))});
is($rejected, $seen->{'refused storm 53300'} // 0,
    "storm: $rejected refusals counted, as many as the clients saw");
ok($seen->{'late admitted'} > 0, "late naming admitted $seen->{'late admitted'} sessions");
is($late_rejected, $seen->{'late refused'} // 0,
    "late: $late_rejected refusals at SET counted, as many as the clients saw");
ok($seen->{'line admitted'} > 0, "the line admitted $seen->{'line admitted'} waiting logins");
is($line_rejected, $seen->{'refused line 53300'} // 0,
    "line: $line_rejected refusals counted, as many as the clients saw");
is($other_refusals, 0, 'no other application was refused');
my @unexpected = grep { /^refused/ && $_ ne 'refused storm 53300' && $_ ne 'refused line 53300' } keys %$seen;
is_deeply(\@unexpected, [], 'clients saw no other kind of refusal');
is($node->safe_psql('postgres', q{SELECT admission_waiting FROM pgpool_stats.capacity}), 0,
    'nobody is left waiting');

# Every leak was reaped, each counted once.
my ($reaped, $reaped_log) = split /\|/, $node->safe_psql('postgres', q{
    SELECT (SELECT reaped FROM pgpool_stats.applications WHERE application_name = 'leaky'),
           (SELECT count(*) FROM pgpool_stats.reaped WHERE application_name = 'leaky'
                                                     AND action = 'terminated')});
is($seen->{'leaks not reaped'} // 0, 0, 'no leaked transaction outlived its timeout');
# asyncpg reads a FATAL sent to an idle connection as the connection being
# lost, without its SQLSTATE; the 25P03 itself is checked with psql in 011.
is(($seen->{'leaks reaped 25P03'} // 0) + ($seen->{'leaks reaped connection lost'} // 0),
    $seen->{leaks}, 'every leaked session was ended by the server');
is($reaped, $seen->{leaks}, "applications.reaped counts the $seen->{leaks} leaks");
is($reaped_log, $seen->{leaks}, 'pgpool_stats.reaped lists each of them');

# More names than max_applications: the "(other)" row took the rest.
ok($node->log_contains(qr/application table is full/),
    'the full table of applications was reported in the log');

# No crash, the same worker, its memory flat.
is($node->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgpool_stats'}), $worker,
    'the worker ran through the whole soak without a restart');
ok(!$node->log_contains(qr/PANIC|TRAP|terminated by signal|server process .* was terminated/),
    'no crash in the server log');
cmp_ok($memory_late - $memory_early, '<', 16384,
    "the worker's memory stays flat ($memory_early -> $memory_late bytes used)");

$node->stop;
done_testing();
