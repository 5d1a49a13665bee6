-- pgroll-dsl 0.1.0 plan for migration 03_add_column
-- target schema: public; new version schema: public_03_add_column
-- previous version schema: public_02_create_another_table
-- catalog: empty
-- Generated: review it, do not edit it. Each phase runs with psql -v ON_ERROR_STOP=1.
-- safe despite require-statement-timeout: index builds, VALIDATE and the batched backfill legitimately run long; every lock wait is bounded by lock_timeout
-- safe despite prefer-robust-stmts: a phase is not re-run blindly: a failed start is undone by rollback, whose steps all tolerate a partial start
-- safe despite prefer-text-field: the type is the author's choice
-- safe despite prefer-bigint-over-int: the type is the author's choice
-- squawk-ignore-file require-statement-timeout, prefer-robust-stmts, prefer-text-field, prefer-bigint-over-int
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

-- ==== start (33 steps) ====

-- [1] 03_add_column.yaml:3:7: add column products.description as _pgroll_new_description
--     lock: ACCESS EXCLUSIVE on products; catalog only
ALTER TABLE "public"."products" ADD COLUMN "_pgroll_new_description" varchar(255);

-- [2] 03_add_column.yaml:3:7: backfill marker on products (constant default: no rewrite), and _pgroll_backfilled_by (no default)
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite adding-field-with-default: a constant default: PostgreSQL adds it without rewriting the table
-- squawk-ignore adding-field-with-default
ALTER TABLE "public"."products" ADD COLUMN IF NOT EXISTS "_pgroll_needs_backfill" boolean NOT NULL DEFAULT true, ADD COLUMN IF NOT EXISTS "_pgroll_backfilled_by" pg_catalog.xid;

-- [3] 03_add_column.yaml:3:7: trigger function _pgroll_trigger_000_products_description (new-version updates of rows not backfilled yet: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000_products_description"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "public", pg_temp
AS $pgroll$
#variable_conflict use_column
BEGIN
  IF pg_catalog.current_setting('pgroll_dsl.written', true) = '_pgroll_trigger_000_products_description' THEN
    PERFORM pg_catalog.set_config('pgroll_dsl.written', '', true);  -- written: kept
  ELSIF ROW(NEW."_pgroll_new_description")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_description")::record THEN
    NEW."_pgroll_new_description" := (UPPER(OLD."name"));
  END IF;
  RETURN NEW;
END
$pgroll$;

-- [4] 03_add_column.yaml:3:7: trigger function ~pgroll_trigger_000_products_description (old-version and base-table writes: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."~pgroll_trigger_000_products_description"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "public", pg_temp
AS $pgroll$
#variable_conflict use_column
BEGIN
  NEW."_pgroll_new_description" := (UPPER(NEW."name"));
  RETURN NEW;
END
$pgroll$;

-- [5] 03_add_column.yaml:3:7: trigger function _pgroll_trigger_000-set_products_description
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000-set_products_description"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
BEGIN
  PERFORM pg_catalog.set_config('pgroll_dsl.written', '_pgroll_trigger_000_products_description', true);
  RETURN NEW;
END
$pgroll$;

-- steps 6-7 run in one transaction: clients see all of them or none
BEGIN;

-- [6] 03_add_column.yaml:3:7: trigger _pgroll_trigger_000-set_products_description on products (a new-version UPDATE that sets description)
--     lock: SHARE ROW EXCLUSIVE on products; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000-set_products_description" BEFORE UPDATE OF "_pgroll_new_description" ON "public"."products" FOR EACH ROW
  WHEN (OLD."_pgroll_needs_backfill" AND (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_03_add_column' THEN true WHEN 'public' THEN false WHEN 'public_02_create_another_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_03_add_column'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_02_create_another_table'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."products"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000-set_products_description"();

-- [7] 03_add_column.yaml:3:7: trigger _pgroll_trigger_000-set_products_description fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on products; catalog only
ALTER TABLE "public"."products" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000-set_products_description";

-- (the live executor records steps 6-7 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 8-9 run in one transaction: clients see all of them or none
BEGIN;

-- [8] 03_add_column.yaml:3:7: trigger _pgroll_trigger_000_products_description on products (new-version updates of rows not backfilled yet: up)
--     lock: SHARE ROW EXCLUSIVE on products; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000_products_description" BEFORE UPDATE ON "public"."products" FOR EACH ROW
  WHEN (CASE WHEN OLD."_pgroll_needs_backfill" THEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_03_add_column' THEN true WHEN 'public' THEN false WHEN 'public_02_create_another_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_03_add_column'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_02_create_another_table'::name), 2147483647)), false) END) ELSE false END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."products"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000_products_description"();

-- [9] 03_add_column.yaml:3:7: trigger _pgroll_trigger_000_products_description fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on products; catalog only
ALTER TABLE "public"."products" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000_products_description";

-- (the live executor records steps 8-9 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 10-11 run in one transaction: clients see all of them or none
BEGIN;

-- [10] 03_add_column.yaml:3:7: trigger ~pgroll_trigger_000_products_description on products (old-version and base-table writes: up)
--     lock: SHARE ROW EXCLUSIVE on products; catalog only
CREATE OR REPLACE TRIGGER "~pgroll_trigger_000_products_description" BEFORE INSERT OR UPDATE ON "public"."products" FOR EACH ROW
  WHEN (CASE WHEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_03_add_column' THEN true WHEN 'public' THEN false WHEN 'public_02_create_another_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_03_add_column'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_02_create_another_table'::name), 2147483647)), false) END)
    THEN false
    ELSE NEW."_pgroll_needs_backfill"
    OR NEW."_pgroll_new_description"::text COLLATE "C" IS DISTINCT FROM (UPPER(NEW."name"))::text COLLATE "C" END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."products"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."~pgroll_trigger_000_products_description"();

