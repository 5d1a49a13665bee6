-- pgroll-dsl 0.1.0 plan for migration 06_add_column_to_sql_table
-- target schema: public; new version schema: public_06_add_column_to_sql_table
-- previous version schema: public_05_sql
-- catalog: empty
-- Generated: review it, do not edit it. Each phase runs with psql -v ON_ERROR_STOP=1.
-- safe despite require-statement-timeout: index builds, VALIDATE and the batched backfill legitimately run long; every lock wait is bounded by lock_timeout
-- safe despite prefer-robust-stmts: a phase is not re-run blindly: a failed start is undone by rollback, whose steps all tolerate a partial start
-- safe despite prefer-text-field: the type is the author's choice
-- squawk-ignore-file require-statement-timeout, prefer-robust-stmts, prefer-text-field
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

-- [1] 06_add_column_to_sql_table.yaml:3:7: add column users.description as _pgroll_new_description
--     lock: ACCESS EXCLUSIVE on users; catalog only
ALTER TABLE "public"."users" ADD COLUMN "_pgroll_new_description" varchar(255);

-- [2] 06_add_column_to_sql_table.yaml:3:7: backfill marker on users (constant default: no rewrite), and _pgroll_backfilled_by (no default)
--     lock: ACCESS EXCLUSIVE on users; catalog only
--     safe despite adding-field-with-default: a constant default: PostgreSQL adds it without rewriting the table
-- squawk-ignore adding-field-with-default
ALTER TABLE "public"."users" ADD COLUMN IF NOT EXISTS "_pgroll_needs_backfill" boolean NOT NULL DEFAULT true, ADD COLUMN IF NOT EXISTS "_pgroll_backfilled_by" pg_catalog.xid;

-- steps 3-8 run in one transaction: clients see all of them or none
BEGIN;

-- [3] 06_add_column_to_sql_table.yaml:1:1: backfill watch on users: counts the statements that write it
--     lock: none on users; catalog only
CREATE SEQUENCE IF NOT EXISTS "public"."_pgroll_writes_users";

-- [4] 06_add_column_to_sql_table.yaml:1:1: backfill watch on users: counts the runs that reach the end of users
--     lock: none on users; catalog only
CREATE SEQUENCE IF NOT EXISTS "public"."_pgroll_passed_users";

-- [5] 06_add_column_to_sql_table.yaml:1:1: backfill watch on users: function
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_watch_users"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $pgroll$
BEGIN
  IF COALESCE(pg_catalog.current_setting('pgroll_dsl.backfilling', true), '') = '' OR pg_catalog.pg_trigger_depth() > 1 THEN
    PERFORM pg_catalog.nextval('"public"."_pgroll_writes_users"'::pg_catalog.regclass);
  END IF;
  RETURN NULL;
END
$pgroll$;

-- [6] 06_add_column_to_sql_table.yaml:1:1: backfill watch on users: trigger on users
--     lock: SHARE ROW EXCLUSIVE on users; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_watch_users" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "public"."users" FOR EACH STATEMENT EXECUTE FUNCTION "public"."_pgroll_watch_users"();

-- [7] 06_add_column_to_sql_table.yaml:1:1: backfill watch on users: the trigger fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on users; catalog only
ALTER TABLE "public"."users" ENABLE ALWAYS TRIGGER "_pgroll_watch_users";

-- [8] 06_add_column_to_sql_table.yaml:1:1: backfill watch on users: the transactions still running now (what they change in the catalog counts as changed after the watch began)
--     lock: none on users; catalog only
DO $pgroll$
BEGIN
  EXECUTE pg_catalog.format('COMMENT ON SEQUENCE %s IS %L', '"public"."_pgroll_writes_users"', (SELECT (ARRAY[(pg_catalog.pg_snapshot_xmax(s)::text::bigint % 4294967296)::text::pg_catalog.xid] || ARRAY(SELECT (x::text::bigint % 4294967296)::text::pg_catalog.xid FROM pg_catalog.pg_snapshot_xip(s) x) || ARRAY(SELECT l.transactionid FROM pg_catalog.pg_locks l WHERE l.locktype = 'transactionid'))::text FROM pg_catalog.pg_current_snapshot() s));
