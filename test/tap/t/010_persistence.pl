# Counters, peaks and history survive a clean restart (pgpool_stats.save), not
# a crash; a corrupt or foreign dump file is ignored with a LOG line.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('persist', "pgpool_stats.sample_interval = '100ms'\nrestart_after_crash = on\n");
$node->safe_psql('postgres', q{CREATE ROLE app LOGIN; SELECT pgpool_stats.set_budget('kept', 3)});
my $dump = $node->data_dir . '/pg_stat/pgpool_stats.stat';

sub figures {
    return $node->safe_psql('postgres', q{
        SELECT admitted || '/' || rejected || '/' || peak_connections
        FROM pgpool_stats.applications WHERE application_name = 'kept'});
}
# After a start without counters the row of kept comes from the worker's
# first reading of the budgets: waited for, not raced.
sub budget_loaded {
    wait_until($node, q{SELECT max_connections = 3 FROM pgpool_stats.applications
                        WHERE application_name = 'kept'}, "the budget of kept is loaded: $_[0]");
}
sub history_rows {
    return $node->safe_psql('postgres',
        q{SELECT count(*) FROM pgpool_stats.history WHERE application_name = 'kept'});
}

storm($node, app => 'kept', user => 'app', count => 10, hold => 0.5);
wait_until($node, q{SELECT count(*) > 0 FROM pgpool_stats.history WHERE application_name = 'kept'},
    'history has rows of kept');
my $before = history_rows();
is(figures(), '3/7/3', 'before: 3 admitted, 7 refused, peak 3');

$node->restart;
ok($node->log_contains(qr/pgpool_stats: restored counters and history/), 'the dump was read back');
ok(!-e $dump, 'and removed, so a crash cannot bring it back');
is(figures(), '3/7/3', 'counters and peaks survive a clean restart');
cmp_ok(history_rows(), '>=', $before, 'and so does the history');

# A crash: everything starts empty (the budget comes back from the table).
my $sleeper = IPC::Run::start(['psql', '-X', '-d', $node->connstr('postgres') . ' application_name=sleeper',
        '-c', 'SELECT pg_sleep(60)'], '>', \my $o, '2>', \my $e);
wait_until($node, q{SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'sleeper'},
    'a session to kill');
my $log_offset = -s $node->logfile;
kill 'KILL', $node->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE application_name = 'sleeper'});
$sleeper->kill_kill;
$sleeper->finish;
# Polled once the restart has begun: before, the old cluster still answers.
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
ok(poll_until($node, 'SELECT true'), 'back after the crash');
budget_loaded('after the crash');
is(figures(), '0/0/0', 'after a crash the counters start empty');
is(history_rows(), '0', 'and so does the history');

# save = off: a clean restart does not keep them either.
storm($node, app => 'kept', user => 'app', count => 5);
$node->safe_psql('postgres', 'ALTER SYSTEM SET pgpool_stats.save = off; SELECT pg_reload_conf()');
$node->restart;
budget_loaded('save off');
is(figures(), '0/0/0', 'with save off nothing is kept');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET pgpool_stats.save; SELECT pg_reload_conf()');

# A damaged dump is refused whole, with a LOG line, and the server starts.
storm($node, app => 'kept', user => 'app', count => 5);
$node->stop;
ok(-e $dump, 'a clean stop writes the dump');
open my $fh, '+<', $dump or die $!;
binmode $fh;
seek $fh, 100, 0;
print $fh "\xff\xff\xff\xff";
close $fh;
$node->start;
ok($node->log_contains(qr/pgpool_stats: ignoring "pg_stat\/pgpool_stats.stat": checksum mismatch/),
    'a corrupt dump is ignored with a LOG line');
budget_loaded('corrupt dump');
is(figures(), '0/0/0', 'and nothing of it is trusted');

$node->stop;
open $fh, '>', $dump or die $!;
print $fh "not ours at all, but long enough to have a header and a checksum at the end";
close $fh;
$node->start;
ok($node->log_contains(qr/pgpool_stats: ignoring "pg_stat\/pgpool_stats.stat": not a pgpool_stats snapshot/),
    'a foreign file is ignored with a LOG line');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server runs');

$node->stop;
done_testing();