-- [11] 03_add_column.yaml:3:7: trigger ~pgroll_trigger_000_products_description fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on products; catalog only
ALTER TABLE "public"."products" ENABLE ALWAYS TRIGGER "~pgroll_trigger_000_products_description";

-- (the live executor records steps 10-11 as done in its state schema here, in the same transaction)
COMMIT;

-- [12] 03_add_column.yaml:10:7: add column products.stock as _pgroll_new_stock
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite adding-field-with-default: a constant default: PostgreSQL adds it without rewriting the table
-- squawk-ignore adding-field-with-default
ALTER TABLE "public"."products" ADD COLUMN "_pgroll_new_stock" int DEFAULT (100) NOT NULL;

-- [13] 03_add_column.yaml:17:7: add column products.category as _pgroll_new_category
--     lock: ACCESS EXCLUSIVE on products; catalog only
ALTER TABLE "public"."products" ADD COLUMN "_pgroll_new_category" varchar(255);

-- [14] 03_add_column.yaml:17:7: trigger function _pgroll_trigger_001_products_category (new-version updates of rows not backfilled yet: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_001_products_category"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "public", pg_temp
AS $pgroll$
#variable_conflict use_column
BEGIN
  IF TG_OP = 'UPDATE' AND OLD."_pgroll_needs_backfill" THEN
    IF pg_catalog.current_setting('pgroll_dsl.written', true) = '_pgroll_trigger_001_products_category' THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.written', '', true);  -- written: kept
    ELSIF ROW(NEW."_pgroll_new_category")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_category")::record THEN
      NEW."_pgroll_new_category" := (OLD."name" || '-category');
    END IF;
  END IF;
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [15] 03_add_column.yaml:17:7: trigger function ~pgroll_trigger_001_products_category (old-version and base-table writes: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."~pgroll_trigger_001_products_category"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "public", pg_temp
AS $pgroll$
#variable_conflict use_column
BEGIN
  NEW."_pgroll_new_category" := (NEW."name" || '-category');
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [16] 03_add_column.yaml:17:7: trigger function _pgroll_trigger_001-set_products_category
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_001-set_products_category"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
BEGIN
  PERFORM pg_catalog.set_config('pgroll_dsl.written', '_pgroll_trigger_001_products_category', true);
  RETURN NEW;
END
$pgroll$;

-- steps 17-18 run in one transaction: clients see all of them or none
BEGIN;

-- [17] 03_add_column.yaml:17:7: trigger _pgroll_trigger_001-set_products_category on products (a new-version UPDATE that sets category)
--     lock: SHARE ROW EXCLUSIVE on products; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_001-set_products_category" BEFORE UPDATE OF "_pgroll_new_category" ON "public"."products" FOR EACH ROW
  WHEN (OLD."_pgroll_needs_backfill" AND (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_03_add_column' THEN true WHEN 'public' THEN false WHEN 'public_02_create_another_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_03_add_column'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_02_create_another_table'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."products"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_001-set_products_category"();

-- [18] 03_add_column.yaml:17:7: trigger _pgroll_trigger_001-set_products_category fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on products; catalog only
ALTER TABLE "public"."products" ENABLE ALWAYS TRIGGER "_pgroll_trigger_001-set_products_category";

-- (the live executor records steps 17-18 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 19-20 run in one transaction: clients see all of them or none
BEGIN;

-- [19] 03_add_column.yaml:17:7: trigger _pgroll_trigger_001_products_category on products (new-version updates of rows not backfilled yet: up)
--     lock: SHARE ROW EXCLUSIVE on products; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_001_products_category" BEFORE INSERT OR UPDATE ON "public"."products" FOR EACH ROW
  WHEN (CASE WHEN NEW."_pgroll_needs_backfill" THEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_03_add_column' THEN true WHEN 'public' THEN false WHEN 'public_02_create_another_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_03_add_column'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_02_create_another_table'::name), 2147483647)), false) END) ELSE false END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."products"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_001_products_category"();

-- [20] 03_add_column.yaml:17:7: trigger _pgroll_trigger_001_products_category fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on products; catalog only
ALTER TABLE "public"."products" ENABLE ALWAYS TRIGGER "_pgroll_trigger_001_products_category";

-- (the live executor records steps 19-20 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 21-22 run in one transaction: clients see all of them or none
BEGIN;

-- [21] 03_add_column.yaml:17:7: trigger ~pgroll_trigger_001_products_category on products (old-version and base-table writes: up)
--     lock: SHARE ROW EXCLUSIVE on products; catalog only
CREATE OR REPLACE TRIGGER "~pgroll_trigger_001_products_category" BEFORE INSERT OR UPDATE ON "public"."products" FOR EACH ROW
  WHEN (CASE WHEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_03_add_column' THEN true WHEN 'public' THEN false WHEN 'public_02_create_another_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_03_add_column'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_02_create_another_table'::name), 2147483647)), false) END)
    THEN false
    ELSE NEW."_pgroll_needs_backfill"
    OR NEW."_pgroll_new_category"::text COLLATE "C" IS DISTINCT FROM (NEW."name" || '-category')::text COLLATE "C" END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."products"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."~pgroll_trigger_001_products_category"();

