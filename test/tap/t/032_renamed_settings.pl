# pgpool_stats.history_rollups (1.0) is pgpool_stats.history_minutes in 1.1:
# a postgresql.conf written for 1.0 still starts, with the size it asked for
# and a WARNING that names the new setting.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $old = pgpool_node('old_name', "pgpool_stats.history_rollups = 2048\n");
is($old->safe_psql('postgres', 'SHOW pgpool_stats.history_minutes'), '2048',
    'the 1.0 name sizes the minute tier');
ok($old->log_contains(qr/WARNING:  pgpool_stats\.history_rollups is deprecated; using it as pgpool_stats\.history_minutes = 2048/),
    'with a WARNING that names the new setting');
$old->stop;

my $new = pgpool_node('new_name', "pgpool_stats.history_minutes = 3000\n");
is($new->safe_psql('postgres', 'SHOW pgpool_stats.history_minutes'), '3000', 'the 1.1 name');
ok(!$new->log_contains(qr/history_rollups/), 'and no word of the old one');
$new->stop;

# Both set: the new name wins, the old one is said to be ignored.
my $both = pgpool_node('both_names', "pgpool_stats.history_minutes = 3000\npgpool_stats.history_rollups = 2048\n");
is($both->safe_psql('postgres', 'SHOW pgpool_stats.history_minutes'), '3000', 'both set: the 1.1 name wins');
ok($both->log_contains(qr/WARNING:  pgpool_stats\.history_rollups is deprecated and ignored: pgpool_stats\.history_minutes is set/),
    'and the old one is said to be ignored');
# A reload with the file unchanged asks for no restart.
$both->reload;
is($both->safe_psql('postgres', q{SELECT count(*) FROM pg_settings WHERE name LIKE 'pgpool_stats.%' AND pending_restart}),
    '0', 'a reload leaves nothing pending a restart');
$both->stop;
done_testing();
