-- pgroll-dsl 0.1.0 plan for migration 41_add_enum_column
-- target schema: public; new version schema: public_41_add_enum_column
-- previous version schema: public_40_create_enum_type
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

-- ==== start (29 steps) ====

-- [1] 41_add_enum_column.yaml:3:7: add column fruits.size as _pgroll_new_size
--     lock: ACCESS EXCLUSIVE on fruits; catalog only
--     safe despite adding-field-with-default: a constant default: PostgreSQL adds it without rewriting the table
-- squawk-ignore adding-field-with-default
ALTER TABLE "public"."fruits" ADD COLUMN "_pgroll_new_size" fruit_size DEFAULT ('small') NOT NULL;

-- steps 2-29 run in one transaction: clients see all of them or none
BEGIN;

-- [2] 41_add_enum_column.yaml:1:1: create version schema public_41_add_enum_column
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_41_add_enum_column";

-- [3] 41_add_enum_column.yaml:1:1: view bills of version public_41_add_enum_column
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_41_add_enum_column"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [4] 41_add_enum_column.yaml:1:1: view clients of version public_41_add_enum_column
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_41_add_enum_column"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [5] 41_add_enum_column.yaml:1:1: view employees of version public_41_add_enum_column
--     lock: ACCESS SHARE on employees; catalog only
CREATE VIEW "public_41_add_enum_column"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "job_title" AS "job_title" FROM "public"."employees";

-- [6] 41_add_enum_column.yaml:1:1: a column default of view employees
--     lock: none on employees; catalog only
ALTER VIEW "public_41_add_enum_column"."employees" ALTER COLUMN "id" SET DEFAULT nextval('employees_id_seq'::regclass);

-- [7] 41_add_enum_column.yaml:1:1: view events of version public_41_add_enum_column
--     lock: ACCESS SHARE on events; catalog only
CREATE VIEW "public_41_add_enum_column"."events" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."events";

-- [8] 41_add_enum_column.yaml:1:1: a column default of view events
--     lock: none on events; catalog only
ALTER VIEW "public_41_add_enum_column"."events" ALTER COLUMN "id" SET DEFAULT nextval('events_id_seq'::regclass);

-- [9] 41_add_enum_column.yaml:1:1: a column default of view events
--     lock: none on events; catalog only
ALTER VIEW "public_41_add_enum_column"."events" ALTER COLUMN "name" SET DEFAULT 'unknown event';

-- [10] 41_add_enum_column.yaml:1:1: view fruits of version public_41_add_enum_column
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_41_add_enum_column"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "_pgroll_new_size" AS "size" FROM "public"."fruits";

-- [11] 41_add_enum_column.yaml:1:1: a column default of view fruits
--     lock: none on fruits; catalog only
ALTER VIEW "public_41_add_enum_column"."fruits" ALTER COLUMN "size" SET DEFAULT 'small';

-- [12] 41_add_enum_column.yaml:1:1: view items of version public_41_add_enum_column
--     lock: ACCESS SHARE on items; catalog only
CREATE VIEW "public_41_add_enum_column"."items" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "created_at" AS "created_at" FROM "public"."items";

-- [13] 41_add_enum_column.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_41_add_enum_column"."items" ALTER COLUMN "id" SET DEFAULT nextval('items_id_seq'::regclass);

-- [14] 41_add_enum_column.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_41_add_enum_column"."items" ALTER COLUMN "name" SET DEFAULT 'unnamed';

-- [15] 41_add_enum_column.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_41_add_enum_column"."items" ALTER COLUMN "price" SET DEFAULT 0.00;

-- [16] 41_add_enum_column.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_41_add_enum_column"."items" ALTER COLUMN "created_at" SET DEFAULT now();

-- [17] 41_add_enum_column.yaml:1:1: view orders of version public_41_add_enum_column
--     lock: ACCESS SHARE on orders; catalog only
CREATE VIEW "public_41_add_enum_column"."orders" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "quantity" AS "quantity" FROM "public"."orders";

-- [18] 41_add_enum_column.yaml:1:1: a column default of view orders
--     lock: none on orders; catalog only
ALTER VIEW "public_41_add_enum_column"."orders" ALTER COLUMN "id" SET DEFAULT nextval('orders_id_seq'::regclass);

-- [19] 41_add_enum_column.yaml:1:1: view people of version public_41_add_enum_column
--     lock: ACCESS SHARE on people; catalog only
CREATE VIEW "public_41_add_enum_column"."people" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "age" AS "age", "description" AS "description", "birth_date" AS "birth_date" FROM "public"."people";

-- [20] 41_add_enum_column.yaml:1:1: a column default of view people
--     lock: none on people; catalog only
ALTER VIEW "public_41_add_enum_column"."people" ALTER COLUMN "age" SET DEFAULT 18;

-- [21] 41_add_enum_column.yaml:1:1: view posts of version public_41_add_enum_column
--     lock: ACCESS SHARE on posts; catalog only
CREATE VIEW "public_41_add_enum_column"."posts" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "title" AS "title" FROM "public"."posts";

-- [22] 41_add_enum_column.yaml:1:1: a column default of view posts
--     lock: none on posts; catalog only
ALTER VIEW "public_41_add_enum_column"."posts" ALTER COLUMN "id" SET DEFAULT nextval('posts_id_seq'::regclass);

