-- A budget name outside printable ASCII is refused, naming the form PostgreSQL
-- stores for a session that connects with it: '?' per byte on 15 (expected
-- stored_names.out), \xNN per byte from 16 on (stored_names_1.out).
CREATE EXTENSION IF NOT EXISTS pgpool_stats;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT pgpool_stats.set_budget('caf' || chr(233), 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pgpool_stats.set_budget(E'tab\there', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Direct writes get the same message.
INSERT INTO pgpool_stats.budget (application_name, max_connections)
VALUES (E'bell\x07', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- 21 three-byte characters (63 bytes) stored as 63 bytes of the cleaned form.
SELECT pgpool_stats.set_budget(repeat(chr(8364), 21), 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- The stored form the HINT names is accepted, and nothing was lost.
SELECT application_name FROM pgpool_stats.set_budget('caf' ||
    CASE WHEN current_setting('server_version_num')::int >= 160000
         THEN E'\\xc3\\xa9' ELSE '??' END, 1);
SELECT count(*) FROM pgpool_stats.budget;
SELECT pgpool_stats.drop_budget(application_name) FROM pgpool_stats.budget;
