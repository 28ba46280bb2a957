# Reserved slots: an unbudgeted noisy application cannot take the slots a
# critical application has reserved, on a small max_connections; the critical
# application gets exactly its reservation when the server is otherwise full.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

# capacity = 30 - 3 superuser_reserved_connections = 27
my $node = pgpool_node('reservations', "max_connections = 30\nsuperuser_reserved_connections = 3\n");
# The test's own psql sessions (application_name = the test's name) get two
# reserved slots, as an operator would reserve them for monitoring: then they
# never compete with the applications under test, and the numbers are exact.
my $tooling = $ENV{PGAPPNAME};
$node->safe_psql('postgres', qq{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('critical', NULL, reserved_connections => 5);
    SELECT pgpool_stats.set_budget('$tooling', NULL, reserved_connections => 2);
});
is($node->safe_psql('postgres', 'SELECT capacity || $$/$$ || free_unreserved FROM pgpool_stats.capacity'),
    '27/20', 'capacity 27; 20 slots free and unreserved');

my $s = storm($node, app => 'noisy', user => 'app', count => 40);
is($s->{admitted}, 20, 'the noisy application gets the 20 unreserved slots and no more');
is_deeply($s->{sqlstates}, { '53300' => 20 }, 'the other 20 are refused with 53300');
like($s->{messages}[0], qr/no unreserved connection slot for application "noisy"/,
    'the message names the rule');

# While noisy holds its 20, critical still gets exactly its 5 reserved slots.
my $root = $ENV{PGPOOL_STATS_ROOT};
my ($out, $err) = ('', '');
my $holder = IPC::Run::start(['/usr/bin/python3', "$root/test/clients/storm.py",
        '--host', $node->host, '--port', $node->port, '--user', 'app', '--app', 'noisy',
        '--count', 20, '--hold', 60], '>', \$out, '2>', \$err);
wait_until($node, q{SELECT connections = 20 FROM pgpool_stats.applications WHERE application_name = 'noisy'},
    'noisy holds 20 sessions');
$s = storm($node, app => 'critical', user => 'app', count => 8);
is($s->{admitted}, 5, 'critical gets its 5 reserved slots on a full server');
is($s->{rejected}, 3, 'and nothing beyond them');
like($s->{messages}[0], qr/no unreserved connection slot for application "critical"/,
    'beyond its reservation critical competes like everyone else');
$holder->kill_kill;
$holder->finish;

my $noisy = ledger_row($node, 'noisy');
is($noisy->{peak_connections}, 20, 'noisy never held more than the unreserved slots');
wait_until($node, q{SELECT connections = 0 FROM pgpool_stats.applications WHERE application_name = 'noisy'},
    'the killed holder\'s sessions are released');
ledger_matches_activity($node, 'after the reservation test');

# Two transactions reserve at once, each fitting alone (capacity 27, 2 taken
# by the tests' tooling) but not together: the second waits for the first
# and is refused once it commits.
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('critical', 5, 0)});
my ($in1, $out1, $err1, $in2, $out2, $err2) = ("BEGIN;\nSELECT pgpool_stats.set_budget('first', 15, 15);\n", '', '', '', '', '');
my $first = IPC::Run::start(['psql', '-X', '-q', '-d', $node->connstr('postgres')],
    '<', \$in1, '>', \$out1, '2>', \$err1);
$first->pump while length $in1;
wait_until($node, q{SELECT count(*) = 1 FROM pg_stat_activity WHERE state = 'idle in transaction'},
    'the first reservation is written, not committed');
$in2 = "SELECT pgpool_stats.set_budget('second', 15, 15);\n";
my $second = IPC::Run::start(['psql', '-X', '-q', '-d', $node->connstr('postgres')],
    '<', \$in2, '>', \$out2, '2>', \$err2);
$second->pump while length $in2;
wait_until($node, q{SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event = 'advisory'},
    'the second reservation waits for the first');
$in1 .= "COMMIT;\n";
$first->finish;
$second->finish;
like($err2, qr/reservations would exceed the server's capacity/,
    'once the first committed, the second is refused');
is($node->safe_psql('postgres',
    q{SELECT string_agg(application_name || '=' || reserved_connections, ',' ORDER BY 1)
      FROM pgpool_stats.budget WHERE reserved_connections > 0}), "$tooling=2,first=15",
    'only the first reservation stands');

# 16+: reserved_connections (slots for pg_use_reserved_connections roles) are
# not ours to hand out either: capacity = 30 - 3 - 2 = 25, everywhere.
SKIP: {
    skip 'reserved_connections exists from PostgreSQL 16 on', 5 if $node->pg_version < 16;
    $node->append_conf('postgresql.conf', "reserved_connections = 2\n");
    $node->restart;
    # The reservations come back with the worker's first reading of the budgets.
    poll_until($node, 'SELECT reserved_total = 17 FROM pgpool_stats.capacity');
    is($node->safe_psql('postgres',
        'SELECT superuser_reserved_connections || $$/$$ || capacity || $$/$$ || free_unreserved FROM pgpool_stats.capacity'),
        '3/25/8', 'reserved_connections = 2: capacity 25, 25 - 17 reserved = 8 free');
    my $s = storm($node, app => 'noisy', user => 'app', count => 20);
    is($s->{admitted}, 8, 'the noisy application gets the 8 unreserved slots left');
    is_deeply($s->{sqlstates}, { '53300' => 12 }, 'the other 12 are refused with 53300');
    my ($rc, $o, $e) = $node->psql('postgres', q{SELECT pgpool_stats.set_budget('third', 9, 9)});
    like($e, qr/reservations would exceed the server's capacity/,
        'set_budget counts reserved_connections: 17 + 9 > 25 refused');
    like($node->safe_psql('postgres', 'SELECT pgpool_stats.metrics()'),
        qr/^pgpool_stats_capacity_slots 25$/m, 'metrics() shows capacity 25');
}
$node->stop;
done_testing();
