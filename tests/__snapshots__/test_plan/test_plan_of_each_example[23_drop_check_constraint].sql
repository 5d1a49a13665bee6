-- pgroll-dsl 0.1.0 plan for migration 23_drop_check_constraint
-- target schema: public; new version schema: public_23_drop_check_constraint
-- previous version schema: public_22_add_check_constraint
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

-- ==== start (41 steps) ====

-- [1] 23_drop_check_constraint.yaml:3:7: add column _pgroll_new_title (copy of title, with its collation, privileges and settings)
--     lock: ACCESS EXCLUSIVE on posts; catalog only
DO $pgroll$
DECLARE
  _pgroll_old record;
  _pgroll_copy record;
  _pgroll_grant record;
  _pgroll_fires record;
  _pgroll_late text;
BEGIN
  ALTER TABLE "public"."posts" ADD COLUMN IF NOT EXISTS "_pgroll_new_title" character varying(255);
  -- What the column has besides its type: collation, privileges, statistics target,
  -- options; storage and compression where the type stays.
  SELECT * INTO _pgroll_old FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."posts"') AND attname = 'title';
  SELECT * INTO _pgroll_copy FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."posts"') AND attname = '_pgroll_new_title';
  IF _pgroll_old.attcollation <> 0 AND _pgroll_copy.attcollation <> 0
      AND _pgroll_old.attcollation <> _pgroll_copy.attcollation THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE %s COLLATE %I.%I', '"public"."posts"', '_pgroll_new_title',
      pg_catalog.format_type(_pgroll_copy.atttypid, _pgroll_copy.atttypmod),
      (SELECT n.nspname FROM pg_catalog.pg_collation o JOIN pg_catalog.pg_namespace n ON n.oid = o.collnamespace WHERE o.oid = _pgroll_old.attcollation),
      (SELECT o.collname FROM pg_catalog.pg_collation o WHERE o.oid = _pgroll_old.attcollation));
  END IF;
  FOR _pgroll_grant IN SELECT * FROM pg_catalog.aclexplode(_pgroll_old.attacl) LOOP
    EXECUTE pg_catalog.format('GRANT %s (%I) ON %s TO %s', _pgroll_grant.privilege_type, '_pgroll_new_title', '"public"."posts"',
      CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
  IF _pgroll_old.attstattarget >= 0 THEN  -- (-1 before PostgreSQL 17, NULL since)
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s', '"public"."posts"', '_pgroll_new_title', _pgroll_old.attstattarget);
  END IF;
  IF _pgroll_old.attoptions IS NOT NULL THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET (%s)', '"public"."posts"', '_pgroll_new_title',
      pg_catalog.array_to_string(_pgroll_old.attoptions, ', '));
  END IF;
  IF _pgroll_old.atttypid = _pgroll_copy.atttypid THEN
    IF _pgroll_old.attstorage <> _pgroll_copy.attstorage THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STORAGE %s', '"public"."posts"', '_pgroll_new_title',
        CASE _pgroll_old.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END);
    END IF;
    IF _pgroll_old.attcompression <> '' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET COMPRESSION %s', '"public"."posts"', '_pgroll_new_title',
        CASE _pgroll_old.attcompression WHEN 'l' THEN 'lz4' ELSE 'pglz' END);
    END IF;
  END IF;
  FOR _pgroll_fires IN SELECT pg_catalog.string_agg(pg_catalog.quote_ident(g.tgname), ', ' ORDER BY g.tgname) AS names,
      '"' || pg_catalog.replace(n.nspname, '"', '""') || '"."' || pg_catalog.replace(c.relname, '"', '""') || '"' AS relation
    FROM (SELECT '"public"."posts"'::pg_catalog.regclass AS relid, 0 AS level UNION ALL
      SELECT relid, level FROM pg_catalog.pg_partition_tree('"public"."posts"') WHERE level > 0) p
    JOIN pg_catalog.pg_trigger g ON g.tgrelid = p.relid AND NOT g.tgisinternal AND g.tgparentid = 0
    JOIN pg_catalog.pg_attribute a ON a.attrelid = p.relid AND a.attname = 'title' AND a.attnum = ANY (g.tgattr)
    JOIN pg_catalog.pg_class c ON c.oid = p.relid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT (pg_catalog.starts_with(g.tgname, '_pgroll_trigger_') OR pg_catalog.starts_with(g.tgname, '~pgroll_trigger_'))
    GROUP BY p.level, n.nspname, c.relname ORDER BY p.level, n.nspname, c.relname LOOP
    RAISE WARNING 'trigger % of table % fires on UPDATE OF %: until complete a write through the new version sets the new column and does not fire it (complete carries it over)',
      _pgroll_fires.names, _pgroll_fires.relation, pg_catalog.quote_ident('title');
  END LOOP;
  SELECT pg_catalog.string_agg(pg_catalog.quote_ident(tgname), ', ' ORDER BY tgname)
    INTO _pgroll_late FROM pg_catalog.pg_trigger WHERE tgrelid = pg_catalog.to_regclass('"public"."posts"')
      AND NOT tgisinternal AND tgtype & 3 = 3 AND tgtype & 20 <> 0 -- row, before, insert or update
      AND tgname > '~pgroll_trigger_'::pg_catalog.name AND NOT (pg_catalog.starts_with(tgname, '_pgroll_trigger_') OR pg_catalog.starts_with(tgname, '~pgroll_trigger_'));
  IF _pgroll_late IS NOT NULL THEN
    RAISE WARNING 'trigger % of table % fires after the trigger that fills the new column of % (a table''s BEFORE triggers fire in the order of their names): what it changes in a row does not reach the new column; rename it to sort before ~pgroll_trigger_, or drop it until complete',
      _pgroll_late, '"public"."posts"', pg_catalog.quote_ident('title');
  END IF;
END
$pgroll$;

-- [2] 23_drop_check_constraint.yaml:3:7: backfill marker on posts (constant default: no rewrite), and _pgroll_backfilled_by (no default)
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite adding-field-with-default: a constant default: PostgreSQL adds it without rewriting the table
-- squawk-ignore adding-field-with-default
ALTER TABLE "public"."posts" ADD COLUMN IF NOT EXISTS "_pgroll_needs_backfill" boolean NOT NULL DEFAULT true, ADD COLUMN IF NOT EXISTS "_pgroll_backfilled_by" pg_catalog.xid;

-- steps 3-8 run in one transaction: clients see all of them or none
BEGIN;

-- [3] 23_drop_check_constraint.yaml:1:1: backfill watch on posts: counts the statements that write it
--     lock: none on posts; catalog only
CREATE SEQUENCE IF NOT EXISTS "public"."_pgroll_writes_posts";

-- [4] 23_drop_check_constraint.yaml:1:1: backfill watch on posts: counts the runs that reach the end of posts
--     lock: none on posts; catalog only
CREATE SEQUENCE IF NOT EXISTS "public"."_pgroll_passed_posts";

-- [5] 23_drop_check_constraint.yaml:1:1: backfill watch on posts: function
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_watch_posts"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $pgroll$
BEGIN
  IF COALESCE(pg_catalog.current_setting('pgroll_dsl.backfilling', true), '') = '' OR pg_catalog.pg_trigger_depth() > 1 THEN
    PERFORM pg_catalog.nextval('"public"."_pgroll_writes_posts"'::pg_catalog.regclass);
  END IF;
  RETURN NULL;
END
$pgroll$;

-- [6] 23_drop_check_constraint.yaml:1:1: backfill watch on posts: trigger on posts
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_watch_posts" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "public"."posts" FOR EACH STATEMENT EXECUTE FUNCTION "public"."_pgroll_watch_posts"();

-- [7] 23_drop_check_constraint.yaml:1:1: backfill watch on posts: the trigger fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" ENABLE ALWAYS TRIGGER "_pgroll_watch_posts";

