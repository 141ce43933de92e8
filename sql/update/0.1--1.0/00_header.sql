-- backupkit upgrade script from 0.1 to 1.0, assembled by the Makefile from sql/update/0.1--1.0/*.sql in name
-- order. Each change to sql/install since 0.1 (commit 3374c69) adds its own file here (NN_topic.sql) holding
-- the same change as DDL on an installed 0.1 (a function created here carries the same SET search_path =
-- pg_catalog, pg_temp as in sql/install): the result must equal a fresh install of 1.0, which
-- test/tap/090_extension_update.sh checks object by object.
\echo Use "ALTER EXTENSION backupkit UPDATE TO '1.0'" to load this file. \quit