END
$pgroll$;

-- (the live executor records steps 3-8 as done in its state schema here, in the same transaction)
COMMIT;

-- [9] 06_add_column_to_sql_table.yaml:3:7: backfill users, first pass, before its sync triggers exist: in batches keyed on id, writing the copies itself
--     lock: ROW EXCLUSIVE on users; backfills rows in batches
--     runs outside a transaction block
DO $pgroll_backfill$
#variable_conflict use_variable
DECLARE
  _pgroll_lower_0 "public"."users"."id"%TYPE;
  _pgroll_upper_0 "public"."users"."id"%TYPE;
  _pgroll_to_0 "public"."users"."id"%TYPE;
  _pgroll_end_0 "public"."users"."id"%TYPE;
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
  _pgroll_synced boolean;
  _pgroll_unwatched boolean;
BEGIN
  BEGIN
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."users"', true);
    UPDATE "public"."users" AS _pgroll_row SET "_pgroll_new_description" = (UPPER(_pgroll_row."name")), "_pgroll_needs_backfill" = false WHERE false;
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '', true);
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
    EXISTS (SELECT FROM pg_catalog.pg_trigger WHERE tgrelid = c.oid AND (pg_catalog.starts_with(tgname, '_pgroll_trigger_') OR pg_catalog.starts_with(tgname, '~pgroll_trigger_'))),
    (EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = '"public"."users"'::pg_catalog.regclass)
      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE srrelid = '"public"."users"'::pg_catalog.regclass)),
    CASE WHEN c.reltuples > 0 THEN least(1000000, greatest(1, pg_catalog.ceil(c.reltuples * 1024000 / greatest(pg_catalog.pg_total_relation_size(c.oid), 1))))::bigint ELSE 1000 END,
    c.reltuples,
    (SELECT min(_pgroll_row."id") FROM "public"."users" AS _pgroll_row),
    (SELECT max(_pgroll_row."id") FROM "public"."users" AS _pgroll_row)
    INTO _pgroll_fires, _pgroll_synced, _pgroll_unwatched, _pgroll_size, _pgroll_tuples, _pgroll_first, _pgroll_last
    FROM pg_catalog.pg_class c WHERE c.oid = '"public"."users"'::pg_catalog.regclass;
  IF _pgroll_fires
      ~ (CASE WHEN _pgroll_replica THEN '[ar]' ELSE '[oa]' END) THEN
    _pgroll_fast := false;
  END IF;
  IF NOT _pgroll_fast OR _pgroll_synced OR _pgroll_fires
      ~* (CASE WHEN _pgroll_replica THEN '[AR]' ELSE '[OA]' END) THEN
    PERFORM pg_catalog.nextval('"public"."_pgroll_writes_users"'::pg_catalog.regclass);  -- the second pass reads
    RETURN;
  END IF;
  _pgroll_least := least(_pgroll_size, 1000);
  _pgroll_dense := _pgroll_last - _pgroll_first + 1 <= 2 * greatest(1, _pgroll_tuples);
  IF pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN
    _pgroll_bounded := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_to_0', true), '') END) IS NOT NULL;
    _pgroll_to_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_to_0', true), '') END);
  END IF;
  SELECT _pgroll_row."id" INTO _pgroll_end_0 FROM "public"."users" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
  IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NOT NULL THEN
    _pgroll_lower_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END);
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."users" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0) ORDER BY _pgroll_row."id" LIMIT 1;
  ELSE  -- the whole table, or the first worker's share
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."users" AS _pgroll_row ORDER BY _pgroll_row."id" LIMIT 1;
  END IF;
  WHILE FOUND AND (_pgroll_lower_0) <= (_pgroll_end_0) AND (NOT _pgroll_bounded OR (_pgroll_lower_0) < (_pgroll_to_0)) LOOP
    EXIT WHEN _pgroll_dense AND _pgroll_lower_0 > _pgroll_last;
    _pgroll_started := pg_catalog.clock_timestamp();
    IF _pgroll_dense THEN  -- a tail of less than a quarter batch joins this one
      _pgroll_upper_0 := CASE WHEN _pgroll_last - (_pgroll_lower_0::numeric + (_pgroll_size - 1)) < _pgroll_size / 4
        THEN _pgroll_last ELSE _pgroll_lower_0::numeric + (_pgroll_size - 1) END;
    ELSE
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."users" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0)
        ORDER BY _pgroll_row."id" OFFSET _pgroll_size - 1 LIMIT 1;
      IF NOT FOUND THEN  -- the last batch: up to the last key
        SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."users" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
      END IF;
    END IF;
    IF (_pgroll_upper_0) > (_pgroll_end_0) THEN  -- rows inserted since the start are filled
      _pgroll_upper_0 := _pgroll_end_0;
    END IF;
    IF _pgroll_bounded AND (_pgroll_upper_0) >= (_pgroll_to_0) THEN  -- this worker's share ends before
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."users" AS _pgroll_row WHERE (_pgroll_row."id") < (_pgroll_to_0)
        ORDER BY _pgroll_row."id" DESC LIMIT 1;
    END IF;
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."users"', true), CASE WHEN _pgroll_replica THEN pg_catalog.set_config('session_replication_role', 'replica', true) END;
    UPDATE "public"."users" AS _pgroll_row SET "_pgroll_new_description" = (UPPER(_pgroll_row."name")), "_pgroll_needs_backfill" = false, "_pgroll_backfilled_by" = pg_catalog.pg_current_xact_id()::pg_catalog.xid
      WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin;
    GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
    _pgroll_done := _pgroll_done + _pgroll_rows;
    RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'users', _pgroll_done USING DETAIL = _pgroll_done::text;
    COMMIT;
    _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
      - _pgroll_started);
    _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
      (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."users" AS _pgroll_row WHERE (_pgroll_row."id") > (_pgroll_upper_0)
      ORDER BY _pgroll_row."id" LIMIT 1;
  END LOOP;
  IF NOT _pgroll_unwatched AND NOT (EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = '"public"."users"'::pg_catalog.regclass)
      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE srrelid = '"public"."users"'::pg_catalog.regclass)) THEN
    PERFORM pg_catalog.nextval('"public"."_pgroll_passed_users"'::pg_catalog.regclass);
  ELSE
    PERFORM pg_catalog.nextval('"public"."_pgroll_writes_users"'::pg_catalog.regclass);  -- the second pass reads
  END IF;
