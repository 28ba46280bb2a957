# Budget announcements, heard by a real LISTEN (test/clients/listen.py,
# psycopg2): every committed change of a budget arrives on channel
# pgpool_stats_budget as JSON, from set_budget(), drop_budget(), direct
# INSERT / UPDATE / DELETE and TRUNCATE; a rolled-back change (or one rolled
# back to a savepoint) never arrives; the changes of one transaction arrive
# in order at its commit, a change back to an earlier value included; a
# comment too long for NOTIFY is left out and said; 1.0's SQL announces
# nothing, and ALTER EXTENSION UPDATE turns announcements on.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('announcements');
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');

my ($in, $out, $err) = ('', '', '');
my $listener = IPC::Run::start(['/usr/bin/python3', "$root/test/clients/listen.py",
        $node->host, $node->port, 'postgres', 'pgpool_stats_budget', 'step'],
    '<', \$in, '>', \$out, '2>', \$err, IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
$listener->pump until $out =~ /^ready$/m;

# Runs SQL in one session, then marks the end of the step with a NOTIFY of
# its own, committed after it: returns the announcements that arrived before
# the mark, decoded.
my ($steps, $read) = (0, 0);
sub step {
    my ($sql) = @_;
    $node->safe_psql('postgres', $sql);
    my $mark = 'mark' . ++$steps;
    $node->safe_psql('postgres', "NOTIFY step, '$mark'");
    # Until the mark's whole line has arrived, its newline included: the next
    # step then starts at a line's beginning.
    $listener->pump until $out =~ /"payload": "$mark"[^\n]*\n/;
    my @lines = split /\n/, substr($out, $read);
    $read = length $out;
    my @announced;
    for my $line (@lines) {
        next if $line eq '' || $line eq 'ready';
        my $n = decode_json($line);
        last if $n->{channel} eq 'step';
        my $payload = decode_json($n->{payload});
        $payload->{truncated} = $payload->{truncated} ? 1 : 0 if exists $payload->{truncated};
        push @announced, $payload;
    }
    return @announced;
}

# The checks of the issue.
my @a = step(q{SELECT pgpool_stats.set_budget('checkout', 12, reserved_connections => 2)});
is_deeply(\@a, [{ action => 'set', application_name => 'checkout', sequence => 1,
            max_connections => 12, reserved_connections => 2, mode => 'enforce',
            admission_timeout => 0, idle_in_transaction_timeout => undef,
            idle_session_timeout => undef, allowed_roles => undef, comment => undef,
            truncated => 0 }],
    'set_budget committed: one announcement with every column of the row');
is($node->safe_psql('postgres',
        q{SELECT max_connections || '/' || reserved_connections FROM pgpool_stats.applications
          WHERE application_name = 'checkout'}),
    '12/2', 'the ledger has the budget announced');

@a = step(q{BEGIN; SELECT pgpool_stats.set_budget('checkout', 30); ROLLBACK;});
is_deeply(\@a, [], 'set_budget rolled back: nothing announced');

@a = step(q{SELECT pgpool_stats.drop_budget('checkout')});
is_deeply(\@a, [{ action => 'drop', application_name => 'checkout', sequence => 1 }],
    'drop_budget: action drop, with the name');

@a = step(q{SELECT pgpool_stats.drop_budget('never-budgeted')});
is_deeply(\@a, [], 'drop_budget of an application without budget: nothing changed, nothing announced');

# Every column, intervals in milliseconds.
@a = step(q{SELECT pgpool_stats.set_budget('timed', 5, reserved_connections => 1, mode => 'monitor',
    admission_timeout => '1.5 s', idle_in_transaction_timeout => '30 s',
    idle_session_timeout => '1 hour', allowed_roles => '{app,ops}', comment => 'the "timed" one')});
is_deeply(\@a, [{ action => 'set', application_name => 'timed', sequence => 1,
            max_connections => 5, reserved_connections => 1, mode => 'monitor',
            admission_timeout => 1500, idle_in_transaction_timeout => 30000,
            idle_session_timeout => 3600000, allowed_roles => ['app', 'ops'],
            comment => 'the "timed" one', truncated => 0 }],
    'every column: mode, timeouts in milliseconds, allowed_roles as an array, the comment');

# Order within a transaction, and a change back to an earlier value (which
# PostgreSQL would deliver once per transaction if the payloads were equal).
@a = step(q{BEGIN;
    SELECT pgpool_stats.set_budget('ord', 5);
    SELECT pgpool_stats.set_budget('ord', 6);
    SELECT pgpool_stats.set_budget('ord', 5);
    SELECT pgpool_stats.drop_budget('ord');
    SELECT pgpool_stats.set_budget('ord', 7);
    COMMIT;});
is(join(' ', map { "$_->{sequence}:$_->{action}" . ($_->{action} eq 'set' ? "=$_->{max_connections}" : '') } @a),
    '1:set=5 2:set=6 3:set=5 4:drop 5:set=7',
    'one transaction: every change arrives at commit, in order, a repeated value included');

@a = step(q{BEGIN;
    SELECT pgpool_stats.set_budget('kept', 1);
    SAVEPOINT s;
    SELECT pgpool_stats.set_budget('undone', 2);
    ROLLBACK TO SAVEPOINT s;
    SELECT pgpool_stats.set_budget('kept', 3);
    COMMIT;});
is(join(' ', map { "$_->{application_name}=$_->{max_connections}" } @a), 'kept=1 kept=3',
    'a change rolled back to a savepoint is not announced; the rest of the transaction is');

# Direct writes on the table.
@a = step(q{INSERT INTO pgpool_stats.budget (application_name, max_connections, comment)
            VALUES ('direct', 3, 'by hand'), ('direct2', 4, NULL)});
is(join(' ', map { "$_->{action}:$_->{application_name}=$_->{max_connections}:" . ($_->{comment} // 'null') } @a),
    'set:direct=3:by hand set:direct2=4:null', 'INSERT of two rows: a set for each');

@a = step(q{UPDATE pgpool_stats.budget SET max_connections = max_connections + 10
            WHERE application_name IN ('direct', 'direct2')});
is(join(' ', sort map { "$_->{action}:$_->{application_name}=$_->{max_connections}" } @a),
    'set:direct2=14 set:direct=13', 'UPDATE of two rows: a set for each, with the new values');

@a = step(q{UPDATE pgpool_stats.budget SET application_name = 'renamed' WHERE application_name = 'direct'});
is(join(' ', map { "$_->{action}:$_->{application_name}" } @a), 'drop:direct set:renamed',
    'UPDATE that renames: a drop of the old name, then a set of the new one');
is($a[1]{max_connections}, 13, '... the set carries the row');

@a = step(q{DELETE FROM pgpool_stats.budget WHERE application_name = 'renamed'});
is_deeply(\@a, [{ action => 'drop', application_name => 'renamed', sequence => 1 }], 'DELETE: a drop');

@a = step(q{BEGIN;
    INSERT INTO pgpool_stats.budget (application_name, max_connections) VALUES ('fresh', 2);
    TRUNCATE pgpool_stats.budget;
    COMMIT;});
is("$a[0]{action}:$a[0]{application_name}", 'set:fresh',
    'TRUNCATE after an INSERT in its transaction: the set first');
is(join(' ', sort map { "$_->{action}:$_->{application_name}" } @a[1 .. $#a]),
    'drop:direct2 drop:fresh drop:kept drop:ord drop:timed',
    'TRUNCATE: a drop for every application it removed, the one inserted in its transaction included');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pgpool_stats.applications WHERE max_connections IS NOT NULL}),
    '0', 'the ledger has no budget left');

@a = step(q{BEGIN; TRUNCATE pgpool_stats.budget; ROLLBACK;});
is_deeply(\@a, [], 'TRUNCATE rolled back (of an empty table): nothing');
is(scalar(step(q{SELECT pgpool_stats.set_budget('survivor', 2)})), 1, 'a budget to truncate');
@a = step(q{BEGIN; TRUNCATE pgpool_stats.budget; ROLLBACK;});
is_deeply(\@a, [], 'TRUNCATE rolled back: nothing');

# NOTIFY's limit: payloads of 8000 bytes or more are refused.
@a = step(q{SELECT pgpool_stats.set_budget('big', 5, comment => repeat('x', 10000))});
is(scalar @a, 1, 'a comment of 10,000 bytes: the change is committed and announced');
ok(!exists $a[0]{comment} && $a[0]{truncated} == 1 && $a[0]{max_connections} == 5,
    '... without the comment, saying truncated, with the numbers');
is($node->safe_psql('postgres', q{SELECT length(comment) FROM pgpool_stats.budget WHERE application_name = 'big'}),
    '10000', '... and the row keeps its comment');
my $roles = join(',', map { sprintf('r%02d', $_) . ('x' x 60) } 1 .. 16);
@a = step(qq{SELECT pgpool_stats.set_budget('roles', 5, allowed_roles => '{$roles}', comment => repeat('y', 500))});
is(join(',', @{ $a[0]{allowed_roles} }), $roles, 'sixteen roles of 63 bytes: all announced');
is(length $a[0]{comment}, 500, '... with a comment that still fits');

# 1.0's SQL does not announce; the update to 1.1 does.
$node->safe_psql('postgres', q{DROP EXTENSION pgpool_stats; CREATE EXTENSION pgpool_stats VERSION '1.0'});
@a = step(q{SELECT pgpool_stats.set_budget('legacy', 3)});
is_deeply(\@a, [], 'the extension at 1.0: no announcement');
$node->safe_psql('postgres', q{ALTER EXTENSION pgpool_stats UPDATE});
@a = step(q{SELECT pgpool_stats.set_budget('legacy', 4)});
is(join(' ', map { "$_->{action}:$_->{application_name}=$_->{max_connections}" } @a), 'set:legacy=4',
    'updated to 1.1: announced');

$in = '';
$node->safe_psql('postgres', q{NOTIFY "end"});
$listener->finish;
$node->stop;
done_testing();
