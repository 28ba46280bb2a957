-- pgpool_stats 1.1: budgets, admission, pool telemetry, capacity, reaping,
-- recommendations. (Servers with 1.0 get here with pgpool_stats--1.0--1.1.sql.)
\echo Use "CREATE EXTENSION pgpool_stats" to load this file. \quit

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
    -- Nothing may wait in the schema for the install script to run into.
    IF EXISTS (SELECT FROM pg_catalog.pg_class WHERE relnamespace = 'pgpool_stats'::regnamespace)
       OR EXISTS (SELECT FROM pg_catalog.pg_proc WHERE pronamespace = 'pgpool_stats'::regnamespace)
       OR EXISTS (SELECT FROM pg_catalog.pg_type WHERE typnamespace = 'pgpool_stats'::regnamespace)
       OR EXISTS (SELECT FROM pg_catalog.pg_operator WHERE oprnamespace = 'pgpool_stats'::regnamespace) THEN
        RAISE EXCEPTION 'schema "pgpool_stats" already holds objects'
            USING ERRCODE = 'duplicate_schema',
                  DETAIL = 'Objects made before the extension could capture names that pgpool_stats resolves as a superuser.',
                  HINT = 'Check what the schema holds, drop it, and run CREATE EXTENSION again.';
    END IF;
END
$$;


-- Anyone may see that the schema exists (so a missing privilege says which
-- object it is about); what is inside is granted object by object below.
GRANT USAGE ON SCHEMA pgpool_stats TO PUBLIC;

------------------------------------------------------------------------------
-- Budgets
------------------------------------------------------------------------------

CREATE TABLE pgpool_stats.budget (
    application_name            text PRIMARY KEY,
    max_connections             int,
    reserved_connections        int NOT NULL DEFAULT 0,
    mode                        text NOT NULL DEFAULT 'enforce',
    admission_timeout           interval NOT NULL DEFAULT '0',
    idle_in_transaction_timeout interval,
    idle_session_timeout        interval,
    allowed_roles               name[],
    comment                     text,
    -- Backstops for the messages of budget_validate(): they hold even when
    -- triggers are disabled.
    CONSTRAINT budget_application_name_max_63_bytes CHECK (octet_length(application_name) <= 63),
    CONSTRAINT budget_application_name_printable_ascii CHECK (application_name ~ '^[ -~]*$'),
    CONSTRAINT budget_max_connections_not_negative CHECK (max_connections >= 0),
    CONSTRAINT budget_reserved_connections_not_negative CHECK (reserved_connections >= 0),
    CONSTRAINT budget_reserved_within_max CHECK (reserved_connections <= max_connections),
    CONSTRAINT budget_mode_enforce_or_monitor CHECK (mode IN ('enforce', 'monitor')),
    CONSTRAINT budget_admission_timeout_0_to_10_minutes
        CHECK (admission_timeout >= interval '0' AND admission_timeout <= interval '10 minutes'),
    CONSTRAINT budget_idle_in_transaction_timeout_positive
        CHECK (idle_in_transaction_timeout > interval '0' AND idle_in_transaction_timeout <= interval '365 days'),
    CONSTRAINT budget_idle_session_timeout_positive
        CHECK (idle_session_timeout > interval '0' AND idle_session_timeout <= interval '365 days'),
    CONSTRAINT budget_allowed_roles_1_to_16_names
        CHECK (allowed_roles IS NULL OR (array_ndims(allowed_roles) = 1
               AND cardinality(allowed_roles) BETWEEN 1 AND 16
               AND array_position(allowed_roles, NULL) IS NULL))
);

COMMENT ON TABLE pgpool_stats.budget IS
    'Connection budget per application_name; enforced at login in the database named by pgpool_stats.database';

-- pg_dump keeps the budgets.
SELECT pg_catalog.pg_extension_config_dump('pgpool_stats.budget', '');

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

-- Clear messages for every bad value, for set_budget() and direct DML alike.
CREATE FUNCTION pgpool_stats.budget_validate() RETURNS trigger
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

-- A role that does not exist (yet) is allowed, with a warning. AFTER, so that
-- an upsert warns once, for the row it really wrote.
CREATE FUNCTION pgpool_stats.budget_check_roles() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    role_name name;
BEGIN
    FOREACH role_name IN ARRAY coalesce(NEW.allowed_roles, '{}') LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            RAISE WARNING 'role "%" in allowed_roles of application "%" does not exist', role_name, NEW.application_name
                USING HINT = 'Logins are checked against the roles that exist when they connect.';
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

-- C trigger: refuses changes outside pgpool_stats.database, stages each
-- committed change for the ledger, and announces it to followers with
-- NOTIFY pgpool_stats_budget (see src/budget_sync.cpp).
CREATE FUNCTION pgpool_stats.budget_trigger() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgpool_stats_budget_trigger_1_1' LANGUAGE C;

CREATE TRIGGER budget_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgpool_stats.budget
    FOR EACH STATEMENT EXECUTE FUNCTION pgpool_stats.budget_trigger();
