-- pgroll-dsl 0.1.0 plan for migration 28_different_defaults
-- target schema: public; new version schema: public_28_different_defaults
-- previous version schema: public_27_drop_unique_constraint
-- catalog: empty
-- Generated: review it, do not edit it. Each phase runs with psql -v ON_ERROR_STOP=1.
-- safe despite require-statement-timeout: index builds, VALIDATE and the batched backfill legitimately run long; every lock wait is bounded by lock_timeout
-- safe despite prefer-robust-stmts: a phase is not re-run blindly: a failed start is undone by rollback, whose steps all tolerate a partial start
-- safe despite prefer-bigint-over-int: the type is the author's choice
-- safe despite prefer-text-field: the type is the author's choice
-- safe despite prefer-identity: the type is the author's choice
-- squawk-ignore-file require-statement-timeout, prefer-robust-stmts, prefer-bigint-over-int, prefer-text-field, prefer-identity
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

-- ==== start (24 steps) ====

-- [1] 28_different_defaults.yaml:3:7: create table items
--     lock: none on items; catalog only
CREATE TABLE "public"."items" (
  "id" serial,
  "name" varchar(255) NOT NULL DEFAULT ('unnamed'),
  "price" numeric(10,2) NOT NULL DEFAULT (0.00),
  "created_at" timestamptz NOT NULL DEFAULT (now()),
  PRIMARY KEY ("id")
);

-- steps 2-24 run in one transaction: clients see all of them or none
BEGIN;

-- [2] 28_different_defaults.yaml:1:1: create version schema public_28_different_defaults
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_28_different_defaults";

-- [3] 28_different_defaults.yaml:1:1: view bills of version public_28_different_defaults
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_28_different_defaults"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [4] 28_different_defaults.yaml:1:1: view clients of version public_28_different_defaults
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_28_different_defaults"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [5] 28_different_defaults.yaml:1:1: view employees of version public_28_different_defaults
--     lock: ACCESS SHARE on employees; catalog only
CREATE VIEW "public_28_different_defaults"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "job_title" AS "job_title" FROM "public"."employees";

-- [6] 28_different_defaults.yaml:1:1: a column default of view employees
--     lock: none on employees; catalog only
ALTER VIEW "public_28_different_defaults"."employees" ALTER COLUMN "id" SET DEFAULT nextval('employees_id_seq'::regclass);

-- [7] 28_different_defaults.yaml:1:1: view fruits of version public_28_different_defaults
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_28_different_defaults"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."fruits";

-- [8] 28_different_defaults.yaml:1:1: view items of version public_28_different_defaults
--     lock: ACCESS SHARE on items; catalog only
CREATE VIEW "public_28_different_defaults"."items" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "created_at" AS "created_at" FROM "public"."items";

-- [9] 28_different_defaults.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_28_different_defaults"."items" ALTER COLUMN "id" SET DEFAULT nextval('items_id_seq'::regclass);

-- [10] 28_different_defaults.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_28_different_defaults"."items" ALTER COLUMN "name" SET DEFAULT 'unnamed';

-- [11] 28_different_defaults.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_28_different_defaults"."items" ALTER COLUMN "price" SET DEFAULT 0.00;

-- [12] 28_different_defaults.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_28_different_defaults"."items" ALTER COLUMN "created_at" SET DEFAULT now();

-- [13] 28_different_defaults.yaml:1:1: view orders of version public_28_different_defaults
--     lock: ACCESS SHARE on orders; catalog only
CREATE VIEW "public_28_different_defaults"."orders" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "quantity" AS "quantity" FROM "public"."orders";

-- [14] 28_different_defaults.yaml:1:1: a column default of view orders
--     lock: none on orders; catalog only
ALTER VIEW "public_28_different_defaults"."orders" ALTER COLUMN "id" SET DEFAULT nextval('orders_id_seq'::regclass);

-- [15] 28_different_defaults.yaml:1:1: view people of version public_28_different_defaults
--     lock: ACCESS SHARE on people; catalog only
CREATE VIEW "public_28_different_defaults"."people" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "age" AS "age" FROM "public"."people";

-- [16] 28_different_defaults.yaml:1:1: a column default of view people
--     lock: none on people; catalog only
ALTER VIEW "public_28_different_defaults"."people" ALTER COLUMN "age" SET DEFAULT 18;

-- [17] 28_different_defaults.yaml:1:1: view posts of version public_28_different_defaults
--     lock: ACCESS SHARE on posts; catalog only
CREATE VIEW "public_28_different_defaults"."posts" WITH (security_invoker = true) AS SELECT "id" AS "id", "title" AS "title", "user_id" AS "user_id" FROM "public"."posts";

