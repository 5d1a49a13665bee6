-- pgroll-dsl 0.1.0 plan for migration 30_add_column_simple_up
-- target schema: public; new version schema: public_30_add_column_simple_up
-- previous version schema: public_29_set_replica_identity
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

-- ==== start (46 steps) ====

-- [1] 30_add_column_simple_up.yaml:3:7: add column people.description as _pgroll_new_description
--     lock: ACCESS EXCLUSIVE on people; catalog only
ALTER TABLE "public"."people" ADD COLUMN "_pgroll_new_description" varchar(255);

-- [2] 30_add_column_simple_up.yaml:3:7: comment on people._pgroll_new_description
--     lock: SHARE UPDATE EXCLUSIVE on people; catalog only
COMMENT ON COLUMN "public"."people"."_pgroll_new_description" IS 'This is a comment for the description column';

-- [3] 30_add_column_simple_up.yaml:3:7: backfill marker on people (constant default: no rewrite), and _pgroll_backfilled_by (no default)
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite adding-field-with-default: a constant default: PostgreSQL adds it without rewriting the table
-- squawk-ignore adding-field-with-default
ALTER TABLE "public"."people" ADD COLUMN IF NOT EXISTS "_pgroll_needs_backfill" boolean NOT NULL DEFAULT true, ADD COLUMN IF NOT EXISTS "_pgroll_backfilled_by" pg_catalog.xid;

-- steps 4-9 run in one transaction: clients see all of them or none
BEGIN;

-- [4] 30_add_column_simple_up.yaml:1:1: backfill watch on people: counts the statements that write it
--     lock: none on people; catalog only
CREATE SEQUENCE IF NOT EXISTS "public"."_pgroll_writes_people";

-- [5] 30_add_column_simple_up.yaml:1:1: backfill watch on people: counts the runs that reach the end of people
--     lock: none on people; catalog only
CREATE SEQUENCE IF NOT EXISTS "public"."_pgroll_passed_people";

-- [6] 30_add_column_simple_up.yaml:1:1: backfill watch on people: function
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_watch_people"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $pgroll$
BEGIN
  IF COALESCE(pg_catalog.current_setting('pgroll_dsl.backfilling', true), '') = '' OR pg_catalog.pg_trigger_depth() > 1 THEN
    PERFORM pg_catalog.nextval('"public"."_pgroll_writes_people"'::pg_catalog.regclass);
  END IF;
  RETURN NULL;
END
$pgroll$;

-- [7] 30_add_column_simple_up.yaml:1:1: backfill watch on people: trigger on people
--     lock: SHARE ROW EXCLUSIVE on people; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_watch_people" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "public"."people" FOR EACH STATEMENT EXECUTE FUNCTION "public"."_pgroll_watch_people"();

-- [8] 30_add_column_simple_up.yaml:1:1: backfill watch on people: the trigger fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on people; catalog only
ALTER TABLE "public"."people" ENABLE ALWAYS TRIGGER "_pgroll_watch_people";

-- [9] 30_add_column_simple_up.yaml:1:1: backfill watch on people: the transactions still running now (what they change in the catalog counts as changed after the watch began)
--     lock: none on people; catalog only
DO $pgroll$
BEGIN
  EXECUTE pg_catalog.format('COMMENT ON SEQUENCE %s IS %L', '"public"."_pgroll_writes_people"', (SELECT (ARRAY[(pg_catalog.pg_snapshot_xmax(s)::text::bigint % 4294967296)::text::pg_catalog.xid] || ARRAY(SELECT (x::text::bigint % 4294967296)::text::pg_catalog.xid FROM pg_catalog.pg_snapshot_xip(s) x) || ARRAY(SELECT l.transactionid FROM pg_catalog.pg_locks l WHERE l.locktype = 'transactionid'))::text FROM pg_catalog.pg_current_snapshot() s));
END
$pgroll$;

-- (the live executor records steps 4-9 as done in its state schema here, in the same transaction)
COMMIT;