-- [22] 03_add_column.yaml:17:7: trigger ~pgroll_trigger_001_products_category fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on products; catalog only
ALTER TABLE "public"."products" ENABLE ALWAYS TRIGGER "~pgroll_trigger_001_products_category";

-- (the live executor records steps 21-22 as done in its state schema here, in the same transaction)
COMMIT;

-- [23] 03_add_column.yaml:17:7: NOT NULL of category as a check (not valid)
--     lock: ACCESS EXCLUSIVE on products; catalog only
ALTER TABLE "public"."products" ADD CONSTRAINT "_pgroll_check_not_null_category" CHECK ("_pgroll_new_category" IS NOT NULL) NOT VALID;

-- steps 24-31 run in one transaction: clients see all of them or none
BEGIN;

-- [24] 03_add_column.yaml:1:1: create version schema public_03_add_column
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_03_add_column";

-- [25] 03_add_column.yaml:1:1: view bills of version public_03_add_column
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_03_add_column"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [26] 03_add_column.yaml:1:1: view customers of version public_03_add_column
--     lock: ACCESS SHARE on customers; catalog only
CREATE VIEW "public_03_add_column"."customers" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."customers";

-- [27] 03_add_column.yaml:1:1: view products of version public_03_add_column
--     lock: ACCESS SHARE on products; catalog only
CREATE VIEW "public_03_add_column"."products" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "_pgroll_new_description" AS "description", "_pgroll_new_stock" AS "stock", "_pgroll_new_category" AS "category" FROM "public"."products";

