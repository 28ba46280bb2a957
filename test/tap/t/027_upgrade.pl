# ALTER EXTENSION pgpool_stats UPDATE from 1.0 (its script as released):
# the new library serves 1.0's SQL until the update, budgets are kept and
# enforced across it, and the updated objects equal a fresh 1.1 install
# (names, signatures, definitions, grants, comments, triggers, constraints).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgpoolStatsTest;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgpool_stats'\n");
$node->start;
$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    CREATE EXTENSION pgpool_stats VERSION '1.0';
    SELECT pgpool_stats.set_budget('blocked', 0);
    SELECT pgpool_stats.set_budget('critical', 10, reserved_connections => 3, comment => 'kept');
});
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'pgpool_stats'}),
    '1.0', 'version 1.0 installed from its script');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pgpool_stats.capacity}), '1',
    'the new library serves 1.0\'s capacity view');
poll_until($node, q{SELECT max_connections = 0 FROM pgpool_stats.applications WHERE application_name = 'blocked'})
    or die 'budgets not loaded';
my $blocked = $node->connstr('postgres') . ' user=app application_name=blocked';
$node->connect_fails($blocked, '1.0: a budget of 0 refuses', expected_stderr => qr/too many connections/);

# What a DBA built on 1.0's history: a grant to a dashboard's role and a view.
$node->safe_psql('postgres', q{
    CREATE ROLE dashboard LOGIN;
    GRANT USAGE ON SCHEMA pgpool_stats TO dashboard;
    GRANT SELECT ON pgpool_stats.history TO dashboard;
    GRANT EXECUTE ON FUNCTION pgpool_stats.history_snapshot() TO dashboard;
    CREATE VIEW public.refusals AS
        SELECT sample_time, application_name, rejected FROM pgpool_stats.history;});

$node->safe_psql('postgres', 'ALTER EXTENSION pgpool_stats UPDATE');
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'pgpool_stats'}),
    '1.1', 'updated to 1.1');
is($node->safe_psql('postgres', q{SET ROLE dashboard; SELECT count(would_reject) >= 0 FROM pgpool_stats.history}),
    't', "the history view gained would_reject and kept the DBA's grant");
is($node->safe_psql('postgres', q{SELECT count(*) >= 0 FROM public.refusals}), 't',
    'and a view built on it still works');
# Taken back, so that the objects compare with a fresh install below.
$node->safe_psql('postgres', q{
    DROP VIEW public.refusals;
    REVOKE SELECT ON pgpool_stats.history FROM dashboard;
    REVOKE EXECUTE ON FUNCTION pgpool_stats.history_snapshot() FROM dashboard;
    REVOKE USAGE ON SCHEMA pgpool_stats FROM dashboard;});
is($node->safe_psql('postgres',
    q{SELECT string_agg(application_name || ':' || max_connections || '/' || reserved_connections || ':' || coalesce(comment, ''), ',' ORDER BY application_name) FROM pgpool_stats.budget}),
    'blocked:0/0:,critical:10/3:kept', 'the budgets are kept');
$node->connect_fails($blocked, '1.1: the budget is still enforced', expected_stderr => qr/too many connections/);
is($node->safe_psql('postgres', q{SELECT admission_waiting || '/' || reserved_over_capacity FROM pgpool_stats.capacity}),
    '0/0', 'capacity has its 1.1 columns');

# Everything the extension owns, described so that two installs compare.
my $describe = q{
    WITH s AS (SELECT 'pgpool_stats'::regnamespace AS nsp)
    SELECT string_agg(line, E'\n' ORDER BY line) FROM (
        SELECT 'function ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid))
               || ' acl=' || coalesce(p.proacl::text, '-') || ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
        FROM pg_proc p, s WHERE p.pronamespace = s.nsp
        UNION ALL
        SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce(md5(pg_get_viewdef(c.oid)), '-')
               || ' acl=' || coalesce(c.relacl::text, '-') || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '-')
        FROM pg_class c, s WHERE c.relnamespace = s.nsp
        UNION ALL
        SELECT 'column ' || a.attrelid::regclass || '.' || a.attname || ' ' || a.attnum || ' '
               || format_type(a.atttypid, a.atttypmod) || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid CROSS JOIN s
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = s.nsp AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t
        WHERE t.tgrelid = 'pgpool_stats.budget'::regclass AND NOT t.tgisinternal
        UNION ALL
        SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(co.oid) FROM pg_constraint co, s
        WHERE co.connamespace = s.nsp
        UNION ALL
        SELECT 'type ' || t.typname || ' ' || t.typtype::text FROM pg_type t, s WHERE t.typnamespace = s.nsp
        UNION ALL
        SELECT 'member ' || classid::regclass || ' ' || count(*) FROM pg_depend
        WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
          AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgpool_stats')
        GROUP BY classid
        UNION ALL
        SELECT 'schema acl=' || coalesce(nspacl::text, '-') FROM pg_namespace, s WHERE oid = s.nsp
    ) lines(line)};
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION pgpool_stats');
my $updated = $node->safe_psql('postgres', $describe);
my $fresh = $node->safe_psql('fresh', $describe);
ok(length($fresh) > 1000, 'the description of a fresh install is substantial');
is($updated, $fresh, 'the updated objects equal a fresh 1.1 install');

done_testing();