-- [10] 30_add_column_simple_up.yaml:3:7: backfill people, first pass, before its sync triggers exist: in batches keyed on id, writing the copies itself
--     lock: ROW EXCLUSIVE on people; backfills rows in batches
--     runs outside a transaction block
DO $pgroll_backfill$
#variable_conflict use_variable
DECLARE
  _pgroll_lower_0 "public"."people"."id"%TYPE;
  _pgroll_upper_0 "public"."people"."id"%TYPE;
  _pgroll_to_0 "public"."people"."id"%TYPE;
  _pgroll_end_0 "public"."people"."id"%TYPE;
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
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."people"', true);
    UPDATE "public"."people" AS _pgroll_row SET "_pgroll_new_description" = ('temporary-description'), "_pgroll_needs_backfill" = false WHERE false;
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
    (EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = '"public"."people"'::pg_catalog.regclass)
      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE srrelid = '"public"."people"'::pg_catalog.regclass)),
    CASE WHEN c.reltuples > 0 THEN least(1000000, greatest(1, pg_catalog.ceil(c.reltuples * 1024000 / greatest(pg_catalog.pg_total_relation_size(c.oid), 1))))::bigint ELSE 1000 END,
    c.reltuples,
    (SELECT min(_pgroll_row."id") FROM "public"."people" AS _pgroll_row),
    (SELECT max(_pgroll_row."id") FROM "public"."people" AS _pgroll_row)
    INTO _pgroll_fires, _pgroll_synced, _pgroll_unwatched, _pgroll_size, _pgroll_tuples, _pgroll_first, _pgroll_last
    FROM pg_catalog.pg_class c WHERE c.oid = '"public"."people"'::pg_catalog.regclass;
  IF _pgroll_fires
      ~ (CASE WHEN _pgroll_replica THEN '[ar]' ELSE '[oa]' END) THEN
    _pgroll_fast := false;
  END IF;
  IF NOT _pgroll_fast OR _pgroll_synced OR _pgroll_fires
      ~* (CASE WHEN _pgroll_replica THEN '[AR]' ELSE '[OA]' END) THEN
    PERFORM pg_catalog.nextval('"public"."_pgroll_writes_people"'::pg_catalog.regclass);  -- the second pass reads
    RETURN;
  END IF;
  _pgroll_least := least(_pgroll_size, 1000);
  _pgroll_dense := _pgroll_last - _pgroll_first + 1 <= 2 * greatest(1, _pgroll_tuples);
  IF pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN
    _pgroll_bounded := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_to_0', true), '') END) IS NOT NULL;
    _pgroll_to_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_to_0', true), '') END);
  END IF;
  SELECT _pgroll_row."id" INTO _pgroll_end_0 FROM "public"."people" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
  IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NOT NULL THEN
    _pgroll_lower_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END);
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."people" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0) ORDER BY _pgroll_row."id" LIMIT 1;
  ELSE  -- the whole table, or the first worker's share
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."people" AS _pgroll_row ORDER BY _pgroll_row."id" LIMIT 1;
  END IF;
  WHILE FOUND AND (_pgroll_lower_0) <= (_pgroll_end_0) AND (NOT _pgroll_bounded OR (_pgroll_lower_0) < (_pgroll_to_0)) LOOP
    EXIT WHEN _pgroll_dense AND _pgroll_lower_0 > _pgroll_last;
    _pgroll_started := pg_catalog.clock_timestamp();
    IF _pgroll_dense THEN  -- a tail of less than a quarter batch joins this one
      _pgroll_upper_0 := CASE WHEN _pgroll_last - (_pgroll_lower_0::numeric + (_pgroll_size - 1)) < _pgroll_size / 4
        THEN _pgroll_last ELSE _pgroll_lower_0::numeric + (_pgroll_size - 1) END;
    ELSE
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."people" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0)
        ORDER BY _pgroll_row."id" OFFSET _pgroll_size - 1 LIMIT 1;
      IF NOT FOUND THEN  -- the last batch: up to the last key
        SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."people" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
      END IF;
    END IF;
    IF (_pgroll_upper_0) > (_pgroll_end_0) THEN  -- rows inserted since the start are filled
      _pgroll_upper_0 := _pgroll_end_0;
    END IF;
    IF _pgroll_bounded AND (_pgroll_upper_0) >= (_pgroll_to_0) THEN  -- this worker's share ends before
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."people" AS _pgroll_row WHERE (_pgroll_row."id") < (_pgroll_to_0)
        ORDER BY _pgroll_row."id" DESC LIMIT 1;
    END IF;
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."people"', true), CASE WHEN _pgroll_replica THEN pg_catalog.set_config('session_replication_role', 'replica', true) END;
    UPDATE "public"."people" AS _pgroll_row SET "_pgroll_new_description" = ('temporary-description'), "_pgroll_needs_backfill" = false, "_pgroll_backfilled_by" = pg_catalog.pg_current_xact_id()::pg_catalog.xid
      WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin;
    GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
    _pgroll_done := _pgroll_done + _pgroll_rows;
    RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'people', _pgroll_done USING DETAIL = _pgroll_done::text;
    COMMIT;
    _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
      - _pgroll_started);
    _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
      (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."people" AS _pgroll_row WHERE (_pgroll_row."id") > (_pgroll_upper_0)
      ORDER BY _pgroll_row."id" LIMIT 1;
  END LOOP;
  IF NOT _pgroll_unwatched AND NOT (EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = '"public"."people"'::pg_catalog.regclass)
      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE srrelid = '"public"."people"'::pg_catalog.regclass)) THEN
    PERFORM pg_catalog.nextval('"public"."_pgroll_passed_people"'::pg_catalog.regclass);
  ELSE
    PERFORM pg_catalog.nextval('"public"."_pgroll_writes_people"'::pg_catalog.regclass);  -- the second pass reads
  END IF;
