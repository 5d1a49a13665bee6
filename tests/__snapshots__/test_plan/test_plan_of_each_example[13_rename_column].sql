-- pgroll-dsl 0.1.0 plan for migration 13_rename_column
-- target schema: public; new version schema: public_13_rename_column
-- previous version schema: public_12_create_employees_table
-- catalog: empty
-- Generated: review it, do not edit it. Each phase runs with psql -v ON_ERROR_STOP=1.
-- safe despite require-statement-timeout: index builds, VALIDATE and the batched backfill legitimately run long; every lock wait is bounded by lock_timeout
-- safe despite prefer-robust-stmts: a phase is not re-run blindly: a failed start is undone by rollback, whose steps all tolerate a partial start
-- squawk-ignore-file require-statement-timeout, prefer-robust-stmts
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

-- ==== start (8 steps) ====

-- steps 1-8 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 13_rename_column.yaml:1:1: create version schema public_13_rename_column
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_13_rename_column";

-- [2] 13_rename_column.yaml:1:1: view bills of version public_13_rename_column
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_13_rename_column"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [3] 13_rename_column.yaml:1:1: view clients of version public_13_rename_column
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_13_rename_column"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [4] 13_rename_column.yaml:1:1: view employees of version public_13_rename_column
--     lock: ACCESS SHARE on employees; catalog only
CREATE VIEW "public_13_rename_column"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "role" AS "job_title" FROM "public"."employees";

-- [5] 13_rename_column.yaml:1:1: a column default of view employees
--     lock: none on employees; catalog only
ALTER VIEW "public_13_rename_column"."employees" ALTER COLUMN "id" SET DEFAULT nextval('employees_id_seq'::regclass);

-- [6] 13_rename_column.yaml:1:1: view fruits of version public_13_rename_column
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_13_rename_column"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."fruits";

-- [7] 13_rename_column.yaml:1:1: view sellers of version public_13_rename_column
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_13_rename_column"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [8] 13_rename_column.yaml:1:1: view users of version public_13_rename_column
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_13_rename_column"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- (the live executor records steps 1-8 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== complete (3 steps) ====

-- steps 1-3 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 13_rename_column.yaml:1:1: drop the previous version schema public_12_create_employees_table
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DROP SCHEMA IF EXISTS "public_12_create_employees_table" CASCADE;

-- [2] 13_rename_column.yaml:1:1: lock employees for the rest of this transaction
--     lock: ACCESS EXCLUSIVE on employees; catalog only
DO $pgroll$
BEGIN
  IF pg_catalog.to_regclass('"public"."employees"') IS NOT NULL THEN
    LOCK TABLE "public"."employees" IN ACCESS EXCLUSIVE MODE;
  END IF;
END
$pgroll$;

-- [3] 13_rename_column.yaml:3:7: rename column role to job_title
--     lock: ACCESS EXCLUSIVE on employees; catalog only
--     safe despite renaming-column: clients use version-schema views, which follow the rename
-- squawk-ignore renaming-column
ALTER TABLE IF EXISTS "public"."employees" RENAME COLUMN "role" TO "job_title";

-- (the live executor records steps 1-3 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== rollback (1 step) ====

-- [1] 13_rename_column.yaml:1:1: drop version schema public_13_rename_column
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DROP SCHEMA IF EXISTS "public_13_rename_column" CASCADE;
