# The name a session is charged to is byte for byte the name PostgreSQL stores
# for it (pg_stat_activity.application_name): names at and across the 63-byte
# limit, cut inside multi-byte characters, with control characters, sent as the
# application_name parameter, in options (-c and --), and both at once; in a
# UTF8 and a LATIN1 database, since PostgreSQL cuts in the database's encoding.
# A budget set on the name pg_stat_activity shows must bind those logins.
use strict;
use warnings;

use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $root = $ENV{PGPOOL_STATS_ROOT};
my $node = pgpool_node('names');
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');
$node->safe_psql('postgres',
    "CREATE DATABASE u8 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
$node->safe_psql('postgres',
    "CREATE DATABASE l1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");

my $e = "\x{e9}";        # é: two bytes in UTF-8
my $smile = "\x{1F600}";  # four bytes in UTF-8

# label, database, how the name is sent, name (characters; sent as UTF-8).
# Each case has its own filler letter so that a wrong charge shows by name.
my @cases = (
    ['63 ASCII bytes',                   'u8', 'param', 'a' x 63],
    ['64 ASCII bytes',                   'u8', 'param', 'b' x 64],
    ['100 ASCII bytes, -c',              'u8', 'c',     'c' x 100],
    ['61 + Z + é (64 bytes)',            'u8', 'param', ('d' x 61) . 'Z' . $e],
    ['61 + Z + é, -c',                   'u8', 'c',     ('e' x 61) . 'Z' . $e],
    ['61 + Z + é, --',                   'u8', 'long',  ('f' x 61) . 'Z' . $e],
    ['62 + é',                           'u8', 'param', ('g' x 62) . $e],
    ['60 + é + é',                       'u8', 'param', ('h' x 60) . $e . $e],
    ['é first, 70 bytes',                'u8', 'param', $e . ('i' x 70)],
    ['60 + emoji (4 bytes)',             'u8', 'param', ('j' x 60) . $smile],
    ['40 × é',                           'u8', 'param', $e x 40],
    ['tab, newline, control characters', 'u8', 'param', "k\tl\nm\x01n\x7fo"],
    ['control character at byte 63',     'u8', 'param', ('p' x 62) . "\x01q"],
    ['both: the parameter wins',         'u8', 'both',  ('r' x 61) . 'Z' . $e],
    ['61 + Z + é in LATIN1',             'l1', 'param', ('s' x 61) . 'Z' . $e],
    ['62 + é in LATIN1, -c',             'l1', 'c',     ('t' x 62) . $e],
    ['61 + Z + é in the default database', 'postgres', 'param', ('u' x 61) . 'Z' . $e],
);

# The libpq parameters that send NAME the way KIND says.
sub spec {
    my ($db, $kind, $name) = @_;
    my %s = (dbname => $db, user => 'app');
    (my $escaped = $name) =~ s/([\\ ])/\\$1/g;    # options are split on spaces
    if    ($kind eq 'param') { $s{application_name} = $name }
    elsif ($kind eq 'c')     { $s{options} = "-c application_name=$escaped" }
    elsif ($kind eq 'long')  { $s{options} = "--application_name=$escaped" }
    elsif ($kind eq 'both') {
        $s{application_name} = $name;
        $s{options} = '-c application_name=from-options';
    }
    return \%s;
}

my ($h, $results) = hold_sessions($node, map { spec($_->[1], $_->[2], $_->[3]) } @cases);
my %stored;
for my $i (0 .. $#cases) {
    my ($label) = @{ $cases[$i] };
    my $r = $results->[$i];
    ok($r->{ok}, "login: $label") or diag($r->{error});
    next unless $r->{ok};
    $stored{$label} = $node->safe_psql('postgres',
        "SELECT application_name FROM pg_stat_activity WHERE pid = $r->{pid}");
    note("$label: pg_stat_activity shows '$stored{$label}' ("
        . length($stored{$label}) . ' bytes)');
}
# The case of the report: PostgreSQL cuts before é, on every major.
is($stored{'61 + Z + é (64 bytes)'}, ('d' x 61) . 'Z',
    'PostgreSQL stores 61 + Z + é as the 62 bytes before the é (UTF8)');
is($stored{'both: the parameter wins'}, ('r' x 61) . 'Z',
    'with a parameter and options, PostgreSQL stores the parameter');
# The options routes really name the session (nothing else is sent).
is($stored{'61 + Z + é, -c'}, ('e' x 61) . 'Z', 'options -c: PostgreSQL stores the cut name');
is($stored{'61 + Z + é, --'}, ('f' x 61) . 'Z', 'options --: PostgreSQL stores the cut name');
ledger_matches_activity($node, 'every name at and across the 63-byte limit');

# Each session is charged to the name its own backend shows.
my $per_name = $node->safe_psql('postgres', q{
    SELECT count(*) FROM pg_stat_activity a
    LEFT JOIN pgpool_stats.applications l USING (application_name)
    WHERE a.usename = 'app' AND coalesce(l.connections, 0) = 0});
is($per_name, '0', 'no session of app shows a name the ledger charges nothing to');

# A budget of 1 on the name as pg_stat_activity shows it binds every route.
my $pid = $results->[3]{pid};
$node->safe_psql('postgres',
    "SELECT pgpool_stats.set_budget(application_name, 1) FROM pg_stat_activity WHERE pid = $pid");
release_sessions($node, $h, 'app');

my $name = ('d' x 61) . 'Z' . $e;
($h, $results) = hold_sessions($node, spec('u8', 'param', $name), spec('u8', 'param', $name),
    spec('u8', 'param', $name), spec('u8', 'param', $name), spec('u8', 'c', $name),
    spec('u8', 'long', $name));
is(scalar(grep { $_->{ok} } @$results), 1, 'budget 1: one of six logins admitted');
ok($results->[0]{ok}, 'the first login is admitted');
for my $i (1 .. 5) {
    like($results->[$i]{error} // 'admitted', qr/too many connections for application "d{61}Z"/,
        "login " . ($i + 1) . " is refused under the stored name");
}
ledger_matches_activity($node, 'with the budget');
release_sessions($node, $h, 'app');

$node->stop;
done_testing();
