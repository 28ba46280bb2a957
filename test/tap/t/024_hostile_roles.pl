# A role with CREATE on the budget database tries to become superuser, plant
# budgets or crash the worker through objects named like the extension's:
# before CREATE EXTENSION, with the extension only in another database, and
# after it. The worker reads only the extension's own table, by OID, and runs
# no SQL; the install refuses a schema a non-superuser owns; the trigger
# refuses to stage rows of any other table.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = PostgreSQL::Test::Cluster->new('hostile_roles');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgpool_stats'\n"
    . "log_statement = none\n");
$node->start;
my $base = $node->connstr('postgres');

# The extension exists only in database "other"; the worker reads "postgres".
$node->safe_psql('postgres', q{
    CREATE DATABASE other;
    CREATE ROLE mallory LOGIN;
    GRANT CREATE ON DATABASE postgres TO mallory;
});
$node->safe_psql('other', 'CREATE EXTENSION pgpool_stats');

sub mallory_is_superuser {
    return $node->safe_psql('postgres',
        q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'}) eq 't';
}

# Mallory's plant: a schema of the extension's name, a function that makes
# her superuser when a superuser runs it, and a view "budget" that calls it
# and plants a budget of 0 for application "victim".
sub plant_view {
    $node->safe_psql('postgres', q{
        CREATE SCHEMA pgpool_stats;
        CREATE FUNCTION pgpool_stats.promote() RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN
            IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE 'ALTER ROLE mallory SUPERUSER';
            END IF;
            RETURN true;
        END $$;
        CREATE VIEW pgpool_stats.budget AS
            SELECT 'victim'::text AS application_name, 0 AS max_connections,
                   0 AS reserved_connections, 'enforce'::text AS mode,
                   interval '0' AS admission_timeout, NULL::interval AS idle_in_transaction_timeout,
                   NULL::interval AS idle_session_timeout, NULL::name[] AS allowed_roles,
                   NULL::text AS comment
            WHERE pgpool_stats.promote();
    }, extra_params => ['-U', 'mallory']);
}

# Waits long enough for several reloads of the worker (one a second).
sub let_the_worker_reload { sleep 3 }

# --- Extension in another database only -------------------------------------
plant_view();
let_the_worker_reload();
ok(!mallory_is_superuser(), 'extension elsewhere: the planted view never runs as superuser');
$node->connect_ok("$base application_name=victim user=mallory",
    'extension elsewhere: the planted budget is not enforced');

# A table with the right names and the wrong types: the worker must neither
# crash nor enforce it.
$node->safe_psql('postgres', q{
    DROP VIEW pgpool_stats.budget;
    CREATE TABLE pgpool_stats.budget (application_name int, max_connections text,
        reserved_connections text, mode int, admission_timeout text,
        idle_in_transaction_timeout text, idle_session_timeout text, allowed_roles text,
        comment int);
    INSERT INTO pgpool_stats.budget VALUES (1, 'x', 'y', 2, 'z', 'a', 'b', 'c', 3);
}, extra_params => ['-U', 'mallory']);
let_the_worker_reload();
$node->connect_ok("$base application_name=victim user=mallory",
    'extension elsewhere: a malformed planted table is not enforced');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|server process .* was terminated/,
    'extension elsewhere: the worker did not crash on the malformed table');
like($log, qr/pgpool_stats: no budgets are enforced: extension pgpool_stats is not created in this database/,
    'the worker says once why no budgets are enforced');
my $said = () = $log =~ /no budgets are enforced/g;
is($said, 1, 'and says it only once');

