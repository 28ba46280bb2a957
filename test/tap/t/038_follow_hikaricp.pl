# The HikariCP follower (clients/hikaricp) in a real JVM, with Debian's
# HikariCP and pgjdbc: a pool under a workload of 16 threads follows its
# budget live. Its timer is set to a minute, so following within 2 s is the
# announcement's doing. Lowered, the pool gives up idle connections first
# and never a checked-out one, the workload waits in its pool and is never
# refused, and the ledger stays within the budget; raised, the pool grows
# into it; dropped, the pool returns to the service's default.
use strict;
use warnings;

use Time::HiRes qw(time sleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;
use HikariTest;

# The follower and the driver, built from the tree.
my $classpath = hikari_classpath();

# THE RULE, on its own (no server): share | insufficient | pool_size |
# max_overflow | floor | ceiling | default -> maximum.
my @rule = (
    [[qw(none true 3 2 2 20 10)], 10, 'no budget: the default'],
    [[qw(none false 3 2 2 20 10)], 10, 'no budget: the default, whatever is recommended'],
    [[qw(8 true 3 2 2 20 10)], 8, 'insufficient data: the default, within the share'],
    [[qw(50 false 3 2 2 20 10)], 5, 'pool_size + max_overflow'],
    [[qw(50 false 30 10 2 20 10)], 20, 'clamped to the ceiling'],
    [[qw(50 false 1 0 2 20 10)], 2, 'raised to the floor'],
    [[qw(1 false 3 2 4 20 10)], 1, 'the budget wins over the floor'],
);
for my $case (@rule) {
    my ($args, $want, $label) = @$case;
    my ($ok, $out) = run_log_output(['java', '-cp', $classpath, 'FollowDriver', 'rule', @$args]);
    is($out =~ s/\s+$//r, $want, "rule: $label (@$args)");
}

# JDBC speaks TCP only. The pool logs in as app; the follower as follower,
# which may call pool_config() and nothing else of ours (no pg_monitor: the
# budget and the share come from pool_config()'s JSON alone).
my $node = pgpool_node('follow_hikaricp', "listen_addresses = '127.0.0.1'\n");
$node->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
$node->reload;
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    CREATE ROLE follower LOGIN;
    GRANT EXECUTE ON FUNCTION pgpool_stats.pool_config(text, text, int) TO follower;
    SELECT pgpool_stats.set_budget('hikapp', 8);
});

# An application the server has never seen has no budget (pool_config()
# says 42704): the pool takes the service's default, set before it opens.
{
    my $java_log = "${PostgreSQL::Test::Utils::tmp_check}/follow_newapp_java.log";
    my $d = start_follow_driver($classpath, $java_log,
        'url=jdbc:postgresql://127.0.0.1:' . $node->port . '/postgres', 'user=app', 'app=newapp',
        'follower_user=follower', 'workers=1', 'query_ms=1', 'think_ms=1', 'max=3', 'min_idle=0',
        'default=7', 'floor=1', 'ceiling=20', 'poll_ms=60000');
    my $state = $d->send('state');
    is($state->{max}, 7, 'an application never seen: maximumPoolSize is the default (7), not the 3 it was built with')
        or diag explain($state), -e $java_log ? slurp_file($java_log) : '';
    is($state->{share}, undef, '... with no share');
    $d->send('stop');
    $d->finish;
}

# The service: a default of 10; floor = ceiling = default keeps the desired
# size at 10 whatever the recommendation says as data accumulate, so the
# budget's share alone decides here (the rule's other paths are checked
# above). One instance, given: its share is the whole budget.
my $driver = start_follow_driver($classpath, "${PostgreSQL::Test::Utils::tmp_check}/follow_hikaricp_java.log",
    'url=jdbc:postgresql://127.0.0.1:' . $node->port . '/postgres',
    'user=app', 'app=hikapp', 'follower_user=follower', 'workers=16', 'query_ms=10', 'think_ms=5',
    'max=10', 'min_idle=10', 'default=10', 'floor=10', 'ceiling=10', 'instances=1', 'poll_ms=60000');
sub driver { $driver->send(@_) }
sub wait_state { $driver->wait_state(@_) }

sub set_budget {
    my ($sql) = @_;
    my $started = time;
    $node->safe_psql('postgres', $sql);
    return $started;
}

# The ledger of hikapp within its budget, sampled for about 2 s once it got
# there: HikariCP forgets a connection before it has closed it, and the
# backend exits after that.
sub ledger_within_budget {
    my ($label) = @_;
    poll_until($node, q{SELECT connections <= max_connections FROM pgpool_stats.applications
                        WHERE application_name = 'hikapp'});
    my @over;
    for (1 .. 15) {
        my $row = ledger_row($node, 'hikapp');
        push @over, "$row->{connections} > $row->{max_connections}"
            if $row->{max_connections} ne '' && $row->{connections} > $row->{max_connections};
        sleep 0.1;
    }
    is("@over", '', "the ledger stays within the budget: $label");
}

sub no_refusal {
    my ($s, $label) = @_;
    is($s->{refused}, 0, "the workload saw no 53300: $label");
    is($s->{other_errors}, 0, "nor any other error: $label") or diag $s->{last_error};
}