-- [23] 41_add_enum_column.yaml:1:1: view reviews of version public_41_add_enum_column
--     lock: ACCESS SHARE on reviews; catalog only
CREATE VIEW "public_41_add_enum_column"."reviews" WITH (security_invoker = true) AS SELECT "id" AS "id", "username" AS "username", "product" AS "product", "rating" AS "rating", "review" AS "review" FROM "public"."reviews";

-- [24] 41_add_enum_column.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_41_add_enum_column"."reviews" ALTER COLUMN "id" SET DEFAULT nextval('reviews_id_seq'::regclass);

-- [25] 41_add_enum_column.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_41_add_enum_column"."reviews" ALTER COLUMN "rating" SET DEFAULT 0;

-- [26] 41_add_enum_column.yaml:1:1: view sellers of version public_41_add_enum_column
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_41_add_enum_column"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description", "rating" AS "rating" FROM "public"."sellers";

-- [27] 41_add_enum_column.yaml:1:1: a column default of view sellers
--     lock: none on sellers; catalog only
ALTER VIEW "public_41_add_enum_column"."sellers" ALTER COLUMN "rating" SET DEFAULT 10;

-- [28] 41_add_enum_column.yaml:1:1: view users of version public_41_add_enum_column
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_41_add_enum_column"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- [29] 41_add_enum_column.yaml:1:1: the roles that use public and its tables get the same rights on public_41_add_enum_column and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_41_add_enum_column' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_41_add_enum_column') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_41_add_enum_column"."bills"', 'bills', 'bills'),
      ('"public_41_add_enum_column"."clients"', 'clients', 'clients'),
      ('"public_41_add_enum_column"."employees"', 'employees', 'employees'),
      ('"public_41_add_enum_column"."events"', 'events', 'events'),
      ('"public_41_add_enum_column"."fruits"', 'fruits', 'fruits'),
      ('"public_41_add_enum_column"."items"', 'items', 'items'),
      ('"public_41_add_enum_column"."orders"', 'orders', 'orders'),
      ('"public_41_add_enum_column"."people"', 'people', 'people'),
      ('"public_41_add_enum_column"."posts"', 'posts', 'posts'),
      ('"public_41_add_enum_column"."reviews"', 'reviews', 'reviews'),
      ('"public_41_add_enum_column"."sellers"', 'sellers', 'sellers'),
      ('"public_41_add_enum_column"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      ('"public_41_add_enum_column"."fruits"', '_pgroll_new_size', 'size')),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_41_add_enum_column')),
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

-- (the live executor records steps 2-29 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== complete (4 steps) ====

-- steps 1-4 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 41_add_enum_column.yaml:1:1: drop the previous version schema public_40_create_enum_type
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_40_create_enum_type"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_40_create_enum_type"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_40_create_enum_type"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_40_create_enum_type" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_40_create_enum_type" CASCADE;
END
$pgroll$;

-- [2] 41_add_enum_column.yaml:1:1: lock fruits for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on fruits; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."fruits"') IS NOT NULL THEN
    LOCK TABLE "public"."fruits" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 41_add_enum_column.yaml:3:7: rename _pgroll_new_size to size
--     lock: ACCESS EXCLUSIVE on fruits; catalog only
--     safe despite renaming-column: clients use version-schema views, which follow the rename
-- squawk-ignore renaming-column
ALTER TABLE IF EXISTS "public"."fruits" RENAME COLUMN "_pgroll_new_size" TO "size";

-- [4] 41_add_enum_column.yaml:1:1: the rights granted on public and its tables since start reach public_41_add_enum_column and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_41_add_enum_column' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_41_add_enum_column') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_41_add_enum_column"."bills"', 'bills', 'bills'),
      ('"public_41_add_enum_column"."clients"', 'clients', 'clients'),
      ('"public_41_add_enum_column"."employees"', 'employees', 'employees'),
      ('"public_41_add_enum_column"."events"', 'events', 'events'),
      ('"public_41_add_enum_column"."fruits"', 'fruits', 'fruits'),
      ('"public_41_add_enum_column"."items"', 'items', 'items'),
      ('"public_41_add_enum_column"."orders"', 'orders', 'orders'),
      ('"public_41_add_enum_column"."people"', 'people', 'people'),
      ('"public_41_add_enum_column"."posts"', 'posts', 'posts'),
      ('"public_41_add_enum_column"."reviews"', 'reviews', 'reviews'),
      ('"public_41_add_enum_column"."sellers"', 'sellers', 'sellers'),
      ('"public_41_add_enum_column"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_41_add_enum_column')),
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

-- ==== rollback (3 steps) ====

-- steps 1-3 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 41_add_enum_column.yaml:1:1: drop version schema public_41_add_enum_column
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_41_add_enum_column"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_41_add_enum_column"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_41_add_enum_column"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_41_add_enum_column" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_41_add_enum_column" CASCADE;
END
$pgroll$;

-- [2] 41_add_enum_column.yaml:1:1: lock fruits for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on fruits; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."fruits"') IS NOT NULL THEN
    LOCK TABLE "public"."fruits" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 41_add_enum_column.yaml:3:7: drop column _pgroll_new_size
--     lock: ACCESS EXCLUSIVE on fruits; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."fruits" DROP COLUMN IF EXISTS "_pgroll_new_size";

-- (the live executor records steps 1-3 as done in its state schema here, in the same transaction)
COMMIT;
