"""The SQL of the state schema, compatible with pgroll's (spec §9): tables and functions.

Every occurrence of ``placeholder`` is replaced by the quoted state schema name, as pgroll's
``init.sql`` does, so one text serves any ``--pgroll-schema``.
"""

from __future__ import annotations

TABLES = """
CREATE SCHEMA IF NOT EXISTS placeholder;

CREATE TABLE IF NOT EXISTS placeholder.migrations (
    schema NAME NOT NULL,
    name TEXT NOT NULL,
    migration JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    parent TEXT,
    done BOOLEAN NOT NULL DEFAULT false,
    resulting_schema JSONB NOT NULL DEFAULT '{}'::jsonb,
    migration_type VARCHAR(32) DEFAULT 'pgroll'
        CONSTRAINT migration_type_check
        CHECK (migration_type IN ('pgroll', 'inferred', 'baseline')),
    PRIMARY KEY (schema, name),
    FOREIGN KEY (schema, parent) REFERENCES placeholder.migrations (schema, name)
);

CREATE UNIQUE INDEX IF NOT EXISTS only_one_active
    ON placeholder.migrations (schema, name, done) WHERE done = false;
CREATE UNIQUE INDEX IF NOT EXISTS only_first_migration_without_parent
    ON placeholder.migrations (schema) WHERE parent IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS history_is_linear ON placeholder.migrations (schema, parent);

CREATE TABLE IF NOT EXISTS placeholder.pgroll_version (
    version TEXT NOT NULL PRIMARY KEY,
    initialized_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- pgroll-dsl's own bookkeeping: the plan a migration was started with, so that complete and
-- rollback run exactly the steps that were reviewed and started (pgroll ignores this table).
CREATE TABLE IF NOT EXISTS placeholder.pgroll_dsl_plans (
    schema NAME NOT NULL,
    name TEXT NOT NULL,
    plan JSONB NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (schema, name)
);
-- How many start steps have run: an interrupted start resumes after them.
ALTER TABLE placeholder.pgroll_dsl_plans
    ADD COLUMN IF NOT EXISTS start_steps_done INTEGER NOT NULL DEFAULT 0;
-- How many complete and rollback steps have run (recorded in the transaction that ran them):
-- an interrupted complete or rollback resumes after them, and neither runs after the other
-- has begun.
ALTER TABLE placeholder.pgroll_dsl_plans
    ADD COLUMN IF NOT EXISTS complete_steps_done INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS rollback_steps_done INTEGER NOT NULL DEFAULT 0;
"""