-- [8] 23_drop_check_constraint.yaml:1:1: backfill watch on posts: the transactions still running now (what they change in the catalog counts as changed after the watch began)
--     lock: none on posts; catalog only
DO $pgroll$
BEGIN
  EXECUTE pg_catalog.format('COMMENT ON SEQUENCE %s IS %L', '"public"."_pgroll_writes_posts"', (SELECT (ARRAY[(pg_catalog.pg_snapshot_xmax(s)::text::bigint % 4294967296)::text::pg_catalog.xid] || ARRAY(SELECT (x::text::bigint % 4294967296)::text::pg_catalog.xid FROM pg_catalog.pg_snapshot_xip(s) x) || ARRAY(SELECT l.transactionid FROM pg_catalog.pg_locks l WHERE l.locktype = 'transactionid'))::text FROM pg_catalog.pg_current_snapshot() s));
END
$pgroll$;

-- (the live executor records steps 3-8 as done in its state schema here, in the same transaction)
COMMIT;

-- [9] 23_drop_check_constraint.yaml:3:7: backfill posts, first pass, before its sync triggers exist: in batches keyed on id, writing the copies itself
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
  _pgroll_fast boolean := true;
  _pgroll_replica boolean;
  _pgroll_fires text;
  _pgroll_synced boolean;
  _pgroll_unwatched boolean;
BEGIN
  BEGIN
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."posts"', true);
    UPDATE "public"."posts" AS _pgroll_row SET "_pgroll_new_title" = (_pgroll_row."title"), "_pgroll_needs_backfill" = false WHERE false;
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
    (EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = '"public"."posts"'::pg_catalog.regclass)
      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE srrelid = '"public"."posts"'::pg_catalog.regclass)),
    CASE WHEN c.reltuples > 0 THEN least(1000000, greatest(1, pg_catalog.ceil(c.reltuples * 1024000 / greatest(pg_catalog.pg_total_relation_size(c.oid), 1))))::bigint ELSE 1000 END,
    c.reltuples,
    (SELECT min(_pgroll_row."id") FROM "public"."posts" AS _pgroll_row),
    (SELECT max(_pgroll_row."id") FROM "public"."posts" AS _pgroll_row)
    INTO _pgroll_fires, _pgroll_synced, _pgroll_unwatched, _pgroll_size, _pgroll_tuples, _pgroll_first, _pgroll_last
    FROM pg_catalog.pg_class c WHERE c.oid = '"public"."posts"'::pg_catalog.regclass;
  IF _pgroll_fires
      ~ (CASE WHEN _pgroll_replica THEN '[ar]' ELSE '[oa]' END) THEN
    _pgroll_fast := false;
  END IF;
  IF NOT _pgroll_fast OR _pgroll_synced OR _pgroll_fires
      ~* (CASE WHEN _pgroll_replica THEN '[AR]' ELSE '[OA]' END) THEN
    PERFORM pg_catalog.nextval('"public"."_pgroll_writes_posts"'::pg_catalog.regclass);  -- the second pass reads
    RETURN;
  END IF;
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
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."posts"', true), CASE WHEN _pgroll_replica THEN pg_catalog.set_config('session_replication_role', 'replica', true) END;
    UPDATE "public"."posts" AS _pgroll_row SET "_pgroll_new_title" = (_pgroll_row."title"), "_pgroll_needs_backfill" = false, "_pgroll_backfilled_by" = pg_catalog.pg_current_xact_id()::pg_catalog.xid
      WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin;
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
  IF NOT _pgroll_unwatched AND NOT (EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = '"public"."posts"'::pg_catalog.regclass)
      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE srrelid = '"public"."posts"'::pg_catalog.regclass)) THEN
    PERFORM pg_catalog.nextval('"public"."_pgroll_passed_posts"'::pg_catalog.regclass);
  ELSE
    PERFORM pg_catalog.nextval('"public"."_pgroll_writes_posts"'::pg_catalog.regclass);  -- the second pass reads
  END IF;
END
$pgroll_backfill$;

