-- pgroll-dsl 0.1.0 plan for migration 44_add_table_unique_constraint
-- target schema: public; new version schema: public_44_add_table_unique_constraint
-- previous version schema: public_43_create_tickets_table
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

-- ==== start (72 steps) ====

-- [1] 44_add_table_unique_constraint.yaml:3:7: add column _pgroll_new_sellers_name (copy of sellers_name, with its collation, privileges and settings)
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
DO $pgroll$
DECLARE
  _pgroll_old record;
  _pgroll_copy record;
  _pgroll_grant record;
  _pgroll_fires record;
  _pgroll_late text;
BEGIN
  ALTER TABLE "public"."tickets" ADD COLUMN IF NOT EXISTS "_pgroll_new_sellers_name" character varying(255);
  -- What the column has besides its type: collation, privileges, statistics target,
  -- options; storage and compression where the type stays.
  SELECT * INTO _pgroll_old FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."tickets"') AND attname = 'sellers_name';
  SELECT * INTO _pgroll_copy FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."tickets"') AND attname = '_pgroll_new_sellers_name';
  IF _pgroll_old.attcollation <> 0 AND _pgroll_copy.attcollation <> 0
      AND _pgroll_old.attcollation <> _pgroll_copy.attcollation THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE %s COLLATE %I.%I', '"public"."tickets"', '_pgroll_new_sellers_name',
      pg_catalog.format_type(_pgroll_copy.atttypid, _pgroll_copy.atttypmod),
      (SELECT n.nspname FROM pg_catalog.pg_collation o JOIN pg_catalog.pg_namespace n ON n.oid = o.collnamespace WHERE o.oid = _pgroll_old.attcollation),
      (SELECT o.collname FROM pg_catalog.pg_collation o WHERE o.oid = _pgroll_old.attcollation));
  END IF;
  FOR _pgroll_grant IN SELECT * FROM pg_catalog.aclexplode(_pgroll_old.attacl) LOOP
    EXECUTE pg_catalog.format('GRANT %s (%I) ON %s TO %s', _pgroll_grant.privilege_type, '_pgroll_new_sellers_name', '"public"."tickets"',
      CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
  IF _pgroll_old.attstattarget >= 0 THEN  -- (-1 before PostgreSQL 17, NULL since)
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s', '"public"."tickets"', '_pgroll_new_sellers_name', _pgroll_old.attstattarget);
  END IF;
  IF _pgroll_old.attoptions IS NOT NULL THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET (%s)', '"public"."tickets"', '_pgroll_new_sellers_name',
      pg_catalog.array_to_string(_pgroll_old.attoptions, ', '));
  END IF;
  IF _pgroll_old.atttypid = _pgroll_copy.atttypid THEN
    IF _pgroll_old.attstorage <> _pgroll_copy.attstorage THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STORAGE %s', '"public"."tickets"', '_pgroll_new_sellers_name',
        CASE _pgroll_old.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END);
    END IF;
    IF _pgroll_old.attcompression <> '' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET COMPRESSION %s', '"public"."tickets"', '_pgroll_new_sellers_name',
        CASE _pgroll_old.attcompression WHEN 'l' THEN 'lz4' ELSE 'pglz' END);
    END IF;
  END IF;
  FOR _pgroll_fires IN SELECT pg_catalog.string_agg(pg_catalog.quote_ident(g.tgname), ', ' ORDER BY g.tgname) AS names,
      '"' || pg_catalog.replace(n.nspname, '"', '""') || '"."' || pg_catalog.replace(c.relname, '"', '""') || '"' AS relation
    FROM (SELECT '"public"."tickets"'::pg_catalog.regclass AS relid, 0 AS level UNION ALL
      SELECT relid, level FROM pg_catalog.pg_partition_tree('"public"."tickets"') WHERE level > 0) p
    JOIN pg_catalog.pg_trigger g ON g.tgrelid = p.relid AND NOT g.tgisinternal AND g.tgparentid = 0
    JOIN pg_catalog.pg_attribute a ON a.attrelid = p.relid AND a.attname = 'sellers_name' AND a.attnum = ANY (g.tgattr)
    JOIN pg_catalog.pg_class c ON c.oid = p.relid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT (pg_catalog.starts_with(g.tgname, '_pgroll_trigger_') OR pg_catalog.starts_with(g.tgname, '~pgroll_trigger_'))
    GROUP BY p.level, n.nspname, c.relname ORDER BY p.level, n.nspname, c.relname LOOP
    RAISE WARNING 'trigger % of table % fires on UPDATE OF %: until complete a write through the new version sets the new column and does not fire it (complete carries it over)',
      _pgroll_fires.names, _pgroll_fires.relation, pg_catalog.quote_ident('sellers_name');
  END LOOP;
  SELECT pg_catalog.string_agg(pg_catalog.quote_ident(tgname), ', ' ORDER BY tgname)
    INTO _pgroll_late FROM pg_catalog.pg_trigger WHERE tgrelid = pg_catalog.to_regclass('"public"."tickets"')
      AND NOT tgisinternal AND tgtype & 3 = 3 AND tgtype & 20 <> 0 -- row, before, insert or update
      AND tgname > '~pgroll_trigger_'::pg_catalog.name AND NOT (pg_catalog.starts_with(tgname, '_pgroll_trigger_') OR pg_catalog.starts_with(tgname, '~pgroll_trigger_'));
  IF _pgroll_late IS NOT NULL THEN
    RAISE WARNING 'trigger % of table % fires after the trigger that fills the new column of % (a table''s BEFORE triggers fire in the order of their names): what it changes in a row does not reach the new column; rename it to sort before ~pgroll_trigger_, or drop it until complete',
      _pgroll_late, '"public"."tickets"', pg_catalog.quote_ident('sellers_name');
  END IF;
END
$pgroll$;

-- [2] 44_add_table_unique_constraint.yaml:3:7: add column _pgroll_new_sellers_zip (copy of sellers_zip, with its collation, privileges and settings)
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
DO $pgroll$
DECLARE
  _pgroll_old record;
  _pgroll_copy record;
  _pgroll_grant record;
  _pgroll_fires record;
  _pgroll_late text;
BEGIN
  ALTER TABLE "public"."tickets" ADD COLUMN IF NOT EXISTS "_pgroll_new_sellers_zip" integer;
  -- What the column has besides its type: collation, privileges, statistics target,
  -- options; storage and compression where the type stays.
  SELECT * INTO _pgroll_old FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."tickets"') AND attname = 'sellers_zip';
  SELECT * INTO _pgroll_copy FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."tickets"') AND attname = '_pgroll_new_sellers_zip';
  IF _pgroll_old.attcollation <> 0 AND _pgroll_copy.attcollation <> 0
      AND _pgroll_old.attcollation <> _pgroll_copy.attcollation THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE %s COLLATE %I.%I', '"public"."tickets"', '_pgroll_new_sellers_zip',
      pg_catalog.format_type(_pgroll_copy.atttypid, _pgroll_copy.atttypmod),
      (SELECT n.nspname FROM pg_catalog.pg_collation o JOIN pg_catalog.pg_namespace n ON n.oid = o.collnamespace WHERE o.oid = _pgroll_old.attcollation),
      (SELECT o.collname FROM pg_catalog.pg_collation o WHERE o.oid = _pgroll_old.attcollation));
  END IF;
  FOR _pgroll_grant IN SELECT * FROM pg_catalog.aclexplode(_pgroll_old.attacl) LOOP
    EXECUTE pg_catalog.format('GRANT %s (%I) ON %s TO %s', _pgroll_grant.privilege_type, '_pgroll_new_sellers_zip', '"public"."tickets"',
      CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
  IF _pgroll_old.attstattarget >= 0 THEN  -- (-1 before PostgreSQL 17, NULL since)
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s', '"public"."tickets"', '_pgroll_new_sellers_zip', _pgroll_old.attstattarget);
  END IF;
  IF _pgroll_old.attoptions IS NOT NULL THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET (%s)', '"public"."tickets"', '_pgroll_new_sellers_zip',
      pg_catalog.array_to_string(_pgroll_old.attoptions, ', '));
  END IF;
  IF _pgroll_old.atttypid = _pgroll_copy.atttypid THEN
    IF _pgroll_old.attstorage <> _pgroll_copy.attstorage THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STORAGE %s', '"public"."tickets"', '_pgroll_new_sellers_zip',
        CASE _pgroll_old.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END);
    END IF;
    IF _pgroll_old.attcompression <> '' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET COMPRESSION %s', '"public"."tickets"', '_pgroll_new_sellers_zip',
        CASE _pgroll_old.attcompression WHEN 'l' THEN 'lz4' ELSE 'pglz' END);
    END IF;
  END IF;
  FOR _pgroll_fires IN SELECT pg_catalog.string_agg(pg_catalog.quote_ident(g.tgname), ', ' ORDER BY g.tgname) AS names,
      '"' || pg_catalog.replace(n.nspname, '"', '""') || '"."' || pg_catalog.replace(c.relname, '"', '""') || '"' AS relation
    FROM (SELECT '"public"."tickets"'::pg_catalog.regclass AS relid, 0 AS level UNION ALL
      SELECT relid, level FROM pg_catalog.pg_partition_tree('"public"."tickets"') WHERE level > 0) p
    JOIN pg_catalog.pg_trigger g ON g.tgrelid = p.relid AND NOT g.tgisinternal AND g.tgparentid = 0
    JOIN pg_catalog.pg_attribute a ON a.attrelid = p.relid AND a.attname = 'sellers_zip' AND a.attnum = ANY (g.tgattr)
    JOIN pg_catalog.pg_class c ON c.oid = p.relid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT (pg_catalog.starts_with(g.tgname, '_pgroll_trigger_') OR pg_catalog.starts_with(g.tgname, '~pgroll_trigger_'))
    GROUP BY p.level, n.nspname, c.relname ORDER BY p.level, n.nspname, c.relname LOOP
    RAISE WARNING 'trigger % of table % fires on UPDATE OF %: until complete a write through the new version sets the new column and does not fire it (complete carries it over)',
      _pgroll_fires.names, _pgroll_fires.relation, pg_catalog.quote_ident('sellers_zip');
  END LOOP;
  SELECT pg_catalog.string_agg(pg_catalog.quote_ident(tgname), ', ' ORDER BY tgname)
    INTO _pgroll_late FROM pg_catalog.pg_trigger WHERE tgrelid = pg_catalog.to_regclass('"public"."tickets"')
      AND NOT tgisinternal AND tgtype & 3 = 3 AND tgtype & 20 <> 0 -- row, before, insert or update
      AND tgname > '~pgroll_trigger_'::pg_catalog.name AND NOT (pg_catalog.starts_with(tgname, '_pgroll_trigger_') OR pg_catalog.starts_with(tgname, '~pgroll_trigger_'));
  IF _pgroll_late IS NOT NULL THEN
    RAISE WARNING 'trigger % of table % fires after the trigger that fills the new column of % (a table''s BEFORE triggers fire in the order of their names): what it changes in a row does not reach the new column; rename it to sort before ~pgroll_trigger_, or drop it until complete',
      _pgroll_late, '"public"."tickets"', pg_catalog.quote_ident('sellers_zip');
  END IF;