FUNCTIONS = """
CREATE OR REPLACE FUNCTION placeholder.is_active_migration_period(schemaname NAME)
RETURNS boolean AS $$
    SELECT EXISTS (SELECT 1 FROM placeholder.migrations WHERE schema = schemaname AND done = false)
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION placeholder.latest_migration(schemaname NAME)
RETURNS text SECURITY DEFINER SET search_path = placeholder, pg_catalog, pg_temp AS $$
    SELECT p.name FROM placeholder.migrations p
    WHERE NOT EXISTS (
        SELECT 1 FROM placeholder.migrations c WHERE schema = schemaname AND c.parent = p.name
    ) AND schema = schemaname
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION placeholder.previous_migration(schemaname NAME)
RETURNS text AS $$
    SELECT parent FROM placeholder.migrations
    WHERE schema = schemaname AND name = placeholder.latest_migration(schemaname)
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION placeholder.find_version_schema(
    p_schema_name NAME, p_depth INTEGER DEFAULT 0)
RETURNS text SECURITY DEFINER SET search_path = placeholder, pg_catalog, pg_temp AS $$
    WITH RECURSIVE ancestors AS (
        SELECT name, schema, parent, 0 AS depth,
               COALESCE(migration ->> 'version_schema', name) AS version_schema
        FROM placeholder.migrations
        WHERE name = placeholder.latest_migration(p_schema_name) AND schema = p_schema_name
        UNION ALL
        SELECT m.name, m.schema, m.parent, a.depth + 1,
               COALESCE(m.migration ->> 'version_schema', m.name)
        FROM placeholder.migrations m
        JOIN ancestors a ON m.name = a.parent AND m.schema = a.schema
    )
    SELECT a.version_schema FROM ancestors a
    WHERE EXISTS (  -- pg_namespace: information_schema shows only the schemas a role may use
        SELECT 1 FROM pg_catalog.pg_namespace s
        WHERE s.nspname = p_schema_name || '_' || a.version_schema
    )
    ORDER BY a.depth ASC OFFSET p_depth LIMIT 1
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION placeholder.latest_version(schemaname NAME)
RETURNS text AS $$ SELECT placeholder.find_version_schema(schemaname, 0) $$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION placeholder.previous_version(schemaname NAME)
RETURNS text AS $$ SELECT placeholder.find_version_schema(schemaname, 1) $$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION placeholder.read_schema(schemaname text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'name', schemaname,
        'tables', COALESCE((
            SELECT jsonb_object_agg(t.relname, jsonb_build_object(
                'name', t.relname,
                'oid', t.oid::text,
                'comment', obj_description(t.oid, 'pg_class'),
                'columns', COALESCE((
                    SELECT jsonb_object_agg(a.attname, jsonb_build_object(
                        'name', a.attname,
                        'type', replace(replace(format_type(a.atttypid, a.atttypmod),
                                'character varying', 'varchar'),
                                'timestamp with time zone', 'timestamptz'),
                        'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin,
                            d.adrelid) END,
                        'nullable', NOT a.attnotnull,
                        'unique', EXISTS (
                            SELECT 1 FROM pg_index i
                            WHERE i.indrelid = t.oid AND i.indisunique AND i.indnkeyatts = 1
                              AND i.indkey[0] = a.attnum),
                        'comment', col_description(t.oid, a.attnum)))
                    FROM pg_attribute a
                    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                    WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped), '{}'::jsonb),
                'primaryKey', COALESCE((
                    SELECT jsonb_agg(a.attname ORDER BY k.ord)
                    FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attnum = k.attnum
                    WHERE i.indrelid = t.oid AND i.indisprimary AND a.attrelid = t.oid),
                        '[]'::jsonb),
                'indexes', COALESCE((
                    SELECT jsonb_object_agg(ic.relname, jsonb_build_object(
                        'name', ic.relname, 'unique', i.indisunique,
                        'method', am.amname, 'definition', pg_get_indexdef(i.indexrelid),
                        'predicate', pg_get_expr(i.indpred, i.indrelid)))
                    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                    JOIN pg_am am ON am.oid = ic.relam
                    WHERE i.indrelid = t.oid), '{}'::jsonb),
                'checkConstraints', COALESCE((
                    SELECT jsonb_object_agg(c.conname, jsonb_build_object(
                        'name', c.conname, 'definition', pg_get_constraintdef(c.oid),
                        'noInherit', c.connoinherit))
                    FROM pg_constraint c WHERE c.conrelid = t.oid AND c.contype = 'c'),
                        '{}'::jsonb),
                'uniqueConstraints', COALESCE((
                    SELECT jsonb_object_agg(c.conname, jsonb_build_object('name', c.conname))
                    FROM pg_constraint c WHERE c.conrelid = t.oid AND c.contype = 'u'),
                        '{}'::jsonb),
                'foreignKeys', COALESCE((
                    SELECT jsonb_object_agg(c.conname, jsonb_build_object(
                        'name', c.conname, 'referencedTable', r.relname,
                        'definition', pg_get_constraintdef(c.oid)))
                    FROM pg_constraint c JOIN pg_class r ON r.oid = c.confrelid
                    WHERE c.conrelid = t.oid AND c.contype = 'f'), '{}'::jsonb)
            ))
            FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = schemaname AND t.relkind IN ('r', 'p')), '{}'::jsonb)
    ))
$$;
"""

EVENT_TRIGGERS = """
CREATE OR REPLACE FUNCTION placeholder.raw_migration() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = placeholder, pg_catalog, pg_temp AS $$
DECLARE
    schemaname TEXT;
    latest TEXT;
BEGIN
    IF current_setting('pgroll.no_inferred_migrations', TRUE) = 'TRUE' THEN
        RETURN;
    END IF;
    IF tg_event = 'sql_drop' THEN
        SELECT schema_name INTO schemaname FROM pg_event_trigger_dropped_objects()
        WHERE schema_name IS NOT NULL LIMIT 1;
    ELSE
        SELECT schema_name INTO schemaname FROM pg_event_trigger_ddl_commands()
        WHERE schema_name IS NOT NULL LIMIT 1;
    END IF;
    IF schemaname IS NULL OR placeholder.is_active_migration_period(schemaname) THEN
        RETURN;
    END IF;
    SELECT name INTO latest FROM placeholder.migrations
    WHERE schema = schemaname AND migration_type != 'inferred'
    ORDER BY created_at DESC LIMIT 1;
    INSERT INTO placeholder.migrations (schema, name, migration, resulting_schema, done,
                                        parent, migration_type, created_at, updated_at)
    VALUES (schemaname,
            COALESCE(latest, '00000_initial') || '_'
                || to_char(clock_timestamp(), 'YYYYMMDDHH24MISSUS'),
            jsonb_build_object('version_schema', 'sql_' || substring(md5(random()::text), 0, 8),
                               'operations', jsonb_build_array(
                                   jsonb_build_object('sql', jsonb_build_object('up',
                                       current_query())))),
            placeholder.read_schema(schemaname), true,
            placeholder.latest_migration(schemaname), 'inferred',
            statement_timestamp(), statement_timestamp());
END;
$$;

DROP EVENT TRIGGER IF EXISTS pg_roll_handle_ddl;
CREATE EVENT TRIGGER pg_roll_handle_ddl ON ddl_command_end
    EXECUTE FUNCTION placeholder.raw_migration();
DROP EVENT TRIGGER IF EXISTS pg_roll_handle_drop;
CREATE EVENT TRIGGER pg_roll_handle_drop ON sql_drop
    EXECUTE FUNCTION placeholder.raw_migration();
"""
