-- pgroll-dsl 0.1.0 plan for migration 53_add_column_with_volatile_default
-- target schema: public; new version schema: public_53_add_column_with_volatile_default
-- previous version schema: public_52_create_table_with_exclusion_constraint
-- catalog: empty
-- Generated: review it, do not edit it. Each phase runs with psql -v ON_ERROR_STOP=1.
-- safe despite require-statement-timeout: index builds, VALIDATE and the batched backfill legitimately run long; every lock wait is bounded by lock_timeout
-- safe despite prefer-robust-stmts: a phase is not re-run blindly: a failed start is undone by rollback, whose steps all tolerate a partial start
-- safe despite prefer-bigint-over-int: the type is the author's choice
-- squawk-ignore-file require-statement-timeout, prefer-robust-stmts, prefer-bigint-over-int
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

-- ==== start (52 steps) ====

-- [1] 53_add_column_with_volatile_default.yaml:3:7: add column library.value as _pgroll_new_value
--     lock: ACCESS EXCLUSIVE on library; catalog only
ALTER TABLE "public"."library" ADD COLUMN "_pgroll_new_value" int;

-- [2] 53_add_column_with_volatile_default.yaml:3:7: backfill marker on library (constant default: no rewrite), and _pgroll_backfilled_by (no default)
--     lock: ACCESS EXCLUSIVE on library; catalog only
--     safe despite adding-field-with-default: a constant default: PostgreSQL adds it without rewriting the table
-- squawk-ignore adding-field-with-default
ALTER TABLE "public"."library" ADD COLUMN IF NOT EXISTS "_pgroll_needs_backfill" boolean NOT NULL DEFAULT true, ADD COLUMN IF NOT EXISTS "_pgroll_backfilled_by" pg_catalog.xid;