END
$pgroll_backfill$;

-- [11] 30_add_column_simple_up.yaml:3:7: trigger function _pgroll_trigger_000_people_description (new-version updates of rows not backfilled yet: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000_people_description"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
#variable_conflict use_column
BEGIN
  IF TG_OP = 'UPDATE' AND OLD."_pgroll_needs_backfill" THEN
    IF pg_catalog.current_setting('pgroll_dsl.written', true) = '_pgroll_trigger_000_people_description' THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.written', '', true);  -- written: kept
    ELSIF ROW(NEW."_pgroll_new_description")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_description")::record THEN
      NEW."_pgroll_new_description" := ('temporary-description');
    END IF;
  END IF;
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [12] 30_add_column_simple_up.yaml:3:7: trigger function ~pgroll_trigger_000_people_description (old-version and base-table writes: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."~pgroll_trigger_000_people_description"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
#variable_conflict use_column
BEGIN
  NEW."_pgroll_new_description" := ('temporary-description');
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [13] 30_add_column_simple_up.yaml:3:7: trigger function _pgroll_trigger_000-set_people_description
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000-set_people_description"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
BEGIN
  PERFORM pg_catalog.set_config('pgroll_dsl.written', '_pgroll_trigger_000_people_description', true);
  RETURN NEW;
END
$pgroll$;

-- steps 14-15 run in one transaction: clients see all of them or none
BEGIN;

-- [14] 30_add_column_simple_up.yaml:3:7: trigger _pgroll_trigger_000-set_people_description on people (a new-version UPDATE that sets description)
--     lock: SHARE ROW EXCLUSIVE on people; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000-set_people_description" BEFORE UPDATE OF "_pgroll_new_description" ON "public"."people" FOR EACH ROW
  WHEN (OLD."_pgroll_needs_backfill" AND (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_30_add_column_simple_up' THEN true WHEN 'public' THEN false WHEN 'public_29_set_replica_identity' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_30_add_column_simple_up'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_29_set_replica_identity'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."people"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000-set_people_description"();

-- [15] 30_add_column_simple_up.yaml:3:7: trigger _pgroll_trigger_000-set_people_description fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on people; catalog only
ALTER TABLE "public"."people" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000-set_people_description";

-- (the live executor records steps 14-15 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 16-17 run in one transaction: clients see all of them or none
BEGIN;

-- [16] 30_add_column_simple_up.yaml:3:7: trigger _pgroll_trigger_000_people_description on people (new-version updates of rows not backfilled yet: up)
--     lock: SHARE ROW EXCLUSIVE on people; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000_people_description" BEFORE INSERT OR UPDATE ON "public"."people" FOR EACH ROW
  WHEN (CASE WHEN NEW."_pgroll_needs_backfill" THEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_30_add_column_simple_up' THEN true WHEN 'public' THEN false WHEN 'public_29_set_replica_identity' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_30_add_column_simple_up'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_29_set_replica_identity'::name), 2147483647)), false) END) ELSE false END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."people"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000_people_description"();

-- [17] 30_add_column_simple_up.yaml:3:7: trigger _pgroll_trigger_000_people_description fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on people; catalog only
ALTER TABLE "public"."people" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000_people_description";

-- (the live executor records steps 16-17 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 18-19 run in one transaction: clients see all of them or none
BEGIN;

-- [18] 30_add_column_simple_up.yaml:3:7: trigger ~pgroll_trigger_000_people_description on people (old-version and base-table writes: up)
--     lock: SHARE ROW EXCLUSIVE on people; catalog only
CREATE OR REPLACE TRIGGER "~pgroll_trigger_000_people_description" BEFORE INSERT OR UPDATE ON "public"."people" FOR EACH ROW
  WHEN (CASE WHEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_30_add_column_simple_up' THEN true WHEN 'public' THEN false WHEN 'public_29_set_replica_identity' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_30_add_column_simple_up'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_29_set_replica_identity'::name), 2147483647)), false) END)
    THEN false
    ELSE NEW."_pgroll_needs_backfill"
    OR NEW."_pgroll_new_description"::text COLLATE "C" IS DISTINCT FROM ('temporary-description')::text COLLATE "C" END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."people"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."~pgroll_trigger_000_people_description"();

-- [19] 30_add_column_simple_up.yaml:3:7: trigger ~pgroll_trigger_000_people_description fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on people; catalog only
ALTER TABLE "public"."people" ENABLE ALWAYS TRIGGER "~pgroll_trigger_000_people_description";

-- (the live executor records steps 18-19 as done in its state schema here, in the same transaction)
COMMIT;

-- [20] 30_add_column_simple_up.yaml:3:7: backfill people, second pass: none if no statement wrote the table since the first pass began, else the rows written since the first pass read them (by pages if it ran; else in batches keyed on id, writing the copies itself)
--     lock: ROW EXCLUSIVE on people; backfills rows in batches
--     runs outside a transaction block
DO $pgroll_backfill$
#variable_conflict use_variable
DECLARE
  _pgroll_lower_0 "public"."people"."id"%TYPE;
  _pgroll_upper_0 "public"."people"."id"%TYPE;
  _pgroll_to_0 "public"."people"."id"%TYPE;
  _pgroll_end_0 "public"."people"."id"%TYPE;
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
  IF pg_catalog.pg_sequence_last_value(pg_catalog.to_regclass('"public"."_pgroll_passed_people"')) IS NOT NULL
    AND pg_catalog.pg_sequence_last_value(pg_catalog.to_regclass('"public"."_pgroll_writes_people"')) IS NULL
    AND EXISTS (SELECT FROM pg_catalog.pg_trigger r JOIN pg_catalog.pg_class r_s ON r_s.oid = pg_catalog.to_regclass('"public"."_pgroll_writes_people"') AND r.xmin OPERATOR(pg_catalog.=) r_s.xmin WHERE r.tgrelid = '"public"."people"'::pg_catalog.regclass AND r.tgname = '_pgroll_watch_people' AND r.tgenabled = 'A')
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhparent = '"public"."people"'::pg_catalog.regclass)
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_class s LEFT JOIN LATERAL (SELECT CASE WHEN d.xmin OPERATOR(pg_catalog.=) s.xmin AND d.description ~ '^[{][0-9]+(,[0-9]+)*[}]$' THEN d.description::pg_catalog.xid[] END AS running FROM pg_catalog.pg_description d WHERE d.objoid = s.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0) k ON true, (VALUES ('"public"."people"'::pg_catalog.regclass::pg_catalog.oid)) m(relid)
      WHERE s.oid = pg_catalog.to_regclass('"public"."_pgroll_writes_people"') AND (k.running IS NULL
      OR EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = m.relid AND c.xmin OPERATOR(pg_catalog.<>) s.xmin AND (c.xmin OPERATOR(pg_catalog.=) ANY (k.running) OR pg_catalog.age(c.xmin) <= pg_catalog.age(k.running[1])))
      OR EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid = m.relid AND a.xmin OPERATOR(pg_catalog.<>) s.xmin AND (a.xmin OPERATOR(pg_catalog.=) ANY (k.running) OR pg_catalog.age(a.xmin) <= pg_catalog.age(k.running[1])))))
    AND NOT (EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = '"public"."people"'::pg_catalog.regclass)
      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE srrelid = '"public"."people"'::pg_catalog.regclass)) THEN
    IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NULL THEN  -- said once, not by each worker
      RAISE NOTICE 'pgroll-dsl backfill %: no statement wrote it since the first pass began: nothing left', 'people';
    END IF;
    RETURN;
  END IF;
  BEGIN
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."people"', true);
    UPDATE "public"."people" AS _pgroll_row SET "_pgroll_new_description" = ('temporary-description'), "_pgroll_needs_backfill" = false WHERE false;
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
    (SELECT min(_pgroll_row."id") FROM "public"."people" AS _pgroll_row),
    (SELECT max(_pgroll_row."id") FROM "public"."people" AS _pgroll_row)
    INTO _pgroll_fires, _pgroll_size, _pgroll_tuples, _pgroll_first, _pgroll_last
    FROM pg_catalog.pg_class c WHERE c.oid = '"public"."people"'::pg_catalog.regclass;
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
      _pgroll_files := (WITH RECURSIVE tree(oid) AS (SELECT '"public"."people"'::regclass::oid UNION ALL SELECT inhrelid FROM pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)
      SELECT pg_catalog.array_agg(pg_catalog.pg_relation_filenode(oid) ORDER BY oid) FROM tree);
      _pgroll_page := 0;
      _pgroll_last_page := (WITH RECURSIVE tree(oid) AS (SELECT '"public"."people"'::regclass::oid UNION ALL SELECT inhrelid FROM pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)
      SELECT max(pg_catalog.pg_relation_size(oid)) / pg_catalog.current_setting('block_size')::bigint FROM tree);
      WHILE _pgroll_page <= _pgroll_last_page LOOP
        _pgroll_started := pg_catalog.clock_timestamp();
        IF _pgroll_fast THEN
          PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."people"', true);
          IF _pgroll_replica THEN
            PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
          END IF;
          UPDATE "public"."people" AS _pgroll_row SET "_pgroll_new_description" = ('temporary-description'), "_pgroll_needs_backfill" = false, "_pgroll_backfilled_by" = NULL
            WHERE _pgroll_row.ctid >= pg_catalog.format('(%s,0)', _pgroll_page)::tid
      AND _pgroll_row.ctid < pg_catalog.format('(%s,0)', _pgroll_page + _pgroll_size)::tid AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
        ELSE
          UPDATE "public"."people" AS _pgroll_row SET "_pgroll_needs_backfill" = true, "_pgroll_backfilled_by" = NULL WHERE _pgroll_row.ctid >= pg_catalog.format('(%s,0)', _pgroll_page)::tid
      AND _pgroll_row.ctid < pg_catalog.format('(%s,0)', _pgroll_page + _pgroll_size)::tid AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
        END IF;
        _pgroll_page := _pgroll_page + _pgroll_size;
        GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
        _pgroll_done := _pgroll_done + _pgroll_rows;
        RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'people', _pgroll_done USING DETAIL = _pgroll_done::text;
        COMMIT;
        _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
          - _pgroll_started);
        _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
          (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
      END LOOP;
      EXIT WHEN (WITH RECURSIVE tree(oid) AS (SELECT '"public"."people"'::regclass::oid UNION ALL SELECT inhrelid FROM pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)
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
  SELECT _pgroll_row."id" INTO _pgroll_end_0 FROM "public"."people" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
  IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NOT NULL THEN
    _pgroll_lower_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END);
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."people" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0) ORDER BY _pgroll_row."id" LIMIT 1;
  ELSE  -- the whole table, or the first worker's share
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."people" AS _pgroll_row ORDER BY _pgroll_row."id" LIMIT 1;
  END IF;
  WHILE FOUND AND (_pgroll_lower_0) <= (_pgroll_end_0) AND (NOT _pgroll_bounded OR (_pgroll_lower_0) < (_pgroll_to_0)) LOOP
    EXIT WHEN _pgroll_dense AND _pgroll_lower_0 > _pgroll_last;
    _pgroll_started := pg_catalog.clock_timestamp();
    IF _pgroll_dense THEN  -- a tail of less than a quarter batch joins this one
      _pgroll_upper_0 := CASE WHEN _pgroll_last - (_pgroll_lower_0::numeric + (_pgroll_size - 1)) < _pgroll_size / 4
        THEN _pgroll_last ELSE _pgroll_lower_0::numeric + (_pgroll_size - 1) END;
    ELSE
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."people" AS _pgroll_row WHERE (_pgroll_row."id") >= (_pgroll_lower_0)
        ORDER BY _pgroll_row."id" OFFSET _pgroll_size - 1 LIMIT 1;
      IF NOT FOUND THEN  -- the last batch: up to the last key
        SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."people" AS _pgroll_row ORDER BY _pgroll_row."id" DESC LIMIT 1;
      END IF;
    END IF;
    IF (_pgroll_upper_0) > (_pgroll_end_0) THEN  -- rows inserted since the start are filled
      _pgroll_upper_0 := _pgroll_end_0;
    END IF;
    IF _pgroll_bounded AND (_pgroll_upper_0) >= (_pgroll_to_0) THEN  -- this worker's share ends before
      SELECT _pgroll_row."id" INTO _pgroll_upper_0 FROM "public"."people" AS _pgroll_row WHERE (_pgroll_row."id") < (_pgroll_to_0)
        ORDER BY _pgroll_row."id" DESC LIMIT 1;
    END IF;
    IF _pgroll_fast THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."people"', true);
      IF _pgroll_replica THEN
        PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
      END IF;
      UPDATE "public"."people" AS _pgroll_row SET "_pgroll_new_description" = ('temporary-description'), "_pgroll_needs_backfill" = false, "_pgroll_backfilled_by" = NULL
        WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
    ELSE
      UPDATE "public"."people" AS _pgroll_row SET "_pgroll_needs_backfill" = true, "_pgroll_backfilled_by" = NULL WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
    END IF;
    GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
    _pgroll_done := _pgroll_done + _pgroll_rows;
    RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'people', _pgroll_done USING DETAIL = _pgroll_done::text;
    COMMIT;
    _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
      - _pgroll_started);
    _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
      (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
    SELECT _pgroll_row."id" INTO _pgroll_lower_0 FROM "public"."people" AS _pgroll_row WHERE (_pgroll_row."id") > (_pgroll_upper_0)
      ORDER BY _pgroll_row."id" LIMIT 1;
  END LOOP;
END
$pgroll_backfill$;

-- [21] 30_add_column_simple_up.yaml:1:1: backfill watch on people: off on people, the second pass is over
--     lock: SHARE ROW EXCLUSIVE on people; catalog only
ALTER TABLE "public"."people" DISABLE TRIGGER "_pgroll_watch_people";

-- [22] 30_add_column_simple_up.yaml:3:7: NOT NULL of description as a check (not valid)
--     lock: ACCESS EXCLUSIVE on people; catalog only
ALTER TABLE "public"."people" ADD CONSTRAINT "_pgroll_check_not_null_description" CHECK ("_pgroll_new_description" IS NOT NULL) NOT VALID;

-- steps 23-45 run in one transaction: clients see all of them or none
BEGIN;

-- [23] 30_add_column_simple_up.yaml:1:1: create version schema public_30_add_column_simple_up
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_30_add_column_simple_up";

-- [24] 30_add_column_simple_up.yaml:1:1: view bills of version public_30_add_column_simple_up
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_30_add_column_simple_up"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [25] 30_add_column_simple_up.yaml:1:1: view clients of version public_30_add_column_simple_up
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_30_add_column_simple_up"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [26] 30_add_column_simple_up.yaml:1:1: view employees of version public_30_add_column_simple_up
--     lock: ACCESS SHARE on employees; catalog only
CREATE VIEW "public_30_add_column_simple_up"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "job_title" AS "job_title" FROM "public"."employees";

-- [27] 30_add_column_simple_up.yaml:1:1: a column default of view employees
--     lock: none on employees; catalog only
ALTER VIEW "public_30_add_column_simple_up"."employees" ALTER COLUMN "id" SET DEFAULT nextval('employees_id_seq'::regclass);

-- [28] 30_add_column_simple_up.yaml:1:1: view fruits of version public_30_add_column_simple_up
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_30_add_column_simple_up"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."fruits";

-- [29] 30_add_column_simple_up.yaml:1:1: view items of version public_30_add_column_simple_up
--     lock: ACCESS SHARE on items; catalog only
CREATE VIEW "public_30_add_column_simple_up"."items" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "created_at" AS "created_at" FROM "public"."items";

-- [30] 30_add_column_simple_up.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_30_add_column_simple_up"."items" ALTER COLUMN "id" SET DEFAULT nextval('items_id_seq'::regclass);

-- [31] 30_add_column_simple_up.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_30_add_column_simple_up"."items" ALTER COLUMN "name" SET DEFAULT 'unnamed';

-- [32] 30_add_column_simple_up.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_30_add_column_simple_up"."items" ALTER COLUMN "price" SET DEFAULT 0.00;

-- [33] 30_add_column_simple_up.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_30_add_column_simple_up"."items" ALTER COLUMN "created_at" SET DEFAULT now();

-- [34] 30_add_column_simple_up.yaml:1:1: view orders of version public_30_add_column_simple_up
--     lock: ACCESS SHARE on orders; catalog only
CREATE VIEW "public_30_add_column_simple_up"."orders" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "quantity" AS "quantity" FROM "public"."orders";

-- [35] 30_add_column_simple_up.yaml:1:1: a column default of view orders
--     lock: none on orders; catalog only
ALTER VIEW "public_30_add_column_simple_up"."orders" ALTER COLUMN "id" SET DEFAULT nextval('orders_id_seq'::regclass);

-- [36] 30_add_column_simple_up.yaml:1:1: view people of version public_30_add_column_simple_up
--     lock: ACCESS SHARE on people; catalog only
CREATE VIEW "public_30_add_column_simple_up"."people" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "age" AS "age", "_pgroll_new_description" AS "description" FROM "public"."people";

-- [37] 30_add_column_simple_up.yaml:1:1: a column default of view people
--     lock: none on people; catalog only
ALTER VIEW "public_30_add_column_simple_up"."people" ALTER COLUMN "age" SET DEFAULT 18;

-- [38] 30_add_column_simple_up.yaml:1:1: view posts of version public_30_add_column_simple_up
--     lock: ACCESS SHARE on posts; catalog only
CREATE VIEW "public_30_add_column_simple_up"."posts" WITH (security_invoker = true) AS SELECT "id" AS "id", "title" AS "title", "user_id" AS "user_id" FROM "public"."posts";

-- [39] 30_add_column_simple_up.yaml:1:1: a column default of view posts
--     lock: none on posts; catalog only
ALTER VIEW "public_30_add_column_simple_up"."posts" ALTER COLUMN "id" SET DEFAULT nextval('posts_id_seq'::regclass);

-- [40] 30_add_column_simple_up.yaml:1:1: view reviews of version public_30_add_column_simple_up
--     lock: ACCESS SHARE on reviews; catalog only
CREATE VIEW "public_30_add_column_simple_up"."reviews" WITH (security_invoker = true) AS SELECT "id" AS "id", "username" AS "username", "product" AS "product", "rating" AS "rating", "review" AS "review" FROM "public"."reviews";

-- [41] 30_add_column_simple_up.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_30_add_column_simple_up"."reviews" ALTER COLUMN "id" SET DEFAULT nextval('reviews_id_seq'::regclass);

-- [42] 30_add_column_simple_up.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_30_add_column_simple_up"."reviews" ALTER COLUMN "rating" SET DEFAULT 0;

-- [43] 30_add_column_simple_up.yaml:1:1: view sellers of version public_30_add_column_simple_up
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_30_add_column_simple_up"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [44] 30_add_column_simple_up.yaml:1:1: view users of version public_30_add_column_simple_up
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_30_add_column_simple_up"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- [45] 30_add_column_simple_up.yaml:1:1: the roles that use public and its tables get the same rights on public_30_add_column_simple_up and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_30_add_column_simple_up' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_30_add_column_simple_up') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_30_add_column_simple_up"."bills"', 'bills', 'bills'),
      ('"public_30_add_column_simple_up"."clients"', 'clients', 'clients'),
      ('"public_30_add_column_simple_up"."employees"', 'employees', 'employees'),
      ('"public_30_add_column_simple_up"."fruits"', 'fruits', 'fruits'),
      ('"public_30_add_column_simple_up"."items"', 'items', 'items'),
      ('"public_30_add_column_simple_up"."orders"', 'orders', 'orders'),
      ('"public_30_add_column_simple_up"."people"', 'people', 'people'),
      ('"public_30_add_column_simple_up"."posts"', 'posts', 'posts'),
      ('"public_30_add_column_simple_up"."reviews"', 'reviews', 'reviews'),
      ('"public_30_add_column_simple_up"."sellers"', 'sellers', 'sellers'),
      ('"public_30_add_column_simple_up"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      ('"public_30_add_column_simple_up"."people"', '_pgroll_new_description', 'description')),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_30_add_column_simple_up')),
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