-- [10] 23_drop_check_constraint.yaml:3:7: trigger function _pgroll_trigger_000_posts_title (new-version updates of rows not backfilled yet: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000_posts_title"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
#variable_conflict use_column
BEGIN
  IF TG_OP = 'UPDATE' AND OLD."_pgroll_needs_backfill" THEN
    IF pg_catalog.current_setting('pgroll_dsl.written', true) = '_pgroll_trigger_000_posts_title' THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.written', '', true);  -- written: kept
    ELSIF ROW(NEW."_pgroll_new_title")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_title")::record
        AND ROW(NEW."title")::record OPERATOR(pg_catalog.*=) ROW(OLD."title")::record THEN
      NEW."_pgroll_new_title" := (OLD."title");
    END IF;
  END IF;
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [11] 23_drop_check_constraint.yaml:3:7: trigger function _pgroll_trigger_down999_posts_title (new-version writes: down)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_down999_posts_title"() RETURNS trigger
LANGUAGE plpgsql SET search_path = "public", pg_temp
AS $pgroll$
#variable_conflict use_column
BEGIN
  IF TG_OP = 'UPDATE' THEN  -- OLD is no record on INSERT
    IF NOT ROW(NEW."title")::record OPERATOR(pg_catalog.*=) ROW(OLD."title")::record
        AND ROW(NEW."_pgroll_new_title")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_title")::record THEN
      NEW."_pgroll_new_title" := (NEW."title");
      RETURN NEW;
    END IF;
  END IF;
  NEW."title" := (SELECT CASE WHEN length(NEW."_pgroll_new_title") <= 3 THEN LPAD(NEW."_pgroll_new_title", 4, '-') ELSE NEW."_pgroll_new_title" END);
  RETURN NEW;
END
$pgroll$;

-- [12] 23_drop_check_constraint.yaml:3:7: trigger function ~pgroll_trigger_000_posts_title (old-version and base-table writes: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."~pgroll_trigger_000_posts_title"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
#variable_conflict use_column
BEGIN
  NEW."_pgroll_new_title" := (NEW."title");
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [13] 23_drop_check_constraint.yaml:3:7: trigger function _pgroll_trigger_000-set_posts_title
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000-set_posts_title"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
BEGIN
  PERFORM pg_catalog.set_config('pgroll_dsl.written', '_pgroll_trigger_000_posts_title', true);
  RETURN NEW;
END
$pgroll$;

-- steps 14-15 run in one transaction: clients see all of them or none
BEGIN;

-- [14] 23_drop_check_constraint.yaml:3:7: trigger _pgroll_trigger_000-set_posts_title on posts (a new-version UPDATE that sets title)
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000-set_posts_title" BEFORE UPDATE OF "_pgroll_new_title" ON "public"."posts" FOR EACH ROW
  WHEN (OLD."_pgroll_needs_backfill" AND (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_23_drop_check_constraint' THEN true WHEN 'public' THEN false WHEN 'public_22_add_check_constraint' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_23_drop_check_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_22_add_check_constraint'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."posts"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000-set_posts_title"();

-- [15] 23_drop_check_constraint.yaml:3:7: trigger _pgroll_trigger_000-set_posts_title fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000-set_posts_title";

-- (the live executor records steps 14-15 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 16-17 run in one transaction: clients see all of them or none
BEGIN;

-- [16] 23_drop_check_constraint.yaml:3:7: trigger _pgroll_trigger_000_posts_title on posts (new-version updates of rows not backfilled yet: up)
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000_posts_title" BEFORE INSERT OR UPDATE ON "public"."posts" FOR EACH ROW
  WHEN (CASE WHEN NEW."_pgroll_needs_backfill" THEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_23_drop_check_constraint' THEN true WHEN 'public' THEN false WHEN 'public_22_add_check_constraint' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_23_drop_check_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_22_add_check_constraint'::name), 2147483647)), false) END) ELSE false END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."posts"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000_posts_title"();

-- [17] 23_drop_check_constraint.yaml:3:7: trigger _pgroll_trigger_000_posts_title fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000_posts_title";

-- (the live executor records steps 16-17 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 18-19 run in one transaction: clients see all of them or none
BEGIN;

-- [18] 23_drop_check_constraint.yaml:3:7: trigger _pgroll_trigger_down999_posts_title on posts (new-version writes: down)
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_down999_posts_title" BEFORE INSERT OR UPDATE ON "public"."posts" FOR EACH ROW
  WHEN ((CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_23_drop_check_constraint' THEN true WHEN 'public' THEN false WHEN 'public_22_add_check_constraint' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_23_drop_check_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_22_add_check_constraint'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."posts"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_down999_posts_title"();

-- [19] 23_drop_check_constraint.yaml:3:7: trigger _pgroll_trigger_down999_posts_title fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" ENABLE ALWAYS TRIGGER "_pgroll_trigger_down999_posts_title";

-- (the live executor records steps 18-19 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 20-21 run in one transaction: clients see all of them or none
BEGIN;

-- [20] 23_drop_check_constraint.yaml:3:7: trigger ~pgroll_trigger_000_posts_title on posts (old-version and base-table writes: up)
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
CREATE OR REPLACE TRIGGER "~pgroll_trigger_000_posts_title" BEFORE INSERT OR UPDATE ON "public"."posts" FOR EACH ROW
  WHEN (CASE WHEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_23_drop_check_constraint' THEN true WHEN 'public' THEN false WHEN 'public_22_add_check_constraint' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_23_drop_check_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_22_add_check_constraint'::name), 2147483647)), false) END)
    THEN false
    ELSE NEW."_pgroll_needs_backfill"
    OR NEW."_pgroll_new_title"::text COLLATE "C" IS DISTINCT FROM (NEW."title")::text COLLATE "C" END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."posts"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."~pgroll_trigger_000_posts_title"();

-- [21] 23_drop_check_constraint.yaml:3:7: trigger ~pgroll_trigger_000_posts_title fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" ENABLE ALWAYS TRIGGER "~pgroll_trigger_000_posts_title";

-- (the live executor records steps 20-21 as done in its state schema here, in the same transaction)
COMMIT;

-- [22] 23_drop_check_constraint.yaml:3:7: backfill posts, second pass: none if no statement wrote the table since the first pass began, else the rows written since the first pass read them (by pages if it ran; else in batches keyed on id, writing the copies itself)
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
  _pgroll_fast boolean := true;
  _pgroll_replica boolean;
  _pgroll_fires text;
  _pgroll_page bigint := 0;
  _pgroll_last_page bigint;
  _pgroll_files oid[];
BEGIN
  IF pg_catalog.pg_sequence_last_value(pg_catalog.to_regclass('"public"."_pgroll_passed_posts"')) IS NOT NULL
    AND pg_catalog.pg_sequence_last_value(pg_catalog.to_regclass('"public"."_pgroll_writes_posts"')) IS NULL
    AND EXISTS (SELECT FROM pg_catalog.pg_trigger r JOIN pg_catalog.pg_class r_s ON r_s.oid = pg_catalog.to_regclass('"public"."_pgroll_writes_posts"') AND r.xmin OPERATOR(pg_catalog.=) r_s.xmin WHERE r.tgrelid = '"public"."posts"'::pg_catalog.regclass AND r.tgname = '_pgroll_watch_posts' AND r.tgenabled = 'A')
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhparent = '"public"."posts"'::pg_catalog.regclass)
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_class s LEFT JOIN LATERAL (SELECT CASE WHEN d.xmin OPERATOR(pg_catalog.=) s.xmin AND d.description ~ '^[{][0-9]+(,[0-9]+)*[}]$' THEN d.description::pg_catalog.xid[] END AS running FROM pg_catalog.pg_description d WHERE d.objoid = s.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0) k ON true, (VALUES ('"public"."posts"'::pg_catalog.regclass::pg_catalog.oid)) m(relid)
      WHERE s.oid = pg_catalog.to_regclass('"public"."_pgroll_writes_posts"') AND (k.running IS NULL
      OR EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = m.relid AND c.xmin OPERATOR(pg_catalog.<>) s.xmin AND (c.xmin OPERATOR(pg_catalog.=) ANY (k.running) OR pg_catalog.age(c.xmin) <= pg_catalog.age(k.running[1])))
      OR EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid = m.relid AND a.xmin OPERATOR(pg_catalog.<>) s.xmin AND (a.xmin OPERATOR(pg_catalog.=) ANY (k.running) OR pg_catalog.age(a.xmin) <= pg_catalog.age(k.running[1])))))
    AND NOT (EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = '"public"."posts"'::pg_catalog.regclass)
      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE srrelid = '"public"."posts"'::pg_catalog.regclass)) THEN
    IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NULL THEN  -- said once, not by each worker
      RAISE NOTICE 'pgroll-dsl backfill %: no statement wrote it since the first pass began: nothing left', 'posts';
    END IF;
    RETURN;
  END IF;
  BEGIN
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."posts"', true);
    UPDATE "public"."posts" AS _pgroll_row SET "_pgroll_new_title" = (_pgroll_row."title"), "_pgroll_needs_backfill" = false WHERE false;
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
    (SELECT min(_pgroll_row."id") FROM "public"."posts" AS _pgroll_row),
    (SELECT max(_pgroll_row."id") FROM "public"."posts" AS _pgroll_row)
    INTO _pgroll_fires, _pgroll_size, _pgroll_tuples, _pgroll_first, _pgroll_last
    FROM pg_catalog.pg_class c WHERE c.oid = '"public"."posts"'::pg_catalog.regclass;
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
      _pgroll_files := (WITH RECURSIVE tree(oid) AS (SELECT '"public"."posts"'::regclass::oid UNION ALL SELECT inhrelid FROM pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)
      SELECT pg_catalog.array_agg(pg_catalog.pg_relation_filenode(oid) ORDER BY oid) FROM tree);
      _pgroll_page := 0;
      _pgroll_last_page := (WITH RECURSIVE tree(oid) AS (SELECT '"public"."posts"'::regclass::oid UNION ALL SELECT inhrelid FROM pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)
      SELECT max(pg_catalog.pg_relation_size(oid)) / pg_catalog.current_setting('block_size')::bigint FROM tree);
      WHILE _pgroll_page <= _pgroll_last_page LOOP
        _pgroll_started := pg_catalog.clock_timestamp();
        IF _pgroll_fast THEN
          PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."posts"', true);
          IF _pgroll_replica THEN
            PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
          END IF;
          UPDATE "public"."posts" AS _pgroll_row SET "_pgroll_new_title" = (_pgroll_row."title"), "_pgroll_needs_backfill" = false, "_pgroll_backfilled_by" = NULL
            WHERE _pgroll_row.ctid >= pg_catalog.format('(%s,0)', _pgroll_page)::tid
      AND _pgroll_row.ctid < pg_catalog.format('(%s,0)', _pgroll_page + _pgroll_size)::tid AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
        ELSE
          UPDATE "public"."posts" AS _pgroll_row SET "_pgroll_needs_backfill" = true, "_pgroll_backfilled_by" = NULL WHERE _pgroll_row.ctid >= pg_catalog.format('(%s,0)', _pgroll_page)::tid
      AND _pgroll_row.ctid < pg_catalog.format('(%s,0)', _pgroll_page + _pgroll_size)::tid AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
        END IF;
        _pgroll_page := _pgroll_page + _pgroll_size;
        GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
        _pgroll_done := _pgroll_done + _pgroll_rows;
        RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'posts', _pgroll_done USING DETAIL = _pgroll_done::text;
        COMMIT;
        _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
          - _pgroll_started);
        _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
          (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
      END LOOP;
      EXIT WHEN (WITH RECURSIVE tree(oid) AS (SELECT '"public"."posts"'::regclass::oid UNION ALL SELECT inhrelid FROM pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)
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
    IF _pgroll_fast THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."posts"', true);
      IF _pgroll_replica THEN
        PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
      END IF;
      UPDATE "public"."posts" AS _pgroll_row SET "_pgroll_new_title" = (_pgroll_row."title"), "_pgroll_needs_backfill" = false, "_pgroll_backfilled_by" = NULL
        WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
    ELSE
      UPDATE "public"."posts" AS _pgroll_row SET "_pgroll_needs_backfill" = true, "_pgroll_backfilled_by" = NULL WHERE (_pgroll_row."id") >= (_pgroll_lower_0) AND (_pgroll_row."id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
    END IF;
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

-- [23] 23_drop_check_constraint.yaml:1:1: backfill watch on posts: off on posts, the second pass is over
--     lock: SHARE ROW EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" DISABLE TRIGGER "_pgroll_watch_posts";

-- [24] 23_drop_check_constraint.yaml:3:7: NOT NULL of title as a check (not valid)
--     lock: ACCESS EXCLUSIVE on posts; catalog only
ALTER TABLE "public"."posts" ADD CONSTRAINT "_pgroll_check_not_null_title" CHECK ("_pgroll_new_title" IS NOT NULL) NOT VALID;

-- steps 25-40 run in one transaction: clients see all of them or none
BEGIN;

-- [25] 23_drop_check_constraint.yaml:1:1: create version schema public_23_drop_check_constraint
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_23_drop_check_constraint";

-- [26] 23_drop_check_constraint.yaml:1:1: view bills of version public_23_drop_check_constraint
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_23_drop_check_constraint"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [27] 23_drop_check_constraint.yaml:1:1: view clients of version public_23_drop_check_constraint
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_23_drop_check_constraint"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [28] 23_drop_check_constraint.yaml:1:1: view employees of version public_23_drop_check_constraint
--     lock: ACCESS SHARE on employees; catalog only
CREATE VIEW "public_23_drop_check_constraint"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "job_title" AS "job_title" FROM "public"."employees";

-- [29] 23_drop_check_constraint.yaml:1:1: a column default of view employees
--     lock: none on employees; catalog only
ALTER VIEW "public_23_drop_check_constraint"."employees" ALTER COLUMN "id" SET DEFAULT nextval('employees_id_seq'::regclass);

-- [30] 23_drop_check_constraint.yaml:1:1: view fruits of version public_23_drop_check_constraint
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_23_drop_check_constraint"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."fruits";

-- [31] 23_drop_check_constraint.yaml:1:1: view orders of version public_23_drop_check_constraint
--     lock: ACCESS SHARE on orders; catalog only
CREATE VIEW "public_23_drop_check_constraint"."orders" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "quantity" AS "quantity" FROM "public"."orders";

-- [32] 23_drop_check_constraint.yaml:1:1: a column default of view orders
--     lock: none on orders; catalog only
ALTER VIEW "public_23_drop_check_constraint"."orders" ALTER COLUMN "id" SET DEFAULT nextval('orders_id_seq'::regclass);

-- [33] 23_drop_check_constraint.yaml:1:1: view posts of version public_23_drop_check_constraint
--     lock: ACCESS SHARE on posts; catalog only
CREATE VIEW "public_23_drop_check_constraint"."posts" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "_pgroll_new_title" AS "title" FROM "public"."posts";

-- [34] 23_drop_check_constraint.yaml:1:1: a column default of view posts
--     lock: none on posts; catalog only
ALTER VIEW "public_23_drop_check_constraint"."posts" ALTER COLUMN "id" SET DEFAULT nextval('posts_id_seq'::regclass);

-- [35] 23_drop_check_constraint.yaml:1:1: view reviews of version public_23_drop_check_constraint
--     lock: ACCESS SHARE on reviews; catalog only
CREATE VIEW "public_23_drop_check_constraint"."reviews" WITH (security_invoker = true) AS SELECT "id" AS "id", "username" AS "username", "product" AS "product", "review" AS "review", "rating" AS "rating" FROM "public"."reviews";

-- [36] 23_drop_check_constraint.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_23_drop_check_constraint"."reviews" ALTER COLUMN "id" SET DEFAULT nextval('reviews_id_seq'::regclass);

-- [37] 23_drop_check_constraint.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_23_drop_check_constraint"."reviews" ALTER COLUMN "rating" SET DEFAULT 0;

-- [38] 23_drop_check_constraint.yaml:1:1: view sellers of version public_23_drop_check_constraint
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_23_drop_check_constraint"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [39] 23_drop_check_constraint.yaml:1:1: view users of version public_23_drop_check_constraint
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_23_drop_check_constraint"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- [40] 23_drop_check_constraint.yaml:1:1: the roles that use public and its tables get the same rights on public_23_drop_check_constraint and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_23_drop_check_constraint' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_23_drop_check_constraint') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_23_drop_check_constraint"."bills"', 'bills', 'bills'),
      ('"public_23_drop_check_constraint"."clients"', 'clients', 'clients'),
      ('"public_23_drop_check_constraint"."employees"', 'employees', 'employees'),
      ('"public_23_drop_check_constraint"."fruits"', 'fruits', 'fruits'),
      ('"public_23_drop_check_constraint"."orders"', 'orders', 'orders'),
      ('"public_23_drop_check_constraint"."posts"', 'posts', 'posts'),
      ('"public_23_drop_check_constraint"."reviews"', 'reviews', 'reviews'),
      ('"public_23_drop_check_constraint"."sellers"', 'sellers', 'sellers'),
      ('"public_23_drop_check_constraint"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      ('"public_23_drop_check_constraint"."posts"', '_pgroll_new_title', 'title')),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_23_drop_check_constraint')),
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

-- (the live executor records steps 25-40 as done in its state schema here, in the same transaction)
COMMIT;

-- [41] 23_drop_check_constraint.yaml:3:7: validate _pgroll_check_not_null_title
--     lock: SHARE UPDATE EXCLUSIVE on posts; scans the table (reads and writes continue)
ALTER TABLE IF EXISTS "public"."posts" VALIDATE CONSTRAINT "_pgroll_check_not_null_title";

-- ==== complete (12 steps) ====

-- steps 1-12 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 23_drop_check_constraint.yaml:1:1: drop the previous version schema public_22_add_check_constraint
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_22_add_check_constraint"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_22_add_check_constraint"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_22_add_check_constraint"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_22_add_check_constraint" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_22_add_check_constraint" CASCADE;
END
$pgroll$;

-- [2] 23_drop_check_constraint.yaml:1:1: lock posts for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on posts; catalog only
DO $pgroll_lock$
DECLARE
  _pgroll_view oid;
  _pgroll_owner oid;
  _pgroll_since timestamptz := pg_catalog.clock_timestamp();
  _pgroll_wait text := pg_catalog.current_setting('lock_timeout');
  _pgroll_deadlock interval := (SELECT least(pg_catalog.current_setting('deadlock_timeout')::interval,
        (SELECT (boot_val || unit)::interval FROM pg_catalog.pg_settings WHERE name = 'deadlock_timeout'),
        pg_catalog.min(CASE WHEN v ~ '^[0-9]+$' THEN (v || 'ms')::interval ELSE v::interval END))
      FROM pg_catalog.pg_db_role_setting, pg_catalog.unnest(setconfig) c,
        pg_catalog.substr(c, 18) v WHERE c LIKE 'deadlock\_timeout=%');
  _pgroll_budget interval;
  _pgroll_queue text := pg_catalog.current_setting('pgroll_dsl.lock_queue', true);
BEGIN
  IF _pgroll_queue IN ('shared', 'tables', 'views') THEN
    -- in the queue, within one lock_timeout and one deadlock_timeout of the
    -- transaction's start (its first steps may hold what a client waits for)
    _pgroll_since := pg_catalog.transaction_timestamp();
    _pgroll_budget := least(CASE WHEN _pgroll_wait <> '0' THEN _pgroll_wait::interval END, _pgroll_deadlock);
    PERFORM pg_catalog.set_config('lock_timeout', greatest(1, pg_catalog.ceil(1000 * extract(epoch FROM _pgroll_budget - (pg_catalog.clock_timestamp() - _pgroll_since))))::text, true);
    IF _pgroll_queue = 'shared' THEN
      FOR _pgroll_view, _pgroll_owner IN WITH RECURSIVE built(oid, depth) AS (SELECT v, 0 FROM (SELECT r.ev_class FROM (SELECT DISTINCT d.classid, d.objid FROM (SELECT r FROM (VALUES (pg_catalog.to_regclass('"public"."posts"')::pg_catalog.oid)) v(r)
                  UNION SELECT relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass('"public"."posts"'))) t(relid)
                JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attname = ANY (ARRAY['title']::pg_catalog.name[])
                JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
                WHERE (d.deptype = 'n' OR d.classid = 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass)) u JOIN pg_catalog.pg_rewrite r ON r.oid = u.objid AND u.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND r.rulename = '_RETURN') b(v)
            UNION ALL
            SELECT r.ev_class, b.depth + 1 FROM built b
              JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = b.oid
                AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
              JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND r.ev_class <> b.oid)
        SELECT b.oid, c.relowner FROM built b JOIN pg_catalog.pg_class c ON c.oid = b.oid AND c.relkind = 'v'
        GROUP BY b.oid, c.relowner ORDER BY max(b.depth) DESC, b.oid LOOP
        -- (not a view that reads another relation: see lock_block)
        CONTINUE WHEN EXISTS (WITH RECURSIVE reads(oid) AS (SELECT _pgroll_view
            UNION SELECT d.refobjid FROM reads JOIN pg_catalog.pg_class v ON v.oid = reads.oid AND v.relkind = 'v'
              JOIN pg_catalog.pg_rewrite r ON r.ev_class = v.oid
              JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
                AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid <> v.oid)
            SELECT FROM reads JOIN pg_catalog.pg_class x ON x.oid = reads.oid AND x.relkind <> 'v' AND x.oid IS DISTINCT FROM pg_catalog.to_regclass('"public"."posts"')::pg_catalog.oid);
        BEGIN
          PERFORM pg_catalog.set_config('lock_timeout', greatest(1, pg_catalog.ceil(1000 * extract(epoch FROM _pgroll_budget - (pg_catalog.clock_timestamp() - _pgroll_since))))::text, true);
          EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE MODE', _pgroll_view::pg_catalog.regclass);
        EXCEPTION WHEN insufficient_privilege THEN  -- (its owner may not lock the table)
        END;
      END LOOP;
    END IF;
    IF _pgroll_queue IN ('shared', 'tables') THEN
      IF pg_catalog.to_regclass('"public"."posts"') IS NOT NULL THEN
        LOCK TABLE "public"."posts" IN SHARE MODE;
      END IF;
    END IF;
    FOR _pgroll_view, _pgroll_owner IN WITH RECURSIVE built(oid, depth) AS (SELECT v, 0 FROM (SELECT r.ev_class FROM (SELECT DISTINCT d.classid, d.objid FROM (SELECT r FROM (VALUES (pg_catalog.to_regclass('"public"."posts"')::pg_catalog.oid)) v(r)
                  UNION SELECT relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass('"public"."posts"'))) t(relid)
                JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attname = ANY (ARRAY['title']::pg_catalog.name[])
                JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
                WHERE (d.deptype = 'n' OR d.classid = 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass)) u JOIN pg_catalog.pg_rewrite r ON r.oid = u.objid AND u.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND r.rulename = '_RETURN') b(v)
            UNION ALL
            SELECT r.ev_class, b.depth + 1 FROM built b
              JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = b.oid
                AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
              JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND r.ev_class <> b.oid)
      SELECT b.oid, c.relowner FROM built b JOIN pg_catalog.pg_class c ON c.oid = b.oid AND c.relkind = 'v'
      GROUP BY b.oid, c.relowner ORDER BY max(b.depth) DESC, b.oid LOOP
      IF NOT pg_catalog.pg_has_role(_pgroll_owner, 'USAGE') THEN
        RAISE EXCEPTION 'complete cannot carry view % over to the new column: it belongs to role %, and % may not change it', _pgroll_view::pg_catalog.regclass, pg_catalog.pg_get_userbyid(_pgroll_owner), current_user
          USING ERRCODE = 'insufficient_privilege', HINT = 'run complete as a role that owns the table and the view (a member of both owners), or drop the view before complete and create it again after';
      END IF;
      PERFORM pg_catalog.set_config('lock_timeout', greatest(1, pg_catalog.ceil(1000 * extract(epoch FROM _pgroll_budget - (pg_catalog.clock_timestamp() - _pgroll_since))))::text, true);
      EXECUTE pg_catalog.format('ALTER VIEW %s OWNER TO %I', _pgroll_view::pg_catalog.regclass, pg_catalog.pg_get_userbyid(_pgroll_owner));
    END LOOP;
    PERFORM pg_catalog.set_config('lock_timeout', greatest(1, pg_catalog.ceil(1000 * extract(epoch FROM _pgroll_budget - (pg_catalog.clock_timestamp() - _pgroll_since))))::text, true);
    IF pg_catalog.to_regclass('"public"."posts"') IS NOT NULL THEN
      LOCK TABLE "public"."posts" IN ACCESS EXCLUSIVE MODE;
    END IF;
    PERFORM pg_catalog.set_config('lock_timeout', _pgroll_wait, true);
    RETURN;
  END IF;
  LOOP
    BEGIN
      PERFORM pg_catalog.set_config('lock_timeout', '1', true);
      FOR _pgroll_view, _pgroll_owner IN WITH RECURSIVE built(oid, depth) AS (SELECT v, 0 FROM (SELECT r.ev_class FROM (SELECT DISTINCT d.classid, d.objid FROM (SELECT r FROM (VALUES (pg_catalog.to_regclass('"public"."posts"')::pg_catalog.oid)) v(r)
                  UNION SELECT relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass('"public"."posts"'))) t(relid)
                JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attname = ANY (ARRAY['title']::pg_catalog.name[])
                JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
                WHERE (d.deptype = 'n' OR d.classid = 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass)) u JOIN pg_catalog.pg_rewrite r ON r.oid = u.objid AND u.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND r.rulename = '_RETURN') b(v)
            UNION ALL
            SELECT r.ev_class, b.depth + 1 FROM built b
              JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = b.oid
                AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
              JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND r.ev_class <> b.oid)
        SELECT b.oid, c.relowner FROM built b JOIN pg_catalog.pg_class c ON c.oid = b.oid AND c.relkind = 'v'
        GROUP BY b.oid, c.relowner ORDER BY max(b.depth) DESC, b.oid LOOP
        IF NOT pg_catalog.pg_has_role(_pgroll_owner, 'USAGE') THEN
          RAISE EXCEPTION 'complete cannot carry view % over to the new column: it belongs to role %, and % may not change it', _pgroll_view::pg_catalog.regclass, pg_catalog.pg_get_userbyid(_pgroll_owner), current_user
            USING ERRCODE = 'insufficient_privilege', HINT = 'run complete as a role that owns the table and the view (a member of both owners), or drop the view before complete and create it again after';
        END IF;
        -- (lock_timeout 1 ms: not in the queue)
        EXECUTE pg_catalog.format('ALTER VIEW %s OWNER TO %I', _pgroll_view::pg_catalog.regclass, pg_catalog.pg_get_userbyid(_pgroll_owner));
      END LOOP;
      IF FOUND THEN
        IF pg_catalog.to_regclass('"public"."posts"') IS NOT NULL THEN
          LOCK TABLE "public"."posts" IN ACCESS EXCLUSIVE MODE NOWAIT;
        END IF;
      ELSIF _pgroll_wait <> '0' THEN  -- no view: as where nothing is carried
        PERFORM pg_catalog.set_config('lock_timeout', greatest(1, pg_catalog.ceil(1000 * extract(epoch FROM _pgroll_wait::interval - (pg_catalog.clock_timestamp() - _pgroll_since))))::text, true);
        IF pg_catalog.to_regclass('"public"."posts"') IS NOT NULL THEN
          LOCK TABLE ONLY "public"."posts" IN ACCESS EXCLUSIVE MODE;
        END IF;
        IF pg_catalog.to_regclass('"public"."posts"') IS NOT NULL THEN
          LOCK TABLE "public"."posts" IN ACCESS EXCLUSIVE MODE NOWAIT;
        END IF;
      END IF;  -- (no view and lock_timeout 0: the tables in the queue)
      PERFORM pg_catalog.set_config('lock_timeout', _pgroll_wait, true);
      EXIT;
    EXCEPTION WHEN lock_not_available THEN  -- a client holds one: none is kept
      IF pg_catalog.clock_timestamp() - _pgroll_since >= (CASE WHEN _pgroll_wait <> '0'
          THEN _pgroll_wait::interval ELSE _pgroll_deadlock END) THEN  -- (0: the queue next)
        RAISE;
      END IF;
      PERFORM pg_catalog.pg_sleep(0.005);
    END;
  END LOOP;
  IF pg_catalog.to_regclass('"public"."posts"') IS NOT NULL THEN
    LOCK TABLE "public"."posts" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll_lock$;

