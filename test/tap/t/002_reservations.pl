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
$node->stop;
done_testing();
