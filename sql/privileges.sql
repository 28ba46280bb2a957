-- Privileges: reading is for pg_monitor; changing budgets is revoked from
-- PUBLIC and works once the superuser grants it.
\set VERBOSITY default
CREATE ROLE pgpool_plain;
CREATE ROLE pgpool_monitor IN ROLE pg_monitor;
CREATE ROLE pgpool_operator;

SET ROLE pgpool_plain;
SELECT * FROM pgpool_stats.applications;
SELECT * FROM pgpool_stats.capacity;
SELECT * FROM pgpool_stats.history;
SELECT * FROM pgpool_stats.history_minutes;
SELECT pgpool_stats.metrics();
SELECT * FROM pgpool_stats.reaped;
SELECT * FROM pgpool_stats.reap('api', '1 hour');
SELECT * FROM pgpool_stats.recommendations;
SELECT * FROM pgpool_stats.recommend();
SELECT pgpool_stats.pool_config('api');
SELECT * FROM pgpool_stats.budget;
SELECT pgpool_stats.set_budget('api', 1);
SELECT pgpool_stats.drop_budget('api');
SELECT pgpool_stats.reset();
INSERT INTO pgpool_stats.budget (application_name, max_connections) VALUES ('api', 1);
RESET ROLE;

SET ROLE pgpool_monitor;
SELECT count(*) >= 0 AS can_read FROM pgpool_stats.applications;
SELECT capacity > 0 AS can_read FROM pgpool_stats.capacity;
SELECT count(*) >= 0 AS can_read FROM pgpool_stats.history;
SELECT count(*) >= 0 AS can_read FROM pgpool_stats.history_minutes;
SELECT pgpool_stats.metrics() LIKE '# HELP pgpool_stats_%' AS can_read;
SELECT count(*) >= 0 AS can_read FROM pgpool_stats.reaped;
SELECT count(*) >= 0 AS can_read FROM pgpool_stats.recommendations;
SELECT pgpool_stats.pool_config('pgpool_stats_nobody');
SELECT * FROM pgpool_stats.reap('api', '1 hour');
SELECT count(*) >= 0 AS can_read FROM pgpool_stats.budget;
SELECT pgpool_stats.set_budget('api', 1);
SELECT pgpool_stats.reset();
RESET ROLE;

-- set_budget is SECURITY DEFINER: EXECUTE alone is enough, no table grant.
GRANT EXECUTE ON FUNCTION pgpool_stats.set_budget, pgpool_stats.drop_budget TO pgpool_operator;
SET ROLE pgpool_operator;
SELECT application_name, max_connections FROM pgpool_stats.set_budget('granted', 3);
SELECT pgpool_stats.drop_budget('granted');
-- ... and its pinned search_path ignores the caller's.
CREATE TEMP TABLE budget (application_name text);
SET search_path = pg_temp, public;
SELECT application_name FROM pgpool_stats.set_budget('pinned', 1);
RESET search_path;
RESET ROLE;
SELECT application_name FROM pgpool_stats.budget WHERE application_name = 'pinned';
SELECT pgpool_stats.drop_budget('pinned');

DROP OWNED BY pgpool_operator;
DROP ROLE pgpool_plain, pgpool_monitor, pgpool_operator;