-- [3] 23_drop_check_constraint.yaml:3:7: carry the views, rules, policies, triggers and statistics that use title over to the new column
--     lock: ACCESS EXCLUSIVE on posts; catalog only
DO $pgroll$
DECLARE
  _pgroll_what text[];
  _pgroll_statement text[];
  _pgroll_view oid[];
  _pgroll_i int;
  _pgroll_remake oid[] := '{}';
  _pgroll_again text[] := '{}';
  _pgroll_gone text[] := '{}';
  _pgroll_why text;
BEGIN
  IF NOT EXISTS (SELECT DISTINCT d.classid, d.objid FROM (SELECT r FROM (VALUES (pg_catalog.to_regclass('"public"."posts"')::pg_catalog.oid)) v(r)
          UNION SELECT relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass('"public"."posts"'))) t(relid)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attname = ANY (ARRAY['title']::pg_catalog.name[])
        JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
        WHERE (d.deptype = 'n' OR d.classid = 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass)) THEN
    RETURN;  -- nothing uses the old column: the usual case, and quickly told
  END IF;
  SELECT pg_catalog.array_agg(what ORDER BY kind, objid, n), pg_catalog.array_agg(statement ORDER BY kind, objid, n),
      pg_catalog.array_agg(view ORDER BY kind, objid, n)
    INTO _pgroll_what, _pgroll_statement, _pgroll_view FROM (
    WITH u AS (SELECT DISTINCT d.classid, d.objid FROM (SELECT r FROM (VALUES (pg_catalog.to_regclass('"public"."posts"')::pg_catalog.oid)) v(r)
          UNION SELECT relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass('"public"."posts"'))) t(relid)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attname = ANY (ARRAY['title']::pg_catalog.name[])
        JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
        WHERE (d.deptype = 'n' OR d.classid = 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass))
    SELECT 1 AS kind, u.objid, 1 AS n, pg_catalog.pg_describe_object(CASE WHEN r.rulename = '_RETURN'
        THEN 'pg_catalog.pg_class'::pg_catalog.regclass ELSE u.classid END, CASE WHEN r.rulename = '_RETURN' THEN c.oid ELSE u.objid END, 0) AS what,
      CASE WHEN r.rulename <> '_RETURN' THEN pg_catalog.regexp_replace(pg_catalog.pg_get_ruledef(r.oid), '^CREATE RULE', 'CREATE OR REPLACE RULE')
        WHEN c.relkind = 'v' THEN pg_catalog.format('CREATE OR REPLACE VIEW %s%s AS %s', c.oid::pg_catalog.regclass,
        COALESCE(' WITH (' || pg_catalog.array_to_string(c.reloptions, ', ') || ')', ''), pg_catalog.pg_get_viewdef(c.oid)) END AS statement,
      CASE WHEN r.rulename = '_RETURN' THEN c.oid END AS view
      FROM u JOIN pg_catalog.pg_rewrite r ON r.oid = u.objid JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
      WHERE u.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
    UNION ALL
    SELECT 2, u.objid, 1, pg_catalog.pg_describe_object(u.classid, u.objid, 0),
      pg_catalog.format('ALTER POLICY %I ON %s%s%s', p.polname, p.polrelid::pg_catalog.regclass,
      ' USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')',
      ' WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')'), NULL
      FROM u JOIN pg_catalog.pg_policy p ON p.oid = u.objid
      WHERE u.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass
    UNION ALL
    SELECT 3, u.objid, x.n, pg_catalog.pg_describe_object(u.classid, u.objid, 0), x.s, NULL
      FROM u JOIN pg_catalog.pg_trigger t ON t.oid = u.objid
      CROSS JOIN LATERAL pg_catalog.unnest(
      ARRAY[
      pg_catalog.format('DROP TRIGGER %I ON %s', t.tgname, t.tgrelid::pg_catalog.regclass),
      pg_catalog.pg_get_triggerdef(t.oid),
      pg_catalog.format('ALTER TABLE %2$s ' || CASE t.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' WHEN 'A' THEN 'ENABLE ALWAYS' END || ' TRIGGER %1$I', t.tgname, t.tgrelid::pg_catalog.regclass),
      pg_catalog.format('COMMENT ON TRIGGER %I ON %s IS ', t.tgname, t.tgrelid::pg_catalog.regclass)
        || pg_catalog.quote_literal(pg_catalog.obj_description(t.oid, 'pg_trigger'))]
      || ARRAY(SELECT y FROM pg_catalog.pg_trigger k CROSS JOIN LATERAL pg_catalog.unnest(ARRAY[pg_catalog.format('ALTER TABLE %2$s ' || CASE k.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' WHEN 'A' THEN 'ENABLE ALWAYS' END || ' TRIGGER %1$I', k.tgname, k.tgrelid::pg_catalog.regclass),
        pg_catalog.format('COMMENT ON TRIGGER %I ON %s IS ', k.tgname, k.tgrelid::pg_catalog.regclass)
        || pg_catalog.quote_literal(pg_catalog.obj_description(k.oid, 'pg_trigger'))]) y
        WHERE k.tgparentid <> 0 AND k.tgname = t.tgname AND k.tgrelid IN (SELECT relid FROM pg_catalog.pg_partition_tree(t.tgrelid)))) WITH ORDINALITY x(s, n)
      WHERE u.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass AND NOT t.tgisinternal AND t.tgparentid = 0
        AND NOT (pg_catalog.starts_with(t.tgname, '_pgroll_trigger_') OR pg_catalog.starts_with(t.tgname, '~pgroll_trigger_')) AND x.s IS NOT NULL
    UNION ALL
    SELECT 4, u.objid, x.n, pg_catalog.pg_describe_object(u.classid, u.objid, 0), x.s, NULL
      FROM u JOIN pg_catalog.pg_statistic_ext s ON s.oid = u.objid JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
      CROSS JOIN LATERAL pg_catalog.unnest(ARRAY[
      'DROP STATISTICS ' || pg_catalog.format('%I.%I', n.nspname, s.stxname),
      pg_catalog.pg_get_statisticsobjdef(s.oid),
      pg_catalog.format('ALTER STATISTICS %s OWNER TO %I', pg_catalog.format('%I.%I', n.nspname, s.stxname), pg_catalog.pg_get_userbyid(s.stxowner)),
      CASE WHEN s.stxstattarget >= 0 THEN 'ALTER STATISTICS ' || pg_catalog.format('%I.%I', n.nspname, s.stxname) || ' SET STATISTICS ' || s.stxstattarget END,
      'COMMENT ON STATISTICS ' || pg_catalog.format('%I.%I', n.nspname, s.stxname) || ' IS '
        || pg_catalog.quote_literal(pg_catalog.obj_description(s.oid, 'pg_statistic_ext'))]) WITH ORDINALITY x(s, n)
      WHERE u.classid = 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass AND x.s IS NOT NULL
    ) o;
  _pgroll_i := pg_catalog.array_position(_pgroll_statement, NULL);
  IF _pgroll_i IS NOT NULL THEN
    RAISE EXCEPTION 'complete cannot carry % over to the new column: %', _pgroll_what[_pgroll_i], 'it holds data computed from the old one' USING ERRCODE = 'dependent_objects_still_exist', HINT = 'drop it before complete and create it again after; until then, complete changes nothing';
  END IF;
  IF _pgroll_statement IS NULL THEN  -- nothing uses the old column
    RETURN;
  END IF;
  -- Which views cannot be replaced in place (their columns change type): tried, undone.
  FOR _pgroll_i IN 1 .. pg_catalog.array_length(_pgroll_statement, 1) LOOP
    CONTINUE WHEN _pgroll_view[_pgroll_i] IS NULL;
    BEGIN
      ALTER TABLE "public"."posts" RENAME COLUMN "title" TO "_pgroll_old_title";
      ALTER TABLE "public"."posts" RENAME COLUMN "_pgroll_new_title" TO "title";
      EXECUTE _pgroll_statement[_pgroll_i];
      RAISE EXCEPTION USING ERRCODE = 'PGRL1';
    EXCEPTION
      WHEN invalid_table_definition THEN
        _pgroll_remake := _pgroll_remake || _pgroll_view[_pgroll_i];
      WHEN SQLSTATE 'PGRL1' THEN
        NULL;
    END;
  END LOOP;
  -- These views are made again, with every view built on them (nearest first), and
  -- all that a DROP VIEW takes along; read now, as their definitions name things.
  WITH RECURSIVE built(oid, depth) AS (SELECT v, 0 FROM (SELECT pg_catalog.unnest(_pgroll_remake)) b(v)
      UNION ALL
      SELECT r.ev_class, b.depth + 1 FROM built b
        JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = b.oid
          AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
        JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND r.ev_class <> b.oid),
    members AS (SELECT oid, max(depth) AS depth FROM built GROUP BY oid)
  SELECT COALESCE(pg_catalog.array_agg(m.oid::pg_catalog.regclass::text ORDER BY m.depth DESC, m.oid), '{}'),
      COALESCE(pg_catalog.array_agg(c.oid::pg_catalog.regclass::text) FILTER (WHERE c.relkind <> 'v'), '{}'),
      (SELECT COALESCE(pg_catalog.array_agg(x ORDER BY m2.depth, m2.oid, x.n), '{}') FROM members m2
        JOIN pg_catalog.pg_class c ON c.oid = m2.oid CROSS JOIN LATERAL (SELECT c.oid::pg_catalog.regclass::text AS v) vn
        CROSS JOIN LATERAL pg_catalog.unnest(ARRAY[
      pg_catalog.format('CREATE VIEW %s%s AS %s', v, COALESCE(' WITH (' || pg_catalog.array_to_string(c.reloptions, ', ') || ')', ''),
        pg_catalog.pg_get_viewdef(c.oid)),
      pg_catalog.format('ALTER VIEW %s OWNER TO %I', v, pg_catalog.pg_get_userbyid(c.relowner)),
      'COMMENT ON VIEW ' || v || ' IS ' || pg_catalog.quote_literal(pg_catalog.obj_description(c.oid, 'pg_class'))]
      || ARRAY(SELECT pg_catalog.format('GRANT %s ON %s TO ', g.privilege_type, v) || CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
        FROM pg_catalog.aclexplode(c.relacl) g WHERE g.grantee <> c.relowner)
      || ARRAY(SELECT x FROM pg_catalog.pg_attribute a CROSS JOIN LATERAL pg_catalog.unnest(ARRAY[
          pg_catalog.format('COMMENT ON COLUMN %s.%I IS ', v, a.attname) || pg_catalog.quote_literal(pg_catalog.col_description(c.oid, a.attnum)),
          (SELECT pg_catalog.format('ALTER VIEW %s ALTER COLUMN %I SET DEFAULT %s', v, a.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid))
             FROM pg_catalog.pg_attrdef d WHERE d.adrelid = c.oid AND d.adnum = a.attnum)] || ARRAY(
          SELECT pg_catalog.format('GRANT %s (%I) ON %s TO ', g.privilege_type, a.attname, v) || CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
            FROM pg_catalog.aclexplode(a.attacl) g)) x
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
      || ARRAY(SELECT x FROM pg_catalog.pg_trigger t CROSS JOIN LATERAL pg_catalog.unnest(
ARRAY[
      pg_catalog.pg_get_triggerdef(t.oid),
      pg_catalog.format('ALTER TABLE %2$s ' || CASE t.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' WHEN 'A' THEN 'ENABLE ALWAYS' END || ' TRIGGER %1$I', t.tgname, t.tgrelid::pg_catalog.regclass),
      pg_catalog.format('COMMENT ON TRIGGER %I ON %s IS ', t.tgname, t.tgrelid::pg_catalog.regclass)
        || pg_catalog.quote_literal(pg_catalog.obj_description(t.oid, 'pg_trigger'))]
      || ARRAY(SELECT y FROM pg_catalog.pg_trigger k CROSS JOIN LATERAL pg_catalog.unnest(ARRAY[pg_catalog.format('ALTER TABLE %2$s ' || CASE k.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' WHEN 'A' THEN 'ENABLE ALWAYS' END || ' TRIGGER %1$I', k.tgname, k.tgrelid::pg_catalog.regclass),
        pg_catalog.format('COMMENT ON TRIGGER %I ON %s IS ', k.tgname, k.tgrelid::pg_catalog.regclass)
        || pg_catalog.quote_literal(pg_catalog.obj_description(k.oid, 'pg_trigger'))]) y
        WHERE k.tgparentid <> 0 AND k.tgname = t.tgname AND k.tgrelid IN (SELECT relid FROM pg_catalog.pg_partition_tree(t.tgrelid)))) x WHERE t.tgrelid = c.oid)
      || ARRAY(SELECT x FROM pg_catalog.pg_rewrite r CROSS JOIN LATERAL pg_catalog.unnest(
        ARRAY[pg_catalog.regexp_replace(pg_catalog.pg_get_ruledef(r.oid), '^CREATE RULE', 'CREATE OR REPLACE RULE'), pg_catalog.format('COMMENT ON RULE %I ON %s IS ', r.rulename, r.ev_class::pg_catalog.regclass)
        || pg_catalog.quote_literal(pg_catalog.obj_description(r.oid, 'pg_rewrite'))]) x
        WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN')
        ) WITH ORDINALITY x(x, n) WHERE x.x IS NOT NULL)
    INTO _pgroll_gone, _pgroll_what, _pgroll_again
    FROM members m JOIN pg_catalog.pg_class c ON c.oid = m.oid;
  IF pg_catalog.cardinality(_pgroll_what) > 0 THEN
    RAISE EXCEPTION 'complete cannot carry % over to the new column: %', pg_catalog.array_to_string(_pgroll_what, ', '), 'it holds data computed from the old one' USING ERRCODE = 'dependent_objects_still_exist', HINT = 'drop it before complete and create it again after; until then, complete changes nothing';
  END IF;
  -- A view made again gets its owner back (ALTER VIEW ... OWNER TO), which a role
  -- that is not a superuser may do only where that owner may create in the schema.
  SELECT pg_catalog.format('view %s belongs to role %I, which may not create in schema %I', c.oid::pg_catalog.regclass, pg_catalog.pg_get_userbyid(c.relowner), n.nspname)
    INTO _pgroll_why FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid::pg_catalog.regclass::text = ANY (_pgroll_gone)
      AND c.relowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
      AND NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
      AND NOT pg_catalog.has_schema_privilege(c.relowner, c.relnamespace, 'CREATE')
    ORDER BY c.oid LIMIT 1;
  IF _pgroll_why IS NOT NULL THEN
    RAISE EXCEPTION 'complete cannot make % again for the new column''s type: %', pg_catalog.split_part(_pgroll_why, ' belongs', 1), _pgroll_why
      USING ERRCODE = 'insufficient_privilege', HINT = 'grant CREATE on that schema to that role, run complete as a superuser, or drop the view before complete and create it again after';
  END IF;
  FOR _pgroll_i IN 1 .. COALESCE(pg_catalog.array_length(_pgroll_gone, 1), 0) LOOP
    EXECUTE 'DROP VIEW ' || _pgroll_gone[_pgroll_i];
  END LOOP;
  ALTER TABLE "public"."posts" RENAME COLUMN "title" TO "_pgroll_old_title";
  ALTER TABLE "public"."posts" RENAME COLUMN "_pgroll_new_title" TO "title";
  FOR _pgroll_i IN 1 .. COALESCE(pg_catalog.array_length(_pgroll_again, 1), 0) LOOP
    EXECUTE _pgroll_again[_pgroll_i];
  END LOOP;
  FOR _pgroll_i IN 1 .. pg_catalog.array_length(_pgroll_statement, 1) LOOP
    CONTINUE WHEN _pgroll_view[_pgroll_i] = ANY (_pgroll_remake);
    EXECUTE _pgroll_statement[_pgroll_i];
  END LOOP;
  ALTER TABLE "public"."posts" RENAME COLUMN "title" TO "_pgroll_new_title";
  ALTER TABLE "public"."posts" RENAME COLUMN "_pgroll_old_title" TO "title";
END
$pgroll$;

-- [4] 23_drop_check_constraint.yaml:3:7: the new column _pgroll_new_title takes the privileges title has now
--     lock: ACCESS EXCLUSIVE on posts; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  IF (SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."posts"') AND attname = 'title') IS DISTINCT FROM (SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."posts"') AND attname = '_pgroll_new_title') THEN
    FOR _pgroll_grant IN SELECT DISTINCT g.grantee FROM pg_catalog.aclexplode((SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."posts"') AND attname = '_pgroll_new_title')) g LOOP
      EXECUTE pg_catalog.format('REVOKE ALL (%I) ON %s FROM %s CASCADE', '_pgroll_new_title', '"public"."posts"',
        CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END);
    END LOOP;
    FOR _pgroll_grant IN SELECT * FROM pg_catalog.aclexplode((SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."posts"') AND attname = 'title')) LOOP
      EXECUTE pg_catalog.format('GRANT %s (%I) ON %s TO %s', _pgroll_grant.privilege_type, '_pgroll_new_title', '"public"."posts"',
        CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
  END IF;
END
$pgroll$;

-- [5] 23_drop_check_constraint.yaml:3:7: drop the sync triggers and the old column title together
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
DO $pgroll$
BEGIN
  DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_posts_title"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_posts_title"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_down999_posts_title"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_posts_title"() CASCADE;
  ALTER TABLE IF EXISTS "public"."posts" DROP COLUMN IF EXISTS "title";
END
$pgroll$;

-- [6] 23_drop_check_constraint.yaml:3:7: rename _pgroll_new_title to title
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite renaming-column: clients use version-schema views, which follow the rename
-- squawk-ignore renaming-column
ALTER TABLE IF EXISTS "public"."posts" RENAME COLUMN "_pgroll_new_title" TO "title";

-- [7] 23_drop_check_constraint.yaml:3:7: set title NOT NULL (the valid check spares the scan)
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite adding-not-nullable-field: a valid CHECK (column IS NOT NULL), validated at start while writes went on, spares the scan
-- squawk-ignore adding-not-nullable-field
ALTER TABLE IF EXISTS "public"."posts" ALTER COLUMN "title" SET NOT NULL;

-- [8] 23_drop_check_constraint.yaml:3:7: drop the check _pgroll_check_not_null_title
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-constraint: a helper constraint of this migration, or the one it drops, once no old client relies on it
-- squawk-ignore ban-drop-constraint
ALTER TABLE IF EXISTS "public"."posts" DROP CONSTRAINT IF EXISTS "_pgroll_check_not_null_title";

-- [9] 23_drop_check_constraint.yaml:1:1: drop the backfill watch on posts
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_watch_posts"() CASCADE;

-- [10] 23_drop_check_constraint.yaml:1:1: drop the backfill watch's counts on posts
--     lock: none; catalog only
--     safe despite ban-drop-sequence: the backfill watch's counts: only this migration's trigger and backfill use them
-- squawk-ignore ban-drop-sequence
DROP SEQUENCE IF EXISTS "public"."_pgroll_writes_posts", "public"."_pgroll_passed_posts";

-- [11] 23_drop_check_constraint.yaml:1:1: drop the backfill marker of posts
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."posts" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- [12] 23_drop_check_constraint.yaml:1:1: the rights granted on public and its tables since start reach public_23_drop_check_constraint and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_23_drop_check_constraint' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_23_drop_check_constraint') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_23_drop_check_constraint"."bills"', 'bills', 'bills'),
      ('"public_23_drop_check_constraint"."clients"', 'clients', 'clients'),
      ('"public_23_drop_check_constraint"."employees"', 'employees', 'employees'),
      ('"public_23_drop_check_constraint"."fruits"', 'fruits', 'fruits'),
      ('"public_23_drop_check_constraint"."orders"', 'orders', 'orders'),
      ('"public_23_drop_check_constraint"."posts"', 'posts', 'posts'),
      ('"public_23_drop_check_constraint"."reviews"', 'reviews', 'reviews'),
      ('"public_23_drop_check_constraint"."sellers"', 'sellers', 'sellers'),
      ('"public_23_drop_check_constraint"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_23_drop_check_constraint')),
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

-- ==== rollback (10 steps) ====

-- steps 1-10 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 23_drop_check_constraint.yaml:1:1: drop version schema public_23_drop_check_constraint
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_23_drop_check_constraint"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_23_drop_check_constraint"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_23_drop_check_constraint"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_23_drop_check_constraint" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_23_drop_check_constraint" CASCADE;
END
$pgroll$;

-- [2] 23_drop_check_constraint.yaml:1:1: lock posts for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on posts; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."posts"') IS NOT NULL THEN
    LOCK TABLE "public"."posts" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 23_drop_check_constraint.yaml:3:7: drop trigger _pgroll_trigger_000-set_posts_title
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_posts_title"() CASCADE;

-- [4] 23_drop_check_constraint.yaml:3:7: drop trigger _pgroll_trigger_000_posts_title
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_posts_title"() CASCADE;

-- [5] 23_drop_check_constraint.yaml:3:7: drop trigger _pgroll_trigger_down999_posts_title
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_down999_posts_title"() CASCADE;

-- [6] 23_drop_check_constraint.yaml:3:7: drop trigger ~pgroll_trigger_000_posts_title
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_posts_title"() CASCADE;

-- [7] 23_drop_check_constraint.yaml:3:7: drop the copies _pgroll_new_title
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."posts" DROP COLUMN IF EXISTS "_pgroll_new_title";

-- [8] 23_drop_check_constraint.yaml:1:1: drop the backfill watch on posts
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_watch_posts"() CASCADE;

-- [9] 23_drop_check_constraint.yaml:1:1: drop the backfill watch's counts on posts
--     lock: none; catalog only
--     safe despite ban-drop-sequence: the backfill watch's counts: only this migration's trigger and backfill use them
-- squawk-ignore ban-drop-sequence
DROP SEQUENCE IF EXISTS "public"."_pgroll_writes_posts", "public"."_pgroll_passed_posts";

-- [10] 23_drop_check_constraint.yaml:1:1: drop the backfill marker of posts
--     lock: ACCESS EXCLUSIVE on posts; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."posts" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- (the live executor records steps 1-10 as done in its state schema here, in the same transaction)
COMMIT;
