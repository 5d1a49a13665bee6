-- pgroll-dsl 0.1.0 plan for migration 38_create_hash_index_with_fillfactor
-- target schema: public; new version schema: public_38_create_hash_index_with_fillfactor
-- previous version schema: public_37_create_partial_index
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

-- ==== start (27 steps) ====

-- [1] 38_create_hash_index_with_fillfactor.yaml:3:7: build index idx_fruits_name
--     lock: SHARE UPDATE EXCLUSIVE on fruits; builds an index concurrently
--     runs outside a transaction block
CREATE INDEX CONCURRENTLY "idx_fruits_name" ON "public"."fruits" USING hash ("name") WITH (fillfactor = 70);

-- steps 2-27 run in one transaction: clients see all of them or none
BEGIN;

-- [2] 38_create_hash_index_with_fillfactor.yaml:1:1: create version schema public_38_create_hash_index_with_fillfactor
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_38_create_hash_index_with_fillfactor";

-- [3] 38_create_hash_index_with_fillfactor.yaml:1:1: view bills of version public_38_create_hash_index_with_fillfactor
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_38_create_hash_index_with_fillfactor"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [4] 38_create_hash_index_with_fillfactor.yaml:1:1: view clients of version public_38_create_hash_index_with_fillfactor
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_38_create_hash_index_with_fillfactor"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [5] 38_create_hash_index_with_fillfactor.yaml:1:1: view employees of version public_38_create_hash_index_with_fillfactor
--     lock: ACCESS SHARE on employees; catalog only
CREATE VIEW "public_38_create_hash_index_with_fillfactor"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "job_title" AS "job_title" FROM "public"."employees";

-- [6] 38_create_hash_index_with_fillfactor.yaml:1:1: a column default of view employees
--     lock: none on employees; catalog only
ALTER VIEW "public_38_create_hash_index_with_fillfactor"."employees" ALTER COLUMN "id" SET DEFAULT nextval('employees_id_seq'::regclass);

-- [7] 38_create_hash_index_with_fillfactor.yaml:1:1: view events of version public_38_create_hash_index_with_fillfactor
--     lock: ACCESS SHARE on events; catalog only
CREATE VIEW "public_38_create_hash_index_with_fillfactor"."events" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."events";

-- [8] 38_create_hash_index_with_fillfactor.yaml:1:1: a column default of view events
--     lock: none on events; catalog only
ALTER VIEW "public_38_create_hash_index_with_fillfactor"."events" ALTER COLUMN "id" SET DEFAULT nextval('events_id_seq'::regclass);

-- [9] 38_create_hash_index_with_fillfactor.yaml:1:1: a column default of view events
--     lock: none on events; catalog only
ALTER VIEW "public_38_create_hash_index_with_fillfactor"."events" ALTER COLUMN "name" SET DEFAULT 'unknown event';

-- [10] 38_create_hash_index_with_fillfactor.yaml:1:1: view fruits of version public_38_create_hash_index_with_fillfactor
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_38_create_hash_index_with_fillfactor"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."fruits";

-- [11] 38_create_hash_index_with_fillfactor.yaml:1:1: view items of version public_38_create_hash_index_with_fillfactor
--     lock: ACCESS SHARE on items; catalog only
CREATE VIEW "public_38_create_hash_index_with_fillfactor"."items" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "created_at" AS "created_at" FROM "public"."items";

-- [12] 38_create_hash_index_with_fillfactor.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_38_create_hash_index_with_fillfactor"."items" ALTER COLUMN "id" SET DEFAULT nextval('items_id_seq'::regclass);

-- [13] 38_create_hash_index_with_fillfactor.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_38_create_hash_index_with_fillfactor"."items" ALTER COLUMN "name" SET DEFAULT 'unnamed';

-- [14] 38_create_hash_index_with_fillfactor.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_38_create_hash_index_with_fillfactor"."items" ALTER COLUMN "price" SET DEFAULT 0.00;

-- [15] 38_create_hash_index_with_fillfactor.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_38_create_hash_index_with_fillfactor"."items" ALTER COLUMN "created_at" SET DEFAULT now();

-- [16] 38_create_hash_index_with_fillfactor.yaml:1:1: view orders of version public_38_create_hash_index_with_fillfactor
--     lock: ACCESS SHARE on orders; catalog only
CREATE VIEW "public_38_create_hash_index_with_fillfactor"."orders" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "quantity" AS "quantity" FROM "public"."orders";

-- [17] 38_create_hash_index_with_fillfactor.yaml:1:1: a column default of view orders
--     lock: none on orders; catalog only
ALTER VIEW "public_38_create_hash_index_with_fillfactor"."orders" ALTER COLUMN "id" SET DEFAULT nextval('orders_id_seq'::regclass);

-- [18] 38_create_hash_index_with_fillfactor.yaml:1:1: view people of version public_38_create_hash_index_with_fillfactor
--     lock: ACCESS SHARE on people; catalog only
CREATE VIEW "public_38_create_hash_index_with_fillfactor"."people" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "age" AS "age", "description" AS "description", "birth_date" AS "birth_date" FROM "public"."people";

-- [19] 38_create_hash_index_with_fillfactor.yaml:1:1: a column default of view people
--     lock: none on people; catalog only
ALTER VIEW "public_38_create_hash_index_with_fillfactor"."people" ALTER COLUMN "age" SET DEFAULT 18;

-- [20] 38_create_hash_index_with_fillfactor.yaml:1:1: view posts of version public_38_create_hash_index_with_fillfactor
--     lock: ACCESS SHARE on posts; catalog only
CREATE VIEW "public_38_create_hash_index_with_fillfactor"."posts" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "title" AS "title" FROM "public"."posts";

