# Recommendations a DBA can act on blindly (issue 15): the evidence window
# starts at the application's last reset(), so two seconds after it the
# answer is insufficient_data, not a pool of one; a login-per-query service
# with psycopg2's defaults (an implicit BEGIN just before close) is churning
# and not idle_in_transaction, while a transaction left idle for seconds is;
# a budget without a reservation is never given one; pool_config() says when
# its numbers are only floors.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = pgpool_node('honest', "pgpool_stats.sample_interval = '10ms'\n");
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    SELECT pgpool_stats.set_budget('checkout', 10);
    SELECT pgpool_stats.set_budget('critical', 10, reserved_connections => 2);
});
my ($host, $port) = ($node->host, $node->port);

sub findings {
    my ($app) = @_;
    return { map { $_ => 1 } split /,/, $node->safe_psql('postgres',
        qq{SELECT array_to_string(findings, ',') FROM pgpool_stats.recommend('$app')}) };
}

sub python {
    my ($code) = @_;
    my ($out, $err) = run_command(['/usr/bin/python3', '-c', $code]);
    return $out;
}

# checkout: five sessions, two of them busy, for three seconds; then reset.
python(qq{
import threading, time, psycopg2
conns = [psycopg2.connect(host="$host", port=$port, user="app", dbname="postgres",
                          application_name="checkout") for _ in range(5)]
for c in conns: c.autocommit = True
def busy(c):
    c.cursor().execute("SELECT pg_sleep(3)")
ts = [threading.Thread(target=busy, args=(c,)) for c in conns[:2]]
for t in ts: t.start()
for t in ts: t.join()
for c in conns: c.close()
});
my $reset_at = time;
$node->safe_psql('postgres', q{SELECT pgpool_stats.reset('checkout')});
sleep 2;
my ($window, $json) = split /\|/, $node->safe_psql('postgres', q{
    SELECT extract(epoch FROM "window")::int, pgpool_stats.pool_config('checkout')
    FROM pgpool_stats.recommend('checkout')});
ok(findings('checkout')->{insufficient_data}, 'two seconds after reset(): insufficient_data');
# The workload before the reset ran for at least 3 s, so a window reaching
# back past the reset would be that much longer than the time since it.
my $since_reset = time - $reset_at + 1;
cmp_ok($window, '<=', $since_reset, "the window covered starts at the reset ($window s), not before it");
my $config = decode_json($json);
ok($config->{insufficient_data}, 'pool_config() JSON says insufficient_data');
cmp_ok($config->{observed_seconds}, '<=', $since_reset, "and how little was observed ($config->{observed_seconds} s)");
like($node->safe_psql('postgres', q{SELECT pgpool_stats.pool_config('checkout', 'sqlalchemy')}),
    qr/^# insufficient data: \d+ s and \d+ samples observed, at least 60 s and 60 needed; these numbers are floors, not a recommendation/m,
    'and so does the text');
like($node->safe_psql('postgres', q{SELECT rationale FROM pgpool_stats.recommend('checkout')}),
    qr/^Insufficient data: \d+ s and \d+ samples observed/, 'the rationale says why, first');

# A login per query with psycopg2's defaults: every connection closes with
# its implicit transaction open for a moment.
python(qq{
import time, psycopg2
end = time.time() + 6
while time.time() < end:
    c = psycopg2.connect(host="$host", port=$port, user="app", dbname="postgres",
                         application_name="perquery")
    c.cursor().execute("SELECT 1")
    c.close()
    time.sleep(0.02)
});
my $f = findings('perquery');
ok($f->{churning}, 'a login per query is churning');
ok(!$f->{idle_in_transaction}, 'and not idle_in_transaction: its open transactions last milliseconds');
is($node->safe_psql('postgres', q{SELECT idle_in_transaction_timeout IS NULL FROM pgpool_stats.recommend('perquery')}),
    't', 'no idle-in-transaction timeout is recommended for it');

# A transaction left idle for six seconds: well past the 2 s threshold even
# when a loaded machine delays some of the worker's samples. Sampled every
# 200 ms: a sample more than half a tick late ends a run (docs/
# recommendations.md), and on a saturated two-core machine the worker is
# often 5 ms late, seldom 100 ms.
$node->append_conf('postgresql.conf', "pgpool_stats.sample_interval = '200ms'\n");
$node->reload;
python(qq{
import time, psycopg2
c = psycopg2.connect(host="$host", port=$port, user="app", dbname="postgres", application_name="leaky")
c.cursor().execute("SELECT 1")
time.sleep(6)
c.rollback()
c.close()
});
ok(findings('leaky')->{idle_in_transaction}, 'a transaction idle for seconds is idle_in_transaction');
my $leaky = $node->safe_psql('postgres', q{SELECT rationale FROM pgpool_stats.recommend('leaky')});
like($leaky,
    qr/1 episode\(s\) of a session idle in a transaction for 2 s or more across consecutive samples, the longest \d+\.\d s/,
    'the rationale quotes the episode');
# The episode is measured between samples, so it is at most the 6 s it lasted
# and at least the 2 s threshold that made it an episode.
my ($longest) = $leaky =~ /the longest (\d+\.\d) s/;
ok(defined $longest && $longest >= 2 && $longest <= 6.5, "and how long it lasted (" . ($longest // 'none') . " s)");

# Reservations: never invented, sized when the budget has one.
python(qq{
import threading, psycopg2
def run(app):
    c = psycopg2.connect(host="$host", port=$port, user="app", dbname="postgres", application_name=app)
    c.autocommit = True
    c.cursor().execute("SELECT pg_sleep(2)")
    c.close()
ts = [threading.Thread(target=run, args=(a,)) for a in ["checkout", "checkout", "critical", "critical"]]
for t in ts: t.start()
for t in ts: t.join()
});
is($node->safe_psql('postgres', q{SELECT reserved_connections FROM pgpool_stats.recommend('checkout')}),
    '0', 'a budget without a reservation gets reserved_connections = 0');
cmp_ok($node->safe_psql('postgres', q{SELECT reserved_connections FROM pgpool_stats.recommend('critical')}),
    '>=', 1, 'a budget with one keeps one, sized from the data');

$node->stop;
done_testing();