-- (the live executor records steps 23-45 as done in its state schema here, in the same transaction)
COMMIT;

-- [46] 30_add_column_simple_up.yaml:3:7: validate _pgroll_check_not_null_description
--     lock: SHARE UPDATE EXCLUSIVE on people; scans the table (reads and writes continue)
ALTER TABLE IF EXISTS "public"."people" VALIDATE CONSTRAINT "_pgroll_check_not_null_description";

-- ==== complete (12 steps) ====

-- steps 1-12 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 30_add_column_simple_up.yaml:1:1: drop the previous version schema public_29_set_replica_identity
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_29_set_replica_identity"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_29_set_replica_identity"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_29_set_replica_identity"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_29_set_replica_identity" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_29_set_replica_identity" CASCADE;
END
$pgroll$;

-- [2] 30_add_column_simple_up.yaml:1:1: lock people for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on people; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."people"') IS NOT NULL THEN
    LOCK TABLE "public"."people" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 30_add_column_simple_up.yaml:3:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_people_description"() CASCADE;

-- [4] 30_add_column_simple_up.yaml:3:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_people_description"() CASCADE;

-- [5] 30_add_column_simple_up.yaml:3:7: drop a sync trigger of this migration
--     lock: ACCESS EXCLUSIVE; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_people_description"() CASCADE;

