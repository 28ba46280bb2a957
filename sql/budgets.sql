-- Budgets: set_budget / drop_budget, the table's rules, and when a change
-- reaches the ledger (pgpool_stats.applications shows the ledger).
CREATE EXTENSION pgpool_stats;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- A budget with defaults, and one with every column.
SELECT * FROM pgpool_stats.set_budget('api', 5);
SELECT * FROM pgpool_stats.set_budget('billing', max_connections => 20, reserved_connections => 4,
    mode => 'monitor', admission_timeout => '2 seconds', idle_in_transaction_timeout => '30 seconds',
    idle_session_timeout => '10 minutes', allowed_roles => '{postgres}', comment => 'critical');
-- A committed change is in the ledger at once (no wait for the worker).
SELECT application_name, max_connections, reserved_connections, mode, connections, utilization
FROM pgpool_stats.applications WHERE application_name IN ('api', 'billing') ORDER BY 1;

-- Update in place; NULL max_connections means a reservation without a cap.
SELECT application_name, max_connections, reserved_connections FROM pgpool_stats.set_budget('api', NULL, 2);
SELECT application_name, max_connections, reserved_connections, utilization
FROM pgpool_stats.applications WHERE application_name = 'api';
-- The empty application name is an application too.
SELECT application_name = '' AS empty_name FROM pgpool_stats.set_budget('', 3);

-- Capacity adds the budgets up.
SELECT capacity, reserved_total, budget_total, overcommit, applications_max FROM pgpool_stats.capacity;
SELECT application_name FROM pgpool_stats.set_budget('huge', 1000);
SELECT budget_total, overcommit, budget_total - capacity AS expected_overcommit FROM pgpool_stats.capacity;
SELECT pgpool_stats.drop_budget('huge'), pgpool_stats.drop_budget('huge') AS again;
-- The reservation check's capacity (install script) is the ledger's.
SELECT (pgpool_stats.reservations_with('nobody', 0)).capacity = capacity AS same_capacity
FROM pgpool_stats.capacity;

-- Rolled back, a change never reaches the ledger.
BEGIN;
SELECT application_name FROM pgpool_stats.set_budget('ghost', 1);
ROLLBACK;
SELECT count(*) AS ghost_rows FROM pgpool_stats.applications WHERE application_name = 'ghost';
-- Nor does one rolled back to a savepoint, while the rest of the transaction lands.
BEGIN;
SELECT application_name FROM pgpool_stats.set_budget('kept', 7);
SAVEPOINT s;
SELECT application_name FROM pgpool_stats.set_budget('kept', 1);
SELECT application_name FROM pgpool_stats.set_budget('dropped_with_savepoint', 1);
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT application_name, max_connections FROM pgpool_stats.applications
WHERE application_name IN ('kept', 'dropped_with_savepoint') ORDER BY 1;
-- A failed statement inside a subtransaction leaves the earlier change alone.
BEGIN;
SELECT application_name FROM pgpool_stats.set_budget('kept', 8);
SAVEPOINT s;
SELECT pgpool_stats.set_budget('kept', -1);
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT max_connections FROM pgpool_stats.applications WHERE application_name = 'kept';

-- A transaction whose every change was rolled back to a savepoint leaves
-- nothing behind for the next one (which once wrote into freed memory).
BEGIN;
SAVEPOINT s;
SELECT application_name FROM pgpool_stats.set_budget('undone', 1);
ROLLBACK TO SAVEPOINT s;
COMMIT;
BEGIN;
SELECT application_name FROM pgpool_stats.set_budget('after_undone', 4, reserved_connections => 2);
SELECT repeat('x', 100000) IS NOT NULL AS churn_memory FROM generate_series(1, 50) LIMIT 1;
COMMIT;
SELECT application_name, max_connections, reserved_connections FROM pgpool_stats.applications
WHERE application_name IN ('undone', 'after_undone') ORDER BY 1;

-- Direct DML goes through the same rules and reaches the ledger too.
UPDATE pgpool_stats.budget SET max_connections = 9 WHERE application_name = 'kept';
INSERT INTO pgpool_stats.budget (application_name, max_connections) VALUES ('direct', 1);
SELECT application_name, max_connections FROM pgpool_stats.applications
WHERE application_name IN ('kept', 'direct') ORDER BY 1;
-- A renamed row moves the budget.
UPDATE pgpool_stats.budget SET application_name = 'renamed' WHERE application_name = 'direct';
SELECT application_name, max_connections FROM pgpool_stats.applications
WHERE application_name IN ('direct', 'renamed') ORDER BY 1;
DELETE FROM pgpool_stats.budget WHERE application_name = 'renamed';
SELECT count(*) AS renamed_budgets FROM pgpool_stats.applications
WHERE application_name = 'renamed' AND max_connections IS NOT NULL;

