# Every session is released exactly once, whatever way it ends: hundreds of
# logins across normal exits, FATAL later in startup, failed passwords,
# pg_terminate_backend, vanished clients; then a SIGKILLed backend and the
# crash restart. After each, the ledger equals pg_stat_activity.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('exits', "max_connections = 150\nrestart_after_crash = on\n");
$node->safe_psql('postgres', q{
    SET password_encryption = 'scram-sha-256';
    CREATE ROLE app LOGIN;
    CREATE ROLE pw LOGIN PASSWORD 'right';
    SELECT pgpool_stats.set_budget('normal', 50);
});
# scram for role pw on the socket; first matching line wins.
my $hba = $node->data_dir . '/pg_hba.conf';
my $rules = slurp_file($hba);
open my $fh, '>', $hba or die $!;
print $fh "local all pw scram-sha-256\n$rules";
close $fh;
$node->reload;

my $root = $ENV{PGPOOL_STATS_ROOT};
sub hold {
    my (%o) = @_;
    return IPC::Run::start(['/usr/bin/python3', "$root/test/clients/storm.py",
            '--host', $node->host, '--port', $node->port, '--user', 'app',
            '--app', $o{app}, '--count', $o{count}, '--hold', 60], '>', \my $out, '2>', \my $err);
}
sub connections_of { my ($app, $n) = @_; return connections_sql($app, '=', $n); }

# Normal exits.
my $s = storm($node, app => 'normal', user => 'app', count => 100);
is($s->{admitted}, 50, 'normal: 50 of 100 admitted');
ledger_matches_activity($node, 'after normal exits');

# FATAL later in startup: admitted, then the database is missing.
$s = storm($node, app => 'normal', user => 'app', count => 40, dbname => 'no_such_db');
is_deeply($s->{sqlstates}, { '3D000' => 40 }, 'missing database: 40 refused by the server later');
is(ledger_row($node, 'normal')->{admitted}, 90, 'those 40 were admitted by the budget first');
ledger_matches_activity($node, 'after FATAL in startup');

# Role that does not exist (trust authentication lets it reach InitPostgres).
$s = storm($node, app => 'normal', user => 'ghost', count => 20);
is_deeply($s->{sqlstates}, { '28000' => 20 }, 'missing role: 20 refused by the server later');
ledger_matches_activity($node, 'after missing roles');

# Failed passwords are never counted.
my $before = ledger_row($node, 'normal')->{admitted};
$s = storm($node, app => 'normal', user => 'pw', password => 'wrong', count => 30);
is_deeply($s->{sqlstates}, { '28P01' => 30 }, 'wrong scram password: 30 refused');
is(ledger_row($node, 'normal')->{admitted}, $before, 'failed authentication is never counted');
$s = storm($node, app => 'normal', user => 'pw', password => 'right', count => 5);
is($s->{admitted}, 5, 'the right password is admitted');
ledger_matches_activity($node, 'after failed passwords');

# pg_terminate_backend of every session of an application.
my $victims = hold(app => 'victim', count => 40);
wait_until($node, connections_of('victim', 40), 'victim holds 40 sessions');
$node->safe_psql('postgres',
    q{SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'victim'});
wait_until($node, connections_of('victim', 0), 'terminated sessions are released');
$victims->kill_kill;
$victims->finish;
ledger_matches_activity($node, 'after pg_terminate_backend');

# Clients that vanish without saying goodbye.
my $vanishing = hold(app => 'vanish', count => 30);
wait_until($node, connections_of('vanish', 30), 'vanish holds 30 sessions');
$vanishing->signal('KILL');
$vanishing->finish;
wait_until($node, connections_of('vanish', 0), 'sessions of killed clients are released');
ledger_matches_activity($node, 'after vanished clients');

# A backend killed with SIGKILL: the postmaster resets shared memory, and the
# ledger starts again from nothing, with the budgets reloaded.
my $holders = hold(app => 'normal', count => 20);
wait_until($node, connections_of('normal', 20), 'normal holds 20 sessions');
my $pid = $node->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE application_name = 'normal' LIMIT 1});
my $log_offset = -s $node->logfile;
kill 'KILL', $pid;
$holders->kill_kill;
$holders->finish;
# Polled once the restart has begun: before, the old cluster still answers.
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
ok(poll_until($node, 'SELECT true'), 'the server is back after the crash');
ok($node->log_contains(qr/terminating any other active server processes/), 'it was a crash restart');
wait_until($node, q{SELECT max_connections = 50 FROM pgpool_stats.applications WHERE application_name = 'normal'},
    'budgets are loaded again after the crash');
ledger_matches_activity($node, 'after the crash restart');
$s = storm($node, app => 'normal', user => 'app', count => 100);
is($s->{admitted}, 50, 'after the crash the budget holds exactly');
ledger_matches_activity($node, 'at the end');

$node->stop;
done_testing();