-- [6] 30_add_column_simple_up.yaml:3:7: rename _pgroll_new_description to description
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite renaming-column: clients use version-schema views, which follow the rename
-- squawk-ignore renaming-column
ALTER TABLE IF EXISTS "public"."people" RENAME COLUMN "_pgroll_new_description" TO "description";

-- [7] 30_add_column_simple_up.yaml:3:7: set description NOT NULL (the valid check spares the scan)
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite adding-not-nullable-field: a valid CHECK (column IS NOT NULL), validated at start while writes went on, spares the scan
-- squawk-ignore adding-not-nullable-field
ALTER TABLE IF EXISTS "public"."people" ALTER COLUMN "description" SET NOT NULL;

-- [8] 30_add_column_simple_up.yaml:3:7: drop the check _pgroll_check_not_null_description
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite ban-drop-constraint: a helper constraint of this migration, or the one it drops, once no old client relies on it
-- squawk-ignore ban-drop-constraint
ALTER TABLE IF EXISTS "public"."people" DROP CONSTRAINT IF EXISTS "_pgroll_check_not_null_description";

-- [9] 30_add_column_simple_up.yaml:1:1: drop the backfill watch on people
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_watch_people"() CASCADE;

-- [10] 30_add_column_simple_up.yaml:1:1: drop the backfill watch's counts on people
--     lock: none; catalog only
--     safe despite ban-drop-sequence: the backfill watch's counts: only this migration's trigger and backfill use them
-- squawk-ignore ban-drop-sequence
DROP SEQUENCE IF EXISTS "public"."_pgroll_writes_people", "public"."_pgroll_passed_people";