my ($took, $s) = wait_state(sub { $_[0]{listening} && $_[0]{total} == 8 }, 30);
ok(defined $took, 'the pool starts at its share of the budget (8), the follower listening')
    or diag explain $s;
is($s->{max}, 8, 'maximumPoolSize 8');
no_refusal($s, 'at start (the first size is set before the pool opens)');

# 1. Lowered under load: 8 -> 3.
my $started = set_budget(q{SELECT pgpool_stats.set_budget('hikapp', 3)});
($took, $s) = wait_state(sub { $_[0]{max} == 3 }, 10, $started);
ok(defined $took && $took < 2, sprintf('lowered to 3: maximumPoolSize follows within 2 s (%.3f s)', $took // -1));
($took, $s) = wait_state(sub { $_[0]{total} <= 3 }, 30, $started);
ok(defined $took, sprintf('... and the pool is within its share (%.3f s after the change)', $took // -1));
diag(sprintf('budget 8 -> 3 under load: pool within its share %.3f s after the change', $took // -1));
ledger_within_budget('3');
$s = driver('state');
cmp_ok($s->{queries}, '>', 0, 'the workload goes on');
no_refusal($s, 'after the pool shrank to 3');

# 2. Checked-out connections are never taken: hold all 3, lower to 1. The
# held ones keep working until they are returned; then the pool retires
# them as they come back.
my $held = driver('hold 3')->{held};
is(scalar(@$held), 3, 'three connections checked out and held');
$started = set_budget(q{SELECT pgpool_stats.set_budget('hikapp', 1)});
($took, $s) = wait_state(sub { $_[0]{max} == 1 }, 10, $started);
ok(defined $took && $took < 2, sprintf('lowered to 1: maximumPoolSize follows within 2 s (%.3f s)', $took // -1));
sleep 1;
$s = driver('state');
is($s->{total}, 3, 'a second later the pool still holds the 3 checked-out connections');
my $check = driver('check');
is_deeply($check->{alive}, $held, 'each of them still answers, same backend') or diag $check->{error};
my $pids = join(',', @$held);
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid IN ($pids)"), 3,
    'and the server still has their backends');
$started = time;
driver('release');
($took, $s) = wait_state(sub { $_[0]{total} <= 1 }, 30, $started);
ok(defined $took, sprintf('returned, they are retired: the pool is within its share of 1 (%.3f s)', $took // -1));
diag(sprintf('3 returned connections over a share of 1: retired in %.3f s', $took // -1));
ledger_within_budget('1');
no_refusal(driver('state'), 'after the pool shrank to 1');

# 3. Raised: 1 -> 6; the pool grows into it.
$started = set_budget(q{SELECT pgpool_stats.set_budget('hikapp', 6)});
($took, $s) = wait_state(sub { $_[0]{max} == 6 }, 10, $started);
ok(defined $took && $took < 2, sprintf('raised to 6: maximumPoolSize follows within 2 s (%.3f s)', $took // -1));
($took, $s) = wait_state(sub { $_[0]{total} == 6 }, 30, $started);
ok(defined $took, sprintf('... and the pool grows to 6 (%.3f s)', $took // -1));
ledger_within_budget('6');
no_refusal($s, 'after the pool grew to 6');

# 4. The follower's connection dies: it reconnects, listens again, follows.
my $old_pid = $node->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE application_name = 'pgpool_stats_follow'});
like($old_pid, qr/^\d+$/, "the follower's own connection, under its own name");
$node->safe_psql('postgres', "SELECT pg_terminate_backend($old_pid)");
wait_until($node, qq{SELECT count(*) = 1 FROM pg_stat_activity
    WHERE application_name = 'pgpool_stats_follow' AND pid <> $old_pid}, 'the follower reconnects');
($took, $s) = wait_state(sub { $_[0]{listening} }, 30);
ok(defined $took, 'and listens again');
$started = set_budget(q{SELECT pgpool_stats.set_budget('hikapp', 4)});
($took, $s) = wait_state(sub { $_[0]{max} == 4 && $_[0]{total} <= 4 }, 30, $started);
ok(defined $took && $took < 2, sprintf('after reconnecting it follows within 2 s (%.3f s)', $took // -1));
no_refusal($s, 'across the reconnection');

# 5. Dropped: back to the service's default of 10.
$started = set_budget(q{SELECT pgpool_stats.drop_budget('hikapp')});
($took, $s) = wait_state(sub { $_[0]{max} == 10 }, 10, $started);
ok(defined $took && $took < 2, sprintf('dropped: back to the default of 10 within 2 s (%.3f s)', $took // -1));
is($s->{share}, undef, 'no share without a budget');
($took, $s) = wait_state(sub { $_[0]{total} == 10 }, 30, $started);
ok(defined $took, '... and the pool grows to 10');
no_refusal($s, 'after the budget was dropped');

# 6. Stopped cleanly: the follower's connection and the pool's are closed.
my $stop = driver('stop');
ok($stop->{stopped}, 'the driver closes the follower and the pool');
$driver->finish;
wait_until($node, q{SELECT count(*) = 0 FROM pg_stat_activity
    WHERE application_name IN ('hikapp', 'pgpool_stats_follow')}, 'no session left behind');
ledger_matches_activity($node, 'after the follower');

$node->stop;
done_testing();
