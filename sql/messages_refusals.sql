-- Tables backupkit refuses, with the message of each operation (whole messages per operation: a restore is
-- told about restoring, a diff about comparing): foreign tables, views, backupkit's own storage and the system
-- catalogs, for restore, diff, the restoration order, table_definition and snapshot_rows. (snapshot_tables and
-- the other cases are in core_errors, ordering_errors and reliability_errors.)
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS backupkit;
RESET client_min_messages;
SELECT setval('backupkit.snapshot_id_seq', 7470000, false) IS NOT NULL AS ids_fixed;
CREATE SCHEMA mf;
CREATE TABLE mf.t (id integer PRIMARY KEY, v text);
INSERT INTO mf.t VALUES (1, 'one');
CREATE VIEW mf.v AS SELECT * FROM mf.t;
CREATE FOREIGN DATA WRAPPER messages_refusals_fdw;
CREATE SERVER messages_refusals_server FOREIGN DATA WRAPPER messages_refusals_fdw;
CREATE FOREIGN TABLE mf.f (id integer, v text) SERVER messages_refusals_server;
SELECT backupkit.snapshot_tables('{mf.t}') AS sid \gset

-- a foreign table
SELECT backupkit.restore_table_from_snapshot(:sid, 'mf.f');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM backupkit.diff(:sid, 'mf.f');
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.get_table_restoration_order('{mf.f}'::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.table_definition('mf.f');
\echo :LAST_ERROR_SQLSTATE
-- a view
SELECT * FROM backupkit.diff(:sid, 'mf.v');
\echo :LAST_ERROR_SQLSTATE
-- backupkit's own storage
SELECT * FROM backupkit.diff(:sid, 'backupkit.snapshot');
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.get_table_restoration_order('{backupkit.snapshot_table}'::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.table_definition('backupkit.snapshot_chunk');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM backupkit.snapshot_rows(:sid, 'backupkit.snapshot');
\echo :LAST_ERROR_SQLSTATE
-- a system catalog
SELECT backupkit.table_definition('pg_catalog.pg_class');
\echo :LAST_ERROR_SQLSTATE

SET client_min_messages = warning;
SELECT backupkit.drop_snapshot(:sid);
DROP SCHEMA mf CASCADE;
DROP SERVER messages_refusals_server;
DROP FOREIGN DATA WRAPPER messages_refusals_fdw;