-- [28] 03_add_column.yaml:1:1: a column default of view products
--     lock: none on products; catalog only
ALTER VIEW "public_03_add_column"."products" ALTER COLUMN "id" SET DEFAULT nextval('products_id_seq'::regclass);

-- [29] 03_add_column.yaml:1:1: a column default of view products
--     lock: none on products; catalog only
ALTER VIEW "public_03_add_column"."products" ALTER COLUMN "stock" SET DEFAULT 100;

-- [30] 03_add_column.yaml:1:1: view sellers of version public_03_add_column
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_03_add_column"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [31] 03_add_column.yaml:1:1: the roles that use public and its tables get the same rights on public_03_add_column and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_03_add_column' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_03_add_column') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_03_add_column"."bills"', 'bills', 'bills'),
      ('"public_03_add_column"."customers"', 'customers', 'customers'),
      ('"public_03_add_column"."products"', 'products', 'products'),
      ('"public_03_add_column"."sellers"', 'sellers', 'sellers')),
    names(view, physical, name) AS (VALUES
      ('"public_03_add_column"."products"', '_pgroll_new_description', 'description'),
      ('"public_03_add_column"."products"', '_pgroll_new_stock', 'stock'),
      ('"public_03_add_column"."products"', '_pgroll_new_category', 'category')),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_03_add_column')),
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

-- (the live executor records steps 24-31 as done in its state schema here, in the same transaction)
COMMIT;