END
$pgroll$;

-- [3] 44_add_table_unique_constraint.yaml:3:7: backfill marker on tickets (constant default: no rewrite), and _pgroll_backfilled_by (no default)
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite adding-field-with-default: a constant default: PostgreSQL adds it without rewriting the table
-- squawk-ignore adding-field-with-default
ALTER TABLE "public"."tickets" ADD COLUMN IF NOT EXISTS "_pgroll_needs_backfill" boolean NOT NULL DEFAULT true, ADD COLUMN IF NOT EXISTS "_pgroll_backfilled_by" pg_catalog.xid;

-- steps 4-9 run in one transaction: clients see all of them or none
BEGIN;

-- [4] 44_add_table_unique_constraint.yaml:1:1: backfill watch on tickets: counts the statements that write it
--     lock: none on tickets; catalog only
CREATE SEQUENCE IF NOT EXISTS "public"."_pgroll_writes_tickets";

-- [5] 44_add_table_unique_constraint.yaml:1:1: backfill watch on tickets: counts the runs that reach the end of tickets
--     lock: none on tickets; catalog only
CREATE SEQUENCE IF NOT EXISTS "public"."_pgroll_passed_tickets";

-- [6] 44_add_table_unique_constraint.yaml:1:1: backfill watch on tickets: function
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_watch_tickets"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $pgroll$
BEGIN
  IF COALESCE(pg_catalog.current_setting('pgroll_dsl.backfilling', true), '') = '' OR pg_catalog.pg_trigger_depth() > 1 THEN
    PERFORM pg_catalog.nextval('"public"."_pgroll_writes_tickets"'::pg_catalog.regclass);
  END IF;
  RETURN NULL;
END
$pgroll$;

-- [7] 44_add_table_unique_constraint.yaml:1:1: backfill watch on tickets: trigger on tickets
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_watch_tickets" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "public"."tickets" FOR EACH STATEMENT EXECUTE FUNCTION "public"."_pgroll_watch_tickets"();

-- [8] 44_add_table_unique_constraint.yaml:1:1: backfill watch on tickets: the trigger fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" ENABLE ALWAYS TRIGGER "_pgroll_watch_tickets";

-- [9] 44_add_table_unique_constraint.yaml:1:1: backfill watch on tickets: the transactions still running now (what they change in the catalog counts as changed after the watch began)
--     lock: none on tickets; catalog only
DO $pgroll$
BEGIN
  EXECUTE pg_catalog.format('COMMENT ON SEQUENCE %s IS %L', '"public"."_pgroll_writes_tickets"', (SELECT (ARRAY[(pg_catalog.pg_snapshot_xmax(s)::text::bigint % 4294967296)::text::pg_catalog.xid] || ARRAY(SELECT (x::text::bigint % 4294967296)::text::pg_catalog.xid FROM pg_catalog.pg_snapshot_xip(s) x) || ARRAY(SELECT l.transactionid FROM pg_catalog.pg_locks l WHERE l.locktype = 'transactionid'))::text FROM pg_catalog.pg_current_snapshot() s));
END
$pgroll$;

-- (the live executor records steps 4-9 as done in its state schema here, in the same transaction)
COMMIT;

-- [10] 44_add_table_unique_constraint.yaml:3:7: backfill tickets, first pass, before its sync triggers exist: in batches keyed on ticket_id, writing the copies itself
--     lock: ROW EXCLUSIVE on tickets; backfills rows in batches
--     runs outside a transaction block
DO $pgroll_backfill$
#variable_conflict use_variable
DECLARE
  _pgroll_lower_0 "public"."tickets"."ticket_id"%TYPE;
  _pgroll_upper_0 "public"."tickets"."ticket_id"%TYPE;
  _pgroll_to_0 "public"."tickets"."ticket_id"%TYPE;
  _pgroll_end_0 "public"."tickets"."ticket_id"%TYPE;
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
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."tickets"', true);
    UPDATE "public"."tickets" AS _pgroll_row SET "_pgroll_new_sellers_name" = (_pgroll_row."sellers_name"), "_pgroll_new_sellers_zip" = (_pgroll_row."sellers_zip"), "_pgroll_needs_backfill" = false WHERE false;
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
    (EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = '"public"."tickets"'::pg_catalog.regclass)
      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE srrelid = '"public"."tickets"'::pg_catalog.regclass)),
    CASE WHEN c.reltuples > 0 THEN least(1000000, greatest(1, pg_catalog.ceil(c.reltuples * 1024000 / greatest(pg_catalog.pg_total_relation_size(c.oid), 1))))::bigint ELSE 1000 END,
    c.reltuples,
    (SELECT min(_pgroll_row."ticket_id") FROM "public"."tickets" AS _pgroll_row),
    (SELECT max(_pgroll_row."ticket_id") FROM "public"."tickets" AS _pgroll_row)
    INTO _pgroll_fires, _pgroll_synced, _pgroll_unwatched, _pgroll_size, _pgroll_tuples, _pgroll_first, _pgroll_last
    FROM pg_catalog.pg_class c WHERE c.oid = '"public"."tickets"'::pg_catalog.regclass;
  IF _pgroll_fires
      ~ (CASE WHEN _pgroll_replica THEN '[ar]' ELSE '[oa]' END) THEN
    _pgroll_fast := false;
  END IF;
  IF NOT _pgroll_fast OR _pgroll_synced OR _pgroll_fires
      ~* (CASE WHEN _pgroll_replica THEN '[AR]' ELSE '[OA]' END) THEN
    PERFORM pg_catalog.nextval('"public"."_pgroll_writes_tickets"'::pg_catalog.regclass);  -- the second pass reads
    RETURN;
  END IF;
  _pgroll_least := least(_pgroll_size, 1000);
  _pgroll_dense := _pgroll_last - _pgroll_first + 1 <= 2 * greatest(1, _pgroll_tuples);
  IF pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN
    _pgroll_bounded := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_to_0', true), '') END) IS NOT NULL;
    _pgroll_to_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_to_0', true), '') END);
  END IF;
  SELECT _pgroll_row."ticket_id" INTO _pgroll_end_0 FROM "public"."tickets" AS _pgroll_row ORDER BY _pgroll_row."ticket_id" DESC LIMIT 1;
  IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NOT NULL THEN
    _pgroll_lower_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END);
    SELECT _pgroll_row."ticket_id" INTO _pgroll_lower_0 FROM "public"."tickets" AS _pgroll_row WHERE (_pgroll_row."ticket_id") >= (_pgroll_lower_0) ORDER BY _pgroll_row."ticket_id" LIMIT 1;
  ELSE  -- the whole table, or the first worker's share
    SELECT _pgroll_row."ticket_id" INTO _pgroll_lower_0 FROM "public"."tickets" AS _pgroll_row ORDER BY _pgroll_row."ticket_id" LIMIT 1;
  END IF;
  WHILE FOUND AND (_pgroll_lower_0) <= (_pgroll_end_0) AND (NOT _pgroll_bounded OR (_pgroll_lower_0) < (_pgroll_to_0)) LOOP
    EXIT WHEN _pgroll_dense AND _pgroll_lower_0 > _pgroll_last;
    _pgroll_started := pg_catalog.clock_timestamp();
    IF _pgroll_dense THEN  -- a tail of less than a quarter batch joins this one
      _pgroll_upper_0 := CASE WHEN _pgroll_last - (_pgroll_lower_0::numeric + (_pgroll_size - 1)) < _pgroll_size / 4
        THEN _pgroll_last ELSE _pgroll_lower_0::numeric + (_pgroll_size - 1) END;
    ELSE
      SELECT _pgroll_row."ticket_id" INTO _pgroll_upper_0 FROM "public"."tickets" AS _pgroll_row WHERE (_pgroll_row."ticket_id") >= (_pgroll_lower_0)
        ORDER BY _pgroll_row."ticket_id" OFFSET _pgroll_size - 1 LIMIT 1;
      IF NOT FOUND THEN  -- the last batch: up to the last key
        SELECT _pgroll_row."ticket_id" INTO _pgroll_upper_0 FROM "public"."tickets" AS _pgroll_row ORDER BY _pgroll_row."ticket_id" DESC LIMIT 1;
      END IF;
    END IF;
    IF (_pgroll_upper_0) > (_pgroll_end_0) THEN  -- rows inserted since the start are filled
      _pgroll_upper_0 := _pgroll_end_0;
    END IF;
    IF _pgroll_bounded AND (_pgroll_upper_0) >= (_pgroll_to_0) THEN  -- this worker's share ends before
      SELECT _pgroll_row."ticket_id" INTO _pgroll_upper_0 FROM "public"."tickets" AS _pgroll_row WHERE (_pgroll_row."ticket_id") < (_pgroll_to_0)
        ORDER BY _pgroll_row."ticket_id" DESC LIMIT 1;
    END IF;
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."tickets"', true), CASE WHEN _pgroll_replica THEN pg_catalog.set_config('session_replication_role', 'replica', true) END;
    UPDATE "public"."tickets" AS _pgroll_row SET "_pgroll_new_sellers_name" = (_pgroll_row."sellers_name"), "_pgroll_new_sellers_zip" = (_pgroll_row."sellers_zip"), "_pgroll_needs_backfill" = false, "_pgroll_backfilled_by" = pg_catalog.pg_current_xact_id()::pg_catalog.xid
      WHERE (_pgroll_row."ticket_id") >= (_pgroll_lower_0) AND (_pgroll_row."ticket_id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin;
    GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
    _pgroll_done := _pgroll_done + _pgroll_rows;
    RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'tickets', _pgroll_done USING DETAIL = _pgroll_done::text;
    COMMIT;
    _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
      - _pgroll_started);
    _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
      (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
    SELECT _pgroll_row."ticket_id" INTO _pgroll_lower_0 FROM "public"."tickets" AS _pgroll_row WHERE (_pgroll_row."ticket_id") > (_pgroll_upper_0)
      ORDER BY _pgroll_row."ticket_id" LIMIT 1;
  END LOOP;
  IF NOT _pgroll_unwatched AND NOT (EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = '"public"."tickets"'::pg_catalog.regclass)
      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE srrelid = '"public"."tickets"'::pg_catalog.regclass)) THEN
    PERFORM pg_catalog.nextval('"public"."_pgroll_passed_tickets"'::pg_catalog.regclass);
  ELSE
    PERFORM pg_catalog.nextval('"public"."_pgroll_writes_tickets"'::pg_catalog.regclass);  -- the second pass reads
  END IF;
