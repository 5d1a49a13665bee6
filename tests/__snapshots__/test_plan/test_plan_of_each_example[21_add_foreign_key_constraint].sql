-- pgroll-dsl 0.1.0 plan for migration 21_add_foreign_key_constraint
-- target schema: public; new version schema: public_21_add_foreign_key_constraint
-- previous version schema: public_20_create_posts_table
-- catalog: empty
-- Generated: review it, do not edit it. Each phase runs with psql -v ON_ERROR_STOP=1.
-- safe despite require-statement-timeout: index builds, VALIDATE and the batched backfill legitimately run long; every lock wait is bounded by lock_timeout
-- safe despite prefer-robust-stmts: a phase is not re-run blindly: a failed start is undone by rollback, whose steps all tolerate a partial start
-- safe despite prefer-bigint-over-int: the type is the author's choice
-- squawk-ignore-file require-statement-timeout, prefer-robust-stmts, prefer-bigint-over-int
SET client_encoding = 'UTF8';
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

-- ==== start (32 steps) ====

-- [1] 21_add_foreign_key_constraint.yaml:3:7: add column _pgroll_new_user_id (copy of user_id)
--     lock: ACCESS EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" ADD COLUMN IF NOT EXISTS "_pgroll_new_user_id" integer;

-- [2] 21_add_foreign_key_constraint.yaml:3:7: backfill marker on posts (constant default: no rewrite), and _pgroll_backfilled_by (no default)
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite adding-field-with-default: a constant default: PostgreSQL adds it without rewriting the table
-- squawk-ignore adding-field-with-default
ALTER TABLE "public"."posts" ADD COLUMN IF NOT EXISTS "_pgroll_needs_backfill" boolean NOT NULL DEFAULT true, ADD COLUMN IF NOT EXISTS "_pgroll_backfilled_by" pg_catalog.xid;

-- [3] 21_add_foreign_key_constraint.yaml:3:7: trigger function _pgroll_trigger_000_posts_user_id (new-version updates of rows not backfilled yet: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000_posts_user_id"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "public", pg_temp
AS $pgroll$
#variable_conflict use_column
BEGIN
  IF TG_OP = 'UPDATE' AND OLD."_pgroll_needs_backfill" THEN
    IF pg_catalog.current_setting('pgroll_dsl.written', true) = '_pgroll_trigger_000_posts_user_id' THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.written', '', true);  -- written: kept
    ELSIF ROW(NEW."_pgroll_new_user_id")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_user_id")::record
        AND ROW(NEW."user_id")::record OPERATOR(pg_catalog.*=) ROW(OLD."user_id")::record THEN
      DECLARE
        "user_id" "public"."posts"."user_id"%TYPE := OLD."user_id";
      BEGIN
        NEW."_pgroll_new_user_id" := (SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE users.id = user_id) THEN user_id ELSE NULL END);
      END;
    END IF;
  END IF;
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [4] 21_add_foreign_key_constraint.yaml:3:7: trigger function _pgroll_trigger_down999_posts_user_id (new-version writes: down)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_down999_posts_user_id"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
#variable_conflict use_column
BEGIN
  IF TG_OP = 'UPDATE' THEN  -- OLD is no record on INSERT
    IF NOT ROW(NEW."user_id")::record OPERATOR(pg_catalog.*=) ROW(OLD."user_id")::record
        AND ROW(NEW."_pgroll_new_user_id")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_user_id")::record THEN
      DECLARE
        pgroll_path text := pg_catalog.current_setting('search_path');
      BEGIN
        PERFORM pg_catalog.set_config('search_path', '"public", pg_temp', true);
        DECLARE
          "user_id" "public"."posts"."user_id"%TYPE := NEW."user_id";
        BEGIN
          NEW."_pgroll_new_user_id" := (SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE users.id = user_id) THEN user_id ELSE NULL END);
        END;
        PERFORM pg_catalog.set_config('search_path', pgroll_path, true);
      END;
      RETURN NEW;
    END IF;
  END IF;
  NEW."user_id" := (NEW."_pgroll_new_user_id");
  RETURN NEW;
