# The HikariCP follower (clients/hikaricp) on a hot standby: LISTEN is
# refused in recovery, so the follower polls pool_config() there on its
# timer (1 s here) and follows the budgets the primary replicates; once the
# standby is promoted it listens.
use strict;
use warnings;

use Time::HiRes qw(time sleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;
use HikariTest;

my $classpath = hikari_classpath();

my $primary = pgpool_node('follow_primary', "listen_addresses = '127.0.0.1'\n", allows_streaming => 1);
$primary->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
$primary->reload;
$primary->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    CREATE ROLE follower LOGIN IN ROLE pg_monitor;
    SELECT pgpool_stats.set_budget('roapp', 6);
});
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('follow_standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);
wait_until($standby, q{SELECT max_connections = 6 FROM pgpool_stats.applications WHERE application_name = 'roapp'},
    'the standby holds the budget');

# A read-only service on the standby: default 10 (floor = ceiling = default,
# so the share alone decides), instances observed by the server (one
# address: the share is the budget), timer 1 s.
my $java_log = "${PostgreSQL::Test::Utils::tmp_check}/follow_standby_java.log";
my $driver = start_follow_driver($classpath, $java_log,
    'url=jdbc:postgresql://127.0.0.1:' . $standby->port . '/postgres',
    'user=app', 'app=roapp', 'follower_user=follower', 'workers=12', 'query_ms=10', 'think_ms=5',
    'max=10', 'min_idle=10', 'default=10', 'floor=10', 'ceiling=10', 'poll_ms=1000');
sub wait_state { $driver->wait_state(@_) }

my ($took, $s) = wait_state(sub { $_[0]{connected} && $_[0]{total} == 6 }, 30);
ok(defined $took, 'on the standby the pool starts at its share of the replicated budget (6)') or diag explain $s;
ok(!$s->{listening}, 'the follower does not listen on a standby (it polls)');

# Lowered on the primary: replayed, then polled.
my $started = time;
$primary->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('roapp', 2)});
($took, $s) = wait_state(sub { $_[0]{max} == 2 && $_[0]{total} <= 2 }, 30, $started);
ok(defined $took, sprintf('lowered on the primary: the pool on the standby follows (%.3f s; timer 1 s)', $took // -1));
diag(sprintf('standby, timer 1 s: budget 6 -> 2 followed and within the share in %.3f s', $took // -1));
# The pool forgets a connection before it has closed it; the backend exits
# after that.
ok(poll_until($standby, q{SELECT connections <= 2 FROM pgpool_stats.applications
                          WHERE application_name = 'roapp'}),
    "the standby's ledger within the budget: " . ledger_row($standby, 'roapp')->{connections} . ' of 2');
is($s->{refused}, 0, 'the workload saw no 53300');
is($s->{other_errors}, 0, 'nor any other error') or diag $s->{last_error};

# Dropped on the primary: back to the default.
$primary->safe_psql('postgres', q{SELECT pgpool_stats.drop_budget('roapp')});
($took, $s) = wait_state(sub { $_[0]{max} == 10 }, 30);
ok(defined $took, 'dropped on the primary: the pool returns to its default of 10');
ok(!$s->{listening}, 'still polling');

# Promoted: the follower listens from its next poll on.
$standby->promote;
($took, $s) = wait_state(sub { $_[0]{listening} }, 30);
ok(defined $took, sprintf('promoted, the follower listens (%.3f s)', $took // -1));
$standby->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('roapp', 3)});
($took, $s) = wait_state(sub { $_[0]{max} == 3 && $_[0]{total} <= 3 }, 30);
ok(defined $took, 'and follows a budget set on it');
is($s->{refused}, 0, 'no 53300 throughout');
is($s->{other_errors}, 0, 'no other error throughout') or diag $s->{last_error};

$driver->send('stop');
$driver->finish;
my $log = -e $java_log ? slurp_file($java_log) : '';
unlike($log, qr/WARN|ERROR/, 'the follower logged no warning (LISTEN was never tried in recovery)')
    or diag $log;
ledger_matches_activity($standby, 'after the follower');

$standby->stop;
$primary->stop;
done_testing();
