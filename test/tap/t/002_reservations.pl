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
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('critical', NULL, reserved_connections => 5);
});
is($node->safe_psql('postgres', 'SELECT capacity || $$/$$ || free_unreserved FROM pgpool_stats.capacity'),
    '27/21', 'capacity 27; 21 free and unreserved besides this session');

my $s = storm($node, app => 'noisy', user => 'app', count => 40);
is($s->{admitted}, 22, 'the noisy application gets the 22 unreserved slots and no more');
is_deeply($s->{sqlstates}, { '53300' => 18 }, 'the other 18 are refused with 53300');
like($s->{messages}[0], qr/no unreserved connection slot for application "noisy"/,
    'the message names the rule');

# While noisy holds its 22, critical still gets exactly its 5 reserved slots.
my $root = $ENV{PGPOOL_STATS_ROOT};
my ($out, $err) = ('', '');
my $holder = IPC::Run::start(['/usr/bin/python3', "$root/test/clients/storm.py",
        '--host', $node->host, '--port', $node->port, '--user', 'app', '--app', 'noisy',
        '--count', 22, '--hold', 6], '>', \$out, '2>', \$err);
wait_until($node, q{SELECT connections = 22 FROM pgpool_stats.applications WHERE application_name = 'noisy'},
    'noisy holds 22 sessions');
$s = storm($node, app => 'critical', user => 'app', count => 8);
is($s->{admitted}, 5, 'critical gets its 5 reserved slots on a full server');
is($s->{rejected}, 3, 'and nothing beyond them');
like($s->{messages}[0], qr/no unreserved connection slot for application "critical"/,
    'beyond its reservation critical competes like everyone else');
$holder->kill_kill;
$holder->finish;

my $noisy = ledger_row($node, 'noisy');
is($noisy->{peak_connections}, 22, 'noisy never held more than the unreserved slots');
wait_until($node, q{SELECT connections = 0 FROM pgpool_stats.applications WHERE application_name = 'noisy'},
    'the killed holder\'s sessions are released');
ledger_matches_activity($node, 'after the reservation test');
$node->stop;
done_testing();