# --- CREATE EXTENSION adopting Mallory's schema is refused -------------------
my ($rc, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION pgpool_stats');
isnt($rc, 0, 'CREATE EXTENSION refuses a pgpool_stats schema owned by a non-superuser');
like($err, qr/schema "pgpool_stats" is owned by role "mallory", which is not a superuser/,
    'with a message naming the owner');
like($err, qr/HINT:  Check what the schema holds/, 'and a hint');

# The DBA removes the plant and installs for real, with a budget.
$node->safe_psql('postgres', q{
    DROP SCHEMA pgpool_stats CASCADE;
    CREATE EXTENSION pgpool_stats;
    SELECT pgpool_stats.set_budget('real', 1);
});
poll_until($node, q{SELECT count(*) = 1 FROM pgpool_stats.applications WHERE application_name = 'real' AND max_connections = 1})
    or die 'budget not loaded';

# --- After CREATE EXTENSION --------------------------------------------------
($rc, $out, $err) = $node->psql('postgres', 'ALTER SCHEMA pgpool_stats RENAME TO hidden',
    extra_params => ['-U', 'mallory']);
like($err, qr/must be owner of schema pgpool_stats/, 'after install: mallory cannot rename the schema');
($rc, $out, $err) = $node->psql('postgres', 'CREATE VIEW pgpool_stats.planted AS SELECT 1',
    extra_params => ['-U', 'mallory']);
like($err, qr/permission denied for schema pgpool_stats/, 'after install: nor create in it');

# Even a superuser-made copy of the table with our trigger stages nothing:
# the trigger fires only on the extension's own table.
($rc, $out, $err) = $node->psql('postgres', q{
    CREATE TABLE public.fake (LIKE pgpool_stats.budget INCLUDING DEFAULTS);
    CREATE TRIGGER fake_changed AFTER INSERT ON public.fake
        FOR EACH ROW EXECUTE FUNCTION pgpool_stats.budget_trigger();
    INSERT INTO public.fake (application_name, max_connections) VALUES ('victim', 0);
});
like($err, qr/budget_trigger\(\) fired on table "fake", which is not the budget table of extension pgpool_stats/,
    'the budget trigger refuses any other table');
($rc, $out, $err) = $node->psql('postgres', q{
    CREATE SCHEMA m;
    CREATE TABLE m.mine (application_name text, max_connections int);
    CREATE TRIGGER mine_changed AFTER INSERT ON m.mine
        FOR EACH ROW EXECUTE FUNCTION pgpool_stats.budget_trigger();
}, extra_params => ['-U', 'mallory']);
like($err, qr/permission denied for function pgpool_stats.budget_trigger/,
    'mallory cannot attach the budget trigger to her own table (no EXECUTE)');

# The extension's schema renamed by a superuser, and Mallory's view planted
# under the old name: the worker still reads the extension's table (by OID).
$node->safe_psql('postgres', q{
    ALTER SCHEMA pgpool_stats RENAME TO pgpool_stats_moved;
    GRANT CREATE ON DATABASE postgres TO mallory;
});
plant_view();
let_the_worker_reload();
ok(!mallory_is_superuser(), 'renamed schema: the planted view never runs as superuser');
$node->connect_ok("$base application_name=victim user=mallory",
    'renamed schema: the planted budget is not enforced');
my $holder = IPC::Run::start(['psql', '-X', '-d', "$base application_name=real", '-c',
    'SELECT pg_sleep(30)'], '>', \my $o, '2>', \my $e);
poll_until($node, q{SELECT connections = 1 FROM pgpool_stats_moved.applications WHERE application_name = 'real'})
    or die 'the holder did not connect';
$node->connect_fails("$base application_name=real user=mallory",
    'renamed schema: the DBA\'s budget is still enforced',
    expected_stderr => qr/too many connections for application "real"/);
# Its backend, not only psql: a backend in pg_sleep() would hold the slot on.
$node->safe_psql('postgres', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'real'});
$holder->finish;

# The extension's own table made malformed (by a superuser): no budgets,
# one LOG line, no crash.
$node->safe_psql('postgres', q{
    DROP SCHEMA pgpool_stats CASCADE;
    ALTER SCHEMA pgpool_stats_moved RENAME TO pgpool_stats;
    ALTER TABLE pgpool_stats.budget DROP CONSTRAINT budget_max_connections_not_negative,
        DROP CONSTRAINT budget_reserved_within_max;
    ALTER TABLE pgpool_stats.budget ALTER COLUMN max_connections TYPE text;
});
$node->wait_for_log(qr/no budgets are enforced: the extension's table "budget" is malformed: column "max_connections" is of type text, not integer/);
pass('a malformed table of the extension is said in the log');
# The worker says so before it drops the budgets it had.
wait_until($node, q{SELECT NOT EXISTS (SELECT FROM pgpool_stats.applications WHERE max_connections IS NOT NULL)},
    'no budget is left in force');
$node->connect_ok("$base application_name=real user=mallory", 'and enforces nothing');
$node->safe_psql('postgres', 'DROP EXTENSION pgpool_stats CASCADE');

# A schema made beforehand by a superuser is refused too when anyone else
# may create in it, or when it already holds something.
$node->safe_psql('postgres', 'DROP SCHEMA IF EXISTS pgpool_stats CASCADE; CREATE SCHEMA pgpool_stats; GRANT CREATE ON SCHEMA pgpool_stats TO PUBLIC');
($rc, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION pgpool_stats');
like($err, qr/schema "pgpool_stats" grants CREATE to PUBLIC/, 'a schema open to CREATE is refused');
$node->safe_psql('postgres', 'REVOKE CREATE ON SCHEMA pgpool_stats FROM PUBLIC; CREATE FUNCTION pgpool_stats.lurk() RETURNS int LANGUAGE sql AS $$SELECT 1$$');
($rc, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION pgpool_stats');
like($err, qr/schema "pgpool_stats" already holds objects/, 'a schema holding objects is refused');
$node->safe_psql('postgres', 'DROP FUNCTION pgpool_stats.lurk(); CREATE EXTENSION pgpool_stats');
pass('an empty schema of a superuser is accepted');

$log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no process crashed');
ok(!mallory_is_superuser(), 'mallory never became superuser');

done_testing();
