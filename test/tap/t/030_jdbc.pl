# Java for real: the PostgreSQL JDBC driver (Debian's pgjdbc) and HikariCP in
# a real JVM. pgjdbc by default logs in unnamed and then runs SET
# application_name: late naming charges those sessions to the name. The
# HikariCP properties pool_config() writes make pgjdbc send the name at login
# instead (assumeMinServerVersion), and a HikariCP pool that asks for more
# than the budget gets 53300 as the cause of its timeout.
use strict;
use warnings;

use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my @jars = map { "/usr/share/java/$_" } qw(postgresql.jar HikariCP.jar slf4j-api.jar slf4j-simple.jar);
-f $_ or BAIL_OUT("$_ is missing: tools/deps.sh installs the Java packages") for @jars;

# JDBC speaks TCP only.
my $node = pgpool_node('jdbc', "log_connections = on\nlisten_addresses = '127.0.0.1'\n");
$node->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
$node->reload;
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('javaapp', 2);
});
my $url_base = 'jdbc:postgresql://127.0.0.1:' . $node->port . '/postgres';
my $scratch = PostgreSQL::Test::Utils::tempdir;

# Runs JdbcSessions.java; returns the handle (holding the sessions) and the
# result of each attempt.
sub java_sessions {
    my @args = @_;
    my ($in, $out, $err) = ('', '', '');
    my $h = IPC::Run::start(['java', '-cp', join(':', @jars),
            "-Dorg.slf4j.simpleLogger.logFile=$scratch/java.log",
            "$root/test/clients/JdbcSessions.java", @args],
        '<', \$in, '>', \$out, '2>', \$err,
        IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default * 2));
    $h->pump until $out =~ /\n/ || !$h->pumpable;
    die "JdbcSessions printed nothing: $err" unless $out =~ /\n/;
    return ($h, decode_json($out));
}
sub ledger_of {
    my ($app) = @_;
    return $node->safe_psql('postgres',
        "SELECT coalesce(sum(connections), 0) FROM pgpool_stats.applications WHERE application_name = '$app'");
}
sub authorized_with_name {
    my ($from) = @_;
    my $log = slurp_file($node->logfile, $from);
    my @lines = $log =~ /connection authorized: user=app database=postgres.*/g;
    return (scalar(@lines), scalar(grep { /application_name=javaapp/ } @lines));
}

# 1. Plain JDBC with ApplicationName in the URL and default settings: pgjdbc
# logs in unnamed and SETs the name, and exactly the budget is admitted.
my $log_from = -s $node->logfile;
my ($h, $r) = java_sessions('plain', "$url_base?ApplicationName=javaapp", 'app', 4);
is(scalar(grep { $_->{ok} } @$r), 2, 'plain JDBC: 2 of 4 connections admitted (budget 2)');
my @refused = grep { !$_->{ok} } @$r;
is(scalar(grep { ($_->{sqlstate} // '') eq '53300' } @refused), 2,
    'the other 2 fail with SQLException SQLState 53300');
like($refused[0]{error} // '', qr/too many connections for application "javaapp"/,
    '... and our message');
is(ledger_of('javaapp'), 2, 'the ledger shows javaapp = 2');
is(ledger_of(''), 0, "and '' = 0");
my ($logins, $named) = authorized_with_name($log_from);
is($named, 0, 'by default pgjdbc sends no application_name at login (late naming did the work)');
ledger_matches_activity($node, 'plain JDBC');
$h->finish;
wait_until($node, q{SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = 'app'}, 'plain JDBC sessions closed');

# 2. A HikariCP pool from pool_config()'s hikaricp text as written: the name
# goes in the startup packet (one round trip, charged at login).
my $properties = "$scratch/javaapp.properties";
PostgreSQL::Test::Utils::append_to_file($properties,
    $node->safe_psql('postgres', q{SELECT pgpool_stats.pool_config('javaapp', 'hikaricp', 1)}));
my $written = slurp_file($properties);
like($written, qr/^dataSource.assumeMinServerVersion=9.0$/m, 'pool_config sets assumeMinServerVersion');
my ($size) = $written =~ /^maximumPoolSize=(\d+)$/m;
$log_from = -s $node->logfile;
($h, $r) = java_sessions('hikari', $url_base, 'app', $size, $properties);
is(scalar(grep { $_->{ok} } @$r), $size, "HikariCP from pool_config: its $size connection(s) borrowed");
ok($size <= 2, "pool_config's pool ($size) fits the budget of 2");
($logins, $named) = authorized_with_name($log_from);
ok($logins >= $size && $named == $logins, "every login of the pool carries application_name=javaapp ($named of $logins)");
is(ledger_of('javaapp'), $size, "the ledger shows javaapp = $size");
ledger_matches_activity($node, 'HikariCP from pool_config');
$h->finish;
wait_until($node, q{SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = 'app'}, 'pool closed');

# 3. A HikariCP pool larger than the budget: 4 borrowers at once, budget 2.
# The 2 that cannot get a connection time out, with the server's 53300 as
# the cause (HikariCP itself logs the refusals at DEBUG only).
($h, $r) = java_sessions('hikari', $url_base, 'app', 4, $properties,
    'maximumPoolSize=4', 'minimumIdle=0', 'connectionTimeout=3000');
is(scalar(grep { $_->{ok} } @$r), 2, 'HikariCP pool of 4 over a budget of 2: 2 borrowers served');
@refused = grep { !$_->{ok} } @$r;
is(scalar(@refused), 2, 'the other 2 time out');
is(scalar(grep { ($_->{cause_sqlstate} // '') eq '53300' } @refused), 2,
    "their SQLTransientConnectionException's cause has SQLState 53300");
like($refused[0]{cause} // '', qr/too many connections for application "javaapp"/, '... and our message');
is(ledger_of('javaapp'), 2, 'never more than the budget');
ledger_matches_activity($node, 'HikariCP over budget');
$h->finish;

$node->stop;
done_testing();
