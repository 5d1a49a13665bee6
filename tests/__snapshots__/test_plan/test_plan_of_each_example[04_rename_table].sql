-- pgroll-dsl 0.1.0 plan for migration 04_rename_table
-- target schema: public; new version schema: public_04_rename_table
-- previous version schema: public_03_add_column
-- catalog: empty
-- Generated: review it, do not edit it. Each phase runs with psql -v ON_ERROR_STOP=1.
-- safe despite require-statement-timeout: index builds, VALIDATE and the batched backfill legitimately run long; every lock wait is bounded by lock_timeout
-- safe despite prefer-robust-stmts: a phase is not re-run blindly: a failed start is undone by rollback, whose steps all tolerate a partial start
-- squawk-ignore-file require-statement-timeout, prefer-robust-stmts
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

-- steps 1-8 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 04_rename_table.yaml:1:1: create version schema public_04_rename_table
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_04_rename_table";

-- [2] 04_rename_table.yaml:1:1: view bills of version public_04_rename_table
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_04_rename_table"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [3] 04_rename_table.yaml:1:1: view clients of version public_04_rename_table
--     lock: ACCESS SHARE on customers; catalog only
CREATE VIEW "public_04_rename_table"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."customers";

-- [4] 04_rename_table.yaml:1:1: view products of version public_04_rename_table
--     lock: ACCESS SHARE on products; catalog only
CREATE VIEW "public_04_rename_table"."products" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "description" AS "description", "stock" AS "stock", "category" AS "category" FROM "public"."products";

-- [5] 04_rename_table.yaml:1:1: a column default of view products
--     lock: none on products; catalog only
ALTER VIEW "public_04_rename_table"."products" ALTER COLUMN "id" SET DEFAULT nextval('products_id_seq'::regclass);

-- [6] 04_rename_table.yaml:1:1: a column default of view products
--     lock: none on products; catalog only
ALTER VIEW "public_04_rename_table"."products" ALTER COLUMN "stock" SET DEFAULT 100;

-- [7] 04_rename_table.yaml:1:1: view sellers of version public_04_rename_table
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_04_rename_table"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [8] 04_rename_table.yaml:1:1: the roles that use public and its tables get the same rights on public_04_rename_table and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_04_rename_table' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_04_rename_table') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_04_rename_table"."bills"', 'bills', 'bills'),
      ('"public_04_rename_table"."clients"', 'clients', 'customers'),
      ('"public_04_rename_table"."products"', 'products', 'products'),
      ('"public_04_rename_table"."sellers"', 'sellers', 'sellers')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_04_rename_table')),
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

-- (the live executor records steps 1-8 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== complete (4 steps) ====

-- steps 1-4 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 04_rename_table.yaml:1:1: drop the previous version schema public_03_add_column
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_03_add_column"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_03_add_column"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_03_add_column"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_03_add_column" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_03_add_column" CASCADE;
END
$pgroll$;

-- [2] 04_rename_table.yaml:1:1: lock customers for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on customers; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."customers"') IS NOT NULL THEN
    LOCK TABLE "public"."customers" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 04_rename_table.yaml:3:7: rename table customers to clients
--     lock: ACCESS EXCLUSIVE on customers; catalog only
--     safe despite renaming-table: clients use version-schema views, which follow the rename
--     safe despite renaming-object: the object keeps working; only its name changes
-- squawk-ignore renaming-table, renaming-object
ALTER TABLE IF EXISTS "public"."customers" RENAME TO "clients";

-- [4] 04_rename_table.yaml:1:1: the rights granted on public and its tables since start reach public_04_rename_table and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_04_rename_table' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_04_rename_table') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_04_rename_table"."bills"', 'bills', 'bills'),
      ('"public_04_rename_table"."clients"', 'clients', 'clients'),
      ('"public_04_rename_table"."products"', 'products', 'products'),
      ('"public_04_rename_table"."sellers"', 'sellers', 'sellers')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_04_rename_table')),
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

-- (the live executor records steps 1-4 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== rollback (1 step) ====

-- [1] 04_rename_table.yaml:1:1: drop version schema public_04_rename_table
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_04_rename_table"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_04_rename_table"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_04_rename_table"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_04_rename_table" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_04_rename_table" CASCADE;
END
$pgroll$;
