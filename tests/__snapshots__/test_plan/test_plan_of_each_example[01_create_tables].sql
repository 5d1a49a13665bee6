-- pgroll-dsl 0.1.0 plan for migration 01_create_tables
-- target schema: public; new version schema: public_01_create_tables
-- previous version schema: (none)
-- catalog: empty
-- Generated: review it, do not edit it. Each phase runs with psql -v ON_ERROR_STOP=1.
-- safe despite require-statement-timeout: index builds, VALIDATE and the batched backfill legitimately run long; every lock wait is bounded by lock_timeout
-- safe despite prefer-robust-stmts: a phase is not re-run blindly: a failed start is undone by rollback, whose steps all tolerate a partial start
-- safe despite prefer-bigint-over-int: the type is the author's choice
-- safe despite prefer-text-field: the type is the author's choice
-- squawk-ignore-file require-statement-timeout, prefer-robust-stmts, prefer-bigint-over-int, prefer-text-field
SET client_encoding = 'UTF8';
SET pgroll.no_inferred_migrations = 'TRUE';
SET standard_conforming_strings = 'on';
SET statement_timeout = '0';
DO $$BEGIN IF pg_catalog.current_setting('server_version_num')::int >= 170000 THEN SET transaction_timeout = '0'; END IF; END$$;
DO $$BEGIN IF pg_catalog.current_setting('server_version_num')::int >= 140000 THEN SET idle_session_timeout = '0'; END IF; END$$;
SET default_transaction_isolation = 'read committed';
SET client_min_messages = 'notice';
SET row_security = 'off';
SET exit_on_error = 'off';
SET default_tablespace = '';
SET extra_float_digits = '3';
SET search_path TO "public";
SET lock_timeout = '500ms';

-- ==== start (8 steps) ====

-- [1] 01_create_tables.yaml:3:7: create table customers
--     lock: none on customers; catalog only
CREATE TABLE "public"."customers" (
  "id" int,
  "name" varchar(255) NOT NULL UNIQUE,
  "credit_card" text,
  PRIMARY KEY ("id")
);

-- [2] 01_create_tables.yaml:15:7: create table bills
--     lock: none on bills; catalog only
CREATE TABLE "public"."bills" (
  "id" int,
  "date" timetz NOT NULL,
  "quantity" int NOT NULL,
  PRIMARY KEY ("id")
);

-- [3] 01_create_tables.yaml:25:7: create table sellers
--     lock: none on sellers; catalog only
CREATE TABLE "public"."sellers" (
  "name" varchar(255),
  "zip" int,
  "description" varchar(255),
  PRIMARY KEY ("name", "zip")
);

-- steps 4-8 run in one transaction: clients see all of them or none
BEGIN;

-- [4] 01_create_tables.yaml:1:1: create version schema public_01_create_tables
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_01_create_tables";

-- [5] 01_create_tables.yaml:1:1: view bills of version public_01_create_tables
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_01_create_tables"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [6] 01_create_tables.yaml:1:1: view customers of version public_01_create_tables
--     lock: ACCESS SHARE on customers; catalog only
CREATE VIEW "public_01_create_tables"."customers" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."customers";

-- [7] 01_create_tables.yaml:1:1: view sellers of version public_01_create_tables
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_01_create_tables"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [8] 01_create_tables.yaml:1:1: the roles that use public and its tables get the same rights on public_01_create_tables and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_01_create_tables' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_01_create_tables') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_01_create_tables"."bills"', 'bills', 'bills'),
      ('"public_01_create_tables"."customers"', 'customers', 'customers'),
      ('"public_01_create_tables"."sellers"', 'sellers', 'sellers')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_01_create_tables')),
    has AS MATERIALIZED (SELECT f.v_oid, h.grantee, h.privilege_type, h.is_grantable
      FROM found f CROSS JOIN LATERAL pg_catalog.aclexplode(f.v_acl) h)
    SELECT f.view, g.privilege_type, g.grantee, g.is_grantable, NULL::text AS col
      FROM found f CROSS JOIN LATERAL pg_catalog.aclexplode(f.t_acl) g
      WHERE g.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REFERENCES', 'TRIGGER')
        AND NOT EXISTS (SELECT FROM has h WHERE h.v_oid = f.v_oid AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable))
    UNION ALL
    SELECT f.view, g.privilege_type, g.grantee, g.is_grantable, COALESCE(m.name, a.attname)
      FROM found f JOIN pg_catalog.pg_attribute a ON a.attrelid = f.t_oid AND a.attacl IS NOT NULL
      LEFT JOIN names m ON m.view = f.view AND m.physical = a.attname
      CROSS JOIN LATERAL pg_catalog.aclexplode(a.attacl) g
      WHERE g.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REFERENCES', 'TRIGGER') AND EXISTS (SELECT FROM pg_catalog.pg_attribute va
        WHERE va.attrelid = f.v_oid AND va.attname = COALESCE(m.name, a.attname) AND NOT va.attisdropped
          AND NOT EXISTS (SELECT FROM pg_catalog.aclexplode(va.attacl) h WHERE h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)))
  LOOP
    EXECUTE pg_catalog.format('GRANT %s%s ON %s TO ', _pgroll_grant.privilege_type,
      CASE WHEN _pgroll_grant.col IS NULL THEN '' ELSE pg_catalog.format(' (%I)', _pgroll_grant.col) END, _pgroll_grant.view)
      || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
END
$pgroll$;

