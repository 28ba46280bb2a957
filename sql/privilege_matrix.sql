-- The privilege matrix: every function, view and table of pgpool_stats for a
-- plain role, a pg_monitor member, a pg_read_all_stats member and a
-- superuser, as DESIGN.md sets it: reading (views, table, metrics,
-- recommend, pool_config) for pg_monitor; everything that changes state
-- (budgets, reset, reap) for the superuser to grant; nothing for PUBLIC.
-- (privileges.sql calls each of them as these roles; this file is the whole
-- table at once, so a new object without its grants shows up here.)
CREATE ROLE matrix_plain;
CREATE ROLE matrix_monitor IN ROLE pg_monitor;
CREATE ROLE matrix_stats IN ROLE pg_read_all_stats;
CREATE ROLE matrix_super SUPERUSER;

WITH roles(role) AS (VALUES ('matrix_plain'), ('matrix_monitor'), ('matrix_stats'), ('matrix_super')),
objects AS (
    SELECT 'function' AS kind, p.oid::regprocedure::text AS object, p.oid AS fn, NULL::oid AS rel
    FROM pg_proc p WHERE p.pronamespace = 'pgpool_stats'::regnamespace
    UNION ALL
    SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END, c.oid::regclass::text, NULL, c.oid
    FROM pg_class c WHERE c.relnamespace = 'pgpool_stats'::regnamespace AND c.relkind IN ('r', 'v'))
SELECT kind, object,
       string_agg(CASE WHEN CASE WHEN fn IS NOT NULL THEN has_function_privilege(role, fn, 'EXECUTE')
                                 ELSE has_table_privilege(role, rel, 'SELECT') END
                       THEN 'yes' ELSE 'no' END, ' | ' ORDER BY role) AS "monitor | plain | stats | super"
FROM objects, roles
GROUP BY kind, object
ORDER BY kind, object;

-- Writing the budget table: only the superuser (set_budget is the door).
SELECT role, has_table_privilege(role, 'pgpool_stats.budget', 'INSERT, UPDATE, DELETE, TRUNCATE') AS can_write
FROM (VALUES ('matrix_plain'), ('matrix_monitor'), ('matrix_stats'), ('matrix_super')) r(role);

-- Every SECURITY DEFINER function pins its search_path.
SELECT p.oid::regprocedure AS security_definer, p.proconfig
FROM pg_proc p WHERE p.pronamespace = 'pgpool_stats'::regnamespace AND p.prosecdef ORDER BY 1;
SELECT count(*) AS unpinned FROM pg_proc p
WHERE p.pronamespace = 'pgpool_stats'::regnamespace AND p.prosecdef
  AND NOT coalesce(p.proconfig, '{}') @> '{"search_path=pg_catalog, pg_temp"}';

DROP ROLE matrix_plain, matrix_monitor, matrix_stats, matrix_super;