CREATE TRIGGER budget_validate BEFORE INSERT OR UPDATE ON pgpool_stats.budget
    FOR EACH ROW EXECUTE FUNCTION pgpool_stats.budget_validate();
CREATE TRIGGER budget_check_roles AFTER INSERT OR UPDATE OF allowed_roles ON pgpool_stats.budget
    FOR EACH ROW EXECUTE FUNCTION pgpool_stats.budget_check_roles();
CREATE TRIGGER budget_check_capacity AFTER INSERT OR UPDATE OF reserved_connections ON pgpool_stats.budget
    FOR EACH ROW WHEN (NEW.reserved_connections > 0) EXECUTE FUNCTION pgpool_stats.budget_check_capacity();
CREATE TRIGGER budget_changed AFTER INSERT OR UPDATE OR DELETE ON pgpool_stats.budget
    FOR EACH ROW EXECUTE FUNCTION pgpool_stats.budget_trigger();
CREATE TRIGGER budget_truncated AFTER TRUNCATE ON pgpool_stats.budget
    FOR EACH STATEMENT EXECUTE FUNCTION pgpool_stats.budget_trigger();

-- Where budgets can be written: the primary, in pgpool_stats.database.
CREATE FUNCTION pgpool_stats.budget_writable_here() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_is_in_recovery() THEN
        RAISE EXCEPTION 'cannot change budgets on a hot standby'
            USING ERRCODE = 'read_only_sql_transaction',
                  DETAIL = 'Budgets are replicated from the primary and enforced here as they are.',
                  HINT = 'Change the budget on the primary.';
    END IF;
    IF current_database() <> current_setting('pgpool_stats.database') THEN
        RAISE EXCEPTION 'budgets are kept in database "%", not in "%"',
                current_setting('pgpool_stats.database'), current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'pgpool_stats.database names the one database whose pgpool_stats.budget table is enforced.',
                  HINT = format('Connect to database "%s" to change budgets.', current_setting('pgpool_stats.database'));
    END IF;
END
$$;

