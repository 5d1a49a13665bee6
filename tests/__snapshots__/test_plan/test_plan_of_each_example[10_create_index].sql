-- pgroll-dsl 0.1.0 plan for migration 10_create_index
-- target schema: public; new version schema: public_10_create_index
-- previous version schema: public_09_drop_column
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

-- ==== start (7 steps) ====

-- [1] 10_create_index.yaml:3:7: build index idx_fruits_name
--     lock: SHARE UPDATE EXCLUSIVE on fruits; builds an index concurrently
--     runs outside a transaction block
CREATE INDEX CONCURRENTLY "idx_fruits_name" ON "public"."fruits" ("name");

-- steps 2-7 run in one transaction: clients see all of them or none
BEGIN;

-- [2] 10_create_index.yaml:1:1: create version schema public_10_create_index
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_10_create_index";

-- [3] 10_create_index.yaml:1:1: view bills of version public_10_create_index
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_10_create_index"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [4] 10_create_index.yaml:1:1: view clients of version public_10_create_index
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_10_create_index"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [5] 10_create_index.yaml:1:1: view fruits of version public_10_create_index
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_10_create_index"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."fruits";

-- [6] 10_create_index.yaml:1:1: view sellers of version public_10_create_index
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_10_create_index"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [7] 10_create_index.yaml:1:1: view users of version public_10_create_index
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_10_create_index"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- (the live executor records steps 2-7 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== complete (1 step) ====

-- [1] 10_create_index.yaml:1:1: drop the previous version schema public_09_drop_column
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DROP SCHEMA IF EXISTS "public_09_drop_column" CASCADE;

-- ==== rollback (2 steps) ====

-- [1] 10_create_index.yaml:3:7: drop index idx_fruits_name
--     lock: SHARE UPDATE EXCLUSIVE on fruits; catalog only
--     runs outside a transaction block
DROP INDEX CONCURRENTLY IF EXISTS "public"."idx_fruits_name";

-- [2] 10_create_index.yaml:1:1: drop version schema public_10_create_index
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DROP SCHEMA IF EXISTS "public_10_create_index" CASCADE;