-- [21] 38_create_hash_index_with_fillfactor.yaml:1:1: a column default of view posts
--     lock: none on posts; catalog only
ALTER VIEW "public_38_create_hash_index_with_fillfactor"."posts" ALTER COLUMN "id" SET DEFAULT nextval('posts_id_seq'::regclass);

-- [22] 38_create_hash_index_with_fillfactor.yaml:1:1: view reviews of version public_38_create_hash_index_with_fillfactor
--     lock: ACCESS SHARE on reviews; catalog only
CREATE VIEW "public_38_create_hash_index_with_fillfactor"."reviews" WITH (security_invoker = true) AS SELECT "id" AS "id", "username" AS "username", "product" AS "product", "rating" AS "rating", "review" AS "review" FROM "public"."reviews";

-- [23] 38_create_hash_index_with_fillfactor.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_38_create_hash_index_with_fillfactor"."reviews" ALTER COLUMN "id" SET DEFAULT nextval('reviews_id_seq'::regclass);

-- [24] 38_create_hash_index_with_fillfactor.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_38_create_hash_index_with_fillfactor"."reviews" ALTER COLUMN "rating" SET DEFAULT 0;

-- [25] 38_create_hash_index_with_fillfactor.yaml:1:1: view sellers of version public_38_create_hash_index_with_fillfactor
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_38_create_hash_index_with_fillfactor"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [26] 38_create_hash_index_with_fillfactor.yaml:1:1: view users of version public_38_create_hash_index_with_fillfactor
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_38_create_hash_index_with_fillfactor"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- [27] 38_create_hash_index_with_fillfactor.yaml:1:1: the roles that use public and its tables get the same rights on public_38_create_hash_index_with_fillfactor and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_38_create_hash_index_with_fillfactor' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_38_create_hash_index_with_fillfactor') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_38_create_hash_index_with_fillfactor"."bills"', 'bills', 'bills'),
      ('"public_38_create_hash_index_with_fillfactor"."clients"', 'clients', 'clients'),
      ('"public_38_create_hash_index_with_fillfactor"."employees"', 'employees', 'employees'),
      ('"public_38_create_hash_index_with_fillfactor"."events"', 'events', 'events'),
      ('"public_38_create_hash_index_with_fillfactor"."fruits"', 'fruits', 'fruits'),
      ('"public_38_create_hash_index_with_fillfactor"."items"', 'items', 'items'),
      ('"public_38_create_hash_index_with_fillfactor"."orders"', 'orders', 'orders'),
      ('"public_38_create_hash_index_with_fillfactor"."people"', 'people', 'people'),
      ('"public_38_create_hash_index_with_fillfactor"."posts"', 'posts', 'posts'),
      ('"public_38_create_hash_index_with_fillfactor"."reviews"', 'reviews', 'reviews'),
      ('"public_38_create_hash_index_with_fillfactor"."sellers"', 'sellers', 'sellers'),
      ('"public_38_create_hash_index_with_fillfactor"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_38_create_hash_index_with_fillfactor')),
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

-- (the live executor records steps 2-27 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== complete (2 steps) ====

-- steps 1-2 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 38_create_hash_index_with_fillfactor.yaml:1:1: drop the previous version schema public_37_create_partial_index
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_37_create_partial_index"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_37_create_partial_index"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_37_create_partial_index"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_37_create_partial_index" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_37_create_partial_index" CASCADE;
END
$pgroll$;

-- [2] 38_create_hash_index_with_fillfactor.yaml:1:1: the rights granted on public and its tables since start reach public_38_create_hash_index_with_fillfactor and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_38_create_hash_index_with_fillfactor' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_38_create_hash_index_with_fillfactor') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_38_create_hash_index_with_fillfactor"."bills"', 'bills', 'bills'),
      ('"public_38_create_hash_index_with_fillfactor"."clients"', 'clients', 'clients'),
      ('"public_38_create_hash_index_with_fillfactor"."employees"', 'employees', 'employees'),
      ('"public_38_create_hash_index_with_fillfactor"."events"', 'events', 'events'),
      ('"public_38_create_hash_index_with_fillfactor"."fruits"', 'fruits', 'fruits'),
      ('"public_38_create_hash_index_with_fillfactor"."items"', 'items', 'items'),
      ('"public_38_create_hash_index_with_fillfactor"."orders"', 'orders', 'orders'),
      ('"public_38_create_hash_index_with_fillfactor"."people"', 'people', 'people'),
      ('"public_38_create_hash_index_with_fillfactor"."posts"', 'posts', 'posts'),
      ('"public_38_create_hash_index_with_fillfactor"."reviews"', 'reviews', 'reviews'),
      ('"public_38_create_hash_index_with_fillfactor"."sellers"', 'sellers', 'sellers'),
      ('"public_38_create_hash_index_with_fillfactor"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_38_create_hash_index_with_fillfactor')),
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

-- ==== rollback (2 steps) ====

-- [1] 38_create_hash_index_with_fillfactor.yaml:3:7: drop index idx_fruits_name
--     lock: SHARE UPDATE EXCLUSIVE on fruits; catalog only
--     runs outside a transaction block
DROP INDEX CONCURRENTLY IF EXISTS "public"."idx_fruits_name";

-- [2] 38_create_hash_index_with_fillfactor.yaml:1:1: drop version schema public_38_create_hash_index_with_fillfactor
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_38_create_hash_index_with_fillfactor"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_38_create_hash_index_with_fillfactor"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_38_create_hash_index_with_fillfactor"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_38_create_hash_index_with_fillfactor" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_38_create_hash_index_with_fillfactor" CASCADE;
END
$pgroll$;