-- [32] 03_add_column.yaml:3:7: backfill products in batches keyed on id, writing the copies itself
--     lock: ROW EXCLUSIVE on products; backfills rows in batches
--     runs outside a transaction block
DO $pgroll_backfill$
#variable_conflict use_variable
DECLARE
  _pgroll_lower_0 "public"."products"."id"%TYPE;
  _pgroll_upper_0 "public"."products"."id"%TYPE;
  _pgroll_to_0 "public"."products"."id"%TYPE;
  _pgroll_end_0 "public"."products"."id"%TYPE;
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
    UPDATE "public"."products" AS _pgroll_row SET "_pgroll_new_description" = (UPPER(_pgroll_row."name")), "_pgroll_new_category" = (_pgroll_row."name" || '-category'), "_pgroll_needs_backfill" = false WHERE false;
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
    (SELECT min(_pgroll_row."id") FROM "public"."products" AS _pgroll_row),
    (SELECT max(_pgroll_row."id") FROM "public"."products" AS _pgroll_row)
    INTO _pgroll_fires, _pgroll_size, _pgroll_tuples, _pgroll_first, _pgroll_last
    FROM pg_catalog.pg_class c WHERE c.oid = '"public"."products"'::pg_catalog.regclass;
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
  SELECT _pgroll_row."id" INTO _pgroll_end_0 FROM "public"."products" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
  IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NOT NULL THEN
    _pgroll_lower_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END);
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."products" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0) ORDER BY _pgroll_row."id" LIMIT 1;
  ELSE  -- the whole table, or the first worker's share
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."products" AS _pgroll_row ORDER BY _pgroll_row."id" LIMIT 1;
  END IF;
  WHILE FOUND AND (_pgroll_lower_0) <= (_pgroll_end_0) AND (NOT _pgroll_bounded OR (_pgroll_lower_0) < (_pgroll_to_0)) LOOP
    EXIT WHEN _pgroll_dense AND _pgroll_lower_0 > _pgroll_last;
    _pgroll_started := pg_catalog.clock_timestamp();
    IF _pgroll_dense THEN  -- a tail of less than a quarter batch joins this one
      _pgroll_upper_0 := CASE WHEN _pgroll_last - (_pgroll_lower_0::numeric + (_pgroll_size - 1)) < _pgroll_size / 4
        THEN _pgroll_last ELSE _pgroll_lower_0::numeric + (_pgroll_size - 1) END;
    ELSE
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."products" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0)
        ORDER BY _pgroll_row."id" OFFSET _pgroll_size - 1 LIMIT 1;
      IF NOT FOUND THEN  -- the last batch: up to the last key
        SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."products" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
      END IF;
    END IF;
    IF (_pgroll_upper_0) > (_pgroll_end_0) THEN  -- rows inserted since the start are filled
      _pgroll_upper_0 := _pgroll_end_0;
    END IF;
    IF _pgroll_bounded AND (_pgroll_upper_0) >= (_pgroll_to_0) THEN  -- this worker's share ends before
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."products" AS _pgroll_row WHERE (_pgroll_row."id") < (_pgroll_to_0)
        ORDER BY _pgroll_row."id" DESC LIMIT 1;
    END IF;
    IF _pgroll_fast THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."products"', true);
      IF _pgroll_replica THEN
        PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
      END IF;
      UPDATE "public"."products" AS _pgroll_row SET "_pgroll_new_description" = (UPPER(_pgroll_row."name")), "_pgroll_new_category" = (_pgroll_row."name" || '-category'), "_pgroll_needs_backfill" = false
        WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_needs_backfill";
    ELSE
      UPDATE "public"."products" AS _pgroll_row SET "_pgroll_needs_backfill" = true WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_needs_backfill";
    END IF;
    GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
    _pgroll_done := _pgroll_done + _pgroll_rows;
    RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'products', _pgroll_done USING DETAIL = _pgroll_done::text;
    COMMIT;
    _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
      - _pgroll_started);
    _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
      (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."products" AS _pgroll_row WHERE (_pgroll_row."id") > (_pgroll_upper_0)
      ORDER BY _pgroll_row."id" LIMIT 1;
  END LOOP;
END
$pgroll_backfill$;

-- [33] 03_add_column.yaml:17:7: validate _pgroll_check_not_null_category
--     lock: SHARE UPDATE EXCLUSIVE on products; scans the table (reads and writes continue)
ALTER TABLE IF EXISTS "public"."products" VALIDATE CONSTRAINT "_pgroll_check_not_null_category";

-- ==== complete (15 steps) ====

-- steps 1-15 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 03_add_column.yaml:1:1: drop the previous version schema public_02_create_another_table
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_02_create_another_table"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_02_create_another_table"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_02_create_another_table"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_02_create_another_table" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_02_create_another_table" CASCADE;
END
$pgroll$;

-- [2] 03_add_column.yaml:1:1: lock products for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on products; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."products"') IS NOT NULL THEN
    LOCK TABLE "public"."products" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 03_add_column.yaml:3:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_products_description"() CASCADE;

-- [4] 03_add_column.yaml:3:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_products_description"() CASCADE;

-- [5] 03_add_column.yaml:3:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_products_description"() CASCADE;

-- [6] 03_add_column.yaml:3:7: rename _pgroll_new_description to description
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite renaming-column: clients use version-schema views, which follow the rename
-- squawk-ignore renaming-column
ALTER TABLE IF EXISTS "public"."products" RENAME COLUMN "_pgroll_new_description" TO "description";

-- [7] 03_add_column.yaml:10:7: rename _pgroll_new_stock to stock
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite renaming-column: clients use version-schema views, which follow the rename
-- squawk-ignore renaming-column
ALTER TABLE IF EXISTS "public"."products" RENAME COLUMN "_pgroll_new_stock" TO "stock";

-- [8] 03_add_column.yaml:17:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_001-set_products_category"() CASCADE;

-- [9] 03_add_column.yaml:17:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_001_products_category"() CASCADE;

-- [10] 03_add_column.yaml:17:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_001_products_category"() CASCADE;

-- [11] 03_add_column.yaml:17:7: rename _pgroll_new_category to category
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite renaming-column: clients use version-schema views, which follow the rename
-- squawk-ignore renaming-column
ALTER TABLE IF EXISTS "public"."products" RENAME COLUMN "_pgroll_new_category" TO "category";

-- [12] 03_add_column.yaml:17:7: set category NOT NULL (the valid check spares the scan)
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite adding-not-nullable-field: a valid CHECK (column IS NOT NULL), validated at start while writes went on, spares the scan
-- squawk-ignore adding-not-nullable-field
ALTER TABLE IF EXISTS "public"."products" ALTER COLUMN "category" SET NOT NULL;

-- [13] 03_add_column.yaml:17:7: drop the check _pgroll_check_not_null_category
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite ban-drop-constraint: a helper constraint of this migration, or the one it drops, once no old client relies on it
-- squawk-ignore ban-drop-constraint
ALTER TABLE IF EXISTS "public"."products" DROP CONSTRAINT IF EXISTS "_pgroll_check_not_null_category";

-- [14] 03_add_column.yaml:1:1: drop the backfill marker of products
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."products" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- [15] 03_add_column.yaml:1:1: the rights granted on public and its tables since start reach public_03_add_column and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_03_add_column' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_03_add_column') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_03_add_column"."bills"', 'bills', 'bills'),
      ('"public_03_add_column"."customers"', 'customers', 'customers'),
      ('"public_03_add_column"."products"', 'products', 'products'),
      ('"public_03_add_column"."sellers"', 'sellers', 'sellers')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_03_add_column')),
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