END
$pgroll_backfill$;

-- [10] 06_add_column_to_sql_table.yaml:3:7: trigger function _pgroll_trigger_000_users_description (new-version updates of rows not backfilled yet: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000_users_description"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "public", pg_temp
AS $pgroll$
#variable_conflict use_column
BEGIN
  IF TG_OP = 'UPDATE' AND OLD."_pgroll_needs_backfill" THEN
    IF pg_catalog.current_setting('pgroll_dsl.written', true) = '_pgroll_trigger_000_users_description' THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.written', '', true);  -- written: kept
    ELSIF ROW(NEW."_pgroll_new_description")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_description")::record THEN
      NEW."_pgroll_new_description" := (UPPER(OLD."name"));
    END IF;
  END IF;
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [11] 06_add_column_to_sql_table.yaml:3:7: trigger function ~pgroll_trigger_000_users_description (old-version and base-table writes: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."~pgroll_trigger_000_users_description"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "public", pg_temp
AS $pgroll$
#variable_conflict use_column
BEGIN
  NEW."_pgroll_new_description" := (UPPER(NEW."name"));
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [12] 06_add_column_to_sql_table.yaml:3:7: trigger function _pgroll_trigger_000-set_users_description
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000-set_users_description"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
BEGIN
  PERFORM pg_catalog.set_config('pgroll_dsl.written', '_pgroll_trigger_000_users_description', true);
  RETURN NEW;
END
$pgroll$;

-- steps 13-14 run in one transaction: clients see all of them or none
BEGIN;

-- [13] 06_add_column_to_sql_table.yaml:3:7: trigger _pgroll_trigger_000-set_users_description on users (a new-version UPDATE that sets description)
--     lock: SHARE ROW EXCLUSIVE on users; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000-set_users_description" BEFORE UPDATE OF "_pgroll_new_description" ON "public"."users" FOR EACH ROW
  WHEN (OLD."_pgroll_needs_backfill" AND (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_06_add_column_to_sql_table' THEN true WHEN 'public' THEN false WHEN 'public_05_sql' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_06_add_column_to_sql_table'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_05_sql'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."users"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000-set_users_description"();

-- [14] 06_add_column_to_sql_table.yaml:3:7: trigger _pgroll_trigger_000-set_users_description fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on users; catalog only
ALTER TABLE "public"."users" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000-set_users_description";

-- (the live executor records steps 13-14 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 15-16 run in one transaction: clients see all of them or none
BEGIN;

-- [15] 06_add_column_to_sql_table.yaml:3:7: trigger _pgroll_trigger_000_users_description on users (new-version updates of rows not backfilled yet: up)
--     lock: SHARE ROW EXCLUSIVE on users; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000_users_description" BEFORE INSERT OR UPDATE ON "public"."users" FOR EACH ROW
  WHEN (CASE WHEN NEW."_pgroll_needs_backfill" THEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_06_add_column_to_sql_table' THEN true WHEN 'public' THEN false WHEN 'public_05_sql' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_06_add_column_to_sql_table'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_05_sql'::name), 2147483647)), false) END) ELSE false END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."users"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000_users_description"();

-- [16] 06_add_column_to_sql_table.yaml:3:7: trigger _pgroll_trigger_000_users_description fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on users; catalog only
ALTER TABLE "public"."users" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000_users_description";

-- (the live executor records steps 15-16 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 17-18 run in one transaction: clients see all of them or none
BEGIN;

-- [17] 06_add_column_to_sql_table.yaml:3:7: trigger ~pgroll_trigger_000_users_description on users (old-version and base-table writes: up)
--     lock: SHARE ROW EXCLUSIVE on users; catalog only
CREATE OR REPLACE TRIGGER "~pgroll_trigger_000_users_description" BEFORE INSERT OR UPDATE ON "public"."users" FOR EACH ROW
  WHEN (CASE WHEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_06_add_column_to_sql_table' THEN true WHEN 'public' THEN false WHEN 'public_05_sql' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_06_add_column_to_sql_table'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_05_sql'::name), 2147483647)), false) END)
    THEN false
    ELSE NEW."_pgroll_needs_backfill"
    OR NEW."_pgroll_new_description"::text COLLATE "C" IS DISTINCT FROM (UPPER(NEW."name"))::text COLLATE "C" END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."users"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."~pgroll_trigger_000_users_description"();

-- [18] 06_add_column_to_sql_table.yaml:3:7: trigger ~pgroll_trigger_000_users_description fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on users; catalog only
ALTER TABLE "public"."users" ENABLE ALWAYS TRIGGER "~pgroll_trigger_000_users_description";

-- (the live executor records steps 17-18 as done in its state schema here, in the same transaction)
COMMIT;

-- [19] 06_add_column_to_sql_table.yaml:3:7: backfill users, second pass: none if no statement wrote the table since the first pass began, else the rows written since the first pass read them (by pages if it ran; else in batches keyed on id, writing the copies itself)
--     lock: ROW EXCLUSIVE on users; backfills rows in batches
--     runs outside a transaction block
DO $pgroll_backfill$
#variable_conflict use_variable
DECLARE
  _pgroll_lower_0 "public"."users"."id"%TYPE;
  _pgroll_upper_0 "public"."users"."id"%TYPE;
  _pgroll_to_0 "public"."users"."id"%TYPE;
  _pgroll_end_0 "public"."users"."id"%TYPE;
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
  _pgroll_page bigint := 0;
  _pgroll_last_page bigint;
  _pgroll_files oid[];
BEGIN
  IF pg_catalog.pg_sequence_last_value(pg_catalog.to_regclass('"public"."_pgroll_passed_users"')) IS NOT NULL
    AND pg_catalog.pg_sequence_last_value(pg_catalog.to_regclass('"public"."_pgroll_writes_users"')) IS NULL
    AND EXISTS (SELECT FROM pg_catalog.pg_trigger r JOIN pg_catalog.pg_class r_s ON r_s.oid = pg_catalog.to_regclass('"public"."_pgroll_writes_users"') AND r.xmin OPERATOR(pg_catalog.=) r_s.xmin WHERE r.tgrelid = '"public"."users"'::pg_catalog.regclass AND r.tgname = '_pgroll_watch_users' AND r.tgenabled = 'A')
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhparent = '"public"."users"'::pg_catalog.regclass)
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_class s LEFT JOIN LATERAL (SELECT CASE WHEN d.xmin OPERATOR(pg_catalog.=) s.xmin AND d.description ~ '^[{][0-9]+(,[0-9]+)*[}]$' THEN d.description::pg_catalog.xid[] END AS running FROM pg_catalog.pg_description d WHERE d.objoid = s.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0) k ON true, (VALUES ('"public"."users"'::pg_catalog.regclass::pg_catalog.oid)) m(relid)
      WHERE s.oid = pg_catalog.to_regclass('"public"."_pgroll_writes_users"') AND (k.running IS NULL
      OR EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = m.relid AND c.xmin OPERATOR(pg_catalog.<>) s.xmin AND (c.xmin OPERATOR(pg_catalog.=) ANY (k.running) OR pg_catalog.age(c.xmin) <= pg_catalog.age(k.running[1])))
      OR EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid = m.relid AND a.xmin OPERATOR(pg_catalog.<>) s.xmin AND (a.xmin OPERATOR(pg_catalog.=) ANY (k.running) OR pg_catalog.age(a.xmin) <= pg_catalog.age(k.running[1])))))
    AND NOT (EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = '"public"."users"'::pg_catalog.regclass)
      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE srrelid = '"public"."users"'::pg_catalog.regclass)) THEN
    IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NULL THEN  -- said once, not by each worker
      RAISE NOTICE 'pgroll-dsl backfill %: no statement wrote it since the first pass began: nothing left', 'users';
    END IF;
    RETURN;
  END IF;
  BEGIN
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."users"', true);
    UPDATE "public"."users" AS _pgroll_row SET "_pgroll_new_description" = (UPPER(_pgroll_row."name")), "_pgroll_needs_backfill" = false WHERE false;
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '', true);
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
    (SELECT min(_pgroll_row."id") FROM "public"."users" AS _pgroll_row),
    (SELECT max(_pgroll_row."id") FROM "public"."users" AS _pgroll_row)
    INTO _pgroll_fires, _pgroll_size, _pgroll_tuples, _pgroll_first, _pgroll_last
    FROM pg_catalog.pg_class c WHERE c.oid = '"public"."users"'::pg_catalog.regclass;
  IF _pgroll_fires
      ~ (CASE WHEN _pgroll_replica THEN '[ar]' ELSE '[oa]' END) THEN
    _pgroll_fast := false;
  END IF;
  _pgroll_least := least(_pgroll_size, 1000);
  IF _pgroll_fast AND NOT coalesce(_pgroll_fires ~* (CASE WHEN _pgroll_replica THEN '[AR]' ELSE '[OA]' END), false) THEN
    -- the first pass wrote the rows: find the few left
    IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NULL THEN
    _pgroll_size := greatest(1, _pgroll_size / 50);
    _pgroll_least := _pgroll_size;
    _pgroll_most := _pgroll_most / 50;
    LOOP  -- once, or again if the table was rewritten meanwhile
      _pgroll_files := (WITH RECURSIVE tree(oid) AS (SELECT '"public"."users"'::regclass::oid UNION ALL SELECT inhrelid FROM pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)
      SELECT pg_catalog.array_agg(pg_catalog.pg_relation_filenode(oid) ORDER BY oid) FROM tree);
      _pgroll_page := 0;
      _pgroll_last_page := (WITH RECURSIVE tree(oid) AS (SELECT '"public"."users"'::regclass::oid UNION ALL SELECT inhrelid FROM pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)
      SELECT max(pg_catalog.pg_relation_size(oid)) / pg_catalog.current_setting('block_size')::bigint FROM tree);
      WHILE _pgroll_page <= _pgroll_last_page LOOP
        _pgroll_started := pg_catalog.clock_timestamp();
        IF _pgroll_fast THEN
          PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."users"', true);
          IF _pgroll_replica THEN
            PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
          END IF;
          UPDATE "public"."users" AS _pgroll_row SET "_pgroll_new_description" = (UPPER(_pgroll_row."name")), "_pgroll_needs_backfill" = false, "_pgroll_backfilled_by" = NULL
            WHERE _pgroll_row.ctid >= pg_catalog.format('(%s,0)', _pgroll_page)::tid
      AND _pgroll_row.ctid < pg_catalog.format('(%s,0)', _pgroll_page + _pgroll_size)::tid AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
        ELSE
          UPDATE "public"."users" AS _pgroll_row SET "_pgroll_needs_backfill" = true, "_pgroll_backfilled_by" = NULL WHERE _pgroll_row.ctid >= pg_catalog.format('(%s,0)', _pgroll_page)::tid
      AND _pgroll_row.ctid < pg_catalog.format('(%s,0)', _pgroll_page + _pgroll_size)::tid AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
        END IF;
        _pgroll_page := _pgroll_page + _pgroll_size;
        GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
        _pgroll_done := _pgroll_done + _pgroll_rows;
        RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'users', _pgroll_done USING DETAIL = _pgroll_done::text;
        COMMIT;
        _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
          - _pgroll_started);
        _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
          (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
      END LOOP;
      EXIT WHEN (WITH RECURSIVE tree(oid) AS (SELECT '"public"."users"'::regclass::oid UNION ALL SELECT inhrelid FROM pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)
      SELECT pg_catalog.array_agg(pg_catalog.pg_relation_filenode(oid) ORDER BY oid) FROM tree) IS NOT DISTINCT FROM _pgroll_files;
    END LOOP;
    END IF;
    RETURN;
  END IF;
  _pgroll_dense := _pgroll_last - _pgroll_first + 1 <= 2 * greatest(1, _pgroll_tuples);
  IF pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN
    _pgroll_bounded := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_to_0', true), '') END) IS NOT NULL;
    _pgroll_to_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_to_0', true), '') END);
  END IF;
  SELECT _pgroll_row."id" INTO _pgroll_end_0 FROM "public"."users" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
  IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NOT NULL THEN
    _pgroll_lower_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END);
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."users" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0) ORDER BY _pgroll_row."id" LIMIT 1;
  ELSE  -- the whole table, or the first worker's share
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."users" AS _pgroll_row ORDER BY _pgroll_row."id" LIMIT 1;
  END IF;
  WHILE FOUND AND (_pgroll_lower_0) <= (_pgroll_end_0) AND (NOT _pgroll_bounded OR (_pgroll_lower_0) < (_pgroll_to_0)) LOOP
    EXIT WHEN _pgroll_dense AND _pgroll_lower_0 > _pgroll_last;
    _pgroll_started := pg_catalog.clock_timestamp();
    IF _pgroll_dense THEN  -- a tail of less than a quarter batch joins this one
      _pgroll_upper_0 := CASE WHEN _pgroll_last - (_pgroll_lower_0::numeric + (_pgroll_size - 1)) < _pgroll_size / 4
        THEN _pgroll_last ELSE _pgroll_lower_0::numeric + (_pgroll_size - 1) END;
    ELSE
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."users" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0)
        ORDER BY _pgroll_row."id" OFFSET _pgroll_size - 1 LIMIT 1;
      IF NOT FOUND THEN  -- the last batch: up to the last key
        SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."users" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
      END IF;
    END IF;
    IF (_pgroll_upper_0) > (_pgroll_end_0) THEN  -- rows inserted since the start are filled
      _pgroll_upper_0 := _pgroll_end_0;
    END IF;
    IF _pgroll_bounded AND (_pgroll_upper_0) >= (_pgroll_to_0) THEN  -- this worker's share ends before
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."users" AS _pgroll_row WHERE (_pgroll_row."id") < (_pgroll_to_0)
        ORDER BY _pgroll_row."id" DESC LIMIT 1;
    END IF;
    IF _pgroll_fast THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."users"', true);
      IF _pgroll_replica THEN
        PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
      END IF;
      UPDATE "public"."users" AS _pgroll_row SET "_pgroll_new_description" = (UPPER(_pgroll_row."name")), "_pgroll_needs_backfill" = false, "_pgroll_backfilled_by" = NULL
        WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
    ELSE
      UPDATE "public"."users" AS _pgroll_row SET "_pgroll_needs_backfill" = true, "_pgroll_backfilled_by" = NULL WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
    END IF;
    GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
    _pgroll_done := _pgroll_done + _pgroll_rows;
    RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'users', _pgroll_done USING DETAIL = _pgroll_done::text;
    COMMIT;
    _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
      - _pgroll_started);
    _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
      (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."users" AS _pgroll_row WHERE (_pgroll_row."id") > (_pgroll_upper_0)
      ORDER BY _pgroll_row."id" LIMIT 1;
  END LOOP;
END
$pgroll_backfill$;

-- [20] 06_add_column_to_sql_table.yaml:1:1: backfill watch on users: off on users, the second pass is over
--     lock: SHARE ROW EXCLUSIVE on users; catalog only
ALTER TABLE "public"."users" DISABLE TRIGGER "_pgroll_watch_users";

-- steps 21-29 run in one transaction: clients see all of them or none
BEGIN;

-- [21] 06_add_column_to_sql_table.yaml:1:1: create version schema public_06_add_column_to_sql_table
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_06_add_column_to_sql_table";

-- [22] 06_add_column_to_sql_table.yaml:1:1: view bills of version public_06_add_column_to_sql_table
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_06_add_column_to_sql_table"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [23] 06_add_column_to_sql_table.yaml:1:1: view clients of version public_06_add_column_to_sql_table
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_06_add_column_to_sql_table"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [24] 06_add_column_to_sql_table.yaml:1:1: view products of version public_06_add_column_to_sql_table
--     lock: ACCESS SHARE on products; catalog only
CREATE VIEW "public_06_add_column_to_sql_table"."products" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "description" AS "description", "stock" AS "stock", "category" AS "category" FROM "public"."products";

-- [25] 06_add_column_to_sql_table.yaml:1:1: a column default of view products
--     lock: none on products; catalog only
ALTER VIEW "public_06_add_column_to_sql_table"."products" ALTER COLUMN "id" SET DEFAULT nextval('products_id_seq'::regclass);

-- [26] 06_add_column_to_sql_table.yaml:1:1: a column default of view products
--     lock: none on products; catalog only
ALTER VIEW "public_06_add_column_to_sql_table"."products" ALTER COLUMN "stock" SET DEFAULT 100;

-- [27] 06_add_column_to_sql_table.yaml:1:1: view sellers of version public_06_add_column_to_sql_table
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_06_add_column_to_sql_table"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [28] 06_add_column_to_sql_table.yaml:1:1: view users of version public_06_add_column_to_sql_table
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_06_add_column_to_sql_table"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "_pgroll_new_description" AS "description" FROM "public"."users";

-- [29] 06_add_column_to_sql_table.yaml:1:1: the roles that use public and its tables get the same rights on public_06_add_column_to_sql_table and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_06_add_column_to_sql_table' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_06_add_column_to_sql_table') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_06_add_column_to_sql_table"."bills"', 'bills', 'bills'),
      ('"public_06_add_column_to_sql_table"."clients"', 'clients', 'clients'),
      ('"public_06_add_column_to_sql_table"."products"', 'products', 'products'),
      ('"public_06_add_column_to_sql_table"."sellers"', 'sellers', 'sellers'),
      ('"public_06_add_column_to_sql_table"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      ('"public_06_add_column_to_sql_table"."users"', '_pgroll_new_description', 'description')),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_06_add_column_to_sql_table')),
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

