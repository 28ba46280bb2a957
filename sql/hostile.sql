-- Hostile and broken input to every SQL function and to the budget table.
-- Each gets a clear error with the right SQLSTATE (or, for strings that are
-- merely odd names, is stored and returned verbatim), and nothing is lost:
-- the budget 'keep' and its ledger row survive everything below.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT application_name, max_connections FROM pgpool_stats.set_budget('keep', 5, 2);

-- The evidence figures of a fresh application depend on timing: masked.
CREATE FUNCTION pg_temp.masked(t text) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(regexp_replace(t, '\d+ s and \d+ samples observed',
                                         'N s and N samples observed', 'g'),
                          '"observed_seconds": \d+, "samples": \d+',
                          '"observed_seconds": N, "samples": N', 'g')
$$;

-- Names over 63 bytes, huge, not printable ASCII, empty.
SELECT pgpool_stats.set_budget(repeat('x', 64), 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget(repeat('x', 1000000), 1) IS NULL;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- The empty name is a name: sessions that set no application_name.
SELECT application_name = '' AS empty_name FROM pgpool_stats.set_budget('', 1);
SELECT pgpool_stats.drop_budget('');

-- Quoting and injection strings are names like any other: stored verbatim,
-- and quoted correctly wherever they are written out.
SELECT application_name FROM pgpool_stats.set_budget($$x'); DROP TABLE pgpool_stats.budget; --$$, 1);
SELECT application_name FROM pgpool_stats.set_budget('"quoted" \name', 1);
SELECT count(*) AS budgets FROM pgpool_stats.budget;
\pset format unaligned
\pset tuples_only on
SELECT pg_temp.masked(pgpool_stats.pool_config('"quoted" \name', 'sqlalchemy', 1));
SELECT pg_temp.masked(pgpool_stats.pool_config('"quoted" \name', 'hikaricp', 1));
\pset format aligned
\pset tuples_only off
SELECT (pgpool_stats.pool_config('"quoted" \name')::json) ->> 'application_name' AS json_name;
-- A name a client's format cannot carry is refused (0A000), never written.
-- The pgbouncer format names its [databases] entry after the application, and
-- PgBouncer 1.18 reads an entry name only of [0-9A-Za-z_.-], with no quoting,
-- keeps "pgbouncer" for its console and has no empty value: the injection
-- string above, "pgbouncer" and the empty name are refused. The database is
-- only dbname='s value, quoted as PgBouncer reads it; only a control
-- character in it is refused (a newline would start a new setting). Only the
-- pgbouncer format names the database.
SELECT pgpool_stats.pool_config($$x'); DROP TABLE pgpool_stats.budget; --$$, 'pgbouncer', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.pool_config('pgbouncer', 'pgbouncer');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.pool_config('', 'pgbouncer');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE DATABASE "billing db";
CREATE DATABASE "o'brien ""db""";
CREATE DATABASE "line
auth_type = any";
CREATE DATABASE pgbouncer;
CREATE DATABASE "a.b-1";
-- Each database's entry for 'keep' (the line after [databases]).
\c "billing db"
CREATE EXTENSION pgpool_stats;
SELECT substring(pgpool_stats.pool_config('keep', 'pgbouncer', 1) FROM '\[databases\]\n([^\n]*)') AS entry;
SELECT pgpool_stats.pool_config('keep', 'json', 1)::json ->> 'application_name' AS json_does_not_name_the_database;
\c "o'brien ""db"""
CREATE EXTENSION pgpool_stats;
SELECT substring(pgpool_stats.pool_config('keep', 'pgbouncer', 1) FROM '\[databases\]\n([^\n]*)') AS entry;
\c 'dbname=''line\nauth_type = any'''
CREATE EXTENSION pgpool_stats;
SELECT pgpool_stats.pool_config('keep', 'pgbouncer', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.pool_config('keep', 'json', 1)::json ->> 'application_name' AS json_does_not_name_the_database;
\c pgbouncer
CREATE EXTENSION pgpool_stats;
SELECT substring(pgpool_stats.pool_config('keep', 'pgbouncer', 1) FROM '\[databases\]\n([^\n]*)') AS entry;
\c "a.b-1"
CREATE EXTENSION pgpool_stats;
SELECT substring(pgpool_stats.pool_config('keep', 'pgbouncer', 1) FROM '\[databases\]\n([^\n]*)') AS entry;
\c contrib_regression
DROP DATABASE "billing db";
DROP DATABASE "o'brien ""db""";
DROP DATABASE "line
auth_type = any";
DROP DATABASE pgbouncer;
DROP DATABASE "a.b-1";
SELECT pgpool_stats.drop_budget($$x'); DROP TABLE pgpool_stats.budget; --$$),
       pgpool_stats.drop_budget('"quoted" \name');

-- Integers: overflowing, negative, absurd.
SELECT pgpool_stats.set_budget('n', '2147483648'::int);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('n', 2147483648);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('n', -1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('n', 5, -1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('n', 5, 6);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- A cap may be anything (overcommit is a finding), a reservation is a
-- guarantee: the reservations together must fit in the server.
SELECT max_connections FROM pgpool_stats.set_budget('n', 2147483647);
SELECT pgpool_stats.set_budget('n', 2147483647, 2147483647);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('n', 100, 96);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT reserved_connections FROM pgpool_stats.set_budget('n', 100, 5);
-- A direct write (what a restore does) that overflows is kept, with a
-- WARNING; capacity shows by how much; set_budget() then refuses any raise
-- but lets the DBA climb down one step at a time.
INSERT INTO pgpool_stats.budget (application_name, max_connections, reserved_connections)
VALUES ('restored', 40, 30);
SELECT reserved_total, reserved_over_capacity, free_unreserved FROM pgpool_stats.capacity;
SELECT pgpool_stats.set_budget('restored', 40, 31);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT reserved_connections FROM pgpool_stats.set_budget('restored', 40, 28);
SELECT reserved_connections FROM pgpool_stats.set_budget('restored', 40, 20);
SELECT reserved_over_capacity FROM pgpool_stats.capacity;
SELECT pgpool_stats.drop_budget('restored');
-- A reservation is checked against all the others only in read committed.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pgpool_stats.set_budget('rr', 5, 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ROLLBACK;
-- The overflow row's name is not an application's.
SELECT pgpool_stats.set_budget('(other)', 5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM pgpool_stats.recommend('keep', '1 hour', -2147483648);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT max_connections, pool_size, max_overflow, rationale LIKE '%The 2147483647 instances do not fit%' AS says_so
FROM pgpool_stats.recommend('keep', '1 hour', 2147483647);
SELECT pgpool_stats.pool_config('keep', 'json', -1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Intervals: negative, absurdly large either way.
SELECT pgpool_stats.set_budget('n', 5, admission_timeout => '-1 second');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('n', 5, admission_timeout => '178000000 years');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('n', 5, idle_in_transaction_timeout => '178000000 years');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('n', 5, idle_session_timeout => '-178000000 years');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('n', 5, idle_session_timeout => '0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgpool_stats.reap('keep', '178000000 years');
SELECT count(*) FROM pgpool_stats.reap('keep', '-178000000 years');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgpool_stats.reap('keep', '1 month -31 days');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT "window" <= '178000000 years' AS window_is_the_history FROM pgpool_stats.recommend('keep', '178000000 years');
SELECT * FROM pgpool_stats.recommend('keep', '-178000000 years');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM pgpool_stats.recommend('keep', '1 hour', NULL, 'NaN');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM pgpool_stats.recommend('keep', '1 hour', NULL, 'Infinity');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Unknown and odd client names.
SELECT pgpool_stats.pool_config('keep', 'JSON');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.pool_config('keep', E'json\n');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.pool_config('keep', '');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.pool_config('keep', $$json'; SELECT 1; --$$);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- NULLs.
SELECT pgpool_stats.set_budget(NULL, 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('n', 1, NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget('n', 1, mode => NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.drop_budget(NULL);
SELECT count(*) FROM pgpool_stats.reap(NULL, '1 hour');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgpool_stats.reap('keep', '1 hour', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.pool_config('keep', 'json', NULL)::json ->> 'application_name' AS null_instances_is_observed;

-- The table written directly, around the functions.
INSERT INTO pgpool_stats.budget (application_name, max_connections, reserved_connections)
VALUES ('keep', 1, 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE pgpool_stats.budget SET reserved_connections = 99 WHERE application_name = 'keep';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE pgpool_stats.budget SET mode = 'off' WHERE application_name = 'keep';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE pgpool_stats.budget SET allowed_roles = array_fill('r'::name, ARRAY[17]) WHERE application_name = 'keep';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE pgpool_stats.budget SET application_name = repeat('y', 70) WHERE application_name = 'keep';
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Nothing was lost.
SELECT application_name, max_connections, reserved_connections, mode FROM pgpool_stats.budget ORDER BY 1;
SELECT application_name, max_connections, reserved_connections FROM pgpool_stats.applications
WHERE application_name = 'keep';
SELECT pgpool_stats.drop_budget('keep'), pgpool_stats.drop_budget('n');