-- [18] 28_different_defaults.yaml:1:1: a column default of view posts
--     lock: none on posts; catalog only
ALTER VIEW "public_28_different_defaults"."posts" ALTER COLUMN "id" SET DEFAULT nextval('posts_id_seq'::regclass);

-- [19] 28_different_defaults.yaml:1:1: view reviews of version public_28_different_defaults
--     lock: ACCESS SHARE on reviews; catalog only
CREATE VIEW "public_28_different_defaults"."reviews" WITH (security_invoker = true) AS SELECT "id" AS "id", "username" AS "username", "product" AS "product", "rating" AS "rating", "review" AS "review" FROM "public"."reviews";

-- [20] 28_different_defaults.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_28_different_defaults"."reviews" ALTER COLUMN "id" SET DEFAULT nextval('reviews_id_seq'::regclass);

-- [21] 28_different_defaults.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_28_different_defaults"."reviews" ALTER COLUMN "rating" SET DEFAULT 0;

-- [22] 28_different_defaults.yaml:1:1: view sellers of version public_28_different_defaults
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_28_different_defaults"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [23] 28_different_defaults.yaml:1:1: view users of version public_28_different_defaults
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_28_different_defaults"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- [24] 28_different_defaults.yaml:1:1: the roles that use public and its tables get the same rights on public_28_different_defaults and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_28_different_defaults' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_28_different_defaults') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_28_different_defaults"."bills"', 'bills', 'bills'),
      ('"public_28_different_defaults"."clients"', 'clients', 'clients'),
      ('"public_28_different_defaults"."employees"', 'employees', 'employees'),
      ('"public_28_different_defaults"."fruits"', 'fruits', 'fruits'),
      ('"public_28_different_defaults"."items"', 'items', 'items'),
      ('"public_28_different_defaults"."orders"', 'orders', 'orders'),
      ('"public_28_different_defaults"."people"', 'people', 'people'),
      ('"public_28_different_defaults"."posts"', 'posts', 'posts'),
      ('"public_28_different_defaults"."reviews"', 'reviews', 'reviews'),
      ('"public_28_different_defaults"."sellers"', 'sellers', 'sellers'),
      ('"public_28_different_defaults"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_28_different_defaults')),
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

-- (the live executor records steps 2-24 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== complete (2 steps) ====

-- steps 1-2 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 28_different_defaults.yaml:1:1: drop the previous version schema public_27_drop_unique_constraint
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_27_drop_unique_constraint"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_27_drop_unique_constraint"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_27_drop_unique_constraint"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_27_drop_unique_constraint" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_27_drop_unique_constraint" CASCADE;
END
$pgroll$;

-- [2] 28_different_defaults.yaml:1:1: the rights granted on public and its tables since start reach public_28_different_defaults and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_28_different_defaults' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_28_different_defaults') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_28_different_defaults"."bills"', 'bills', 'bills'),
      ('"public_28_different_defaults"."clients"', 'clients', 'clients'),
      ('"public_28_different_defaults"."employees"', 'employees', 'employees'),
      ('"public_28_different_defaults"."fruits"', 'fruits', 'fruits'),
      ('"public_28_different_defaults"."items"', 'items', 'items'),
      ('"public_28_different_defaults"."orders"', 'orders', 'orders'),
      ('"public_28_different_defaults"."people"', 'people', 'people'),
      ('"public_28_different_defaults"."posts"', 'posts', 'posts'),
      ('"public_28_different_defaults"."reviews"', 'reviews', 'reviews'),
      ('"public_28_different_defaults"."sellers"', 'sellers', 'sellers'),
      ('"public_28_different_defaults"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_28_different_defaults')),
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

-- (the live executor records steps 1-2 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== rollback (3 steps) ====

-- steps 1-3 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 28_different_defaults.yaml:1:1: drop version schema public_28_different_defaults
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_28_different_defaults"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_28_different_defaults"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_28_different_defaults"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_28_different_defaults" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_28_different_defaults" CASCADE;
END
$pgroll$;

-- [2] 28_different_defaults.yaml:1:1: lock items for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on items; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."items"') IS NOT NULL THEN
    LOCK TABLE "public"."items" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 28_different_defaults.yaml:3:7: drop table items
--     lock: ACCESS EXCLUSIVE on items; catalog only
--     safe despite ban-drop-table: complete or rollback: no client reads this table
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS "public"."items";

-- (the live executor records steps 1-3 as done in its state schema here, in the same transaction)
COMMIT;
