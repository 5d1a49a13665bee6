-- pgroll-dsl 0.1.0 plan for migration 52_create_table_with_exclusion_constraint
-- target schema: public; new version schema: public_52_create_table_with_exclusion_constraint
-- previous version schema: public_51_create_table_with_table_foreign_key_constraint
-- catalog: empty
-- Generated: review it, do not edit it. Each phase runs with psql -v ON_ERROR_STOP=1.
-- safe despite require-statement-timeout: index builds, VALIDATE and the batched backfill legitimately run long; every lock wait is bounded by lock_timeout
-- safe despite prefer-robust-stmts: a phase is not re-run blindly: a failed start is undone by rollback, whose steps all tolerate a partial start
-- safe despite prefer-bigint-over-int: the type is the author's choice
-- safe despite prefer-identity: the type is the author's choice
-- safe despite prefer-timestamp-tz: the type is the author's choice
-- squawk-ignore-file require-statement-timeout, prefer-robust-stmts, prefer-bigint-over-int, prefer-identity, prefer-timestamp-tz
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

-- ==== start (38 steps) ====

-- [1] 52_create_table_with_exclusion_constraint.yaml:3:7: create table library
--     lock: none on library; catalog only
CREATE TABLE "public"."library" (
  "id" serial NOT NULL,
  "returned" timestamp NOT NULL,
  "title" text NOT NULL,
  "summary" text NOT NULL,
  CONSTRAINT "rooms_pk" PRIMARY KEY ("id"),
  CONSTRAINT "forbid_duplicated_titles" EXCLUDE USING btree (title WITH =) WHERE (title IS NOT NULL)
);

-- steps 2-38 run in one transaction: clients see all of them or none
BEGIN;

-- [2] 52_create_table_with_exclusion_constraint.yaml:1:1: create version schema public_52_create_table_with_exclusion_constraint
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_52_create_table_with_exclusion_constraint";

-- [3] 52_create_table_with_exclusion_constraint.yaml:1:1: view bills of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [4] 52_create_table_with_exclusion_constraint.yaml:1:1: view clients of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [5] 52_create_table_with_exclusion_constraint.yaml:1:1: view employees of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on employees; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "job_title" AS "job_title" FROM "public"."employees";

-- [6] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view employees
--     lock: none on employees; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."employees" ALTER COLUMN "id" SET DEFAULT nextval('employees_id_seq'::regclass);

-- [7] 52_create_table_with_exclusion_constraint.yaml:1:1: view events of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on events; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."events" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."events";

-- [8] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view events
--     lock: none on events; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."events" ALTER COLUMN "id" SET DEFAULT nextval('events_id_seq'::regclass);

-- [9] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view events
--     lock: none on events; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."events" ALTER COLUMN "name" SET DEFAULT 'unknown event';

-- [10] 52_create_table_with_exclusion_constraint.yaml:1:1: view fruits of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "size" AS "size", "name" AS "name" FROM "public"."fruits";

-- [11] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view fruits
--     lock: none on fruits; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."fruits" ALTER COLUMN "size" SET DEFAULT 'small';

-- [12] 52_create_table_with_exclusion_constraint.yaml:1:1: view items of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on items; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."items" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "created_at" AS "created_at" FROM "public"."items";

-- [13] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."items" ALTER COLUMN "id" SET DEFAULT nextval('items_id_seq'::regclass);

-- [14] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."items" ALTER COLUMN "name" SET DEFAULT 'unnamed';

-- [15] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."items" ALTER COLUMN "price" SET DEFAULT 0.00;

-- [16] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."items" ALTER COLUMN "created_at" SET DEFAULT now();

-- [17] 52_create_table_with_exclusion_constraint.yaml:1:1: view library of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on library; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."library" WITH (security_invoker = true) AS SELECT "id" AS "id", "returned" AS "returned", "title" AS "title", "summary" AS "summary" FROM "public"."library";

-- [18] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view library
--     lock: none on library; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."library" ALTER COLUMN "id" SET DEFAULT nextval('library_id_seq'::regclass);

-- [19] 52_create_table_with_exclusion_constraint.yaml:1:1: view orders of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on orders; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."orders" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "quantity" AS "quantity" FROM "public"."orders";

-- [20] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view orders
--     lock: none on orders; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."orders" ALTER COLUMN "id" SET DEFAULT nextval('orders_id_seq'::regclass);

