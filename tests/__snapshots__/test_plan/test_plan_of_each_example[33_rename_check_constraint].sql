-- pgroll-dsl 0.1.0 plan for migration 33_rename_check_constraint
-- target schema: public; new version schema: public_33_rename_check_constraint
-- previous version schema: public_32_sql_on_complete
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

-- ==== start (23 steps) ====

-- steps 1-23 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 33_rename_check_constraint.yaml:1:1: create version schema public_33_rename_check_constraint
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_33_rename_check_constraint";

-- [2] 33_rename_check_constraint.yaml:1:1: view bills of version public_33_rename_check_constraint
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_33_rename_check_constraint"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [3] 33_rename_check_constraint.yaml:1:1: view clients of version public_33_rename_check_constraint
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_33_rename_check_constraint"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [4] 33_rename_check_constraint.yaml:1:1: view employees of version public_33_rename_check_constraint
--     lock: ACCESS SHARE on employees; catalog only
CREATE VIEW "public_33_rename_check_constraint"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "job_title" AS "job_title" FROM "public"."employees";

-- [5] 33_rename_check_constraint.yaml:1:1: a column default of view employees
--     lock: none on employees; catalog only
ALTER VIEW "public_33_rename_check_constraint"."employees" ALTER COLUMN "id" SET DEFAULT nextval('employees_id_seq'::regclass);

-- [6] 33_rename_check_constraint.yaml:1:1: view fruits of version public_33_rename_check_constraint
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_33_rename_check_constraint"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."fruits";

-- [7] 33_rename_check_constraint.yaml:1:1: view items of version public_33_rename_check_constraint
--     lock: ACCESS SHARE on items; catalog only
CREATE VIEW "public_33_rename_check_constraint"."items" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "created_at" AS "created_at" FROM "public"."items";

-- [8] 33_rename_check_constraint.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_33_rename_check_constraint"."items" ALTER COLUMN "id" SET DEFAULT nextval('items_id_seq'::regclass);

-- [9] 33_rename_check_constraint.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_33_rename_check_constraint"."items" ALTER COLUMN "name" SET DEFAULT 'unnamed';

-- [10] 33_rename_check_constraint.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_33_rename_check_constraint"."items" ALTER COLUMN "price" SET DEFAULT 0.00;

-- [11] 33_rename_check_constraint.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_33_rename_check_constraint"."items" ALTER COLUMN "created_at" SET DEFAULT now();

-- [12] 33_rename_check_constraint.yaml:1:1: view orders of version public_33_rename_check_constraint
--     lock: ACCESS SHARE on orders; catalog only
CREATE VIEW "public_33_rename_check_constraint"."orders" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "quantity" AS "quantity" FROM "public"."orders";

-- [13] 33_rename_check_constraint.yaml:1:1: a column default of view orders
--     lock: none on orders; catalog only
ALTER VIEW "public_33_rename_check_constraint"."orders" ALTER COLUMN "id" SET DEFAULT nextval('orders_id_seq'::regclass);

-- [14] 33_rename_check_constraint.yaml:1:1: view people of version public_33_rename_check_constraint
--     lock: ACCESS SHARE on people; catalog only
CREATE VIEW "public_33_rename_check_constraint"."people" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "age" AS "age", "description" AS "description", "birth_date" AS "birth_date" FROM "public"."people";

-- [15] 33_rename_check_constraint.yaml:1:1: a column default of view people
--     lock: none on people; catalog only
ALTER VIEW "public_33_rename_check_constraint"."people" ALTER COLUMN "age" SET DEFAULT 18;

-- [16] 33_rename_check_constraint.yaml:1:1: view posts of version public_33_rename_check_constraint
--     lock: ACCESS SHARE on posts; catalog only
CREATE VIEW "public_33_rename_check_constraint"."posts" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "title" AS "title" FROM "public"."posts";

-- [17] 33_rename_check_constraint.yaml:1:1: a column default of view posts
--     lock: none on posts; catalog only
ALTER VIEW "public_33_rename_check_constraint"."posts" ALTER COLUMN "id" SET DEFAULT nextval('posts_id_seq'::regclass);

