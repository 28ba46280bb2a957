# Helpers of the TAP tests of the HikariCP follower (038, 039): build the
# follower and its test driver (clients/hikaricp/test/FollowDriver.java)
# against Debian's jars, and talk to a running driver over its stdin/stdout,
# one JSON line per command.
package HikariTest;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(time sleep);
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(hikari_classpath run_log_output start_follow_driver);

my $root = $ENV{PGPOOL_STATS_ROOT} or die "PGPOOL_STATS_ROOT is not set (run tools/test.sh)";
my @jars = map { "/usr/share/java/$_" } qw(HikariCP.jar postgresql.jar slf4j-api.jar slf4j-simple.jar);

# Runs CMD; returns whether it succeeded and its stdout and stderr together.
sub run_log_output {
    my ($cmd) = @_;
    my ($out, $err) = ('', '');
    my $ok = IPC::Run::run($cmd, '>', \$out, '2>', \$err);
    return ($ok, "$out$err");
}

# The classpath of the built follower and driver, each build a test. A
# missing package or a failed build fails this file only (not the whole run),
# and ends it.
sub hikari_classpath {
    if (my @missing = grep { !-f $_ } @jars) {
        fail("the Java packages are installed (tools/deps.sh installs them); missing: @missing");
        done_testing();
        exit;
    }
    my $build = PostgreSQL::Test::Utils::tempdir;
    my $follower_jar = "$build/pgpool-stats-follow-hikaricp.jar";
    for my $step (['clients/hikaricp/build.sh builds the follower', 'bash', "$root/clients/hikaricp/build.sh", $build],
        ['the test driver builds', 'javac', '-Xlint:all', '-Xlint:-options', '-Werror', '--release', '8',
            '-cp', join(':', $follower_jar, @jars), '-d', "$build/test",
            "$root/clients/hikaricp/test/FollowDriver.java"]) {
        my ($label, @cmd) = @$step;
        my ($built, $out) = run_log_output(\@cmd);
        next if ok($built, $label);
        diag $out;
        done_testing();
        exit;
    }
    return join(':', $follower_jar, @jars, "$build/test");
}

# Starts FollowDriver with ARGS (key=value), logging the follower to
# JAVA_LOG. Returns a HikariTest::Driver.
sub start_follow_driver {
    my ($classpath, $java_log, @args) = @_;
    my $d = bless { in => '', out => '', err => '' }, 'HikariTest::Driver';
    $d->{h} = IPC::Run::start(['java', '-cp', $classpath, "-Dorg.slf4j.simpleLogger.logFile=$java_log",
            'FollowDriver', @args],
        '<', \$d->{in}, '>', \$d->{out}, '2>', \$d->{err},
        IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default * 3));
    return $d;
}

package HikariTest::Driver;

use JSON::PP;
use Time::HiRes qw(time sleep);

# Sends one command (state, hold N, check, release, stop); returns its
# answer.
sub send {
    my ($d, $cmd) = @_;
    $d->{out} = '';
    $d->{in} .= "$cmd\n";
    $d->{h}->pump until $d->{out} =~ /\n/;
    return decode_json($d->{out} =~ s/\n.*//sr);
}

# Polls the driver's state until COND holds; returns the seconds it took
# (from FROM, default now) and the state, or undef after LIMIT seconds.
sub wait_state {
    my ($d, $cond, $limit, $from) = @_;
    $from //= time;
    while (1) {
        my $s = $d->send('state');
        return (time - $from, $s) if $s->{total} >= 0 && $cond->($s);
        return (undef, $s) if time - $from > $limit;
        sleep 0.02;
    }
}

sub finish { my ($d) = @_; $d->{h}->finish }

1;