-- (the live executor records steps 21-29 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== complete (10 steps) ====

-- steps 1-10 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 06_add_column_to_sql_table.yaml:1:1: drop the previous version schema public_05_sql
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_05_sql"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_05_sql"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_05_sql"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_05_sql" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_05_sql" CASCADE;
END
$pgroll$;

-- [2] 06_add_column_to_sql_table.yaml:1:1: lock users for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on users; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."users"') IS NOT NULL THEN
    LOCK TABLE "public"."users" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 06_add_column_to_sql_table.yaml:3:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_users_description"() CASCADE;

-- [4] 06_add_column_to_sql_table.yaml:3:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_users_description"() CASCADE;

-- [5] 06_add_column_to_sql_table.yaml:3:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_users_description"() CASCADE;

-- [6] 06_add_column_to_sql_table.yaml:3:7: rename _pgroll_new_description to description
--     lock: ACCESS EXCLUSIVE on users; catalog only
--     safe despite renaming-column: clients use version-schema views, which follow the rename
-- squawk-ignore renaming-column
ALTER TABLE IF EXISTS "public"."users" RENAME COLUMN "_pgroll_new_description" TO "description";

-- [7] 06_add_column_to_sql_table.yaml:1:1: drop the backfill watch on users
--     lock: ACCESS EXCLUSIVE on users; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_watch_users"() CASCADE;

-- [8] 06_add_column_to_sql_table.yaml:1:1: drop the backfill watch's counts on users
--     lock: none; catalog only
--     safe despite ban-drop-sequence: the backfill watch's counts: only this migration's trigger and backfill use them
-- squawk-ignore ban-drop-sequence
DROP SEQUENCE IF EXISTS "public"."_pgroll_writes_users", "public"."_pgroll_passed_users";

-- [9] 06_add_column_to_sql_table.yaml:1:1: drop the backfill marker of users
--     lock: ACCESS EXCLUSIVE on users; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."users" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- [10] 06_add_column_to_sql_table.yaml:1:1: the rights granted on public and its tables since start reach public_06_add_column_to_sql_table and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_06_add_column_to_sql_table' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_06_add_column_to_sql_table') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_06_add_column_to_sql_table"."bills"', 'bills', 'bills'),
      ('"public_06_add_column_to_sql_table"."clients"', 'clients', 'clients'),
      ('"public_06_add_column_to_sql_table"."products"', 'products', 'products'),
      ('"public_06_add_column_to_sql_table"."sellers"', 'sellers', 'sellers'),
      ('"public_06_add_column_to_sql_table"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_06_add_column_to_sql_table')),
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