CREATE FUNCTION pgpool_stats.set_budget(
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

COMMENT ON FUNCTION pgpool_stats.set_budget(text, int, int, text, interval, interval, interval, name[], text) IS
    'Insert or replace the budget of an application; effective for logins after commit';

CREATE FUNCTION pgpool_stats.drop_budget(application_name text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF drop_budget.application_name IS NULL THEN
        RAISE EXCEPTION 'application_name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM pgpool_stats.budget_writable_here();
    DELETE FROM pgpool_stats.budget b WHERE b.application_name = drop_budget.application_name;
    RETURN FOUND;
END
$$;

COMMENT ON FUNCTION pgpool_stats.drop_budget(text) IS
    'Remove the budget of an application; returns whether there was one';

------------------------------------------------------------------------------
-- Telemetry
------------------------------------------------------------------------------

CREATE FUNCTION pgpool_stats.applications_snapshot(
    OUT application_name text,
    OUT connections int,
    OUT active int,
    OUT idle int,
    OUT idle_in_transaction int,
    OUT waiting int,
    OUT admission_waiting int,
    OUT instances int,
    OUT max_connections int,
    OUT reserved_connections int,
    OUT mode text,
    OUT utilization float8,
    OUT peak_connections int,
    OUT peak_active int,
    OUT admitted bigint,
    OUT rejected bigint,
    OUT would_reject bigint,
    OUT reaped bigint,
    OUT connects_per_second float8,
    OUT avg_session_seconds float8,
    OUT last_rejected_at timestamptz,
    OUT stats_reset timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_applications_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW pgpool_stats.applications AS
    SELECT * FROM pgpool_stats.applications_snapshot();

COMMENT ON VIEW pgpool_stats.applications IS
    'One row per application with a budget or a connection: live states, budget, peaks and admission counters';

CREATE FUNCTION pgpool_stats.reset(application_name text DEFAULT NULL) RETURNS void
AS 'MODULE_PATHNAME', 'pgpool_stats_reset_1_0'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pgpool_stats.reset(text) IS
    'Zero the counters and peaks of one application, or of all';

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

CREATE VIEW pgpool_stats.history AS
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

CREATE VIEW pgpool_stats.history_minutes AS
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

CREATE FUNCTION pgpool_stats.metrics() RETURNS text
AS 'MODULE_PATHNAME', 'pgpool_stats_metrics_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pgpool_stats.metrics() IS
    'Prometheus text exposition of every application (top 50 by connections, the rest as "(other)") and the capacity';

------------------------------------------------------------------------------
-- Reaping
------------------------------------------------------------------------------

CREATE FUNCTION pgpool_stats.reaped_snapshot(
    OUT reaped_at timestamptz,
    OUT pid int,
    OUT application_name text,
    OUT usename text,
    OUT datname text,
    OUT client_addr inet,
    OUT reason text,
    OUT idle_for interval,
    OUT xact_age interval,
    OUT query text,
    OUT action text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_reaped_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW pgpool_stats.reaped AS
    SELECT * FROM pgpool_stats.reaped_snapshot();

COMMENT ON VIEW pgpool_stats.reaped IS
    'The last 1000 sessions the reaper terminated (or would have, in monitor mode), oldest first';

CREATE FUNCTION pgpool_stats.reap(application_name text, idle_for interval, dry_run boolean DEFAULT true)
RETURNS SETOF pgpool_stats.reaped
AS 'MODULE_PATHNAME', 'pgpool_stats_reap_1_0'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pgpool_stats.reap(text, interval, boolean) IS
    'Terminate (dry_run: list) the application''s sessions idle in a transaction longer than idle_for';

------------------------------------------------------------------------------
-- Recommendations (method: docs/recommendations.md)
------------------------------------------------------------------------------

CREATE TYPE pgpool_stats.recommendation AS (
    application_name text,
    "window" interval,
    samples int,
    instances int,
    mean_active float8,
    p95_active float8,
    p99_active float8,
    peak_active int,
    peak_connections int,
    idle_in_transaction_share float8,
    connects_per_second float8,
    max_connections int,
    reserved_connections int,
    pool_size int,
    max_overflow int,
    pool_timeout_seconds int,
    idle_in_transaction_timeout interval,
    findings text[],
    rationale text);

CREATE FUNCTION pgpool_stats.recommend(
    application_name text DEFAULT NULL,
    "window" interval DEFAULT '1 hour',
    instances int DEFAULT NULL,
    target_utilization float8 DEFAULT 0.7)
RETURNS SETOF pgpool_stats.recommendation
AS 'MODULE_PATHNAME', 'pgpool_stats_recommend_1_0'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pgpool_stats.recommend(text, interval, int, float8) IS
    'Recommended budget and per-instance pool settings per application, from the history of the window';

CREATE VIEW pgpool_stats.recommendations AS
    SELECT * FROM pgpool_stats.recommend();

COMMENT ON VIEW pgpool_stats.recommendations IS
    'pgpool_stats.recommend() for every application, over the last hour';

-- Not STRICT: a NULL application or client is an error, not a silent NULL.
CREATE FUNCTION pgpool_stats.pool_config(
    application_name text,
    client text DEFAULT 'json',
    instances int DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgpool_stats_pool_config_1_0'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pgpool_stats.pool_config(text, text, int) IS
    'recommend() of one application as ready-to-paste settings for json, sqlalchemy, hikaricp, asyncpg, psycopg_pool or pgbouncer';

CREATE FUNCTION pgpool_stats.report("window" interval DEFAULT '1 hour')
RETURNS text
AS 'MODULE_PATHNAME', 'pgpool_stats_report_1_0'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pgpool_stats.report(interval) IS
    'A self-contained HTML page: connections and active sessions per application over the window, budgets and reservations drawn on them, findings and recommendations beside them';

------------------------------------------------------------------------------
-- Privileges: reading is for pg_monitor; changing state is the superuser's
-- to grant.
------------------------------------------------------------------------------

REVOKE ALL ON pgpool_stats.budget, pgpool_stats.applications, pgpool_stats.capacity,
    pgpool_stats.history, pgpool_stats.history_minutes, pgpool_stats.history_hours,
    pgpool_stats.reaped, pgpool_stats.recommendations FROM PUBLIC;
REVOKE ALL ON FUNCTION
    pgpool_stats.budget_validate(),
    pgpool_stats.budget_check_roles(),
    pgpool_stats.budget_check_capacity(),
    pgpool_stats.budget_trigger(),
    pgpool_stats.budget_writable_here(),
    pgpool_stats.set_budget(text, int, int, text, interval, interval, interval, name[], text),
    pgpool_stats.drop_budget(text),
    pgpool_stats.applications_snapshot(),
    pgpool_stats.capacity_snapshot(),
    pgpool_stats.history_snapshot(),
    pgpool_stats.history_minutes_snapshot(),
    pgpool_stats.history_hours_snapshot(),
    pgpool_stats.metrics(),
    pgpool_stats.reaped_snapshot(),
    pgpool_stats.reap(text, interval, boolean),
    pgpool_stats.recommend(text, interval, int, float8),
    pgpool_stats.pool_config(text, text, int),
    pgpool_stats.report(interval),
    pgpool_stats.reset(text)
FROM PUBLIC;

GRANT SELECT ON pgpool_stats.budget, pgpool_stats.applications, pgpool_stats.capacity,
    pgpool_stats.history, pgpool_stats.history_minutes, pgpool_stats.history_hours,
    pgpool_stats.reaped, pgpool_stats.recommendations TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgpool_stats.applications_snapshot(), pgpool_stats.capacity_snapshot(),
    pgpool_stats.history_snapshot(), pgpool_stats.history_minutes_snapshot(),
    pgpool_stats.history_hours_snapshot(), pgpool_stats.metrics(), pgpool_stats.reaped_snapshot(),
    pgpool_stats.recommend(text, interval, int, float8),
    pgpool_stats.pool_config(text, text, int),
    pgpool_stats.report(interval) TO pg_monitor;