END
$pgroll_backfill$;

-- [11] 44_add_table_unique_constraint.yaml:3:7: trigger function _pgroll_trigger_000_tickets_sellers_name (new-version updates of rows not backfilled yet: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000_tickets_sellers_name"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
#variable_conflict use_column
BEGIN
  IF pg_catalog.current_setting('pgroll_dsl.written', true) = '_pgroll_trigger_000_tickets_sellers_name' THEN
    PERFORM pg_catalog.set_config('pgroll_dsl.written', '', true);  -- written: kept
  ELSIF ROW(NEW."_pgroll_new_sellers_name")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_sellers_name")::record
      AND ROW(NEW."sellers_name")::record OPERATOR(pg_catalog.*=) ROW(OLD."sellers_name")::record THEN
    NEW."_pgroll_new_sellers_name" := (OLD."sellers_name");
  END IF;
  RETURN NEW;
END
$pgroll$;

-- [12] 44_add_table_unique_constraint.yaml:3:7: trigger function _pgroll_trigger_down999_tickets_sellers_name (new-version writes: down)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_down999_tickets_sellers_name"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
#variable_conflict use_column
BEGIN
  IF TG_OP = 'UPDATE' THEN  -- OLD is no record on INSERT
    IF NOT ROW(NEW."sellers_name")::record OPERATOR(pg_catalog.*=) ROW(OLD."sellers_name")::record
        AND ROW(NEW."_pgroll_new_sellers_name")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_sellers_name")::record THEN
      NEW."_pgroll_new_sellers_name" := (NEW."sellers_name");
      RETURN NEW;
    END IF;
  END IF;
  NEW."sellers_name" := (NEW."_pgroll_new_sellers_name");
  RETURN NEW;
END
$pgroll$;

-- [13] 44_add_table_unique_constraint.yaml:3:7: trigger function ~pgroll_trigger_000_tickets_sellers_name (old-version and base-table writes: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."~pgroll_trigger_000_tickets_sellers_name"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
#variable_conflict use_column
BEGIN
  NEW."_pgroll_new_sellers_name" := (NEW."sellers_name");
  RETURN NEW;
END
$pgroll$;

-- [14] 44_add_table_unique_constraint.yaml:3:7: trigger function _pgroll_trigger_000-set_tickets_sellers_name
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_000-set_tickets_sellers_name"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
BEGIN
  PERFORM pg_catalog.set_config('pgroll_dsl.written', '_pgroll_trigger_000_tickets_sellers_name', true);
  RETURN NEW;
END
$pgroll$;

-- steps 15-16 run in one transaction: clients see all of them or none
BEGIN;

-- [15] 44_add_table_unique_constraint.yaml:3:7: trigger _pgroll_trigger_000-set_tickets_sellers_name on tickets (a new-version UPDATE that sets sellers_name)
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000-set_tickets_sellers_name" BEFORE UPDATE OF "_pgroll_new_sellers_name" ON "public"."tickets" FOR EACH ROW
  WHEN (OLD."_pgroll_needs_backfill" AND (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_44_add_table_unique_constraint' THEN true WHEN 'public' THEN false WHEN 'public_43_create_tickets_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_44_add_table_unique_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_43_create_tickets_table'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."tickets"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000-set_tickets_sellers_name"();

-- [16] 44_add_table_unique_constraint.yaml:3:7: trigger _pgroll_trigger_000-set_tickets_sellers_name fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000-set_tickets_sellers_name";

-- (the live executor records steps 15-16 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 17-18 run in one transaction: clients see all of them or none
BEGIN;

-- [17] 44_add_table_unique_constraint.yaml:3:7: trigger _pgroll_trigger_000_tickets_sellers_name on tickets (new-version updates of rows not backfilled yet: up)
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_000_tickets_sellers_name" BEFORE UPDATE ON "public"."tickets" FOR EACH ROW
  WHEN (CASE WHEN OLD."_pgroll_needs_backfill" THEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_44_add_table_unique_constraint' THEN true WHEN 'public' THEN false WHEN 'public_43_create_tickets_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_44_add_table_unique_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_43_create_tickets_table'::name), 2147483647)), false) END) ELSE false END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."tickets"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_000_tickets_sellers_name"();

-- [18] 44_add_table_unique_constraint.yaml:3:7: trigger _pgroll_trigger_000_tickets_sellers_name fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" ENABLE ALWAYS TRIGGER "_pgroll_trigger_000_tickets_sellers_name";

-- (the live executor records steps 17-18 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 19-20 run in one transaction: clients see all of them or none
BEGIN;

-- [19] 44_add_table_unique_constraint.yaml:3:7: trigger _pgroll_trigger_down999_tickets_sellers_name on tickets (new-version writes: down)
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_down999_tickets_sellers_name" BEFORE INSERT OR UPDATE ON "public"."tickets" FOR EACH ROW
  WHEN (CASE WHEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_44_add_table_unique_constraint' THEN true WHEN 'public' THEN false WHEN 'public_43_create_tickets_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_44_add_table_unique_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_43_create_tickets_table'::name), 2147483647)), false) END)
    THEN CASE WHEN NEW."sellers_name"::text COLLATE "C" IS DISTINCT FROM (NEW."_pgroll_new_sellers_name")::text COLLATE "C" THEN true
      ELSE NEW."_pgroll_new_sellers_name"::text COLLATE "C" IS DISTINCT FROM (NEW."sellers_name")::text COLLATE "C" END
    ELSE false END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."tickets"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_down999_tickets_sellers_name"();

-- [20] 44_add_table_unique_constraint.yaml:3:7: trigger _pgroll_trigger_down999_tickets_sellers_name fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" ENABLE ALWAYS TRIGGER "_pgroll_trigger_down999_tickets_sellers_name";

-- (the live executor records steps 19-20 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 21-22 run in one transaction: clients see all of them or none
BEGIN;

-- [21] 44_add_table_unique_constraint.yaml:3:7: trigger ~pgroll_trigger_000_tickets_sellers_name on tickets (old-version and base-table writes: up)
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
CREATE OR REPLACE TRIGGER "~pgroll_trigger_000_tickets_sellers_name" BEFORE INSERT OR UPDATE ON "public"."tickets" FOR EACH ROW
  WHEN (CASE WHEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_44_add_table_unique_constraint' THEN true WHEN 'public' THEN false WHEN 'public_43_create_tickets_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_44_add_table_unique_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_43_create_tickets_table'::name), 2147483647)), false) END)
    THEN false
    ELSE NEW."_pgroll_needs_backfill"
    OR NEW."_pgroll_new_sellers_name"::text COLLATE "C" IS DISTINCT FROM (NEW."sellers_name")::text COLLATE "C" END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."tickets"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."~pgroll_trigger_000_tickets_sellers_name"();

-- [22] 44_add_table_unique_constraint.yaml:3:7: trigger ~pgroll_trigger_000_tickets_sellers_name fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" ENABLE ALWAYS TRIGGER "~pgroll_trigger_000_tickets_sellers_name";

-- (the live executor records steps 21-22 as done in its state schema here, in the same transaction)
COMMIT;

-- [23] 44_add_table_unique_constraint.yaml:3:7: trigger function _pgroll_trigger_001_tickets_sellers_zip (new-version updates of rows not backfilled yet: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_001_tickets_sellers_zip"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
#variable_conflict use_column
BEGIN
  IF TG_OP = 'UPDATE' AND OLD."_pgroll_needs_backfill" THEN
    IF pg_catalog.current_setting('pgroll_dsl.written', true) = '_pgroll_trigger_001_tickets_sellers_zip' THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.written', '', true);  -- written: kept
    ELSIF ROW(NEW."_pgroll_new_sellers_zip")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_sellers_zip")::record
        AND ROW(NEW."sellers_zip")::record OPERATOR(pg_catalog.*=) ROW(OLD."sellers_zip")::record THEN
      NEW."_pgroll_new_sellers_zip" := (OLD."sellers_zip");
    END IF;
  END IF;
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [24] 44_add_table_unique_constraint.yaml:3:7: trigger function _pgroll_trigger_down998_tickets_sellers_zip (new-version writes: down)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_down998_tickets_sellers_zip"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
#variable_conflict use_column
BEGIN
  IF TG_OP = 'UPDATE' THEN  -- OLD is no record on INSERT
    IF NOT ROW(NEW."sellers_zip")::record OPERATOR(pg_catalog.*=) ROW(OLD."sellers_zip")::record
        AND ROW(NEW."_pgroll_new_sellers_zip")::record OPERATOR(pg_catalog.*=) ROW(OLD."_pgroll_new_sellers_zip")::record THEN
      NEW."_pgroll_new_sellers_zip" := (NEW."sellers_zip");
      RETURN NEW;
    END IF;
  END IF;
  NEW."sellers_zip" := (NEW."_pgroll_new_sellers_zip");
  RETURN NEW;
END
$pgroll$;

-- [25] 44_add_table_unique_constraint.yaml:3:7: trigger function ~pgroll_trigger_001_tickets_sellers_zip (old-version and base-table writes: up)
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."~pgroll_trigger_001_tickets_sellers_zip"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
#variable_conflict use_column
BEGIN
  NEW."_pgroll_new_sellers_zip" := (NEW."sellers_zip");
  NEW."_pgroll_needs_backfill" := false;
  RETURN NEW;
END
$pgroll$;

-- [26] 44_add_table_unique_constraint.yaml:3:7: trigger function _pgroll_trigger_001-set_tickets_sellers_zip
--     lock: none; catalog only
CREATE OR REPLACE FUNCTION "public"."_pgroll_trigger_001-set_tickets_sellers_zip"() RETURNS trigger
LANGUAGE plpgsql AS $pgroll$
BEGIN
  PERFORM pg_catalog.set_config('pgroll_dsl.written', '_pgroll_trigger_001_tickets_sellers_zip', true);
  RETURN NEW;
END
$pgroll$;

-- steps 27-28 run in one transaction: clients see all of them or none
BEGIN;

-- [27] 44_add_table_unique_constraint.yaml:3:7: trigger _pgroll_trigger_001-set_tickets_sellers_zip on tickets (a new-version UPDATE that sets sellers_zip)
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_001-set_tickets_sellers_zip" BEFORE UPDATE OF "_pgroll_new_sellers_zip" ON "public"."tickets" FOR EACH ROW
  WHEN (OLD."_pgroll_needs_backfill" AND (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_44_add_table_unique_constraint' THEN true WHEN 'public' THEN false WHEN 'public_43_create_tickets_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_44_add_table_unique_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_43_create_tickets_table'::name), 2147483647)), false) END)
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."tickets"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_001-set_tickets_sellers_zip"();

-- [28] 44_add_table_unique_constraint.yaml:3:7: trigger _pgroll_trigger_001-set_tickets_sellers_zip fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" ENABLE ALWAYS TRIGGER "_pgroll_trigger_001-set_tickets_sellers_zip";

-- (the live executor records steps 27-28 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 29-30 run in one transaction: clients see all of them or none
BEGIN;

-- [29] 44_add_table_unique_constraint.yaml:3:7: trigger _pgroll_trigger_001_tickets_sellers_zip on tickets (new-version updates of rows not backfilled yet: up)
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_001_tickets_sellers_zip" BEFORE INSERT OR UPDATE ON "public"."tickets" FOR EACH ROW
  WHEN (CASE WHEN NEW."_pgroll_needs_backfill" THEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_44_add_table_unique_constraint' THEN true WHEN 'public' THEN false WHEN 'public_43_create_tickets_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_44_add_table_unique_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_43_create_tickets_table'::name), 2147483647)), false) END) ELSE false END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."tickets"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_001_tickets_sellers_zip"();

-- [30] 44_add_table_unique_constraint.yaml:3:7: trigger _pgroll_trigger_001_tickets_sellers_zip fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" ENABLE ALWAYS TRIGGER "_pgroll_trigger_001_tickets_sellers_zip";

-- (the live executor records steps 29-30 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 31-32 run in one transaction: clients see all of them or none
BEGIN;

-- [31] 44_add_table_unique_constraint.yaml:3:7: trigger _pgroll_trigger_down998_tickets_sellers_zip on tickets (new-version writes: down)
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
CREATE OR REPLACE TRIGGER "_pgroll_trigger_down998_tickets_sellers_zip" BEFORE INSERT OR UPDATE ON "public"."tickets" FOR EACH ROW
  WHEN (CASE WHEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_44_add_table_unique_constraint' THEN true WHEN 'public' THEN false WHEN 'public_43_create_tickets_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_44_add_table_unique_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_43_create_tickets_table'::name), 2147483647)), false) END)
    THEN CASE WHEN NEW."sellers_zip"::text COLLATE "C" IS DISTINCT FROM (NEW."_pgroll_new_sellers_zip")::text COLLATE "C" THEN true
      ELSE NEW."_pgroll_new_sellers_zip"::text COLLATE "C" IS DISTINCT FROM (NEW."sellers_zip")::text COLLATE "C" END
    ELSE false END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."tickets"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."_pgroll_trigger_down998_tickets_sellers_zip"();

-- [32] 44_add_table_unique_constraint.yaml:3:7: trigger _pgroll_trigger_down998_tickets_sellers_zip fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" ENABLE ALWAYS TRIGGER "_pgroll_trigger_down998_tickets_sellers_zip";

-- (the live executor records steps 31-32 as done in its state schema here, in the same transaction)
COMMIT;

-- steps 33-34 run in one transaction: clients see all of them or none
BEGIN;

-- [33] 44_add_table_unique_constraint.yaml:3:7: trigger ~pgroll_trigger_001_tickets_sellers_zip on tickets (old-version and base-table writes: up)
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
CREATE OR REPLACE TRIGGER "~pgroll_trigger_001_tickets_sellers_zip" BEFORE INSERT OR UPDATE ON "public"."tickets" FOR EACH ROW
  WHEN (CASE WHEN (CASE (pg_catalog.current_schemas(false))[1] WHEN 'public_44_add_table_unique_constraint' THEN true WHEN 'public' THEN false WHEN 'public_43_create_tickets_table' THEN false ELSE COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_44_add_table_unique_constraint'::name) < LEAST(COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public'::name), 2147483647), COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), 'public_43_create_tickets_table'::name), 2147483647)), false) END)
    THEN false
    ELSE NEW."_pgroll_needs_backfill"
    OR NEW."_pgroll_new_sellers_zip"::text COLLATE "C" IS DISTINCT FROM (NEW."sellers_zip")::text COLLATE "C" END
    AND (pg_catalog.current_setting('pgroll_dsl.backfilling', true) IS DISTINCT FROM '"public"."tickets"'
      OR pg_catalog.pg_trigger_depth() > 0))
  EXECUTE FUNCTION "public"."~pgroll_trigger_001_tickets_sellers_zip"();

-- [34] 44_add_table_unique_constraint.yaml:3:7: trigger ~pgroll_trigger_001_tickets_sellers_zip fires in every replication role
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" ENABLE ALWAYS TRIGGER "~pgroll_trigger_001_tickets_sellers_zip";

-- (the live executor records steps 33-34 as done in its state schema here, in the same transaction)
COMMIT;

-- [35] 44_add_table_unique_constraint.yaml:3:7: backfill tickets, second pass: none if no statement wrote the table since the first pass began, else the rows written since the first pass read them (by pages if it ran; else in batches keyed on ticket_id, writing the copies itself)
--     lock: ROW EXCLUSIVE on tickets; backfills rows in batches
--     runs outside a transaction block
DO $pgroll_backfill$
#variable_conflict use_variable
DECLARE
  _pgroll_lower_0 "public"."tickets"."ticket_id"%TYPE;
  _pgroll_upper_0 "public"."tickets"."ticket_id"%TYPE;
  _pgroll_to_0 "public"."tickets"."ticket_id"%TYPE;
  _pgroll_end_0 "public"."tickets"."ticket_id"%TYPE;
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
  IF pg_catalog.pg_sequence_last_value(pg_catalog.to_regclass('"public"."_pgroll_passed_tickets"')) IS NOT NULL
    AND pg_catalog.pg_sequence_last_value(pg_catalog.to_regclass('"public"."_pgroll_writes_tickets"')) IS NULL
    AND EXISTS (SELECT FROM pg_catalog.pg_trigger r JOIN pg_catalog.pg_class r_s ON r_s.oid = pg_catalog.to_regclass('"public"."_pgroll_writes_tickets"') AND r.xmin OPERATOR(pg_catalog.=) r_s.xmin WHERE r.tgrelid = '"public"."tickets"'::pg_catalog.regclass AND r.tgname = '_pgroll_watch_tickets' AND r.tgenabled = 'A')
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhparent = '"public"."tickets"'::pg_catalog.regclass)
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_class s LEFT JOIN LATERAL (SELECT CASE WHEN d.xmin OPERATOR(pg_catalog.=) s.xmin AND d.description ~ '^[{][0-9]+(,[0-9]+)*[}]$' THEN d.description::pg_catalog.xid[] END AS running FROM pg_catalog.pg_description d WHERE d.objoid = s.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0) k ON true, (VALUES ('"public"."tickets"'::pg_catalog.regclass::pg_catalog.oid)) m(relid)
      WHERE s.oid = pg_catalog.to_regclass('"public"."_pgroll_writes_tickets"') AND (k.running IS NULL
      OR EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = m.relid AND c.xmin OPERATOR(pg_catalog.<>) s.xmin AND (c.xmin OPERATOR(pg_catalog.=) ANY (k.running) OR pg_catalog.age(c.xmin) <= pg_catalog.age(k.running[1])))
      OR EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid = m.relid AND a.xmin OPERATOR(pg_catalog.<>) s.xmin AND (a.xmin OPERATOR(pg_catalog.=) ANY (k.running) OR pg_catalog.age(a.xmin) <= pg_catalog.age(k.running[1])))))
    AND NOT (EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = '"public"."tickets"'::pg_catalog.regclass)
      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE srrelid = '"public"."tickets"'::pg_catalog.regclass)) THEN
    IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NULL THEN  -- said once, not by each worker
      RAISE NOTICE 'pgroll-dsl backfill %: no statement wrote it since the first pass began: nothing left', 'tickets';
    END IF;
    RETURN;
  END IF;
  BEGIN
    PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."tickets"', true);
    UPDATE "public"."tickets" AS _pgroll_row SET "_pgroll_new_sellers_name" = (_pgroll_row."sellers_name"), "_pgroll_new_sellers_zip" = (_pgroll_row."sellers_zip"), "_pgroll_needs_backfill" = false WHERE false;
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
    (SELECT min(_pgroll_row."ticket_id") FROM "public"."tickets" AS _pgroll_row),
    (SELECT max(_pgroll_row."ticket_id") FROM "public"."tickets" AS _pgroll_row)
    INTO _pgroll_fires, _pgroll_size, _pgroll_tuples, _pgroll_first, _pgroll_last
    FROM pg_catalog.pg_class c WHERE c.oid = '"public"."tickets"'::pg_catalog.regclass;
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
      _pgroll_files := (WITH RECURSIVE tree(oid) AS (SELECT '"public"."tickets"'::regclass::oid UNION ALL SELECT inhrelid FROM pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)
      SELECT pg_catalog.array_agg(pg_catalog.pg_relation_filenode(oid) ORDER BY oid) FROM tree);
      _pgroll_page := 0;
      _pgroll_last_page := (WITH RECURSIVE tree(oid) AS (SELECT '"public"."tickets"'::regclass::oid UNION ALL SELECT inhrelid FROM pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)
      SELECT max(pg_catalog.pg_relation_size(oid)) / pg_catalog.current_setting('block_size')::bigint FROM tree);
      WHILE _pgroll_page <= _pgroll_last_page LOOP
        _pgroll_started := pg_catalog.clock_timestamp();
        IF _pgroll_fast THEN
          PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."tickets"', true);
          IF _pgroll_replica THEN
            PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
          END IF;
          UPDATE "public"."tickets" AS _pgroll_row SET "_pgroll_new_sellers_name" = (_pgroll_row."sellers_name"), "_pgroll_new_sellers_zip" = (_pgroll_row."sellers_zip"), "_pgroll_needs_backfill" = false, "_pgroll_backfilled_by" = NULL
            WHERE _pgroll_row.ctid >= pg_catalog.format('(%s,0)', _pgroll_page)::tid
      AND _pgroll_row.ctid < pg_catalog.format('(%s,0)', _pgroll_page + _pgroll_size)::tid AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
        ELSE
          UPDATE "public"."tickets" AS _pgroll_row SET "_pgroll_needs_backfill" = true, "_pgroll_backfilled_by" = NULL WHERE _pgroll_row.ctid >= pg_catalog.format('(%s,0)', _pgroll_page)::tid
      AND _pgroll_row.ctid < pg_catalog.format('(%s,0)', _pgroll_page + _pgroll_size)::tid AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
        END IF;
        _pgroll_page := _pgroll_page + _pgroll_size;
        GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
        _pgroll_done := _pgroll_done + _pgroll_rows;
        RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'tickets', _pgroll_done USING DETAIL = _pgroll_done::text;
        COMMIT;
        _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
          - _pgroll_started);
        _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
          (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
      END LOOP;
      EXIT WHEN (WITH RECURSIVE tree(oid) AS (SELECT '"public"."tickets"'::regclass::oid UNION ALL SELECT inhrelid FROM pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)
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
  SELECT _pgroll_row."ticket_id" INTO _pgroll_end_0 FROM "public"."tickets" AS _pgroll_row ORDER BY _pgroll_row."ticket_id" DESC LIMIT 1;
  IF (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END) IS NOT NULL THEN
    _pgroll_lower_0 := (CASE WHEN pg_catalog.current_setting('pgroll_dsl.backfill_slice', true) = 'on' THEN NULLIF(pg_catalog.current_setting('pgroll_dsl.backfill_from_0', true), '') END);
    SELECT _pgroll_row."ticket_id" INTO _pgroll_lower_0 FROM "public"."tickets" AS _pgroll_row WHERE (_pgroll_row."ticket_id") >= (_pgroll_lower_0) ORDER BY _pgroll_row."ticket_id" LIMIT 1;
  ELSE  -- the whole table, or the first worker's share
    SELECT _pgroll_row."ticket_id" INTO _pgroll_lower_0 FROM "public"."tickets" AS _pgroll_row ORDER BY _pgroll_row."ticket_id" LIMIT 1;
  END IF;
  WHILE FOUND AND (_pgroll_lower_0) <= (_pgroll_end_0) AND (NOT _pgroll_bounded OR (_pgroll_lower_0) < (_pgroll_to_0)) LOOP
    EXIT WHEN _pgroll_dense AND _pgroll_lower_0 > _pgroll_last;
    _pgroll_started := pg_catalog.clock_timestamp();
    IF _pgroll_dense THEN  -- a tail of less than a quarter batch joins this one
      _pgroll_upper_0 := CASE WHEN _pgroll_last - (_pgroll_lower_0::numeric + (_pgroll_size - 1)) < _pgroll_size / 4
        THEN _pgroll_last ELSE _pgroll_lower_0::numeric + (_pgroll_size - 1) END;
    ELSE
      SELECT _pgroll_row."ticket_id" INTO _pgroll_upper_0 FROM "public"."tickets" AS _pgroll_row WHERE (_pgroll_row."ticket_id") >= (_pgroll_lower_0)
        ORDER BY _pgroll_row."ticket_id" OFFSET _pgroll_size - 1 LIMIT 1;
      IF NOT FOUND THEN  -- the last batch: up to the last key
        SELECT _pgroll_row."ticket_id" INTO _pgroll_upper_0 FROM "public"."tickets" AS _pgroll_row ORDER BY _pgroll_row."ticket_id" DESC LIMIT 1;
      END IF;
    END IF;
    IF (_pgroll_upper_0) > (_pgroll_end_0) THEN  -- rows inserted since the start are filled
      _pgroll_upper_0 := _pgroll_end_0;
    END IF;
    IF _pgroll_bounded AND (_pgroll_upper_0) >= (_pgroll_to_0) THEN  -- this worker's share ends before
      SELECT _pgroll_row."ticket_id" INTO _pgroll_upper_0 FROM "public"."tickets" AS _pgroll_row WHERE (_pgroll_row."ticket_id") < (_pgroll_to_0)
        ORDER BY _pgroll_row."ticket_id" DESC LIMIT 1;
    END IF;
    IF _pgroll_fast THEN
      PERFORM pg_catalog.set_config('pgroll_dsl.backfilling', '"public"."tickets"', true);
      IF _pgroll_replica THEN
        PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
      END IF;
      UPDATE "public"."tickets" AS _pgroll_row SET "_pgroll_new_sellers_name" = (_pgroll_row."sellers_name"), "_pgroll_new_sellers_zip" = (_pgroll_row."sellers_zip"), "_pgroll_needs_backfill" = false, "_pgroll_backfilled_by" = NULL
        WHERE (_pgroll_row."ticket_id") >= (_pgroll_lower_0) AND (_pgroll_row."ticket_id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
    ELSE
      UPDATE "public"."tickets" AS _pgroll_row SET "_pgroll_needs_backfill" = true, "_pgroll_backfilled_by" = NULL WHERE (_pgroll_row."ticket_id") >= (_pgroll_lower_0) AND (_pgroll_row."ticket_id") <= (_pgroll_upper_0) AND _pgroll_row."_pgroll_backfilled_by" IS DISTINCT FROM _pgroll_row.xmin AND (_pgroll_row."_pgroll_needs_backfill" OR _pgroll_row."_pgroll_backfilled_by" IS NOT NULL);
    END IF;
    GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;
    _pgroll_done := _pgroll_done + _pgroll_rows;
    RAISE NOTICE 'pgroll-dsl backfill %: % rows', 'tickets', _pgroll_done USING DETAIL = _pgroll_done::text;
    COMMIT;
    _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()
      - _pgroll_started);
    _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,
      (_pgroll_size * 50 / greatest(_pgroll_took, 1))::bigint));
    SELECT _pgroll_row."ticket_id" INTO _pgroll_lower_0 FROM "public"."tickets" AS _pgroll_row WHERE (_pgroll_row."ticket_id") > (_pgroll_upper_0)
      ORDER BY _pgroll_row."ticket_id" LIMIT 1;
  END LOOP;
END
$pgroll_backfill$;

-- [36] 44_add_table_unique_constraint.yaml:1:1: backfill watch on tickets: off on tickets, the second pass is over
--     lock: SHARE ROW EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" DISABLE TRIGGER "_pgroll_watch_tickets";

-- [37] 44_add_table_unique_constraint.yaml:3:7: NOT NULL of sellers_name as a check (not valid)
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" ADD CONSTRAINT "_pgroll_check_not_null_sellers_name" CHECK ("_pgroll_new_sellers_name" IS NOT NULL) NOT VALID;

-- [38] 44_add_table_unique_constraint.yaml:3:7: NOT NULL of sellers_zip as a check (not valid)
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" ADD CONSTRAINT "_pgroll_check_not_null_sellers_zip" CHECK ("_pgroll_new_sellers_zip" IS NOT NULL) NOT VALID;

-- [39] 44_add_table_unique_constraint.yaml:3:7: build unique index unique_zip_name
--     lock: SHARE UPDATE EXCLUSIVE on tickets; builds an index concurrently
--     runs outside a transaction block
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "unique_zip_name" ON "public"."tickets" ("_pgroll_new_sellers_name", "_pgroll_new_sellers_zip");

-- steps 40-70 run in one transaction: clients see all of them or none
BEGIN;

-- [40] 44_add_table_unique_constraint.yaml:1:1: create version schema public_44_add_table_unique_constraint
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_44_add_table_unique_constraint";

-- [41] 44_add_table_unique_constraint.yaml:1:1: view bills of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [42] 44_add_table_unique_constraint.yaml:1:1: view clients of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [43] 44_add_table_unique_constraint.yaml:1:1: view employees of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on employees; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "job_title" AS "job_title" FROM "public"."employees";

-- [44] 44_add_table_unique_constraint.yaml:1:1: a column default of view employees
--     lock: none on employees; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."employees" ALTER COLUMN "id" SET DEFAULT nextval('employees_id_seq'::regclass);

-- [45] 44_add_table_unique_constraint.yaml:1:1: view events of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on events; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."events" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."events";

-- [46] 44_add_table_unique_constraint.yaml:1:1: a column default of view events
--     lock: none on events; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."events" ALTER COLUMN "id" SET DEFAULT nextval('events_id_seq'::regclass);

-- [47] 44_add_table_unique_constraint.yaml:1:1: a column default of view events
--     lock: none on events; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."events" ALTER COLUMN "name" SET DEFAULT 'unknown event';

-- [48] 44_add_table_unique_constraint.yaml:1:1: view fruits of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "size" AS "size" FROM "public"."fruits";

-- [49] 44_add_table_unique_constraint.yaml:1:1: a column default of view fruits
--     lock: none on fruits; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."fruits" ALTER COLUMN "size" SET DEFAULT 'small';

-- [50] 44_add_table_unique_constraint.yaml:1:1: view items of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on items; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."items" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "created_at" AS "created_at" FROM "public"."items";

-- [51] 44_add_table_unique_constraint.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."items" ALTER COLUMN "id" SET DEFAULT nextval('items_id_seq'::regclass);

-- [52] 44_add_table_unique_constraint.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."items" ALTER COLUMN "name" SET DEFAULT 'unnamed';

-- [53] 44_add_table_unique_constraint.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."items" ALTER COLUMN "price" SET DEFAULT 0.00;

-- [54] 44_add_table_unique_constraint.yaml:1:1: a column default of view items
--     lock: none on items; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."items" ALTER COLUMN "created_at" SET DEFAULT now();

-- [55] 44_add_table_unique_constraint.yaml:1:1: view orders of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on orders; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."orders" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "quantity" AS "quantity" FROM "public"."orders";

-- [56] 44_add_table_unique_constraint.yaml:1:1: a column default of view orders
--     lock: none on orders; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."orders" ALTER COLUMN "id" SET DEFAULT nextval('orders_id_seq'::regclass);

-- [57] 44_add_table_unique_constraint.yaml:1:1: view people of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on people; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."people" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "age" AS "age", "description" AS "description", "birth_date" AS "birth_date" FROM "public"."people";

-- [58] 44_add_table_unique_constraint.yaml:1:1: a column default of view people
--     lock: none on people; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."people" ALTER COLUMN "age" SET DEFAULT 18;

-- [59] 44_add_table_unique_constraint.yaml:1:1: view posts of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on posts; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."posts" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "title" AS "title" FROM "public"."posts";

-- [60] 44_add_table_unique_constraint.yaml:1:1: a column default of view posts
--     lock: none on posts; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."posts" ALTER COLUMN "id" SET DEFAULT nextval('posts_id_seq'::regclass);

-- [61] 44_add_table_unique_constraint.yaml:1:1: view reviews of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on reviews; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."reviews" WITH (security_invoker = true) AS SELECT "id" AS "id", "username" AS "username", "product" AS "product", "rating" AS "rating", "review" AS "review" FROM "public"."reviews";

-- [62] 44_add_table_unique_constraint.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."reviews" ALTER COLUMN "id" SET DEFAULT nextval('reviews_id_seq'::regclass);

-- [63] 44_add_table_unique_constraint.yaml:1:1: a column default of view reviews
--     lock: none on reviews; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."reviews" ALTER COLUMN "rating" SET DEFAULT 0;

-- [64] 44_add_table_unique_constraint.yaml:1:1: view sellers of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description", "rating" AS "rating" FROM "public"."sellers";

-- [65] 44_add_table_unique_constraint.yaml:1:1: a column default of view sellers
--     lock: none on sellers; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."sellers" ALTER COLUMN "rating" SET DEFAULT 10;

-- [66] 44_add_table_unique_constraint.yaml:1:1: view tickets of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on tickets; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."tickets" WITH (security_invoker = true) AS SELECT "ticket_id" AS "ticket_id", "_pgroll_new_sellers_name" AS "sellers_name", "_pgroll_new_sellers_zip" AS "sellers_zip", "ticket_type" AS "ticket_type" FROM "public"."tickets";

-- [67] 44_add_table_unique_constraint.yaml:1:1: a column default of view tickets
--     lock: none on tickets; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."tickets" ALTER COLUMN "ticket_id" SET DEFAULT nextval('tickets_ticket_id_seq'::regclass);

-- [68] 44_add_table_unique_constraint.yaml:1:1: a column default of view tickets
--     lock: none on tickets; catalog only
ALTER VIEW "public_44_add_table_unique_constraint"."tickets" ALTER COLUMN "ticket_type" SET DEFAULT 'paper';

-- [69] 44_add_table_unique_constraint.yaml:1:1: view users of version public_44_add_table_unique_constraint
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_44_add_table_unique_constraint"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- [70] 44_add_table_unique_constraint.yaml:1:1: the roles that use public and its tables get the same rights on public_44_add_table_unique_constraint and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_44_add_table_unique_constraint' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_44_add_table_unique_constraint') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_44_add_table_unique_constraint"."bills"', 'bills', 'bills'),
      ('"public_44_add_table_unique_constraint"."clients"', 'clients', 'clients'),
      ('"public_44_add_table_unique_constraint"."employees"', 'employees', 'employees'),
      ('"public_44_add_table_unique_constraint"."events"', 'events', 'events'),
      ('"public_44_add_table_unique_constraint"."fruits"', 'fruits', 'fruits'),
      ('"public_44_add_table_unique_constraint"."items"', 'items', 'items'),
      ('"public_44_add_table_unique_constraint"."orders"', 'orders', 'orders'),
      ('"public_44_add_table_unique_constraint"."people"', 'people', 'people'),
      ('"public_44_add_table_unique_constraint"."posts"', 'posts', 'posts'),
      ('"public_44_add_table_unique_constraint"."reviews"', 'reviews', 'reviews'),
      ('"public_44_add_table_unique_constraint"."sellers"', 'sellers', 'sellers'),
      ('"public_44_add_table_unique_constraint"."tickets"', 'tickets', 'tickets'),
      ('"public_44_add_table_unique_constraint"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      ('"public_44_add_table_unique_constraint"."tickets"', '_pgroll_new_sellers_name', 'sellers_name'),
      ('"public_44_add_table_unique_constraint"."tickets"', '_pgroll_new_sellers_zip', 'sellers_zip')),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_44_add_table_unique_constraint')),
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

-- (the live executor records steps 40-70 as done in its state schema here, in the same transaction)
COMMIT;

-- [71] 44_add_table_unique_constraint.yaml:3:7: validate _pgroll_check_not_null_sellers_name
--     lock: SHARE UPDATE EXCLUSIVE on tickets; scans the table (reads and writes continue)
ALTER TABLE IF EXISTS "public"."tickets" VALIDATE CONSTRAINT "_pgroll_check_not_null_sellers_name";

-- [72] 44_add_table_unique_constraint.yaml:3:7: validate _pgroll_check_not_null_sellers_zip
--     lock: SHARE UPDATE EXCLUSIVE on tickets; scans the table (reads and writes continue)
ALTER TABLE IF EXISTS "public"."tickets" VALIDATE CONSTRAINT "_pgroll_check_not_null_sellers_zip";

-- ==== complete (16 steps) ====

-- steps 1-16 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 44_add_table_unique_constraint.yaml:1:1: drop the previous version schema public_43_create_tickets_table
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_43_create_tickets_table"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_43_create_tickets_table"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_43_create_tickets_table"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_43_create_tickets_table" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_43_create_tickets_table" CASCADE;
END
$pgroll$;

-- [2] 44_add_table_unique_constraint.yaml:1:1: lock tickets for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
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
      FOR _pgroll_view, _pgroll_owner IN WITH RECURSIVE built(oid, depth) AS (SELECT v, 0 FROM (SELECT r.ev_class FROM (SELECT DISTINCT d.classid, d.objid FROM (SELECT r FROM (VALUES (pg_catalog.to_regclass('"public"."tickets"')::pg_catalog.oid)) v(r)
                  UNION SELECT relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass('"public"."tickets"'))) t(relid)
                JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attname = ANY (ARRAY['sellers_name', 'sellers_zip']::pg_catalog.name[])
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
            SELECT FROM reads JOIN pg_catalog.pg_class x ON x.oid = reads.oid AND x.relkind <> 'v' AND x.oid IS DISTINCT FROM pg_catalog.to_regclass('"public"."tickets"')::pg_catalog.oid);
        BEGIN
          PERFORM pg_catalog.set_config('lock_timeout', greatest(1, pg_catalog.ceil(1000 * extract(epoch FROM _pgroll_budget - (pg_catalog.clock_timestamp() - _pgroll_since))))::text, true);
          EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE MODE', _pgroll_view::pg_catalog.regclass);
        EXCEPTION WHEN insufficient_privilege THEN  -- (its owner may not lock the table)
        END;
      END LOOP;
    END IF;
    IF _pgroll_queue IN ('shared', 'tables') THEN
      IF pg_catalog.to_regclass('"public"."tickets"') IS NOT NULL THEN
        LOCK TABLE "public"."tickets" IN SHARE MODE;
      END IF;
    END IF;
    FOR _pgroll_view, _pgroll_owner IN WITH RECURSIVE built(oid, depth) AS (SELECT v, 0 FROM (SELECT r.ev_class FROM (SELECT DISTINCT d.classid, d.objid FROM (SELECT r FROM (VALUES (pg_catalog.to_regclass('"public"."tickets"')::pg_catalog.oid)) v(r)
                  UNION SELECT relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass('"public"."tickets"'))) t(relid)
                JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attname = ANY (ARRAY['sellers_name', 'sellers_zip']::pg_catalog.name[])
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
    IF pg_catalog.to_regclass('"public"."tickets"') IS NOT NULL THEN
      LOCK TABLE "public"."tickets" IN ACCESS EXCLUSIVE MODE;
    END IF;
    PERFORM pg_catalog.set_config('lock_timeout', _pgroll_wait, true);
    RETURN;
  END IF;
  LOOP
    BEGIN
      PERFORM pg_catalog.set_config('lock_timeout', '1', true);
      FOR _pgroll_view, _pgroll_owner IN WITH RECURSIVE built(oid, depth) AS (SELECT v, 0 FROM (SELECT r.ev_class FROM (SELECT DISTINCT d.classid, d.objid FROM (SELECT r FROM (VALUES (pg_catalog.to_regclass('"public"."tickets"')::pg_catalog.oid)) v(r)
                  UNION SELECT relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass('"public"."tickets"'))) t(relid)
                JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attname = ANY (ARRAY['sellers_name', 'sellers_zip']::pg_catalog.name[])
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
        IF pg_catalog.to_regclass('"public"."tickets"') IS NOT NULL THEN
          LOCK TABLE "public"."tickets" IN ACCESS EXCLUSIVE MODE NOWAIT;
        END IF;
      ELSIF _pgroll_wait <> '0' THEN  -- no view: as where nothing is carried
        PERFORM pg_catalog.set_config('lock_timeout', greatest(1, pg_catalog.ceil(1000 * extract(epoch FROM _pgroll_wait::interval - (pg_catalog.clock_timestamp() - _pgroll_since))))::text, true);
        IF pg_catalog.to_regclass('"public"."tickets"') IS NOT NULL THEN
          LOCK TABLE ONLY "public"."tickets" IN ACCESS EXCLUSIVE MODE;
        END IF;
        IF pg_catalog.to_regclass('"public"."tickets"') IS NOT NULL THEN
          LOCK TABLE "public"."tickets" IN ACCESS EXCLUSIVE MODE NOWAIT;
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
  IF pg_catalog.to_regclass('"public"."tickets"') IS NOT NULL THEN
    LOCK TABLE "public"."tickets" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll_lock$;

-- [3] 44_add_table_unique_constraint.yaml:3:7: carry the views, rules, policies, triggers and statistics that use sellers_name, sellers_zip over to the new columns
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
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
  IF NOT EXISTS (SELECT DISTINCT d.classid, d.objid FROM (SELECT r FROM (VALUES (pg_catalog.to_regclass('"public"."tickets"')::pg_catalog.oid)) v(r)
          UNION SELECT relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass('"public"."tickets"'))) t(relid)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attname = ANY (ARRAY['sellers_name', 'sellers_zip']::pg_catalog.name[])
        JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
        WHERE (d.deptype = 'n' OR d.classid = 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass)) THEN
    RETURN;  -- nothing uses the old column: the usual case, and quickly told
  END IF;
  SELECT pg_catalog.array_agg(what ORDER BY kind, objid, n), pg_catalog.array_agg(statement ORDER BY kind, objid, n),
      pg_catalog.array_agg(view ORDER BY kind, objid, n)
    INTO _pgroll_what, _pgroll_statement, _pgroll_view FROM (
    WITH u AS (SELECT DISTINCT d.classid, d.objid FROM (SELECT r FROM (VALUES (pg_catalog.to_regclass('"public"."tickets"')::pg_catalog.oid)) v(r)
          UNION SELECT relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass('"public"."tickets"'))) t(relid)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attname = ANY (ARRAY['sellers_name', 'sellers_zip']::pg_catalog.name[])
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
      ALTER TABLE "public"."tickets" RENAME COLUMN "sellers_name" TO "_pgroll_old_sellers_name";
      ALTER TABLE "public"."tickets" RENAME COLUMN "_pgroll_new_sellers_name" TO "sellers_name";
      ALTER TABLE "public"."tickets" RENAME COLUMN "sellers_zip" TO "_pgroll_old_sellers_zip";
      ALTER TABLE "public"."tickets" RENAME COLUMN "_pgroll_new_sellers_zip" TO "sellers_zip";
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
  ALTER TABLE "public"."tickets" RENAME COLUMN "sellers_name" TO "_pgroll_old_sellers_name";
  ALTER TABLE "public"."tickets" RENAME COLUMN "_pgroll_new_sellers_name" TO "sellers_name";
  ALTER TABLE "public"."tickets" RENAME COLUMN "sellers_zip" TO "_pgroll_old_sellers_zip";
  ALTER TABLE "public"."tickets" RENAME COLUMN "_pgroll_new_sellers_zip" TO "sellers_zip";
  FOR _pgroll_i IN 1 .. COALESCE(pg_catalog.array_length(_pgroll_again, 1), 0) LOOP
    EXECUTE _pgroll_again[_pgroll_i];
  END LOOP;
  FOR _pgroll_i IN 1 .. pg_catalog.array_length(_pgroll_statement, 1) LOOP
    CONTINUE WHEN _pgroll_view[_pgroll_i] = ANY (_pgroll_remake);
    EXECUTE _pgroll_statement[_pgroll_i];
  END LOOP;
  ALTER TABLE "public"."tickets" RENAME COLUMN "sellers_name" TO "_pgroll_new_sellers_name";
  ALTER TABLE "public"."tickets" RENAME COLUMN "_pgroll_old_sellers_name" TO "sellers_name";
  ALTER TABLE "public"."tickets" RENAME COLUMN "sellers_zip" TO "_pgroll_new_sellers_zip";
  ALTER TABLE "public"."tickets" RENAME COLUMN "_pgroll_old_sellers_zip" TO "sellers_zip";
END
$pgroll$;

-- [4] 44_add_table_unique_constraint.yaml:3:7: the new columns _pgroll_new_sellers_name, _pgroll_new_sellers_zip take the privileges sellers_name, sellers_zip have now
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  IF (SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."tickets"') AND attname = 'sellers_name') IS DISTINCT FROM (SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."tickets"') AND attname = '_pgroll_new_sellers_name') THEN
    FOR _pgroll_grant IN SELECT DISTINCT g.grantee FROM pg_catalog.aclexplode((SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."tickets"') AND attname = '_pgroll_new_sellers_name')) g LOOP
      EXECUTE pg_catalog.format('REVOKE ALL (%I) ON %s FROM %s CASCADE', '_pgroll_new_sellers_name', '"public"."tickets"',
        CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END);
    END LOOP;
    FOR _pgroll_grant IN SELECT * FROM pg_catalog.aclexplode((SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."tickets"') AND attname = 'sellers_name')) LOOP
      EXECUTE pg_catalog.format('GRANT %s (%I) ON %s TO %s', _pgroll_grant.privilege_type, '_pgroll_new_sellers_name', '"public"."tickets"',
        CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
  END IF;
  IF (SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."tickets"') AND attname = 'sellers_zip') IS DISTINCT FROM (SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."tickets"') AND attname = '_pgroll_new_sellers_zip') THEN
    FOR _pgroll_grant IN SELECT DISTINCT g.grantee FROM pg_catalog.aclexplode((SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."tickets"') AND attname = '_pgroll_new_sellers_zip')) g LOOP
      EXECUTE pg_catalog.format('REVOKE ALL (%I) ON %s FROM %s CASCADE', '_pgroll_new_sellers_zip', '"public"."tickets"',
        CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END);
    END LOOP;
    FOR _pgroll_grant IN SELECT * FROM pg_catalog.aclexplode((SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('"public"."tickets"') AND attname = 'sellers_zip')) LOOP
      EXECUTE pg_catalog.format('GRANT %s (%I) ON %s TO %s', _pgroll_grant.privilege_type, '_pgroll_new_sellers_zip', '"public"."tickets"',
        CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
  END IF;
END
$pgroll$;

-- [5] 44_add_table_unique_constraint.yaml:3:7: drop the sync triggers and the old columns sellers_name, sellers_zip together
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
DO $pgroll$
BEGIN
  DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_tickets_sellers_name"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_tickets_sellers_name"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_down999_tickets_sellers_name"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_tickets_sellers_name"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_001-set_tickets_sellers_zip"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_001_tickets_sellers_zip"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_down998_tickets_sellers_zip"() CASCADE;
  DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_001_tickets_sellers_zip"() CASCADE;
  ALTER TABLE IF EXISTS "public"."tickets" DROP COLUMN IF EXISTS "sellers_name", DROP COLUMN IF EXISTS "sellers_zip";
END
$pgroll$;

-- [6] 44_add_table_unique_constraint.yaml:3:7: rename _pgroll_new_sellers_name to sellers_name
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite renaming-column: clients use version-schema views, which follow the rename
-- squawk-ignore renaming-column
ALTER TABLE IF EXISTS "public"."tickets" RENAME COLUMN "_pgroll_new_sellers_name" TO "sellers_name";

-- [7] 44_add_table_unique_constraint.yaml:3:7: rename _pgroll_new_sellers_zip to sellers_zip
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite renaming-column: clients use version-schema views, which follow the rename
-- squawk-ignore renaming-column
ALTER TABLE IF EXISTS "public"."tickets" RENAME COLUMN "_pgroll_new_sellers_zip" TO "sellers_zip";

-- [8] 44_add_table_unique_constraint.yaml:3:7: set sellers_name NOT NULL (the valid check spares the scan)
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite adding-not-nullable-field: a valid CHECK (column IS NOT NULL), validated at start while writes went on, spares the scan
-- squawk-ignore adding-not-nullable-field
ALTER TABLE IF EXISTS "public"."tickets" ALTER COLUMN "sellers_name" SET NOT NULL;

-- [9] 44_add_table_unique_constraint.yaml:3:7: drop the check _pgroll_check_not_null_sellers_name
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-constraint: a helper constraint of this migration, or the one it drops, once no old client relies on it
-- squawk-ignore ban-drop-constraint
ALTER TABLE IF EXISTS "public"."tickets" DROP CONSTRAINT IF EXISTS "_pgroll_check_not_null_sellers_name";

-- [10] 44_add_table_unique_constraint.yaml:3:7: set sellers_zip NOT NULL (the valid check spares the scan)
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite adding-not-nullable-field: a valid CHECK (column IS NOT NULL), validated at start while writes went on, spares the scan
-- squawk-ignore adding-not-nullable-field
ALTER TABLE IF EXISTS "public"."tickets" ALTER COLUMN "sellers_zip" SET NOT NULL;

-- [11] 44_add_table_unique_constraint.yaml:3:7: drop the check _pgroll_check_not_null_sellers_zip
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-constraint: a helper constraint of this migration, or the one it drops, once no old client relies on it
-- squawk-ignore ban-drop-constraint
ALTER TABLE IF EXISTS "public"."tickets" DROP CONSTRAINT IF EXISTS "_pgroll_check_not_null_sellers_zip";

-- [12] 44_add_table_unique_constraint.yaml:3:7: attach unique_zip_name
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
ALTER TABLE "public"."tickets" ADD CONSTRAINT "unique_zip_name" UNIQUE USING INDEX "unique_zip_name";

-- [13] 44_add_table_unique_constraint.yaml:1:1: drop the backfill watch on tickets
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_watch_tickets"() CASCADE;

-- [14] 44_add_table_unique_constraint.yaml:1:1: drop the backfill watch's counts on tickets
--     lock: none; catalog only
--     safe despite ban-drop-sequence: the backfill watch's counts: only this migration's trigger and backfill use them
-- squawk-ignore ban-drop-sequence
DROP SEQUENCE IF EXISTS "public"."_pgroll_writes_tickets", "public"."_pgroll_passed_tickets";

-- [15] 44_add_table_unique_constraint.yaml:1:1: drop the backfill marker of tickets
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."tickets" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- [16] 44_add_table_unique_constraint.yaml:1:1: the rights granted on public and its tables since start reach public_44_add_table_unique_constraint and its views
--     lock: none; catalog only
DO $pgroll$
DECLARE
  _pgroll_grant record;
BEGIN
  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) g
      WHERE n.nspname = 'public' AND g.privilege_type = 'USAGE'
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h
          WHERE vn.nspname = 'public_44_add_table_unique_constraint' AND h.grantee = g.grantee AND h.privilege_type = g.privilege_type AND (h.is_grantable OR NOT g.is_grantable)) LOOP
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', 'public_44_add_table_unique_constraint') || CASE WHEN _pgroll_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(_pgroll_grant.grantee)) END || CASE WHEN _pgroll_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
  END LOOP;
  FOR _pgroll_grant IN
    WITH views(view, name, tab) AS (VALUES
      ('"public_44_add_table_unique_constraint"."bills"', 'bills', 'bills'),
      ('"public_44_add_table_unique_constraint"."clients"', 'clients', 'clients'),
      ('"public_44_add_table_unique_constraint"."employees"', 'employees', 'employees'),
      ('"public_44_add_table_unique_constraint"."events"', 'events', 'events'),
      ('"public_44_add_table_unique_constraint"."fruits"', 'fruits', 'fruits'),
      ('"public_44_add_table_unique_constraint"."items"', 'items', 'items'),
      ('"public_44_add_table_unique_constraint"."orders"', 'orders', 'orders'),
      ('"public_44_add_table_unique_constraint"."people"', 'people', 'people'),
      ('"public_44_add_table_unique_constraint"."posts"', 'posts', 'posts'),
      ('"public_44_add_table_unique_constraint"."reviews"', 'reviews', 'reviews'),
      ('"public_44_add_table_unique_constraint"."sellers"', 'sellers', 'sellers'),
      ('"public_44_add_table_unique_constraint"."tickets"', 'tickets', 'tickets'),
      ('"public_44_add_table_unique_constraint"."users"', 'users', 'users')),
    names(view, physical, name) AS (VALUES
      (NULL, NULL, NULL)),
    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,
        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS t_acl
      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public')
      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public_44_add_table_unique_constraint')),
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

-- (the live executor records steps 1-16 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== rollback (14 steps) ====

-- steps 1-14 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 44_add_table_unique_constraint.yaml:1:1: drop version schema public_44_add_table_unique_constraint
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DO $pgroll$
BEGIN
  DECLARE
    _pgroll_kept text;
  BEGIN
    SELECT (SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.to_regnamespace('"public_44_add_table_unique_constraint"') AND relkind NOT IN ('v', 'i') UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('"public_44_add_table_unique_constraint"') UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = pg_catalog.to_regnamespace('"public_44_add_table_unique_constraint"') AND typrelid = 0 AND typelem = 0 LIMIT 5) AS o(n)) INTO _pgroll_kept;
    IF _pgroll_kept IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',
        MESSAGE = pg_catalog.format('schema "public_44_add_table_unique_constraint" holds more than the views of a version (%s): dropping it would drop them too', _pgroll_kept),
        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), then run this again.';
    END IF;
  END;
  DROP SCHEMA IF EXISTS "public_44_add_table_unique_constraint" CASCADE;
END
$pgroll$;

-- [2] 44_add_table_unique_constraint.yaml:1:1: lock tickets for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."tickets"') IS NOT NULL THEN
    LOCK TABLE "public"."tickets" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 44_add_table_unique_constraint.yaml:3:7: drop trigger _pgroll_trigger_000-set_tickets_sellers_name
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000-set_tickets_sellers_name"() CASCADE;

-- [4] 44_add_table_unique_constraint.yaml:3:7: drop trigger _pgroll_trigger_000_tickets_sellers_name
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_000_tickets_sellers_name"() CASCADE;

-- [5] 44_add_table_unique_constraint.yaml:3:7: drop trigger _pgroll_trigger_down999_tickets_sellers_name
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_down999_tickets_sellers_name"() CASCADE;

-- [6] 44_add_table_unique_constraint.yaml:3:7: drop trigger ~pgroll_trigger_000_tickets_sellers_name
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_000_tickets_sellers_name"() CASCADE;

-- [7] 44_add_table_unique_constraint.yaml:3:7: drop trigger _pgroll_trigger_001-set_tickets_sellers_zip
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_001-set_tickets_sellers_zip"() CASCADE;

-- [8] 44_add_table_unique_constraint.yaml:3:7: drop trigger _pgroll_trigger_001_tickets_sellers_zip
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_001_tickets_sellers_zip"() CASCADE;

-- [9] 44_add_table_unique_constraint.yaml:3:7: drop trigger _pgroll_trigger_down998_tickets_sellers_zip
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_trigger_down998_tickets_sellers_zip"() CASCADE;

-- [10] 44_add_table_unique_constraint.yaml:3:7: drop trigger ~pgroll_trigger_001_tickets_sellers_zip
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."~pgroll_trigger_001_tickets_sellers_zip"() CASCADE;

-- [11] 44_add_table_unique_constraint.yaml:3:7: drop the copies _pgroll_new_sellers_name, _pgroll_new_sellers_zip
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."tickets" DROP COLUMN IF EXISTS "_pgroll_new_sellers_name", DROP COLUMN IF EXISTS "_pgroll_new_sellers_zip";

-- [12] 44_add_table_unique_constraint.yaml:1:1: drop the backfill watch on tickets
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-function: a trigger function of this migration
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS "public"."_pgroll_watch_tickets"() CASCADE;

-- [13] 44_add_table_unique_constraint.yaml:1:1: drop the backfill watch's counts on tickets
--     lock: none; catalog only
--     safe despite ban-drop-sequence: the backfill watch's counts: only this migration's trigger and backfill use them
-- squawk-ignore ban-drop-sequence
DROP SEQUENCE IF EXISTS "public"."_pgroll_writes_tickets", "public"."_pgroll_passed_tickets";

-- [14] 44_add_table_unique_constraint.yaml:1:1: drop the backfill marker of tickets
--     lock: ACCESS EXCLUSIVE on tickets; catalog only
--     safe despite ban-drop-column: no client reads this column any more: at complete the old version is gone (its data lives on in the column that replaced it), and on rollback the column was added by this migration
-- squawk-ignore ban-drop-column
ALTER TABLE IF EXISTS "public"."tickets" DROP COLUMN IF EXISTS "_pgroll_needs_backfill", DROP COLUMN IF EXISTS "_pgroll_backfilled_by";

-- (the live executor records steps 1-14 as done in its state schema here, in the same transaction)
COMMIT;
