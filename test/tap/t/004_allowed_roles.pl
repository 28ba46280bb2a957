# allowed_roles: nobody can claim a budgeted application's name (and its
# reserved slots) from a role the budget does not list.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('roles');
$node->safe_psql('postgres', q{
    CREATE ROLE svc LOGIN;
    CREATE ROLE squatter LOGIN;
    CREATE ROLE payments_team;
    CREATE ROLE teammate LOGIN IN ROLE payments_team;
    SELECT pgpool_stats.set_budget('payments', 10, reserved_connections => 3,
                                   allowed_roles => '{svc,payments_team}');
    SELECT pgpool_stats.set_budget('watched', 10, mode => 'monitor', allowed_roles => '{svc}');
});
my $base = $node->connstr('postgres');

$node->connect_fails("$base user=squatter application_name=payments",
    'an unlisted role cannot use the application name',
    expected_stderr => qr/role "squatter" may not connect as application "payments"/);
$node->connect_ok("$base user=svc application_name=payments", 'a listed role can');
$node->connect_ok("$base user=teammate application_name=payments", 'a member of a listed role can');
$node->connect_ok("$base user=postgres application_name=payments", 'a superuser is exempt');
$node->connect_ok("$base user=squatter application_name=other", 'the squatter can still use its own name');

my $s = storm($node, app => 'payments', user => 'squatter', count => 5);
is_deeply($s->{sqlstates}, { '28000' => 5 }, 'refusals are 28000 invalid_authorization_specification');
is(ledger_row($node, 'payments')->{rejected}, 6, 'each refusal is counted in rejected');
is(ledger_row($node, 'payments')->{connections}, 0, 'and charged nothing');

$node->connect_ok("$base user=squatter application_name=watched", 'monitor mode lets it through');
is(ledger_row($node, 'watched')->{would_reject}, 1, 'and counts it in would_reject');

ledger_matches_activity($node, 'after the role checks');
$node->stop;
done_testing();
