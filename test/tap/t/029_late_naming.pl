# Late naming: a session that logs in without a name and names itself
# afterwards is charged to that name, admitted under its budget by the same
# rules as a login, or refused with the same FATAL; and names PostgreSQL gives
# a session from ALTER ROLE / ALTER DATABASE ... SET application_name are
# charged too. The startup routes (parameter, options, both, PGAPPNAME,
# fallback_application_name) are charged as pg_stat_activity shows them.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('late', "pgpool_stats.sample_interval = '100ms'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    CREATE ROLE svc LOGIN;
    CREATE ROLE outsider LOGIN;
    SELECT pgpool_stats.set_budget('late', 2);
});

sub unnamed { return { dbname => 'postgres', user => $_[0] // 'app', after => [@_[1 .. $#_]] } }
sub ledger_of {
    my ($app) = @_;
    return $node->safe_psql('postgres',
        "SELECT coalesce(sum(connections), 0) FROM pgpool_stats.applications WHERE application_name = '$app'");
}

# 1. A storm of sessions that log in unnamed and SET the name, as pgjdbc does:
# exactly the budget is admitted, twice in a row; the rest are refused at
# their SET with FATAL 53300, and released from '' exactly once.
for my $round (1, 2) {
    my ($h, $r) = hold_sessions($node, map { unnamed('app', q{SET application_name = 'late'}) } 1 .. 6);
    is(scalar(grep { $_->{ok} } @$r), 2, "round $round: 2 of 6 late-named sessions admitted");
    my @refused = grep { !$_->{ok} } @$r;
    is(scalar(grep { ($_->{error} // '') =~ /too many connections for application "late"/ } @refused),
        4, "round $round: the other 4 refused at their SET with the login's message");
    is(ledger_of('late'), 2, "round $round: late holds 2");
    is(ledger_of(''), 0, "round $round: nothing left charged to ''");
    ledger_matches_activity($node, "round $round, sessions held");
    release_sessions($node, $h, 'app');
    ledger_matches_activity($node, "round $round, after the exits");
}
my $row = ledger_row($node, 'late');
is($row->{admitted}, 4, 'late admitted 4 over the two rounds');
is($row->{rejected}, 8, 'late refused 8');
is(ledger_row($node, '')->{admitted}, 0, "'' keeps no admission of the sessions that moved");

# 2. What names a session: plain SET, SET SESSION, set_config(..., false), a
# SET committed in a transaction. What does not: SET LOCAL, set_config(...,
# true), a rolled-back SET, a name set back to ''.
my @cases = (
    ['SET',                       1, q{SET application_name = 'n1'}],
    ['SET SESSION',               1, q{SET SESSION application_name = 'n2'}],
    ['set_config(..., false)',    1, q{SELECT set_config('application_name', 'n3', false)}],
    ['SET in a committed block',  1, 'BEGIN', q{SET application_name = 'n4'}, 'COMMIT'],
    ['SET LOCAL',                 0, 'BEGIN', q{SET LOCAL application_name = 'n5'}, 'COMMIT'],
    ['set_config(..., true)',     0, q{SELECT set_config('application_name', 'n6', true)}],
    ['a rolled-back SET',         0, 'BEGIN', q{SET application_name = 'n7'}, 'ROLLBACK'],
    ['SET then back to empty',    0, 'BEGIN', q{SET application_name = 'n8'}, q{SET application_name = ''}, 'COMMIT'],
    ['SET, then SET LOCAL',       1, 'BEGIN', q{SET application_name = 'n9'}, q{SET LOCAL application_name = 'x9'}, 'COMMIT'],
);
my ($h, $r) = hold_sessions($node, map { unnamed('app', @$_[2 .. $#$_]) } @cases);
for my $i (0 .. $#cases) {
    my ($label, $names) = @{ $cases[$i] };
    ok($r->[$i]{ok}, "$label: session up") or diag($r->[$i]{error});
    my $n = 'n' . ($i + 1);
    is(ledger_of($n), $names, "$label: " . ($names ? "charged to $n" : "not charged to $n"));
}
is(ledger_of('x9'), 0, 'SET LOCAL after SET: the SET value is kept, not the local one');
is(ledger_of(''), 4, 'the four sessions that did not name themselves stay on ""');
ledger_matches_activity($node, 'the naming routes');

# 3. Once named, a session keeps its charge for life (DESIGN.md), even when it
# renames itself; pg_stat_activity then shows the new name.
$node->safe_psql('postgres', q{SELECT pgpool_stats.set_budget('n1', 1)});
my ($h2, $r2) = hold_sessions($node, unnamed('app', q{SET application_name = 'n1'}),
    unnamed('app', q{SET application_name = 'n10'}, q{SET application_name = 'elsewhere'}));
ok(!$r2->[0]{ok}, 'a second session naming itself n1 is refused at its SET (budget 1, n1 holds 1)');
ok($r2->[1]{ok}, 'a session named n10 renames itself');
is(ledger_of('n10'), 1, 'it stays charged to n10');
is(ledger_of('elsewhere'), 0, 'and not to its new name');
$h2->finish;
release_sessions($node, $h, 'app');
ledger_matches_activity($node, 'after the exits');

# A commit that fails after the name was charged (PREPARE TRANSACTION of a
# transaction that used a temporary table fails after the pre-commit
# callbacks) takes the name back: the session is on '' again, and may name
# itself later.
($h2, $r2) = hold_sessions($node, unnamed('app', 'BEGIN', 'CREATE TEMP TABLE t ()',
    q{SET application_name = 'undone'}, q{?PREPARE TRANSACTION 'p'}));
ok($r2->[0]{ok}, 'the session survives its failed PREPARE');
is(ledger_of('undone'), 0, 'the name of the failed commit is not charged');
is($node->safe_psql('postgres', "SELECT application_name FROM pg_stat_activity WHERE pid = $r2->[0]{pid}"),
    '', 'pg_stat_activity shows no name either');
$h2->finish;
($h2, $r2) = hold_sessions($node, unnamed('app', 'BEGIN', 'CREATE TEMP TABLE t ()',
    q{SET application_name = 'undone'}, q{?PREPARE TRANSACTION 'p'}, 'ROLLBACK',
    q{SET application_name = 'redone'}));
is(ledger_of('redone'), 1, 'a session whose naming was undone can name itself again');
$h2->finish;
wait_until($node, q{SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = 'app'}, 'gone');
ledger_matches_activity($node, 'after an undone naming');

# 4. allowed_roles binds late naming too: 28000, and released from ''.
$node->safe_psql('postgres',
    q{SELECT pgpool_stats.set_budget('guarded', 5, allowed_roles => '{app}')});
($h, $r) = hold_sessions($node, unnamed('outsider', q{SET application_name = 'guarded'}),
    unnamed('app', q{SET application_name = 'guarded'}));
like($r->[0]{error} // 'admitted', qr/role "outsider" may not connect as application "guarded"/,
    'a role outside allowed_roles is refused at its SET');
ok($r->[1]{ok}, 'an allowed role names itself guarded');
is(ledger_of('guarded'), 1, 'guarded holds the allowed session only');
is(ledger_row($node, 'guarded')->{rejected}, 1, 'the refusal is counted');
ledger_matches_activity($node, 'allowed_roles');
release_sessions($node, $h, 'app');

# 5. A name from ALTER ROLE ... SET (applied by PostgreSQL after the login
# hook) is charged at login: budget app1 = 1, three sessions of svc.
$node->safe_psql('postgres', q{
    ALTER ROLE svc SET application_name = 'app1';
    SELECT pgpool_stats.set_budget('app1', 1);
});
($h, $r) = hold_sessions($node, map { { dbname => 'postgres', user => 'svc' } } 1 .. 3);
is(scalar(grep { $_->{ok} } @$r), 1, 'ALTER ROLE SET: 1 of 3 sessions of svc admitted');
is(scalar(grep { ($_->{error} // '') =~ /too many connections for application "app1"/ } @$r),
    2, 'the other 2 refused at login under app1');
is(ledger_of('app1'), 1, 'app1 holds 1');
# A refused backend shows in pg_stat_activity until it has exited.
wait_until($node, q{SELECT count(*) = 1 FROM pg_stat_activity WHERE usename = 'svc'},
    'the refused logins of svc have exited');
is($node->safe_psql('postgres', q{SELECT application_name FROM pg_stat_activity WHERE usename = 'svc'}),
    'app1', 'pg_stat_activity shows app1');
ledger_matches_activity($node, 'ALTER ROLE SET');
release_sessions($node, $h, 'svc');

# The startup parameter wins over the role's default, as in PostgreSQL.
($h, $r) = hold_sessions($node, { dbname => 'postgres', user => 'svc', application_name => 'own' },
    { dbname => 'postgres', user => 'svc', application_name => 'own' });
is(scalar(grep { $_->{ok} } @$r), 2, 'a name sent at login wins over the role default');
is(ledger_of('own'), 2, 'charged to the name sent');
ledger_matches_activity($node, 'parameter over role default');
release_sessions($node, $h, 'svc');

# ALTER DATABASE ... SET, for every role of that database.
$node->safe_psql('postgres', q{
    CREATE DATABASE db2;
    ALTER DATABASE db2 SET application_name = 'dbapp';
    SELECT pgpool_stats.set_budget('dbapp', 1);
});
($h, $r) = hold_sessions($node, map { { dbname => 'db2', user => 'app' } } 1 .. 2);
is(scalar(grep { $_->{ok} } @$r), 1, 'ALTER DATABASE SET: 1 of 2 admitted under dbapp');
is(ledger_of('dbapp'), 1, 'dbapp holds 1');
ledger_matches_activity($node, 'ALTER DATABASE SET');
release_sessions($node, $h, 'app');

# 6. Telemetry follows the charge: the sampler's history and the reaper see
# the late name (its budget's idle_in_transaction_timeout applies).
$node->safe_psql('postgres',
    q{SELECT pgpool_stats.set_budget('leaky', 5, idle_in_transaction_timeout => '1 second')});
($h, $r) = hold_sessions($node, unnamed('app', q{SET application_name = 'leaky'}, 'BEGIN', 'SELECT 1'));
ok($r->[0]{ok}, 'a late-named session opens a transaction and idles in it');
wait_until($node, q{SELECT count(*) > 0 FROM pgpool_stats.history
                    WHERE application_name = 'leaky' AND idle_in_transaction = 1},
    'the history shows it idle in a transaction under its late name');
wait_until($node, q{SELECT count(*) = 1 FROM pgpool_stats.reaped
                    WHERE application_name = 'leaky' AND action = 'terminated'},
    "the reaper applies leaky's idle_in_transaction_timeout to it");
$h->finish;
wait_until($node, q{SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = 'app'}, 'gone');
ledger_matches_activity($node, 'after the reaping');

# 7. Startup routes, each checked against pg_stat_activity.
($h, $r) = hold_sessions($node,
    { dbname => 'postgres', user => 'app', options => '-c application_name=opt' },
    { dbname => 'postgres', user => 'app', options => '-c application_name=opt2', application_name => 'param' },
    { dbname => 'postgres', user => 'app', pgappname => 'fromenv' },
    { dbname => 'postgres', user => 'app', fallback_application_name => 'fallback' },
    { dbname => 'postgres', user => 'app', application_name => 'given', fallback_application_name => 'fallback2' });
ok($_->{ok}, 'startup route session up') for @$r;
is(ledger_of('opt'), 1, 'options only: charged to the -c name');
is(ledger_of('param'), 1, 'options and parameter: the parameter wins');
is(ledger_of('opt2'), 0, '... and the options name is not charged');
is(ledger_of('fromenv'), 1, 'PGAPPNAME');
is(ledger_of('fallback'), 1, 'fallback_application_name');
is(ledger_of('given'), 1, 'application_name wins over fallback_application_name');
ledger_matches_activity($node, 'startup routes');
release_sessions($node, $h, 'app');

$node->stop;
done_testing();
