# Live states per application, exact at the moment of the query: sessions held
# active, idle, idle in transaction and blocked on a lock; instances by client
# address; peak_active and the login rate from the sampler.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('states',
    "listen_addresses = '127.0.0.1'\npgpool_stats.sample_interval = '100ms'\n");
$node->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
$node->reload;
$node->safe_psql('postgres', 'CREATE TABLE locked (i int)');

my $socket = $node->connstr('postgres') . ' application_name=svc';
my $tcp = 'host=127.0.0.1 port=' . $node->port . ' dbname=postgres application_name=svc';
my @sessions;
# A psql session whose input stays open, so it lives until we end it.
sub session {
    my ($connstr, $sql) = @_;
    my $in = $sql;
    my $h = IPC::Run::start(['psql', '-X', '-q', '-d', $connstr], '<', \$in, '>', \my $o, '2>', \my $e);
    $h->pump while length $in;  # IPC::Run writes the input only when pumped
    push @sessions, [$h, \$in];
    return $h;
}
sub row { ledger_row($node, 'svc') }

session($socket, "SELECT pg_sleep(60);\n");                  # active
session($socket, "SELECT pg_sleep(60);\n");                  # active
session($socket, "");                                        # idle
session($socket, "BEGIN;\nSELECT 1;\n");                     # idle in transaction
session($socket, "BEGIN;\nLOCK TABLE locked;\n");            # idle in transaction, holds the lock
wait_until($node, q{SELECT count(*) = 1 FROM pg_locks WHERE relation = 'locked'::regclass AND granted},
    'the lock is held');
session($tcp, "BEGIN;\nLOCK TABLE locked;\n");                # active, blocked on the lock
wait_until($node, q{SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'},
    'one session waits on the lock');

# The first four sessions were only started: wait until each has reached
# its state.
wait_until($node, q{
    SELECT count(*) FILTER (WHERE state = 'active') = 3 AND count(*) FILTER (WHERE state = 'idle') = 1
           AND count(*) FILTER (WHERE state LIKE 'idle in transaction%') = 2
    FROM pg_stat_activity WHERE application_name = 'svc'}, 'the six sessions are in their states');

my $expected = q{
    SELECT count(*) FILTER (WHERE state = 'active'),
           count(*) FILTER (WHERE state = 'idle'),
           count(*) FILTER (WHERE state LIKE 'idle in transaction%'),
           count(*) FILTER (WHERE wait_event_type = 'Lock'),
           count(DISTINCT coalesce(host(client_addr), 'socket')), count(*)
    FROM pg_stat_activity WHERE application_name = 'svc'};
my $ours = q{
    SELECT active, idle, idle_in_transaction, waiting, instances, connections
    FROM pgpool_stats.applications WHERE application_name = 'svc'};
is($node->safe_psql('postgres', $ours), '3|1|2|1|2|6',
    'active 3 (one blocked), idle 1, idle in transaction 2, waiting 1, 2 instances, 6 connections');
is($node->safe_psql('postgres', $ours), $node->safe_psql('postgres', $expected),
    'the same figures as pg_stat_activity');

# The sampler (every 100ms) has seen 3 active sessions: peak_active stays 3
# after they end. The view shows max(peak_active, active now), so wait for a
# sample in the history first: on a fast server (seen on 18) the sessions
# could otherwise end before the sampler ever saw them.
wait_until($node, q{SELECT count(*) > 0 FROM pgpool_stats.history
                    WHERE application_name = 'svc' AND active = 3},
    'a sample has seen the 3 active sessions');
wait_until($node, q{SELECT peak_active = 3 FROM pgpool_stats.applications WHERE application_name = 'svc'},
    'peak_active is 3');
for my $s (@sessions) { $s->[0]->kill_kill; $s->[0]->finish; }
$node->safe_psql('postgres',
    q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'svc'});
wait_until($node, q{SELECT connections = 0 FROM pgpool_stats.applications WHERE application_name = 'svc'},
    'all sessions ended');
is($node->safe_psql('postgres', $ours), '0|0|0|0|0|0', 'no session left in any state');
is(row()->{peak_connections}, 6, 'peak_connections is 6');
is($node->safe_psql('postgres',
    q{SELECT peak_active FROM pgpool_stats.applications WHERE application_name = 'svc'}), '3',
    'peak_active stays 3');

# Logins per second, from the sampler.
storm($node, app => 'burst', user => 'postgres', count => 60);
wait_until($node,
    q{SELECT connects_per_second > 0.5 FROM pgpool_stats.applications WHERE application_name = 'burst'},
    'a burst of 60 logins shows in connects_per_second');
ok($node->safe_psql('postgres',
    q{SELECT avg_session_seconds >= 0 FROM pgpool_stats.applications WHERE application_name = 'burst'}) eq 't',
    'avg_session_seconds is known once sessions have ended');

# reset() zeroes counters and peaks but not what is live.
$node->safe_psql('postgres', q{SELECT pgpool_stats.reset('svc')});
is($node->safe_psql('postgres',
    q{SELECT peak_connections || '/' || peak_active || '/' || admitted FROM pgpool_stats.applications
      WHERE application_name = 'svc'}), '0/0/0', 'reset zeroes peaks and counters');

ledger_matches_activity($node, 'after the states test');
$node->stop;
done_testing();