-- [21] 52_create_table_with_exclusion_constraint.yaml:1:1: view people of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on people; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."people" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "age" AS "age", "description" AS "description", "birth_date" AS "birth_date" FROM "public"."people";

-- [22] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view people
--     lock: none on people; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."people" ALTER COLUMN "age" SET DEFAULT 18;

-- [23] 52_create_table_with_exclusion_constraint.yaml:1:1: view phonebook of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on phonebook; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."phonebook" WITH (security_invoker = true) AS SELECT "id" AS "id", "provider_id" AS "provider_id", "name" AS "name", "city" AS "city", "phone" AS "phone" FROM "public"."phonebook";

-- [24] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view phonebook
--     lock: none on phonebook; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."phonebook" ALTER COLUMN "id" SET DEFAULT nextval('phonebook_id_seq'::regclass);

-- [25] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view phonebook
--     lock: none on phonebook; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."phonebook" ALTER COLUMN "provider_id" SET DEFAULT nextval('phonebook_provider_id_seq'::regclass);

-- [26] 52_create_table_with_exclusion_constraint.yaml:1:1: view posts of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on posts; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."posts" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "title" AS "title" FROM "public"."posts";

-- [27] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view posts
--     lock: none on posts; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."posts" ALTER COLUMN "id" SET DEFAULT nextval('posts_id_seq'::regclass);

-- [28] 52_create_table_with_exclusion_constraint.yaml:1:1: view reviews of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on reviews; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."reviews" WITH (security_invoker = true) AS SELECT "id" AS "id", "username" AS "username", "product" AS "product", "rating" AS "rating", "review" AS "review" FROM "public"."reviews";

-- [29] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."reviews" ALTER COLUMN "id" SET DEFAULT nextval('reviews_id_seq'::regclass);

-- [30] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."reviews" ALTER COLUMN "rating" SET DEFAULT 0;

-- [31] 52_create_table_with_exclusion_constraint.yaml:1:1: view sellers of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description", "rating" AS "rating" FROM "public"."sellers";

-- [32] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view sellers
--     lock: none on sellers; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."sellers" ALTER COLUMN "rating" SET DEFAULT 10;

-- [33] 52_create_table_with_exclusion_constraint.yaml:1:1: view telephone_providers of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on telephone_providers; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."telephone_providers" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "tax_id" AS "tax_id", "headquarters" AS "headquarters" FROM "public"."telephone_providers";

-- [34] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view telephone_providers
--     lock: none on telephone_providers; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."telephone_providers" ALTER COLUMN "id" SET DEFAULT nextval('telephone_providers_id_seq'::regclass);

-- [35] 52_create_table_with_exclusion_constraint.yaml:1:1: view tickets of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on tickets; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."tickets" WITH (security_invoker = true) AS SELECT "ticket_id" AS "ticket_id", "ticket_type" AS "ticket_type", "sellers_name" AS "sellers_name", "sellers_zip" AS "sellers_zip" FROM "public"."tickets";

-- [36] 52_create_table_with_exclusion_constraint.yaml:1:1: a column default of view tickets
--     lock: none on tickets; catalog only
ALTER VIEW "public_52_create_table_with_exclusion_constraint"."tickets" ALTER COLUMN "ticket_id" SET DEFAULT nextval('tickets_ticket_id_seq'::regclass);

-- [37] 52_create_table_with_exclusion_constraint.yaml:1:1: view users of version public_52_create_table_with_exclusion_constraint
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_52_create_table_with_exclusion_constraint"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- [38] 52_create_table_with_exclusion_constraint.yaml:1:1: the roles that use public and its tables get the same rights on public_52_create_table_with_exclusion_constraint and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_52_create_table_with_exclusion_constraint' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_52_create_table_with_exclusion_constraint') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_52_create_table_with_exclusion_constraint"."bills"', 'bills', 'bills'),
      ('"public_52_create_table_with_exclusion_constraint"."clients"', 'clients', 'clients'),
      ('"public_52_create_table_with_exclusion_constraint"."employees"', 'employees', 'employees'),
      ('"public_52_create_table_with_exclusion_constraint"."events"', 'events', 'events'),
      ('"public_52_create_table_with_exclusion_constraint"."fruits"', 'fruits', 'fruits'),
      ('"public_52_create_table_with_exclusion_constraint"."items"', 'items', 'items'),
      ('"public_52_create_table_with_exclusion_constraint"."library"', 'library', 'library'),
      ('"public_52_create_table_with_exclusion_constraint"."orders"', 'orders', 'orders'),
      ('"public_52_create_table_with_exclusion_constraint"."people"', 'people', 'people'),
      ('"public_52_create_table_with_exclusion_constraint"."phonebook"', 'phonebook', 'phonebook'),
      ('"public_52_create_table_with_exclusion_constraint"."posts"', 'posts', 'posts'),
      ('"public_52_create_table_with_exclusion_constraint"."reviews"', 'reviews', 'reviews'),
      ('"public_52_create_table_with_exclusion_constraint"."sellers"', 'sellers', 'sellers'),
      ('"public_52_create_table_with_exclusion_constraint"."telephone_providers"', 'telephone_providers', 'telephone_providers'),
      ('"public_52_create_table_with_exclusion_constraint"."tickets"', 'tickets', 'tickets'),
      ('"public_52_create_table_with_exclusion_constraint"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_52_create_table_with_exclusion_constraint')),
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

