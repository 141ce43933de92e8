-- Every user-facing error of the ordering functions (get_table_restoration_order for tables and for a
-- snapshot, restoration_plan) with its SQLSTATE.
\set VERBOSITY default
\set SHOW_CONTEXT never
-- Some messages name the snapshot; the ids this file creates start at a fixed value so the output is stable.
SELECT setval('backupkit.snapshot_id_seq', 7300000, false) IS NOT NULL AS ids_fixed;

CREATE SCHEMA ordering_errors;
CREATE TABLE ordering_errors.parent (id integer PRIMARY KEY);
CREATE TABLE ordering_errors.child (id integer PRIMARY KEY, parent_id integer REFERENCES ordering_errors.parent);
CREATE TABLE ordering_errors.grandchild (id integer PRIMARY KEY, child_id integer REFERENCES ordering_errors.child);
CREATE VIEW ordering_errors.v AS SELECT * FROM ordering_errors.parent;
CREATE SEQUENCE ordering_errors.seq;

-- Arguments of the regclass[] forms (the same checks for both functions).
SELECT backupkit.get_table_restoration_order(NULL::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM backupkit.restoration_plan(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.get_table_restoration_order(ARRAY[]::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM backupkit.restoration_plan(ARRAY[]::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.get_table_restoration_order(ARRAY['ordering_errors.parent', NULL]::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.get_table_restoration_order('{{ordering_errors.parent},{ordering_errors.child}}'::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.get_table_restoration_order(ARRAY['ordering_errors.parent', 'ordering_errors.child',
                                                   'ordering_errors.parent']::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM backupkit.restoration_plan(ARRAY['ordering_errors.child', 'ordering_errors.child']::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.get_table_restoration_order(ARRAY[4000000000::oid::regclass]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.get_table_restoration_order(ARRAY['ordering_errors.v']::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM backupkit.restoration_plan(ARRAY['ordering_errors.parent', 'ordering_errors.seq']::regclass[]);
\echo :LAST_ERROR_SQLSTATE

-- The snapshot form.
SELECT backupkit.get_table_restoration_order(NULL::bigint);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.get_table_restoration_order(-1);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY['ordering_errors.grandchild', 'ordering_errors.child',
                                       'ordering_errors.parent']::regclass[]) = 7300000 AS snapshot_created;
SELECT backupkit.get_table_restoration_order(7300000);
DROP TABLE ordering_errors.grandchild;
SELECT backupkit.get_table_restoration_order(7300000);
\echo :LAST_ERROR_SQLSTATE
DROP TABLE ordering_errors.child;
SELECT backupkit.get_table_restoration_order(7300000);
\echo :LAST_ERROR_SQLSTATE
-- A table re-created under its captured name is found by that name.
CREATE TABLE ordering_errors.child (id integer PRIMARY KEY, parent_id integer);
CREATE TABLE ordering_errors.grandchild (id integer PRIMARY KEY);
SELECT backupkit.get_table_restoration_order(7300000);

-- A role that did not create the snapshot may not read its foreign-key graph.
CREATE ROLE ordering_errors_other;
GRANT USAGE ON SCHEMA backupkit TO ordering_errors_other;
SET ROLE ordering_errors_other;
SELECT backupkit.get_table_restoration_order(7300000);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

SELECT backupkit.drop_snapshot(7300000);
SET client_min_messages = warning;
DROP SCHEMA ordering_errors CASCADE;
REVOKE USAGE ON SCHEMA backupkit FROM ordering_errors_other;
DROP ROLE ordering_errors_other;
RESET client_min_messages;