-- [18] 33_rename_check_constraint.yaml:1:1: view reviews of version public_33_rename_check_constraint
--     lock: ACCESS SHARE on reviews; catalog only
CREATE VIEW "public_33_rename_check_constraint"."reviews" WITH (security_invoker = true) AS SELECT "id" AS "id", "username" AS "username", "product" AS "product", "rating" AS "rating", "review" AS "review" FROM "public"."reviews";

-- [19] 33_rename_check_constraint.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_33_rename_check_constraint"."reviews" ALTER COLUMN "id" SET DEFAULT nextval('reviews_id_seq'::regclass);

-- [20] 33_rename_check_constraint.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_33_rename_check_constraint"."reviews" ALTER COLUMN "rating" SET DEFAULT 0;

-- [21] 33_rename_check_constraint.yaml:1:1: view sellers of version public_33_rename_check_constraint
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_33_rename_check_constraint"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [22] 33_rename_check_constraint.yaml:1:1: view users of version public_33_rename_check_constraint
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_33_rename_check_constraint"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- [23] 33_rename_check_constraint.yaml:1:1: the roles that use public and its tables get the same rights on public_33_rename_check_constraint and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_33_rename_check_constraint' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_33_rename_check_constraint') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_33_rename_check_constraint"."bills"', 'bills', 'bills'),
      ('"public_33_rename_check_constraint"."clients"', 'clients', 'clients'),
      ('"public_33_rename_check_constraint"."employees"', 'employees', 'employees'),
      ('"public_33_rename_check_constraint"."fruits"', 'fruits', 'fruits'),
      ('"public_33_rename_check_constraint"."items"', 'items', 'items'),
      ('"public_33_rename_check_constraint"."orders"', 'orders', 'orders'),
      ('"public_33_rename_check_constraint"."people"', 'people', 'people'),
      ('"public_33_rename_check_constraint"."posts"', 'posts', 'posts'),
      ('"public_33_rename_check_constraint"."reviews"', 'reviews', 'reviews'),
      ('"public_33_rename_check_constraint"."sellers"', 'sellers', 'sellers'),
      ('"public_33_rename_check_constraint"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_33_rename_check_constraint')),
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

-- (the live executor records steps 1-23 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== complete (4 steps) ====

-- steps 1-4 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 33_rename_check_constraint.yaml:1:1: drop the previous version schema public_32_sql_on_complete
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_32_sql_on_complete"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_32_sql_on_complete"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_32_sql_on_complete"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_32_sql_on_complete" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_32_sql_on_complete" CASCADE;
END
$pgroll$;

-- [2] 33_rename_check_constraint.yaml:1:1: lock people for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on people; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."people"') IS NOT NULL THEN
    LOCK TABLE "public"."people" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 33_rename_check_constraint.yaml:3:7: rename constraint name_length to name_length_check
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite renaming-object: the object keeps working; only its name changes
-- squawk-ignore renaming-object
ALTER TABLE IF EXISTS "public"."people" RENAME CONSTRAINT "name_length" TO "name_length_check";

-- [4] 33_rename_check_constraint.yaml:1:1: the rights granted on public and its tables since start reach public_33_rename_check_constraint and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_33_rename_check_constraint' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_33_rename_check_constraint') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_33_rename_check_constraint"."bills"', 'bills', 'bills'),
      ('"public_33_rename_check_constraint"."clients"', 'clients', 'clients'),
      ('"public_33_rename_check_constraint"."employees"', 'employees', 'employees'),
      ('"public_33_rename_check_constraint"."fruits"', 'fruits', 'fruits'),
      ('"public_33_rename_check_constraint"."items"', 'items', 'items'),
      ('"public_33_rename_check_constraint"."orders"', 'orders', 'orders'),
      ('"public_33_rename_check_constraint"."people"', 'people', 'people'),
      ('"public_33_rename_check_constraint"."posts"', 'posts', 'posts'),
      ('"public_33_rename_check_constraint"."reviews"', 'reviews', 'reviews'),
      ('"public_33_rename_check_constraint"."sellers"', 'sellers', 'sellers'),
      ('"public_33_rename_check_constraint"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_33_rename_check_constraint')),
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

-- [1] 33_rename_check_constraint.yaml:1:1: drop version schema public_33_rename_check_constraint
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_33_rename_check_constraint"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_33_rename_check_constraint"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_33_rename_check_constraint"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_33_rename_check_constraint" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_33_rename_check_constraint" CASCADE;
END
$pgroll$;
