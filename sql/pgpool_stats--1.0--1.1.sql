-- pgpool_stats 1.0 -> 1.1. CREATE EXTENSION runs the 1.0 script, then this.
\echo Use "ALTER EXTENSION pgpool_stats UPDATE TO '1.1'" to load this file. \quit

------------------------------------------------------------------------------
-- The schema must be the superuser's. Its owner could rename it, drop or
-- replace the extension's objects, and the background worker and the
-- SECURITY DEFINER functions act as a superuser on what is inside. CREATE
-- EXTENSION adopts a schema of this name that already exists, so a role with
-- CREATE on the database could have made it beforehand: refuse it then.
------------------------------------------------------------------------------
DO $$
DECLARE
    owner_name name;
    owner_is_superuser boolean;
    creators text;
BEGIN
    SELECT r.rolname, r.rolsuper INTO owner_name, owner_is_superuser
    FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
    WHERE n.nspname = 'pgpool_stats';
    IF NOT owner_is_superuser THEN
        RAISE EXCEPTION 'schema "pgpool_stats" is owned by role "%", which is not a superuser', owner_name
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The owner of the extension''s schema could replace the objects that pgpool_stats runs as a superuser.',
                  HINT = 'Check what the schema holds, drop it, and install the extension again (its budgets survive in a pg_dump of the table).';
    END IF;
    SELECT string_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE r.rolname::text END, ', ')
    INTO creators
    FROM pg_catalog.pg_namespace n, LATERAL pg_catalog.aclexplode(n.nspacl) a
    LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
    WHERE n.nspname = 'pgpool_stats' AND a.privilege_type = 'CREATE'
      AND (a.grantee = 0 OR NOT r.rolsuper);
    IF creators IS NOT NULL THEN
        RAISE EXCEPTION 'schema "pgpool_stats" grants CREATE to %', creators
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'A role that can create objects in the extension''s schema could plant objects that pgpool_stats trusts.',
                  HINT = 'REVOKE CREATE ON SCHEMA pgpool_stats FROM those roles, then run the command again.';
    END IF;
    -- The schema of that name must be the extension's own, and hold nothing
    -- but the extension's members.
    IF (SELECT extnamespace FROM pg_catalog.pg_extension WHERE extname = 'pgpool_stats')
       IS DISTINCT FROM 'pgpool_stats'::regnamespace THEN
        RAISE EXCEPTION 'schema "pgpool_stats" is not the schema of extension pgpool_stats'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Drop the extension and that schema, check what they held, and install the extension again.';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_class c
               WHERE c.relnamespace = 'pgpool_stats'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S')
                 AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))
       OR EXISTS (SELECT FROM pg_catalog.pg_proc p
                  WHERE p.pronamespace = 'pgpool_stats'::regnamespace
                    AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')) THEN
        RAISE EXCEPTION 'schema "pgpool_stats" holds objects that are not the extension''s'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Such objects could capture names that pgpool_stats resolves as a superuser.',
                  HINT = 'Check what the schema holds, drop what is not the extension''s, and run the update again.';
    END IF;
    -- Budgets named "(other)" are refused from 1.1 on (the overflow row's name).
    IF EXISTS (SELECT FROM pgpool_stats.budget WHERE application_name = '(other)') THEN
        RAISE WARNING 'the budget of "(other)" is ignored'
            USING DETAIL = '"(other)" names the row where sessions go when the application table is full; it never has a budget.',
                  HINT = 'Drop it with pgpool_stats.drop_budget(''(other)'').';
    END IF;
END
$$;

------------------------------------------------------------------------------
-- Budget changes are announced with NOTIFY pgpool_stats_budget (the same C
-- trigger, in its 1.1 version; src/budget_sync.cpp). Its triggers stay.
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION pgpool_stats.budget_trigger() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgpool_stats_budget_trigger_1_1' LANGUAGE C;

------------------------------------------------------------------------------
-- Reservations beyond capacity: set_budget() refuses only a change that
-- raises them further; direct writes (a restore) are kept with a WARNING.
-- The name "(other)" belongs to the overflow row.
------------------------------------------------------------------------------
-- The reservations of every budget, with one of them replaced (name,
-- reserved), against the server's capacity as the ledger counts it. Left
-- executable by PUBLIC: a budget trigger runs it as the writer, and it reads
-- only what the writer may read. Writers
-- of reservations are serialized by a transaction advisory lock, so two
-- concurrent ones cannot each fit alone and overflow together (the second
-- waits for the first to end, then sees its row).
CREATE FUNCTION pgpool_stats.reservations_with(
    application_name text, reserved_connections int,
    OUT before bigint, OUT after bigint, OUT capacity int)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('pgpool_stats.reservations'));
    SELECT coalesce(sum(b.reserved_connections), 0),
           coalesce(sum(b.reserved_connections) FILTER (
               WHERE b.application_name <> reservations_with.application_name), 0)
               + coalesce(reservations_with.reserved_connections, 0)
    INTO before, after
    FROM pgpool_stats.budget b;
    -- DESIGN's capacity, as the ledger computes it (ordinary_capacity() in
    -- src/shared_memory.cpp; reserved_connections exists from PostgreSQL 16
    -- on). Computed here too because a writer of budgets need not be allowed
    -- to read pgpool_stats.capacity; regress test budgets checks they agree.
    capacity := current_setting('max_connections')::int
                - current_setting('superuser_reserved_connections')::int
                - coalesce(current_setting('reserved_connections', true)::int, 0);