-- (the live executor records steps 1-15 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== rollback (12 steps) ====

-- steps 1-12 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 03_add_column.yaml:1:1: drop version schema public_03_add_column
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

-- [2] 03_add_column.yaml:1:1: lock products for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on products; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."products"') IS NOT NULL THEN
    LOCK TABLE "public"."products" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 03_add_column.yaml:17:7: drop trigger _pgroll_trigger_001-set_products_category
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_001-set_products_category"() CASCADE;

-- [4] 03_add_column.yaml:17:7: drop trigger _pgroll_trigger_001_products_category
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_001_products_category"() CASCADE;

-- [5] 03_add_column.yaml:17:7: drop trigger ~pgroll_trigger_001_products_category
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_001_products_category"() CASCADE;

-- [6] 03_add_column.yaml:17:7: drop column _pgroll_new_category
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."products" DROP COLUMN IF EXISTS "_pgroll_new_category";

-- [7] 03_add_column.yaml:10:7: drop column _pgroll_new_stock
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."products" DROP COLUMN IF EXISTS "_pgroll_new_stock";

-- [8] 03_add_column.yaml:3:7: drop trigger _pgroll_trigger_000-set_products_description
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_products_description"() CASCADE;

-- [9] 03_add_column.yaml:3:7: drop trigger _pgroll_trigger_000_products_description
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_products_description"() CASCADE;

-- [10] 03_add_column.yaml:3:7: drop trigger ~pgroll_trigger_000_products_description
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_products_description"() CASCADE;

-- [11] 03_add_column.yaml:3:7: drop column _pgroll_new_description
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."products" DROP COLUMN IF EXISTS "_pgroll_new_description";

-- [12] 03_add_column.yaml:1:1: drop the backfill marker of products
--     lock: ACCESS EXCLUSIVE on products; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."products" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- (the live executor records steps 1-12 as done in its state schema here, in the same transaction)
COMMIT;