-- Budgets cannot be part of a prepared transaction (its commit would happen
-- in another backend, which has nothing staged).
BEGIN;
SELECT application_name FROM pgpool_stats.set_budget('prepared', 1);
PREPARE TRANSACTION 'p1';
SELECT count(*) AS prepared_left FROM pg_prepared_xacts;

-- Bad input: each refused with its own SQLSTATE, message, detail and hint.
\set SHOW_CONTEXT never
SELECT pgpool_stats.set_budget(NULL, 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget(repeat('x', 64), 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', -1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, -1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, 6);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, 0, 'enforced');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, 0, NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, 0, 'enforce', '-1 second');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, 0, 'enforce', '1 hour');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, 0, 'enforce', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, idle_in_transaction_timeout => '0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, idle_session_timeout => '-5 minutes');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, idle_session_timeout => '2 years');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, allowed_roles => '{}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, allowed_roles => '{a,NULL}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 5, allowed_roles => (SELECT array_agg(('r' || g)::name) FROM generate_series(1, 17) g));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('api', 2147483648);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.drop_budget(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Constraints hold even with the validation trigger out of the way.
ALTER TABLE pgpool_stats.budget DISABLE TRIGGER budget_validate;
INSERT INTO pgpool_stats.budget (application_name, max_connections, reserved_connections) VALUES ('x', 1, 2);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO pgpool_stats.budget (application_name, mode) VALUES ('x', 'sometimes');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE pgpool_stats.budget ENABLE TRIGGER budget_validate;
-- A role that does not exist yet is accepted with a warning.
SELECT allowed_roles FROM pgpool_stats.set_budget('api', 5, allowed_roles => '{not_yet_created}');
-- Nothing above changed the budget of 'api' except the last call.
SELECT application_name, max_connections, reserved_connections, allowed_roles FROM pgpool_stats.budget
WHERE application_name = 'api';

-- TRUNCATE clears every budget from the ledger.
TRUNCATE pgpool_stats.budget;
SELECT count(*) AS budgets_left FROM pgpool_stats.applications WHERE max_connections IS NOT NULL
    OR reserved_connections IS NOT NULL;

-- Budgets live in one database: elsewhere the table is refused.
CREATE DATABASE pgpool_stats_elsewhere;
\c pgpool_stats_elsewhere
CREATE EXTENSION pgpool_stats;
SELECT pgpool_stats.set_budget('api', 5);
INSERT INTO pgpool_stats.budget (application_name, max_connections) VALUES ('api', 5);
-- The views work in any database.
SELECT count(*) > 0 AS sees_ledger FROM pgpool_stats.applications;
\c contrib_regression
DROP DATABASE pgpool_stats_elsewhere;

-- reset() zeroes counters, of one application or all; an unknown name is a notice.
SELECT pgpool_stats.reset('no_such_application');
SELECT pgpool_stats.reset('kept');
SELECT pgpool_stats.reset();
SELECT count(*) AS rows_with_counts FROM pgpool_stats.applications WHERE admitted + rejected + would_reject > 0
    AND application_name <> 'pg_regress/budgets';
SELECT pgpool_stats.reset(NULL::text);

-- reap() refuses nonsense, and a dry run on nobody returns nothing.
SELECT * FROM pgpool_stats.reap(NULL, '1 hour');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM pgpool_stats.reap('api', '-1 hour');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS would_reap FROM pgpool_stats.reap('no_sessions_here', '0');

-- The view has DESIGN.md's columns, in order.
SELECT string_agg(attname, ', ' ORDER BY attnum) FROM pg_attribute
WHERE attrelid = 'pgpool_stats.applications'::regclass AND attnum > 0;
SELECT string_agg(attname, ', ' ORDER BY attnum) FROM pg_attribute
WHERE attrelid = 'pgpool_stats.reaped'::regclass AND attnum > 0;

-- The shared memory pgpool_stats takes is visible to users (17 MB with the
-- default history sizes: 1.8 MB of samples, 8.5 MB of minutes, 5.6 MB of hours).
SELECT size > 17000000 AND size < 18000000 AS about_17_mb FROM pg_shmem_allocations WHERE name = 'pgpool_stats';

-- Functions are declared as the design says.
SELECT p.proname, p.prosecdef, p.proconfig
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'pgpool_stats' ORDER BY 1;