END
$$;

-- AFTER the row is written, so an upsert warns once, for the row it wrote.
CREATE FUNCTION pgpool_stats.budget_check_capacity() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    r := pgpool_stats.reservations_with(NEW.application_name, NEW.reserved_connections);
    IF r.after > r.capacity THEN
        RAISE WARNING 'reservations exceed the server''s capacity by %', r.after - r.capacity
            USING DETAIL = format('With %s reserved for "%s", %s connections are reserved; the server''s capacity is %s (max_connections less the connections PostgreSQL reserves; see pgpool_stats.capacity). Applications without a reservation find no slot while this lasts.',
                                  NEW.reserved_connections, NEW.application_name, r.after, r.capacity),
                  HINT = 'Lower reservations with pgpool_stats.set_budget() (one step at a time is fine), or raise max_connections.';
    END IF;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION pgpool_stats.budget_check_capacity() FROM PUBLIC;
CREATE TRIGGER budget_check_capacity AFTER INSERT OR UPDATE OF reserved_connections ON pgpool_stats.budget
    FOR EACH ROW WHEN (NEW.reserved_connections > 0) EXECUTE FUNCTION pgpool_stats.budget_check_capacity();

CREATE OR REPLACE FUNCTION pgpool_stats.budget_validate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    stored text;
BEGIN
    IF NEW.application_name IS NULL THEN
        RAISE EXCEPTION 'application_name must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Sessions without application_name are budgeted with the empty name ''''.';
    END IF;
    IF octet_length(NEW.application_name) > 63 THEN
        RAISE EXCEPTION 'application_name "%" is longer than 63 bytes', left(NEW.application_name, 80)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It is %s bytes long.', octet_length(NEW.application_name)),
                  HINT = 'PostgreSQL cuts application_name to 63 bytes, so a longer name never matches a session.';
    END IF;
    IF NEW.application_name = '(other)' THEN
        RAISE EXCEPTION 'application_name "(other)" is the name of the overflow row'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Sessions of applications that do not fit in the application table are counted in the row "(other)", which never has a budget.',
                  HINT = 'Budget each application under its own name.';
    END IF;
    IF NEW.application_name !~ '^[ -~]*$' THEN
        -- The name a session connecting with this one is shown and charged
        -- as: PostgreSQL cleans each byte outside printable ASCII (to \xNN
        -- from 16 on, to '?' before) and keeps 63 bytes.
        SELECT pg_catalog.left(pg_catalog.string_agg(
                   CASE WHEN b BETWEEN 32 AND 126 THEN pg_catalog.chr(b)
                        WHEN pg_catalog.current_setting('server_version_num')::int >= 160000
                            THEN E'\\x' || pg_catalog.lpad(pg_catalog.to_hex(b), 2, '0')
                        ELSE '?' END, '' ORDER BY i), 63)
        INTO stored
        FROM (SELECT i, pg_catalog.get_byte(raw, i) AS b
              FROM (SELECT pg_catalog.convert_to(NEW.application_name, pg_catalog.getdatabaseencoding()) AS raw) AS r,
                   pg_catalog.generate_series(0, pg_catalog.length(raw) - 1) AS i) AS bytes;
        RAISE EXCEPTION 'application_name "%" contains characters other than printable ASCII', NEW.application_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('A session connecting with this name is shown and charged as "%s": %s',
                                  stored,
                                  CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 160000
                                       THEN E'PostgreSQL writes each byte outside printable ASCII as \\xNN.'
                                       ELSE 'PostgreSQL 15 replaces each byte outside printable ASCII with ''?''.' END),
                  HINT = format('Budget "%s", the name pg_stat_activity shows for it.', stored);
    END IF;
    IF NEW.max_connections < 0 THEN
        RAISE EXCEPTION 'max_connections must not be negative'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('max_connections is %s.', NEW.max_connections),
                  HINT = 'Use 0 to refuse every login of the application, NULL for no cap.';
    END IF;
    IF NEW.reserved_connections IS NULL THEN
        RAISE EXCEPTION 'reserved_connections must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Use 0 for no reservation.';
    END IF;
    IF NEW.reserved_connections < 0 THEN
        RAISE EXCEPTION 'reserved_connections must not be negative'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('reserved_connections is %s.', NEW.reserved_connections);
    END IF;
    IF NEW.reserved_connections > NEW.max_connections THEN
        RAISE EXCEPTION 'reserved_connections exceeds max_connections for application "%"', NEW.application_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('reserved_connections is %s, max_connections is %s.',
                                  NEW.reserved_connections, NEW.max_connections),
                  HINT = 'A reservation is a part of the budget: lower it or raise max_connections.';
    END IF;
    -- Reservations are guarantees, so together they should fit in the
    -- server. set_budget() refuses a change that raises them beyond it; a row
    -- written directly (a restore into a smaller server, say) is kept and
    -- warned about by budget_check_capacity, never lost: pgpool_stats.capacity
    -- and the overcommitted finding show the condition until it is mended.
    IF NEW.mode IS NULL THEN
        RAISE EXCEPTION 'mode must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Use ''enforce'' or ''monitor''.';
    END IF;
    IF NEW.mode NOT IN ('enforce', 'monitor') THEN
        RAISE EXCEPTION 'unknown budget mode "%"', NEW.mode
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''enforce'' to refuse logins over budget or ''monitor'' to only count them.';
    END IF;
    IF NEW.admission_timeout IS NULL THEN
        RAISE EXCEPTION 'admission_timeout must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Use ''0'' to refuse at once instead of waiting.';
    END IF;
    IF NEW.admission_timeout < interval '0'
       OR NEW.admission_timeout > interval '10 minutes' THEN
        RAISE EXCEPTION 'admission_timeout must be between 0 and 10 minutes'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('admission_timeout is %s.', coalesce(NEW.admission_timeout::text, 'NULL')),
                  HINT = 'A waiting login holds a process slot; it is also cut short by authentication_timeout.';
    END IF;
    IF NEW.idle_in_transaction_timeout <= interval '0' OR NEW.idle_in_transaction_timeout > interval '365 days' THEN
        RAISE EXCEPTION 'idle_in_transaction_timeout must be positive and at most 365 days'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('idle_in_transaction_timeout is %s.', NEW.idle_in_transaction_timeout),
                  HINT = 'Use NULL to never reap idle-in-transaction sessions of this application.';
    END IF;
    IF NEW.idle_session_timeout <= interval '0' OR NEW.idle_session_timeout > interval '365 days' THEN
        RAISE EXCEPTION 'idle_session_timeout must be positive and at most 365 days'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('idle_session_timeout is %s.', NEW.idle_session_timeout),
                  HINT = 'Use NULL to never reap idle sessions of this application.';
    END IF;
    IF NEW.allowed_roles IS NOT NULL THEN
        IF array_ndims(NEW.allowed_roles) IS DISTINCT FROM 1
           OR cardinality(NEW.allowed_roles) NOT BETWEEN 1 AND 16
           OR array_position(NEW.allowed_roles, NULL) IS NOT NULL THEN
            RAISE EXCEPTION 'allowed_roles must list between 1 and 16 role names'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Use NULL to let any role connect as this application, or max_connections = 0 to let none.';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION pgpool_stats.set_budget(
    application_name text,
    max_connections int,
    reserved_connections int DEFAULT 0,
    mode text DEFAULT 'enforce',
    admission_timeout interval DEFAULT '0',
    idle_in_transaction_timeout interval DEFAULT NULL,
    idle_session_timeout interval DEFAULT NULL,
    allowed_roles name[] DEFAULT NULL,
    comment text DEFAULT NULL)
RETURNS pgpool_stats.budget
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    result pgpool_stats.budget;
    r record;
BEGIN
    PERFORM pgpool_stats.budget_writable_here();
    -- The reservation check reads the other budgets after taking its lock;
    -- only read committed sees what a writer that held it before committed.
    IF set_budget.reserved_connections > 0
       AND current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'set_budget() with a reservation needs a read committed transaction'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('This transaction is %s: the check of all reservations against the server''s capacity could miss a concurrent change.',
                                  current_setting('transaction_isolation')),
                  HINT = 'Set the reservation in a read committed transaction (the default).';
    END IF;
    -- Reservations beyond capacity: refuse only what makes it worse, so a
    -- DBA can climb down step by step from a smaller server.
    r := pgpool_stats.reservations_with(set_budget.application_name, set_budget.reserved_connections);
    IF r.after > r.capacity AND r.after > r.before THEN
        RAISE EXCEPTION 'reservations would exceed the server''s capacity'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Reserving %s for "%s" makes %s reserved connections (%s now); the server''s capacity is %s (max_connections less the connections PostgreSQL reserves; see pgpool_stats.capacity).',
                                  set_budget.reserved_connections, set_budget.application_name,
                                  r.after, r.before, r.capacity),
                  HINT = 'Lower this or another reservation, or raise max_connections.';
    END IF;
    INSERT INTO pgpool_stats.budget AS b
        (application_name, max_connections, reserved_connections, mode, admission_timeout,
         idle_in_transaction_timeout, idle_session_timeout, allowed_roles, comment)
    VALUES (set_budget.application_name, set_budget.max_connections, set_budget.reserved_connections,
            set_budget.mode, set_budget.admission_timeout, set_budget.idle_in_transaction_timeout,
            set_budget.idle_session_timeout, set_budget.allowed_roles, set_budget.comment)
    ON CONFLICT ON CONSTRAINT budget_pkey DO UPDATE SET
        max_connections = EXCLUDED.max_connections,
        reserved_connections = EXCLUDED.reserved_connections,
        mode = EXCLUDED.mode,
        admission_timeout = EXCLUDED.admission_timeout,
        idle_in_transaction_timeout = EXCLUDED.idle_in_transaction_timeout,
        idle_session_timeout = EXCLUDED.idle_session_timeout,
        allowed_roles = EXCLUDED.allowed_roles,
        comment = EXCLUDED.comment
    RETURNING b.* INTO result;
    RETURN result;
END
$$;

------------------------------------------------------------------------------
-- capacity: logins waiting for admission, reservations beyond capacity.
------------------------------------------------------------------------------
DROP VIEW pgpool_stats.capacity;
DROP FUNCTION pgpool_stats.capacity_snapshot();

CREATE FUNCTION pgpool_stats.capacity_snapshot(
    OUT max_connections int,
    OUT superuser_reserved_connections int,
    OUT capacity int,
    OUT connections int,
    OUT reserved_total bigint,
    OUT reserved_unused bigint,
    OUT free_unreserved bigint,
    OUT budget_total bigint,
    OUT overcommit bigint,
    OUT applications_tracked int,
    OUT applications_max int,
    OUT admission_waiting int,
    OUT reserved_over_capacity bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_capacity_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW pgpool_stats.capacity AS
    SELECT * FROM pgpool_stats.capacity_snapshot();

COMMENT ON VIEW pgpool_stats.capacity IS
    'The server''s connection slots: capacity, reservations, budgets and overcommit';

REVOKE ALL ON pgpool_stats.capacity FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpool_stats.capacity_snapshot() FROM PUBLIC;
GRANT SELECT ON pgpool_stats.capacity TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgpool_stats.capacity_snapshot() TO pg_monitor;

-- The history gains would_reject (logins a monitor budget let through that
-- enforce mode would refuse), as the views' last column, and an hour tier (a
-- month and more at the defaults). The views are replaced in place, so
-- their grants (pg_monitor's and any a DBA added) and the views built on
-- them stay; their functions are new, their 1.0 versions dropped.
ALTER FUNCTION pgpool_stats.history_snapshot() RENAME TO history_snapshot_1_0;
ALTER FUNCTION pgpool_stats.history_minutes_snapshot() RENAME TO history_minutes_snapshot_1_0;

CREATE FUNCTION pgpool_stats.history_snapshot(
    OUT sample_time timestamptz,
    OUT application_name text,
    OUT connections int,
    OUT active int,
    OUT idle int,
    OUT idle_in_transaction int,
    OUT waiting int,
    OUT admission_waiting int,
    OUT rejected bigint,
    OUT resolution text,
    OUT would_reject bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_history_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE OR REPLACE VIEW pgpool_stats.history AS
    SELECT * FROM pgpool_stats.history_snapshot();

COMMENT ON VIEW pgpool_stats.history IS
    'Samples per application (resolution sample), per-minute maxima for what is older (resolution minute), and per-hour maxima for what is older still (resolution hour)';

CREATE FUNCTION pgpool_stats.history_minutes_snapshot(
    OUT minute timestamptz,
    OUT application_name text,
    OUT samples int,
    OUT connections_min int, OUT connections_mean float8, OUT connections_max int,
    OUT active_min int, OUT active_mean float8, OUT active_max int,
    OUT idle_min int, OUT idle_mean float8, OUT idle_max int,
    OUT idle_in_transaction_min int, OUT idle_in_transaction_mean float8, OUT idle_in_transaction_max int,
    OUT waiting_min int, OUT waiting_mean float8, OUT waiting_max int,
    OUT admission_waiting_min int, OUT admission_waiting_mean float8, OUT admission_waiting_max int,
    OUT rejected bigint,
    OUT would_reject bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_history_minutes_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE OR REPLACE VIEW pgpool_stats.history_minutes AS
    SELECT * FROM pgpool_stats.history_minutes_snapshot();


COMMENT ON VIEW pgpool_stats.history_minutes IS
    'Per-minute roll-ups per application: min / mean / max of every gauge, refusals and would-be refusals in the minute';

CREATE FUNCTION pgpool_stats.history_hours_snapshot(
    OUT hour timestamptz,
    OUT application_name text,
    OUT samples int,
    OUT minutes int,
    OUT connections_min int, OUT connections_mean float8, OUT connections_p95 int, OUT connections_max int,
    OUT active_min int, OUT active_mean float8, OUT active_p95 int, OUT active_max int,
    OUT idle_min int, OUT idle_mean float8, OUT idle_p95 int, OUT idle_max int,
    OUT idle_in_transaction_min int, OUT idle_in_transaction_mean float8, OUT idle_in_transaction_p95 int, OUT idle_in_transaction_max int,
    OUT waiting_min int, OUT waiting_mean float8, OUT waiting_p95 int, OUT waiting_max int,
    OUT admission_waiting_min int, OUT admission_waiting_mean float8, OUT admission_waiting_p95 int, OUT admission_waiting_max int,
    OUT rejected bigint,
    OUT would_reject bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_history_hours_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW pgpool_stats.history_hours AS
    SELECT * FROM pgpool_stats.history_hours_snapshot();

COMMENT ON VIEW pgpool_stats.history_hours IS
    'Per-hour roll-ups per application: min / mean / p95 of the minute maxima / max of every gauge, refusals and would-be refusals in the hour';

REVOKE ALL ON pgpool_stats.history_hours FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpool_stats.history_snapshot(), pgpool_stats.history_minutes_snapshot(),
    pgpool_stats.history_hours_snapshot() FROM PUBLIC;
GRANT SELECT ON pgpool_stats.history_hours TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgpool_stats.history_snapshot(), pgpool_stats.history_minutes_snapshot(),
    pgpool_stats.history_hours_snapshot() TO pg_monitor;

-- A role a DBA let read the 1.0 history views had EXECUTE on their
-- functions too (a view calls functions with its reader's rights): the new
-- functions get the same grants before the old ones go.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT replace(p.proname, '_1_0', '') AS name, a.grantee::regrole AS grantee
        FROM pg_proc p, aclexplode(p.proacl) a
        WHERE p.pronamespace = 'pgpool_stats'::regnamespace
          AND p.proname IN ('history_snapshot_1_0', 'history_minutes_snapshot_1_0')
          AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION pgpool_stats.%I() TO %s', g.name, g.grantee);
    END LOOP;
END
$$;
DROP FUNCTION pgpool_stats.history_snapshot_1_0();
DROP FUNCTION pgpool_stats.history_minutes_snapshot_1_0();