-- [3] 53_add_column_with_volatile_default.yaml:3:7: trigger function _pgroll_trigger_000_library_value (new-version updates of rows not backfilled yet: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000_library_value"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "public", pg_temp
AS $pgroll$
#variable_conflict use_column
BEGIN
  IF TG_OP = 'UPDATE' AND OLD."_pgroll_needs_backfill" THEN
    IF pg_catalog.current_setting('pgroll_dsl.written', true) = '_pgroll_trigger_000_library_value' THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.written', '', true);  -- written: kept
    ELSIF ROW(NEW."_pgroll_new_value")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_value")::record THEN
      NEW."_pgroll_new_value" := ((random() * 1000)::int);
    END IF;
  END IF;
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [4] 53_add_column_with_volatile_default.yaml:3:7: trigger function ~pgroll_trigger_000_library_value (old-version and base-table writes: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."~pgroll_trigger_000_library_value"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "public", pg_temp
AS $pgroll$
#variable_conflict use_column
BEGIN
  NEW."_pgroll_new_value" := ((random() * 1000)::int);
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [5] 53_add_column_with_volatile_default.yaml:3:7: trigger function _pgroll_trigger_000-set_library_value
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000-set_library_value"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
BEGIN
  PERFORM pg_catalog.set_config('pgroll_dsl.written', '_pgroll_trigger_000_library_value', true);
  RETURN NEW;
END
$pgroll$;

-- steps 6-7 run in one transaction: clients see all of them or none
BEGIN;

-- [6] 53_add_column_with_volatile_default.yaml:3:7: trigger _pgroll_trigger_000-set_library_value on library (a new-version UPDATE that sets value)
--     lock: SHARE ROW EXCLUSIVE on library; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000-set_library_value" BEFORE UPDATE OF "_pgroll_new_value" ON "public"."library" FOR EACH ROW
  WHEN (OLD."_pgroll_needs_backfill" AND (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_53_add_column_with_volatile_default' THEN true WHEN 'public' THEN false WHEN 'public_52_create_table_with_exclusion_constraint' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_53_add_column_with_volatile_default'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_52_create_table_with_exclusion_constraint'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."library"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000-set_library_value"();

-- [7] 53_add_column_with_volatile_default.yaml:3:7: trigger _pgroll_trigger_000-set_library_value fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on library; catalog only
ALTER TABLE "public"."library" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000-set_library_value";

-- (the live executor records steps 6-7 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 8-9 run in one transaction: clients see all of them or none
BEGIN;

-- [8] 53_add_column_with_volatile_default.yaml:3:7: trigger _pgroll_trigger_000_library_value on library (new-version updates of rows not backfilled yet: up)
--     lock: SHARE ROW EXCLUSIVE on library; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000_library_value" BEFORE INSERT OR UPDATE ON "public"."library" FOR EACH ROW
  WHEN (CASE WHEN NEW."_pgroll_needs_backfill" THEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_53_add_column_with_volatile_default' THEN true WHEN 'public' THEN false WHEN 'public_52_create_table_with_exclusion_constraint' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_53_add_column_with_volatile_default'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_52_create_table_with_exclusion_constraint'::name), 2147483647)), false) END) ELSE false END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."library"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000_library_value"();

-- [9] 53_add_column_with_volatile_default.yaml:3:7: trigger _pgroll_trigger_000_library_value fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on library; catalog only
ALTER TABLE "public"."library" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000_library_value";

-- (the live executor records steps 8-9 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 10-11 run in one transaction: clients see all of them or none
BEGIN;

-- [10] 53_add_column_with_volatile_default.yaml:3:7: trigger ~pgroll_trigger_000_library_value on library (old-version and base-table writes: up)
--     lock: SHARE ROW EXCLUSIVE on library; catalog only
CREATE OR REPLACE TRIGGER "~pgroll_trigger_000_library_value" BEFORE INSERT OR UPDATE ON "public"."library" FOR EACH ROW
  WHEN (NOT (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_53_add_column_with_volatile_default' THEN true WHEN 'public' THEN false WHEN 'public_52_create_table_with_exclusion_constraint' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_53_add_column_with_volatile_default'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_52_create_table_with_exclusion_constraint'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."library"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."~pgroll_trigger_000_library_value"();

-- [11] 53_add_column_with_volatile_default.yaml:3:7: trigger ~pgroll_trigger_000_library_value fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on library; catalog only
ALTER TABLE "public"."library" ENABLE ALWAYS TRIGGER "~pgroll_trigger_000_library_value";

-- (the live executor records steps 10-11 as done in its state schema here, in the same transaction)
COMMIT;

-- [12] 53_add_column_with_volatile_default.yaml:3:7: NOT NULL of value as a check (not valid)
--     lock: ACCESS EXCLUSIVE on library; catalog only
ALTER TABLE "public"."library" ADD CONSTRAINT "_pgroll_check_not_null_value" CHECK ("_pgroll_new_value" IS NOT NULL) NOT VALID;

-- steps 13-50 run in one transaction: clients see all of them or none
BEGIN;

-- [13] 53_add_column_with_volatile_default.yaml:1:1: create version schema public_53_add_column_with_volatile_default
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_53_add_column_with_volatile_default";

-- [14] 53_add_column_with_volatile_default.yaml:1:1: view bills of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [15] 53_add_column_with_volatile_default.yaml:1:1: view clients of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [16] 53_add_column_with_volatile_default.yaml:1:1: view employees of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on employees; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "job_title" AS "job_title" FROM "public"."employees";

-- [17] 53_add_column_with_volatile_default.yaml:1:1: a column default of view employees
--     lock: none on employees; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."employees" ALTER COLUMN "id" SET DEFAULT nextval('employees_id_seq'::regclass);

-- [18] 53_add_column_with_volatile_default.yaml:1:1: view events of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on events; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."events" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."events";

-- [19] 53_add_column_with_volatile_default.yaml:1:1: a column default of view events
--     lock: none on events; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."events" ALTER COLUMN "id" SET DEFAULT nextval('events_id_seq'::regclass);

-- [20] 53_add_column_with_volatile_default.yaml:1:1: a column default of view events
--     lock: none on events; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."events" ALTER COLUMN "name" SET DEFAULT 'unknown event';

-- [21] 53_add_column_with_volatile_default.yaml:1:1: view fruits of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "size" AS "size", "name" AS "name" FROM "public"."fruits";

-- [22] 53_add_column_with_volatile_default.yaml:1:1: a column default of view fruits
--     lock: none on fruits; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."fruits" ALTER COLUMN "size" SET DEFAULT 'small';

-- [23] 53_add_column_with_volatile_default.yaml:1:1: view items of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on items; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."items" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "created_at" AS "created_at" FROM "public"."items";

-- [24] 53_add_column_with_volatile_default.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."items" ALTER COLUMN "id" SET DEFAULT nextval('items_id_seq'::regclass);

-- [25] 53_add_column_with_volatile_default.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."items" ALTER COLUMN "name" SET DEFAULT 'unnamed';

-- [26] 53_add_column_with_volatile_default.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."items" ALTER COLUMN "price" SET DEFAULT 0.00;

-- [27] 53_add_column_with_volatile_default.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."items" ALTER COLUMN "created_at" SET DEFAULT now();

-- [28] 53_add_column_with_volatile_default.yaml:1:1: view library of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on library; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."library" WITH (security_invoker = true) AS SELECT "id" AS "id", "returned" AS "returned", "title" AS "title", "summary" AS "summary", "_pgroll_new_value" AS "value" FROM "public"."library";

-- [29] 53_add_column_with_volatile_default.yaml:1:1: a column default of view library
--     lock: none on library; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."library" ALTER COLUMN "id" SET DEFAULT nextval('library_id_seq'::regclass);

-- [30] 53_add_column_with_volatile_default.yaml:1:1: a column default of view library
--     lock: none on library; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."library" ALTER COLUMN "value" SET DEFAULT (random() * 1000)::int;

-- [31] 53_add_column_with_volatile_default.yaml:1:1: view orders of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on orders; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."orders" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "quantity" AS "quantity" FROM "public"."orders";

-- [32] 53_add_column_with_volatile_default.yaml:1:1: a column default of view orders
--     lock: none on orders; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."orders" ALTER COLUMN "id" SET DEFAULT nextval('orders_id_seq'::regclass);

-- [33] 53_add_column_with_volatile_default.yaml:1:1: view people of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on people; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."people" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "age" AS "age", "description" AS "description", "birth_date" AS "birth_date" FROM "public"."people";

-- [34] 53_add_column_with_volatile_default.yaml:1:1: a column default of view people
--     lock: none on people; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."people" ALTER COLUMN "age" SET DEFAULT 18;

-- [35] 53_add_column_with_volatile_default.yaml:1:1: view phonebook of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on phonebook; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."phonebook" WITH (security_invoker = true) AS SELECT "id" AS "id", "provider_id" AS "provider_id", "name" AS "name", "city" AS "city", "phone" AS "phone" FROM "public"."phonebook";

-- [36] 53_add_column_with_volatile_default.yaml:1:1: a column default of view phonebook
--     lock: none on phonebook; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."phonebook" ALTER COLUMN "id" SET DEFAULT nextval('phonebook_id_seq'::regclass);

-- [37] 53_add_column_with_volatile_default.yaml:1:1: a column default of view phonebook
--     lock: none on phonebook; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."phonebook" ALTER COLUMN "provider_id" SET DEFAULT nextval('phonebook_provider_id_seq'::regclass);

-- [38] 53_add_column_with_volatile_default.yaml:1:1: view posts of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on posts; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."posts" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "title" AS "title" FROM "public"."posts";

-- [39] 53_add_column_with_volatile_default.yaml:1:1: a column default of view posts
--     lock: none on posts; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."posts" ALTER COLUMN "id" SET DEFAULT nextval('posts_id_seq'::regclass);

-- [40] 53_add_column_with_volatile_default.yaml:1:1: view reviews of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on reviews; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."reviews" WITH (security_invoker = true) AS SELECT "id" AS "id", "username" AS "username", "product" AS "product", "rating" AS "rating", "review" AS "review" FROM "public"."reviews";

-- [41] 53_add_column_with_volatile_default.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."reviews" ALTER COLUMN "id" SET DEFAULT nextval('reviews_id_seq'::regclass);

-- [42] 53_add_column_with_volatile_default.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."reviews" ALTER COLUMN "rating" SET DEFAULT 0;

-- [43] 53_add_column_with_volatile_default.yaml:1:1: view sellers of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description", "rating" AS "rating" FROM "public"."sellers";

-- [44] 53_add_column_with_volatile_default.yaml:1:1: a column default of view sellers
--     lock: none on sellers; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."sellers" ALTER COLUMN "rating" SET DEFAULT 10;

-- [45] 53_add_column_with_volatile_default.yaml:1:1: view telephone_providers of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on telephone_providers; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."telephone_providers" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "tax_id" AS "tax_id", "headquarters" AS "headquarters" FROM "public"."telephone_providers";

-- [46] 53_add_column_with_volatile_default.yaml:1:1: a column default of view telephone_providers
--     lock: none on telephone_providers; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."telephone_providers" ALTER COLUMN "id" SET DEFAULT nextval('telephone_providers_id_seq'::regclass);

-- [47] 53_add_column_with_volatile_default.yaml:1:1: view tickets of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on tickets; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."tickets" WITH (security_invoker = true) AS SELECT "ticket_id" AS "ticket_id", "ticket_type" AS "ticket_type", "sellers_name" AS "sellers_name", "sellers_zip" AS "sellers_zip" FROM "public"."tickets";

-- [48] 53_add_column_with_volatile_default.yaml:1:1: a column default of view tickets
--     lock: none on tickets; catalog only
ALTER VIEW "public_53_add_column_with_volatile_default"."tickets" ALTER COLUMN "ticket_id" SET DEFAULT nextval('tickets_ticket_id_seq'::regclass);

-- [49] 53_add_column_with_volatile_default.yaml:1:1: view users of version public_53_add_column_with_volatile_default
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_53_add_column_with_volatile_default"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- [50] 53_add_column_with_volatile_default.yaml:1:1: the roles that use public and its tables get the same rights on public_53_add_column_with_volatile_default and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_53_add_column_with_volatile_default' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_53_add_column_with_volatile_default') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_53_add_column_with_volatile_default"."bills"', 'bills', 'bills'),
      ('"public_53_add_column_with_volatile_default"."clients"', 'clients', 'clients'),
      ('"public_53_add_column_with_volatile_default"."employees"', 'employees', 'employees'),
      ('"public_53_add_column_with_volatile_default"."events"', 'events', 'events'),
      ('"public_53_add_column_with_volatile_default"."fruits"', 'fruits', 'fruits'),
      ('"public_53_add_column_with_volatile_default"."items"', 'items', 'items'),
      ('"public_53_add_column_with_volatile_default"."library"', 'library', 'library'),
      ('"public_53_add_column_with_volatile_default"."orders"', 'orders', 'orders'),
      ('"public_53_add_column_with_volatile_default"."people"', 'people', 'people'),
      ('"public_53_add_column_with_volatile_default"."phonebook"', 'phonebook', 'phonebook'),
      ('"public_53_add_column_with_volatile_default"."posts"', 'posts', 'posts'),
      ('"public_53_add_column_with_volatile_default"."reviews"', 'reviews', 'reviews'),
      ('"public_53_add_column_with_volatile_default"."sellers"', 'sellers', 'sellers'),
      ('"public_53_add_column_with_volatile_default"."telephone_providers"', 'telephone_providers', 'telephone_providers'),
      ('"public_53_add_column_with_volatile_default"."tickets"', 'tickets', 'tickets'),
      ('"public_53_add_column_with_volatile_default"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      ('"public_53_add_column_with_volatile_default"."library"', '_pgroll_new_value', 'value')),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_53_add_column_with_volatile_default')),
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

-- (the live executor records steps 13-50 as done in its state schema here, in the same transaction)
COMMIT;

-- [51] 53_add_column_with_volatile_default.yaml:3:7: backfill library in batches keyed on id, writing the copies itself
--     lock: ROW EXCLUSIVE on library; backfills rows in batches
--     runs outside a transaction block
DO $pgroll_backfill$
#variable_conflict use_variable
DECLARE
  _pgroll_lower_0 "public"."library"."id"%TYPE;
  _pgroll_upper_0 "public"."library"."id"%TYPE;
  _pgroll_to_0 "public"."library"."id"%TYPE;
  _pgroll_end_0 "public"."library"."id"%TYPE;
  _pgroll_bounded boolean := false;
  _pgroll_first numeric;
  _pgroll_last numeric;
  _pgroll_tuples real;
  _pgroll_dense boolean;
  _pgroll_size bigint := 1000;
  _pgroll_least bigint := 1000;
  _pgroll_most bigint := 1000000;
  _pgroll_rows bigint;
  _pgroll_done bigint := 0;
  _pgroll_started timestamptz;
  _pgroll_took double precision;
  _pgroll_fast boolean := true;
  _pgroll_replica boolean;
  _pgroll_fires text;
BEGIN
  BEGIN
    UPDATE "public"."library" AS _pgroll_row SET "_pgroll_new_value" = ((random() * 1000)::int), "_pgroll_needs_backfill" = false WHERE false;
  EXCEPTION WHEN OTHERS THEN
    _pgroll_fast := false;
  END;
  BEGIN
    PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
    _pgroll_replica := true;
    PERFORM pg_catalog.set_config('session_replication_role', 'origin', true);
  EXCEPTION WHEN OTHERS THEN
    _pgroll_replica := false;
  END;
  SELECT (SELECT pg_catalog.string_agg(DISTINCT CASE WHEN tgtype & 19 = 19 THEN pg_catalog.lower(tgenabled::text) ELSE tgenabled::text END, '') FROM pg_catalog.pg_trigger WHERE tgrelid = c.oid AND NOT tgisinternal AND tgtype & 16 = 16 AND NOT (pg_catalog.starts_with(tgname, '_pgroll_trigger_') OR pg_catalog.starts_with(tgname, '~pgroll_trigger_') OR pg_catalog.starts_with(tgname, '_pgroll_watch_'))),
    CASE WHEN c.reltuples > 0 THEN least(1000000, greatest(1, pg_catalog.ceil(c.reltuples * 1024000 / greatest(pg_catalog.pg_total_relation_size(c.oid), 1))))::bigint ELSE 1000 END,
    c.reltuples,
    (SELECT min(_pgroll_row."id") FROM "public"."library" AS _pgroll_row),
    (SELECT max(_pgroll_row."id") FROM "public"."library" AS _pgroll_row)
    INTO _pgroll_fires, _pgroll_size, _pgroll_tuples, _pgroll_first, _pgroll_last
    FROM pg_catalog.pg_class c WHERE c.oid = '"public"."library"'::pg_catalog.regclass;
  IF _pgroll_fires
      ~ (CASE WHEN _pgroll_replica THEN '[ar]' ELSE '[oa]' END) THEN
    _pgroll_fast := false;
  END IF;
  _pgroll_least := least(_pgroll_size, 1000);
  _pgroll_dense := _pgroll_last - _pgroll_first + 1 <= 2 * greatest(1, _pgroll_tuples);
  IF pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN
    _pgroll_bounded := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_to_0', true), '') END) IS NOT NULL;
    _pgroll_to_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_to_0', true), '') END);
  END IF;
  SELECT _pgroll_row."id" INTO _pgroll_end_0 FROM "public"."library" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
  IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NOT NULL THEN
    _pgroll_lower_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END);
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."library" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0) ORDER BY _pgroll_row."id" LIMIT 1;
  ELSE  -- the whole table, or the first worker's share
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."library" AS _pgroll_row ORDER BY _pgroll_row."id" LIMIT 1;
  END IF;
  WHILE FOUND AND (_pgroll_lower_0) <= (_pgroll_end_0) AND (NOT _pgroll_bounded OR (_pgroll_lower_0) < (_pgroll_to_0)) LOOP
    EXIT WHEN _pgroll_dense AND _pgroll_lower_0 > _pgroll_last;
    _pgroll_started := pg_catalog.clock_timestamp();
    IF _pgroll_dense THEN  -- a tail of less than a quarter batch joins this one
      _pgroll_upper_0 := CASE WHEN _pgroll_last - (_pgroll_lower_0::numeric + (_pgroll_size - 1)) < _pgroll_size / 4
        THEN _pgroll_last ELSE _pgroll_lower_0::numeric + (_pgroll_size - 1) END;
    ELSE
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."library" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0)
        ORDER BY _pgroll_row."id" OFFSET _pgroll_size - 1 LIMIT 1;
      IF NOT FOUND THEN  -- the last batch: up to the last key
        SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."library" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
      END IF;
    END IF;
    IF (_pgroll_upper_0) > (_pgroll_end_0) THEN  -- rows inserted since the start are filled
      _pgroll_upper_0 := _pgroll_end_0;
    END IF;
    IF _pgroll_bounded AND (_pgroll_upper_0) >= (_pgroll_to_0) THEN  -- this worker's share ends before
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."library" AS _pgroll_row WHERE (_pgroll_row."id") < (_pgroll_to_0)
        ORDER BY _pgroll_row."id" DESC LIMIT 1;
    END IF;
    IF _pgroll_fast THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."library"', true);
      IF _pgroll_replica THEN
        PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
      END IF;
      UPDATE "public"."library" AS _pgroll_row SET "_pgroll_new_value" = ((random() * 1000)::int), "_pgroll_needs_backfill" = false
        WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_needs_backfill";
    ELSE
      UPDATE "public"."library" AS _pgroll_row SET "_pgroll_needs_backfill" = true WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_needs_backfill";
    END IF;
    GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
    _pgroll_done := _pgroll_done + _pgroll_rows;
    RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'library', _pgroll_done USING DETAIL = _pgroll_done::text;
    COMMIT;
    _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
      - _pgroll_started);
    _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
      (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."library" AS _pgroll_row WHERE (_pgroll_row."id") > (_pgroll_upper_0)
      ORDER BY _pgroll_row."id" LIMIT 1;
  END LOOP;
END
$pgroll_backfill$;

-- [52] 53_add_column_with_volatile_default.yaml:3:7: validate _pgroll_check_not_null_value
--     lock: SHARE UPDATE EXCLUSIVE on library; scans the table (reads and writes continue)
ALTER TABLE IF EXISTS "public"."library" VALIDATE CONSTRAINT "_pgroll_check_not_null_value";

-- ==== complete (11 steps) ====

-- steps 1-11 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 53_add_column_with_volatile_default.yaml:1:1: drop the previous version schema public_52_create_table_with_exclusion_constraint
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

-- [2] 53_add_column_with_volatile_default.yaml:1:1: lock library for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on library; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."library"') IS NOT NULL THEN
    LOCK TABLE "public"."library" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 53_add_column_with_volatile_default.yaml:3:7: set the default of library.value
--     lock: ACCESS EXCLUSIVE on library; catalog only
ALTER TABLE "public"."library" ALTER COLUMN "_pgroll_new_value" SET DEFAULT ((random() * 1000)::int);

-- [4] 53_add_column_with_volatile_default.yaml:3:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_library_value"() CASCADE;

-- [5] 53_add_column_with_volatile_default.yaml:3:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_library_value"() CASCADE;

-- [6] 53_add_column_with_volatile_default.yaml:3:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_library_value"() CASCADE;

-- [7] 53_add_column_with_volatile_default.yaml:3:7: rename _pgroll_new_value to value
--     lock: ACCESS EXCLUSIVE on library; catalog only
--     safe despite renaming-column: clients use version-schema views, which follow the rename
-- squawk-ignore renaming-column
ALTER TABLE IF EXISTS "public"."library" RENAME COLUMN "_pgroll_new_value" TO "value";

-- [8] 53_add_column_with_volatile_default.yaml:3:7: set value NOT NULL (the valid check spares the scan)
--     lock: ACCESS EXCLUSIVE on library; catalog only
--     safe despite adding-not-nullable-field: a valid CHECK (column IS NOT NULL), validated at start while writes went on, spares the scan
-- squawk-ignore adding-not-nullable-field
ALTER TABLE IF EXISTS "public"."library" ALTER COLUMN "value" SET NOT NULL;

-- [9] 53_add_column_with_volatile_default.yaml:3:7: drop the check _pgroll_check_not_null_value
--     lock: ACCESS EXCLUSIVE on library; catalog only
--     safe despite ban-drop-constraint: a helper constraint of this migration, or the one it drops, once no old client relies on it
-- squawk-ignore ban-drop-constraint
ALTER TABLE IF EXISTS "public"."library" DROP CONSTRAINT IF EXISTS "_pgroll_check_not_null_value";

-- [10] 53_add_column_with_volatile_default.yaml:1:1: drop the backfill marker of library
--     lock: ACCESS EXCLUSIVE on library; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."library" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- [11] 53_add_column_with_volatile_default.yaml:1:1: the rights granted on public and its tables since start reach public_53_add_column_with_volatile_default and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_53_add_column_with_volatile_default' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_53_add_column_with_volatile_default') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_53_add_column_with_volatile_default"."bills"', 'bills', 'bills'),
      ('"public_53_add_column_with_volatile_default"."clients"', 'clients', 'clients'),
      ('"public_53_add_column_with_volatile_default"."employees"', 'employees', 'employees'),
      ('"public_53_add_column_with_volatile_default"."events"', 'events', 'events'),
      ('"public_53_add_column_with_volatile_default"."fruits"', 'fruits', 'fruits'),
      ('"public_53_add_column_with_volatile_default"."items"', 'items', 'items'),
      ('"public_53_add_column_with_volatile_default"."library"', 'library', 'library'),
      ('"public_53_add_column_with_volatile_default"."orders"', 'orders', 'orders'),
      ('"public_53_add_column_with_volatile_default"."people"', 'people', 'people'),
      ('"public_53_add_column_with_volatile_default"."phonebook"', 'phonebook', 'phonebook'),
      ('"public_53_add_column_with_volatile_default"."posts"', 'posts', 'posts'),
      ('"public_53_add_column_with_volatile_default"."reviews"', 'reviews', 'reviews'),
      ('"public_53_add_column_with_volatile_default"."sellers"', 'sellers', 'sellers'),
      ('"public_53_add_column_with_volatile_default"."telephone_providers"', 'telephone_providers', 'telephone_providers'),
      ('"public_53_add_column_with_volatile_default"."tickets"', 'tickets', 'tickets'),
      ('"public_53_add_column_with_volatile_default"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_53_add_column_with_volatile_default')),
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

-- (the live executor records steps 1-11 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== rollback (7 steps) ====

-- steps 1-7 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 53_add_column_with_volatile_default.yaml:1:1: drop version schema public_53_add_column_with_volatile_default
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_53_add_column_with_volatile_default"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_53_add_column_with_volatile_default"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_53_add_column_with_volatile_default"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_53_add_column_with_volatile_default" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_53_add_column_with_volatile_default" CASCADE;
END
$pgroll$;

-- [2] 53_add_column_with_volatile_default.yaml:1:1: lock library for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on library; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."library"') IS NOT NULL THEN
    LOCK TABLE "public"."library" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 53_add_column_with_volatile_default.yaml:3:7: drop trigger _pgroll_trigger_000-set_library_value
--     lock: ACCESS EXCLUSIVE on library; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_library_value"() CASCADE;

-- [4] 53_add_column_with_volatile_default.yaml:3:7: drop trigger _pgroll_trigger_000_library_value
--     lock: ACCESS EXCLUSIVE on library; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_library_value"() CASCADE;

-- [5] 53_add_column_with_volatile_default.yaml:3:7: drop trigger ~pgroll_trigger_000_library_value
--     lock: ACCESS EXCLUSIVE on library; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_library_value"() CASCADE;

-- [6] 53_add_column_with_volatile_default.yaml:3:7: drop column _pgroll_new_value
--     lock: ACCESS EXCLUSIVE on library; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."library" DROP COLUMN IF EXISTS "_pgroll_new_value";

-- [7] 53_add_column_with_volatile_default.yaml:1:1: drop the backfill marker of library
--     lock: ACCESS EXCLUSIVE on library; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."library" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- (the live executor records steps 1-7 as done in its state schema here, in the same transaction)
COMMIT;
