-- pgroll-dsl 0.1.0 plan for migration 32_sql_on_complete
-- target schema: public; new version schema: public_32_sql_on_complete
-- previous version schema: public_31_unset_not_null
-- catalog: empty
-- Generated: review it, do not edit it. Each phase runs with psql -v ON_ERROR_STOP=1.
-- safe despite require-statement-timeout: index builds, VALIDATE and the batched backfill legitimately run long; every lock wait is bounded by lock_timeout
-- safe despite prefer-robust-stmts: a phase is not re-run blindly: a failed start is undone by rollback, whose steps all tolerate a partial start
-- safe despite prefer-timestamp-tz: the type is the author's choice
-- squawk-ignore-file require-statement-timeout, prefer-robust-stmts, prefer-timestamp-tz
SET standard_conforming_strings = on;
SET search_path TO "public";
SET lock_timeout = '500ms';

-- ==== start (12 steps) ====

-- [1] 32_sql_on_complete.yaml:1:1: create version schema public_32_sql_on_complete
--     lock: none; catalog only
CREATE SCHEMA IF NOT EXISTS "public_32_sql_on_complete";

-- [2] 32_sql_on_complete.yaml:1:1: view bills of version public_32_sql_on_complete
--     lock: ACCESS SHARE on bills; catalog only
CREATE VIEW "public_32_sql_on_complete"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";

-- [3] 32_sql_on_complete.yaml:1:1: view clients of version public_32_sql_on_complete
--     lock: ACCESS SHARE on clients; catalog only
CREATE VIEW "public_32_sql_on_complete"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";

-- [4] 32_sql_on_complete.yaml:1:1: view employees of version public_32_sql_on_complete
--     lock: ACCESS SHARE on employees; catalog only
CREATE VIEW "public_32_sql_on_complete"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "job_title" AS "job_title" FROM "public"."employees";

-- [5] 32_sql_on_complete.yaml:1:1: view fruits of version public_32_sql_on_complete
--     lock: ACCESS SHARE on fruits; catalog only
CREATE VIEW "public_32_sql_on_complete"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."fruits";

-- [6] 32_sql_on_complete.yaml:1:1: view items of version public_32_sql_on_complete
--     lock: ACCESS SHARE on items; catalog only
CREATE VIEW "public_32_sql_on_complete"."items" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "created_at" AS "created_at" FROM "public"."items";

-- [7] 32_sql_on_complete.yaml:1:1: view orders of version public_32_sql_on_complete
--     lock: ACCESS SHARE on orders; catalog only
CREATE VIEW "public_32_sql_on_complete"."orders" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "quantity" AS "quantity" FROM "public"."orders";

-- [8] 32_sql_on_complete.yaml:1:1: view people of version public_32_sql_on_complete
--     lock: ACCESS SHARE on people; catalog only
CREATE VIEW "public_32_sql_on_complete"."people" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "age" AS "age", "description" AS "description" FROM "public"."people";

-- [9] 32_sql_on_complete.yaml:1:1: view posts of version public_32_sql_on_complete
--     lock: ACCESS SHARE on posts; catalog only
CREATE VIEW "public_32_sql_on_complete"."posts" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "title" AS "title" FROM "public"."posts";

-- [10] 32_sql_on_complete.yaml:1:1: view reviews of version public_32_sql_on_complete
--     lock: ACCESS SHARE on reviews; catalog only
CREATE VIEW "public_32_sql_on_complete"."reviews" WITH (security_invoker = true) AS SELECT "id" AS "id", "username" AS "username", "product" AS "product", "rating" AS "rating", "review" AS "review" FROM "public"."reviews";

-- [11] 32_sql_on_complete.yaml:1:1: view sellers of version public_32_sql_on_complete
--     lock: ACCESS SHARE on sellers; catalog only
CREATE VIEW "public_32_sql_on_complete"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";

-- [12] 32_sql_on_complete.yaml:1:1: view users of version public_32_sql_on_complete
--     lock: ACCESS SHARE on users; catalog only
CREATE VIEW "public_32_sql_on_complete"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";

-- ==== complete (3 steps) ====

-- steps 1-3 run in one transaction: clients see all of them or none
BEGIN;

-- [1] 32_sql_on_complete.yaml:1:1: drop the previous version schema public_31_unset_not_null
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DROP SCHEMA IF EXISTS "public_31_unset_not_null" CASCADE;

-- [2] 32_sql_on_complete.yaml:3:7: raw SQL (up)
--     lock: ACCESS EXCLUSIVE; raw SQL: not analysed
--     the author's SQL, run as written
ALTER TABLE people ADD COLUMN birth_date timestamp;

-- [3] 32_sql_on_complete.yaml:1:1: rebuild the views of public_32_sql_on_complete after the raw SQL
--     lock: ACCESS SHARE; catalog only
DO $pgroll$
BEGIN
  DROP SCHEMA IF EXISTS "public_32_sql_on_complete" CASCADE;
  CREATE SCHEMA IF NOT EXISTS "public_32_sql_on_complete";
  CREATE VIEW "public_32_sql_on_complete"."bills" WITH (security_invoker = true) AS SELECT "id" AS "id", "date" AS "date", "quantity" AS "quantity" FROM "public"."bills";
  CREATE VIEW "public_32_sql_on_complete"."clients" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "credit_card" AS "credit_card" FROM "public"."clients";
  CREATE VIEW "public_32_sql_on_complete"."employees" WITH (security_invoker = true) AS SELECT "id" AS "id", "job_title" AS "job_title" FROM "public"."employees";
  CREATE VIEW "public_32_sql_on_complete"."fruits" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name" FROM "public"."fruits";
  CREATE VIEW "public_32_sql_on_complete"."items" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "price" AS "price", "created_at" AS "created_at" FROM "public"."items";
  CREATE VIEW "public_32_sql_on_complete"."orders" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "quantity" AS "quantity" FROM "public"."orders";
  CREATE VIEW "public_32_sql_on_complete"."people" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "age" AS "age", "description" AS "description", "birth_date" AS "birth_date" FROM "public"."people";
  CREATE VIEW "public_32_sql_on_complete"."posts" WITH (security_invoker = true) AS SELECT "id" AS "id", "user_id" AS "user_id", "title" AS "title" FROM "public"."posts";
  CREATE VIEW "public_32_sql_on_complete"."reviews" WITH (security_invoker = true) AS SELECT "id" AS "id", "username" AS "username", "product" AS "product", "rating" AS "rating", "review" AS "review" FROM "public"."reviews";
  CREATE VIEW "public_32_sql_on_complete"."sellers" WITH (security_invoker = true) AS SELECT "name" AS "name", "zip" AS "zip", "description" AS "description" FROM "public"."sellers";
  CREATE VIEW "public_32_sql_on_complete"."users" WITH (security_invoker = true) AS SELECT "id" AS "id", "name" AS "name", "description" AS "description" FROM "public"."users";
END
$pgroll$;

-- (the live executor records steps 1-3 as done in its state schema here, in the same transaction)
COMMIT;

-- ==== rollback (1 step) ====

-- [1] 32_sql_on_complete.yaml:1:1: drop version schema public_32_sql_on_complete
--     lock: none; catalog only
--     safe despite ban-drop-schema: a version schema holds only views, no data
-- squawk-ignore ban-drop-schema
DROP SCHEMA IF EXISTS "public_32_sql_on_complete" CASCADE;
