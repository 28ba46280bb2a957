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
                  HINT = 'Check what the schema holds, then drop it (or ALTER SCHEMA pgpool_stats OWNER TO a superuser) and run the command again.';
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
END
$$;