-- (the live executor records steps 1-10 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== rollback (9 steps) ====

-- steps 1-9 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 06_add_column_to_sql_table.yaml:1:1: drop version schema public_06_add_column_to_sql_table
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_06_add_column_to_sql_table"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_06_add_column_to_sql_table"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_06_add_column_to_sql_table"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_06_add_column_to_sql_table" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_06_add_column_to_sql_table" CASCADE;
END
$pgroll$;

-- [2] 06_add_column_to_sql_table.yaml:1:1: lock users for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on users; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."users"') IS NOT NULL THEN
    LOCK TABLE "public"."users" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 06_add_column_to_sql_table.yaml:3:7: drop trigger _pgroll_trigger_000-set_users_description
--     lock: ACCESS EXCLUSIVE on users; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_users_description"() CASCADE;

-- [4] 06_add_column_to_sql_table.yaml:3:7: drop trigger _pgroll_trigger_000_users_description
--     lock: ACCESS EXCLUSIVE on users; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_users_description"() CASCADE;

-- [5] 06_add_column_to_sql_table.yaml:3:7: drop trigger ~pgroll_trigger_000_users_description
--     lock: ACCESS EXCLUSIVE on users; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_users_description"() CASCADE;

-- [6] 06_add_column_to_sql_table.yaml:3:7: drop column _pgroll_new_description
--     lock: ACCESS EXCLUSIVE on users; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."users" DROP COLUMN IF EXISTS "_pgroll_new_description";

-- [7] 06_add_column_to_sql_table.yaml:1:1: drop the backfill watch on users
--     lock: ACCESS EXCLUSIVE on users; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_watch_users"() CASCADE;

-- [8] 06_add_column_to_sql_table.yaml:1:1: drop the backfill watch's counts on users
--     lock: none; catalog only
--     safe despite ban-drop-sequence: the backfill watch's counts: only this migration's trigger and backfill use them
-- squawk-ignore ban-drop-sequence
DROP SEQUENCE IF EXISTS "public"."_pgroll_writes_users", "public"."_pgroll_passed_users";

-- [9] 06_add_column_to_sql_table.yaml:1:1: drop the backfill marker of users
--     lock: ACCESS EXCLUSIVE on users; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."users" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- (the live executor records steps 1-9 as done in its state schema here, in the same transaction)
COMMIT;