-- (the live executor records steps 4-8 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== complete (1 step) ====

-- [1] 01_create_tables.yaml:1:1: the rights granted on public and its tables since start reach public_01_create_tables and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_01_create_tables' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_01_create_tables') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_01_create_tables"."bills"', 'bills', 'bills'),
      ('"public_01_create_tables"."customers"', 'customers', 'customers'),
      ('"public_01_create_tables"."sellers"', 'sellers', 'sellers')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_01_create_tables')),
    has AS MATERIALIZED (SELECT f.v_oid, h.grantee, h.privilege_type, h.is_grantable
      FROM found f CROSS JOIN LATERAL pg_catalog.aclexplode(f.v_acl) h)
    SELECT f.view, g.privilege_type, g.grantee, g.is_grantable, NULL::text AS col
      FROM found f CROSS JOIN LATERAL pg_catalog.aclexplode(f.t_acl) g
      WHERE g.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REFERENCES', 'TRIGGER')
        AND NOT EXISTS (SELECT FROM has h WHERE h.v_oid = f.v_oid AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable))
    UNION ALL
    SELECT f.view, g.privilege_type, g.grantee, g.is_grantable, COALESCE(m.name, a.attname)
      FROM found f JOIN pg_catalog.pg_attribute a ON a.attrelid = f.t_oid AND a.attacl IS NOT NULL
      LEFT JOIN names m ON m.view = f.view AND m.physical = a.attname
      CROSS JOIN LATERAL pg_catalog.aclexplode(a.attacl) g
      WHERE g.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REFERENCES', 'TRIGGER') AND EXISTS (SELECT FROM pg_catalog.pg_attribute va
        WHERE va.attrelid = f.v_oid AND va.attname = COALESCE(m.name, a.attname) AND NOT va.attisdropped
          AND NOT EXISTS (SELECT FROM pg_catalog.aclexplode(va.attacl) h WHERE h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)))
  LOOP
    EXECUTE pg_catalog.format('GRANT %s%s ON %s TO ', _pgroll_grant.privilege_type,
      CASE WHEN _pgroll_grant.col IS NULL THEN '' ELSE pg_catalog.format(' (%I)', _pgroll_grant.col) END, _pgroll_grant.view)
      || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
END
$pgroll$;

-- ==== rollback (5 steps) ====

-- steps 1-5 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 01_create_tables.yaml:1:1: drop version schema public_01_create_tables
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_01_create_tables"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_01_create_tables"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_01_create_tables"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_01_create_tables" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_01_create_tables" CASCADE;
END
$pgroll$;

-- [2] 01_create_tables.yaml:1:1: lock bills, customers, sellers for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on bills, customers, sellers; catalog only
DO $pgroll_lock$
DECLARE
  _pgroll_since timestamptz := pg_catalog.clock_timestamp();
  _pgroll_wait text := pg_catalog.current_setting('lock_timeout');
BEGIN
  IF _pgroll_wait <> '0' AND COALESCE(pg_catalog.current_setting('pgroll_dsl.lock_queue', true), '') = '' THEN
    LOOP
      BEGIN
        PERFORM pg_catalog.set_config('lock_timeout', greatest(1, pg_catalog.ceil(1000 * extract(epoch FROM _pgroll_wait::interval - (pg_catalog.clock_timestamp() - _pgroll_since))))::text, true);
        IF pg_catalog.to_regclass('"public"."bills"') IS NOT NULL THEN
          LOCK TABLE ONLY "public"."bills" IN ACCESS EXCLUSIVE MODE;
        END IF;
        IF pg_catalog.to_regclass('"public"."bills"') IS NOT NULL THEN
          LOCK TABLE "public"."bills" IN ACCESS EXCLUSIVE MODE NOWAIT;
        END IF;
        IF pg_catalog.to_regclass('"public"."customers"') IS NOT NULL THEN
          LOCK TABLE "public"."customers" IN ACCESS EXCLUSIVE MODE NOWAIT;
        END IF;
        IF pg_catalog.to_regclass('"public"."sellers"') IS NOT NULL THEN
          LOCK TABLE "public"."sellers" IN ACCESS EXCLUSIVE MODE NOWAIT;
        END IF;
        PERFORM pg_catalog.set_config('lock_timeout', _pgroll_wait, true);
        EXIT;
      EXCEPTION WHEN lock_not_available THEN  -- a client holds one: none is kept
        IF pg_catalog.clock_timestamp() - _pgroll_since >= _pgroll_wait::interval THEN
          RAISE;
        END IF;
        PERFORM pg_catalog.pg_sleep(0.005);
      END;
    END LOOP;
  END IF;
  IF pg_catalog.to_regclass('"public"."bills"') IS NOT NULL THEN
    LOCK TABLE "public"."bills" IN ACCESS EXCLUSIVE MODE;
  END IF;
  IF pg_catalog.to_regclass('"public"."customers"') IS NOT NULL THEN
    LOCK TABLE "public"."customers" IN ACCESS EXCLUSIVE MODE;
  END IF;
  IF pg_catalog.to_regclass('"public"."sellers"') IS NOT NULL THEN
    LOCK TABLE "public"."sellers" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll_lock$;

-- [3] 01_create_tables.yaml:25:7: drop table sellers
--     lock: ACCESS EXCLUSIVE on sellers; catalog only
--     safe despite ban-drop-table: complete or rollback: no client reads this table
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS "public"."sellers";

-- [4] 01_create_tables.yaml:15:7: drop table bills
--     lock: ACCESS EXCLUSIVE on bills; catalog only
--     safe despite ban-drop-table: complete or rollback: no client reads this table
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS "public"."bills";

-- [5] 01_create_tables.yaml:3:7: drop table customers
--     lock: ACCESS EXCLUSIVE on customers; catalog only
--     safe despite ban-drop-table: complete or rollback: no client reads this table
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS "public"."customers";

-- (the live executor records steps 1-5 as done in its state schema here, in the same transaction)
COMMIT;