-- [11] 30_add_column_simple_up.yaml:1:1: drop the backfill marker of people
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."people" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- [12] 30_add_column_simple_up.yaml:1:1: the rights granted on public and its tables since start reach public_30_add_column_simple_up and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_30_add_column_simple_up' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_30_add_column_simple_up') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_30_add_column_simple_up"."bills"', 'bills', 'bills'),
      ('"public_30_add_column_simple_up"."clients"', 'clients', 'clients'),
      ('"public_30_add_column_simple_up"."employees"', 'employees', 'employees'),
      ('"public_30_add_column_simple_up"."fruits"', 'fruits', 'fruits'),
      ('"public_30_add_column_simple_up"."items"', 'items', 'items'),
      ('"public_30_add_column_simple_up"."orders"', 'orders', 'orders'),
      ('"public_30_add_column_simple_up"."people"', 'people', 'people'),
      ('"public_30_add_column_simple_up"."posts"', 'posts', 'posts'),
      ('"public_30_add_column_simple_up"."reviews"', 'reviews', 'reviews'),
      ('"public_30_add_column_simple_up"."sellers"', 'sellers', 'sellers'),
      ('"public_30_add_column_simple_up"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_30_add_column_simple_up')),
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

-- (the live executor records steps 1-12 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== rollback (9 steps) ====

-- steps 1-9 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 30_add_column_simple_up.yaml:1:1: drop version schema public_30_add_column_simple_up
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_30_add_column_simple_up"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_30_add_column_simple_up"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_30_add_column_simple_up"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_30_add_column_simple_up" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_30_add_column_simple_up" CASCADE;
END
$pgroll$;

-- [2] 30_add_column_simple_up.yaml:1:1: lock people for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on people; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."people"') IS NOT NULL THEN
    LOCK TABLE "public"."people" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 30_add_column_simple_up.yaml:3:7: drop trigger _pgroll_trigger_000-set_people_description
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_people_description"() CASCADE;

-- [4] 30_add_column_simple_up.yaml:3:7: drop trigger _pgroll_trigger_000_people_description
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_people_description"() CASCADE;

-- [5] 30_add_column_simple_up.yaml:3:7: drop trigger ~pgroll_trigger_000_people_description
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_people_description"() CASCADE;

-- [6] 30_add_column_simple_up.yaml:3:7: drop column _pgroll_new_description
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."people" DROP COLUMN IF EXISTS "_pgroll_new_description";

-- [7] 30_add_column_simple_up.yaml:1:1: drop the backfill watch on people
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_watch_people"() CASCADE;

-- [8] 30_add_column_simple_up.yaml:1:1: drop the backfill watch's counts on people
--     lock: none; catalog only
--     safe despite ban-drop-sequence: the backfill watch's counts: only this migration's trigger and backfill use them
-- squawk-ignore ban-drop-sequence
DROP SEQUENCE IF EXISTS "public"."_pgroll_writes_people", "public"."_pgroll_passed_people";

-- [9] 30_add_column_simple_up.yaml:1:1: drop the backfill marker of people
--     lock: ACCESS EXCLUSIVE on people; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."people" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- (the live executor records steps 1-9 as done in its state schema here, in the same transaction)
COMMIT;