END
$pgroll$;

-- [5] 21_add_foreign_key_constraint.yaml:3:7: trigger function ~pgroll_trigger_000_posts_user_id (old-version and base-table writes: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."~pgroll_trigger_000_posts_user_id"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "public", pg_temp
AS $pgroll$
#variable_conflict use_column
BEGIN
  DECLARE
    "user_id" "public"."posts"."user_id"%TYPE := NEW."user_id";
  BEGIN
    NEW."_pgroll_new_user_id" := (SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE users.id = user_id) THEN user_id ELSE NULL END);
  END;
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [6] 21_add_foreign_key_constraint.yaml:3:7: trigger function _pgroll_trigger_000-set_posts_user_id
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000-set_posts_user_id"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
BEGIN
  PERFORM pg_catalog.set_config('pgroll_dsl.written', '_pgroll_trigger_000_posts_user_id', true);
  RETURN NEW;
END
$pgroll$;

-- steps 7-8 run in one transaction: clients see all of them or none
BEGIN;

-- [7] 21_add_foreign_key_constraint.yaml:3:7: trigger _pgroll_trigger_000-set_posts_user_id on posts (a new-version UPDATE that sets user_id)
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000-set_posts_user_id" BEFORE UPDATE OF "_pgroll_new_user_id" ON "public"."posts" FOR EACH ROW
  WHEN (OLD."_pgroll_needs_backfill" AND (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_21_add_foreign_key_constraint' THEN true WHEN 'public' THEN false WHEN 'public_20_create_posts_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_21_add_foreign_key_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_20_create_posts_table'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."posts"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000-set_posts_user_id"();

-- [8] 21_add_foreign_key_constraint.yaml:3:7: trigger _pgroll_trigger_000-set_posts_user_id fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000-set_posts_user_id";

-- (the live executor records steps 7-8 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 9-10 run in one transaction: clients see all of them or none
BEGIN;

-- [9] 21_add_foreign_key_constraint.yaml:3:7: trigger _pgroll_trigger_000_posts_user_id on posts (new-version updates of rows not backfilled yet: up)
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000_posts_user_id" BEFORE INSERT OR UPDATE ON "public"."posts" FOR EACH ROW
  WHEN (CASE WHEN NEW."_pgroll_needs_backfill" THEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_21_add_foreign_key_constraint' THEN true WHEN 'public' THEN false WHEN 'public_20_create_posts_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_21_add_foreign_key_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_20_create_posts_table'::name), 2147483647)), false) END) ELSE false END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."posts"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000_posts_user_id"();

-- [10] 21_add_foreign_key_constraint.yaml:3:7: trigger _pgroll_trigger_000_posts_user_id fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000_posts_user_id";

-- (the live executor records steps 9-10 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 11-12 run in one transaction: clients see all of them or none
BEGIN;

-- [11] 21_add_foreign_key_constraint.yaml:3:7: trigger _pgroll_trigger_down999_posts_user_id on posts (new-version writes: down)
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_down999_posts_user_id" BEFORE INSERT OR UPDATE ON "public"."posts" FOR EACH ROW
  WHEN ((CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_21_add_foreign_key_constraint' THEN true WHEN 'public' THEN false WHEN 'public_20_create_posts_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_21_add_foreign_key_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_20_create_posts_table'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."posts"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_down999_posts_user_id"();

-- [12] 21_add_foreign_key_constraint.yaml:3:7: trigger _pgroll_trigger_down999_posts_user_id fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" ENABLE ALWAYS TRIGGER "_pgroll_trigger_down999_posts_user_id";

-- (the live executor records steps 11-12 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 13-14 run in one transaction: clients see all of them or none
BEGIN;

-- [13] 21_add_foreign_key_constraint.yaml:3:7: trigger ~pgroll_trigger_000_posts_user_id on posts (old-version and base-table writes: up)
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
CREATE OR REPLACE TRIGGER "~pgroll_trigger_000_posts_user_id" BEFORE INSERT OR UPDATE ON "public"."posts" FOR EACH ROW
  WHEN (NOT (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_21_add_foreign_key_constraint' THEN true WHEN 'public' THEN false WHEN 'public_20_create_posts_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_21_add_foreign_key_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_20_create_posts_table'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."posts"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."~pgroll_trigger_000_posts_user_id"();

-- [14] 21_add_foreign_key_constraint.yaml:3:7: trigger ~pgroll_trigger_000_posts_user_id fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" ENABLE ALWAYS TRIGGER "~pgroll_trigger_000_posts_user_id";

-- (the live executor records steps 13-14 as done in its state schema here, in the same transaction)
COMMIT;

-- [15] 21_add_foreign_key_constraint.yaml:3:7: add foreign key fk_users_id (not valid)
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" ADD CONSTRAINT "fk_users_id" FOREIGN KEY ("_pgroll_new_user_id") REFERENCES "public"."users" ("id") MATCH SIMPLE ON DELETE CASCADE ON UPDATE NO ACTION NOT VALID;

-- steps 16-30 run in one transaction: clients see all of them or none
BEGIN;

-- [16] 21_add_foreign_key_constraint.yaml:1:1: create version schema public_21_add_foreign_key_constraint
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_21_add_foreign_key_constraint";

-- [17] 21_add_foreign_key_constraint.yaml:1:1: view bills of version public_21_add_foreign_key_constraint
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_21_add_foreign_key_constraint"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [18] 21_add_foreign_key_constraint.yaml:1:1: view clients of version public_21_add_foreign_key_constraint
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_21_add_foreign_key_constraint"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [19] 21_add_foreign_key_constraint.yaml:1:1: view employees of version public_21_add_foreign_key_constraint
--     lock: ACCESS SHARE on employees; catalog only
CREATE VIEW "public_21_add_foreign_key_constraint"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "job_title" AS "job_title" FROM "public"."employees";

-- [20] 21_add_foreign_key_constraint.yaml:1:1: a column default of view employees
--     lock: none on employees; catalog only
ALTER VIEW "public_21_add_foreign_key_constraint"."employees" ALTER COLUMN "id" SET DEFAULT nextval('employees_id_seq'::regclass);

-- [21] 21_add_foreign_key_constraint.yaml:1:1: view fruits of version public_21_add_foreign_key_constraint
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_21_add_foreign_key_constraint"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."fruits";

-- [22] 21_add_foreign_key_constraint.yaml:1:1: view orders of version public_21_add_foreign_key_constraint
--     lock: ACCESS SHARE on orders; catalog only
CREATE VIEW "public_21_add_foreign_key_constraint"."orders" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "quantity" AS "quantity" FROM "public"."orders";

-- [23] 21_add_foreign_key_constraint.yaml:1:1: a column default of view orders
--     lock: none on orders; catalog only
ALTER VIEW "public_21_add_foreign_key_constraint"."orders" ALTER COLUMN "id" SET DEFAULT nextval('orders_id_seq'::regclass);

-- [24] 21_add_foreign_key_constraint.yaml:1:1: view posts of version public_21_add_foreign_key_constraint
--     lock: ACCESS SHARE on posts; catalog only
CREATE VIEW "public_21_add_foreign_key_constraint"."posts" WITH (security_invoker = true) AS SELECT "id" AS "id", "title" AS "title", "_pgroll_new_user_id" AS "user_id" FROM "public"."posts";

-- [25] 21_add_foreign_key_constraint.yaml:1:1: a column default of view posts
--     lock: none on posts; catalog only
ALTER VIEW "public_21_add_foreign_key_constraint"."posts" ALTER COLUMN "id" SET DEFAULT nextval('posts_id_seq'::regclass);

-- [26] 21_add_foreign_key_constraint.yaml:1:1: view reviews of version public_21_add_foreign_key_constraint
--     lock: ACCESS SHARE on reviews; catalog only
CREATE VIEW "public_21_add_foreign_key_constraint"."reviews" WITH (security_invoker = true) AS SELECT "id" AS "id", "username" AS "username", "product" AS "product", "review" AS "review", "rating" AS "rating" FROM "public"."reviews";

-- [27] 21_add_foreign_key_constraint.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_21_add_foreign_key_constraint"."reviews" ALTER COLUMN "id" SET DEFAULT nextval('reviews_id_seq'::regclass);

-- [28] 21_add_foreign_key_constraint.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_21_add_foreign_key_constraint"."reviews" ALTER COLUMN "rating" SET DEFAULT 0;

-- [29] 21_add_foreign_key_constraint.yaml:1:1: view sellers of version public_21_add_foreign_key_constraint
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_21_add_foreign_key_constraint"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [30] 21_add_foreign_key_constraint.yaml:1:1: view users of version public_21_add_foreign_key_constraint
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_21_add_foreign_key_constraint"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- (the live executor records steps 16-30 as done in its state schema here, in the same transaction)
COMMIT;

-- [31] 21_add_foreign_key_constraint.yaml:3:7: backfill posts in batches keyed on id, the triggers fill the copies
--     lock: ROW EXCLUSIVE on posts; backfills rows in batches
--     runs outside a transaction block
DO $pgroll_backfill$
#variable_conflict use_variable
DECLARE
  _pgroll_lower_0 "public"."posts"."id"%TYPE;
  _pgroll_upper_0 "public"."posts"."id"%TYPE;
  _pgroll_to_0 "public"."posts"."id"%TYPE;
  _pgroll_end_0 "public"."posts"."id"%TYPE;
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
BEGIN
  SELECT CASE WHEN c.reltuples > 0 THEN least(1000000, greatest(1, pg_catalog.ceil(c.reltuples * 1024000 / greatest(pg_catalog.pg_total_relation_size(c.oid), 1))))::bigint ELSE 1000 END,
    c.reltuples,
    (SELECT min(_pgroll_row."id") FROM "public"."posts" AS _pgroll_row),
    (SELECT max(_pgroll_row."id") FROM "public"."posts" AS _pgroll_row)
    INTO _pgroll_size, _pgroll_tuples, _pgroll_first, _pgroll_last
    FROM pg_catalog.pg_class c WHERE c.oid = '"public"."posts"'::pg_catalog.regclass;
  _pgroll_least := least(_pgroll_size, 1000);
  _pgroll_dense := _pgroll_last - _pgroll_first + 1 <= 2 * greatest(1, _pgroll_tuples);
  IF pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN
    _pgroll_bounded := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_to_0', true), '') END) IS NOT NULL;
    _pgroll_to_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_to_0', true), '') END);
  END IF;
  SELECT _pgroll_row."id" INTO _pgroll_end_0 FROM "public"."posts" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
  IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NOT NULL THEN
    _pgroll_lower_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END);
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."posts" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0) ORDER BY _pgroll_row."id" LIMIT 1;
  ELSE  -- the whole table, or the first worker's share
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."posts" AS _pgroll_row ORDER BY _pgroll_row."id" LIMIT 1;
  END IF;
  WHILE FOUND AND (_pgroll_lower_0) <= (_pgroll_end_0) AND (NOT _pgroll_bounded OR (_pgroll_lower_0) < (_pgroll_to_0)) LOOP
    EXIT WHEN _pgroll_dense AND _pgroll_lower_0 > _pgroll_last;
    _pgroll_started := pg_catalog.clock_timestamp();
    IF _pgroll_dense THEN  -- a tail of less than a quarter batch joins this one
      _pgroll_upper_0 := CASE WHEN _pgroll_last - (_pgroll_lower_0::numeric + (_pgroll_size - 1)) < _pgroll_size / 4
        THEN _pgroll_last ELSE _pgroll_lower_0::numeric + (_pgroll_size - 1) END;
    ELSE
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."posts" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0)
        ORDER BY _pgroll_row."id" OFFSET _pgroll_size - 1 LIMIT 1;
      IF NOT FOUND THEN  -- the last batch: up to the last key
        SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."posts" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
      END IF;
    END IF;
    IF (_pgroll_upper_0) > (_pgroll_end_0) THEN  -- rows inserted since the start are filled
      _pgroll_upper_0 := _pgroll_end_0;
    END IF;
    IF _pgroll_bounded AND (_pgroll_upper_0) >= (_pgroll_to_0) THEN  -- this worker's share ends before
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."posts" AS _pgroll_row WHERE (_pgroll_row."id") < (_pgroll_to_0)
        ORDER BY _pgroll_row."id" DESC LIMIT 1;
    END IF;
    UPDATE "public"."posts" AS _pgroll_row SET "_pgroll_needs_backfill" = true WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_needs_backfill";
    GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
    _pgroll_done := _pgroll_done + _pgroll_rows;
    RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'posts', _pgroll_done USING DETAIL = _pgroll_done::text;
    COMMIT;
    _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
      - _pgroll_started);
    _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
      (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."posts" AS _pgroll_row WHERE (_pgroll_row."id") > (_pgroll_upper_0)
      ORDER BY _pgroll_row."id" LIMIT 1;
  END LOOP;
END
$pgroll_backfill$;

-- [32] 21_add_foreign_key_constraint.yaml:3:7: validate fk_users_id
--     lock: SHARE UPDATE EXCLUSIVE on posts; scans the table (reads and writes continue)
ALTER TABLE IF EXISTS "public"."posts" VALIDATE CONSTRAINT "fk_users_id";

-- ==== complete (5 steps) ====

-- steps 1-5 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 21_add_foreign_key_constraint.yaml:1:1: drop the previous version schema public_20_create_posts_table
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DROP SCHEMA IF EXISTS "public_20_create_posts_table" CASCADE;

-- [2] 21_add_foreign_key_constraint.yaml:1:1: lock posts for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on posts; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."posts"') IS NOT NULL THEN
    LOCK TABLE "public"."posts" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 21_add_foreign_key_constraint.yaml:3:7: drop the sync triggers and the old column user_id together
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
DO $pgroll$
BEGIN
  DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_posts_user_id"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_posts_user_id"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_down999_posts_user_id"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_posts_user_id"() CASCADE;
  ALTER TABLE IF EXISTS "public"."posts" DROP COLUMN IF EXISTS "user_id";
END
$pgroll$;

-- [4] 21_add_foreign_key_constraint.yaml:3:7: rename _pgroll_new_user_id to user_id
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite renaming-column: clients use version-schema views, which follow the rename
-- squawk-ignore renaming-column
ALTER TABLE IF EXISTS "public"."posts" RENAME COLUMN "_pgroll_new_user_id" TO "user_id";

-- [5] 21_add_foreign_key_constraint.yaml:1:1: drop the backfill marker of posts
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."posts" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- (the live executor records steps 1-5 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== rollback (8 steps) ====

-- steps 1-8 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 21_add_foreign_key_constraint.yaml:1:1: drop version schema public_21_add_foreign_key_constraint
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DROP SCHEMA IF EXISTS "public_21_add_foreign_key_constraint" CASCADE;

-- [2] 21_add_foreign_key_constraint.yaml:1:1: lock posts for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on posts; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."posts"') IS NOT NULL THEN
    LOCK TABLE "public"."posts" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 21_add_foreign_key_constraint.yaml:3:7: drop trigger _pgroll_trigger_000-set_posts_user_id
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_posts_user_id"() CASCADE;

-- [4] 21_add_foreign_key_constraint.yaml:3:7: drop trigger _pgroll_trigger_000_posts_user_id
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_posts_user_id"() CASCADE;

-- [5] 21_add_foreign_key_constraint.yaml:3:7: drop trigger _pgroll_trigger_down999_posts_user_id
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_down999_posts_user_id"() CASCADE;

-- [6] 21_add_foreign_key_constraint.yaml:3:7: drop trigger ~pgroll_trigger_000_posts_user_id
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_posts_user_id"() CASCADE;

-- [7] 21_add_foreign_key_constraint.yaml:3:7: drop the copies _pgroll_new_user_id
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."posts" DROP COLUMN IF EXISTS "_pgroll_new_user_id";

-- [8] 21_add_foreign_key_constraint.yaml:1:1: drop the backfill marker of posts
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."posts" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- (the live executor records steps 1-8 as done in its state schema here, in the same transaction)
COMMIT;