-- (the live executor records steps 2-38 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== complete (2 steps) ====

-- steps 1-2 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 52_create_table_with_exclusion_constraint.yaml:1:1: drop the previous version schema public_51_create_table_with_table_foreign_key_constraint
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_51_create_table_with_table_foreign_key_constraint"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_51_create_table_with_table_foreign_key_constraint"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_51_create_table_with_table_foreign_key_constraint"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_51_create_table_with_table_foreign_key_constraint" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_51_create_table_with_table_foreign_key_constraint" CASCADE;
END
$pgroll$;

-- [2] 52_create_table_with_exclusion_constraint.yaml:1:1: the rights granted on public and its tables since start reach public_52_create_table_with_exclusion_constraint and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_52_create_table_with_exclusion_constraint' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_52_create_table_with_exclusion_constraint') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_52_create_table_with_exclusion_constraint"."bills"', 'bills', 'bills'),
      ('"public_52_create_table_with_exclusion_constraint"."clients"', 'clients', 'clients'),
      ('"public_52_create_table_with_exclusion_constraint"."employees"', 'employees', 'employees'),
      ('"public_52_create_table_with_exclusion_constraint"."events"', 'events', 'events'),
      ('"public_52_create_table_with_exclusion_constraint"."fruits"', 'fruits', 'fruits'),
      ('"public_52_create_table_with_exclusion_constraint"."items"', 'items', 'items'),
      ('"public_52_create_table_with_exclusion_constraint"."library"', 'library', 'library'),
      ('"public_52_create_table_with_exclusion_constraint"."orders"', 'orders', 'orders'),
      ('"public_52_create_table_with_exclusion_constraint"."people"', 'people', 'people'),
      ('"public_52_create_table_with_exclusion_constraint"."phonebook"', 'phonebook', 'phonebook'),
      ('"public_52_create_table_with_exclusion_constraint"."posts"', 'posts', 'posts'),
      ('"public_52_create_table_with_exclusion_constraint"."reviews"', 'reviews', 'reviews'),
      ('"public_52_create_table_with_exclusion_constraint"."sellers"', 'sellers', 'sellers'),
      ('"public_52_create_table_with_exclusion_constraint"."telephone_providers"', 'telephone_providers', 'telephone_providers'),
      ('"public_52_create_table_with_exclusion_constraint"."tickets"', 'tickets', 'tickets'),
      ('"public_52_create_table_with_exclusion_constraint"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_52_create_table_with_exclusion_constraint')),
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

-- [1] 52_create_table_with_exclusion_constraint.yaml:1:1: drop version schema public_52_create_table_with_exclusion_constraint
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_52_create_table_with_exclusion_constraint"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_52_create_table_with_exclusion_constraint"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_52_create_table_with_exclusion_constraint"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_52_create_table_with_exclusion_constraint" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_52_create_table_with_exclusion_constraint" CASCADE;
END
$pgroll$;

-- [2] 52_create_table_with_exclusion_constraint.yaml:1:1: lock library for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on library; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."library"') IS NOT NULL THEN
    LOCK TABLE "public"."library" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 52_create_table_with_exclusion_constraint.yaml:3:7: drop table library
--     lock: ACCESS EXCLUSIVE on library; catalog only
--     safe despite ban-drop-table: complete or rollback: no client reads this table
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS "public"."library";

-- (the live executor records steps 1-3 as done in its state schema here, in the same transaction)
COMMIT;
