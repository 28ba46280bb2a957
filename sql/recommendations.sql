-- recommend() and the recommendations view: the surface and its errors.
-- (What the numbers mean is tested in test/unit/recommender_test.cpp.)
\set VERBOSITY default
\set SHOW_CONTEXT never

-- The evidence figures of a fresh application depend on timing: masked.
CREATE FUNCTION pg_temp.masked(t text) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(regexp_replace(t, '\d+ s and \d+ samples observed',
                                         'N s and N samples observed', 'g'),
                          '"observed_seconds": \d+, "samples": \d+',
                          '"observed_seconds": N, "samples": N', 'g')
$$;

-- DESIGN.md's columns, in order.
SELECT string_agg(attname, ', ' ORDER BY attnum) FROM pg_attribute
WHERE attrelid = 'pgpool_stats.recommendations'::regclass AND attnum > 0;

-- A fresh application has too little history, and still gets sane numbers.
SELECT application_name FROM pgpool_stats.set_budget('fresh', 10);
SELECT application_name, max_connections, reserved_connections, pool_size, max_overflow,
       pool_timeout_seconds, idle_in_transaction_timeout, findings
FROM pgpool_stats.recommend('fresh', instances => 2);
SELECT rationale LIKE 'Insufficient data: % max_connections 2: %' AS explains FROM pgpool_stats.recommend('fresh', instances => 2);

-- pool_config(): the same recommendation, written for each client (shown raw).
\pset format unaligned
\pset tuples_only on
SELECT pg_temp.masked(pgpool_stats.pool_config('fresh', instances => 2));
SELECT pg_temp.masked(pgpool_stats.pool_config('fresh', 'sqlalchemy', 2));
SELECT pg_temp.masked(pgpool_stats.pool_config('fresh', 'hikaricp', 2));
SELECT pg_temp.masked(pgpool_stats.pool_config('fresh', 'asyncpg', 2));
SELECT pg_temp.masked(pgpool_stats.pool_config('fresh', 'psycopg_pool', 2));
SELECT pg_temp.masked(pgpool_stats.pool_config('fresh', 'pgbouncer', 2));
\pset format aligned
\pset tuples_only off
-- The numbers are recommend()'s.
SELECT (pgpool_stats.pool_config('fresh', 'json', 2)::json ->> 'max_connections')::int =
       max_connections AS same_budget
FROM pgpool_stats.recommend('fresh', instances => 2);

-- The budget now and each instance's share of it (followers cap their pools
-- with it): floor(10 / instances), at least 1; null without a cap.
SELECT i AS instances, j ->> 'budget_max_connections' AS budget_max_connections,
       j ->> 'instance_share' AS instance_share
FROM generate_series(1, 4) i, LATERAL (SELECT pgpool_stats.pool_config('fresh', 'json', i)::json) AS c(j)
UNION ALL
SELECT 20, j ->> 'budget_max_connections', j ->> 'instance_share'
FROM (SELECT pgpool_stats.pool_config('fresh', 'json', 20)::json) AS c(j);
SELECT application_name FROM pgpool_stats.set_budget('uncapped', NULL);
SELECT json_typeof(j -> 'budget_max_connections') AS budget_max_connections,
       json_typeof(j -> 'instance_share') AS instance_share
FROM (SELECT pgpool_stats.pool_config('uncapped', 'json', 2)::json) AS c(j);
SELECT pgpool_stats.drop_budget('uncapped');

-- Budgets that add up to more than the server has.
SELECT application_name FROM pgpool_stats.set_budget('greedy', 1000);
SELECT findings FROM pgpool_stats.recommend('fresh');
SELECT pgpool_stats.drop_budget('greedy'), pgpool_stats.drop_budget('fresh');

-- Every application at once, through the view.
SELECT count(*) > 0 AS has_rows FROM pgpool_stats.recommendations;

-- Bad arguments.
SELECT * FROM pgpool_stats.recommend('x', '0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM pgpool_stats.recommend('x', '-1 hour');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM pgpool_stats.recommend('x', '1 hour', 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM pgpool_stats.recommend('x', '1 hour', NULL, 1.5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM pgpool_stats.recommend('x', '1 hour', NULL, 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM pgpool_stats.recommend('x', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgpool_stats.recommend('no_such_application');

-- pool_config(): bad arguments.
SELECT pgpool_stats.pool_config('fresh', 'SQLAlchemy');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.pool_config('fresh', 'hikari');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.pool_config('no_such_application');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.pool_config(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.pool_config('fresh', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.pool_config('fresh', 'json', 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
