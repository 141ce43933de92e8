-- Every user-facing error path of the foundation functions (snapshot_tables, restore_table_from_snapshot,
-- snapshot_rows, drop_snapshot, snapshot_contents) with its SQLSTATE, and an error raised deep inside a
-- restore (a failing type input in COPY) that rolls the statement back and leaves the backend usable.
\set VERBOSITY default
\set SHOW_CONTEXT never
-- Some messages name the snapshot; the ids this file creates start at a fixed value so the output is stable.
SELECT setval('backupkit.snapshot_id_seq', 7100000, false) IS NOT NULL AS ids_fixed;

CREATE TABLE core_errors_t (id integer PRIMARY KEY, v text);
INSERT INTO core_errors_t SELECT g, 'row ' || g FROM generate_series(1, 5) g;
CREATE TABLE core_errors_nokey (a integer, b text);
INSERT INTO core_errors_nokey VALUES (1, 'one'), (2, 'two');
CREATE TABLE core_errors_other (id integer);
CREATE VIEW core_errors_view AS SELECT * FROM core_errors_t;
CREATE MATERIALIZED VIEW core_errors_matview AS SELECT * FROM core_errors_t;
CREATE SEQUENCE core_errors_seq;
CREATE FOREIGN DATA WRAPPER core_errors_fdw;
CREATE SERVER core_errors_server FOREIGN DATA WRAPPER core_errors_fdw;
CREATE FOREIGN TABLE core_errors_foreign (id integer) SERVER core_errors_server;
CREATE TABLE core_errors_parted (id integer, v text) PARTITION BY RANGE (id);
CREATE TABLE core_errors_part1 PARTITION OF core_errors_parted FOR VALUES FROM (0) TO (100);

-- snapshot_tables: the table list
SELECT backupkit.snapshot_tables(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY[]::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY['core_errors_t', NULL]::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY['core_errors_t', 'core_errors_other', 'core_errors_t']::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY[['core_errors_t'], ['core_errors_other']]::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY['core_errors_view']::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY['core_errors_matview']::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY['core_errors_seq']::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY['core_errors_foreign']::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY['core_errors_part1', 'core_errors_parted']::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY[4000000000::oid::regclass]);
\echo :LAST_ERROR_SQLSTATE

-- snapshot_tables: compression
SELECT backupkit.snapshot_tables(ARRAY['core_errors_t']::regclass[], 'core_errors', 'lz4');
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY['core_errors_t']::regclass[], 'core_errors', 'ZSTD');
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY['core_errors_t']::regclass[], 'core_errors', NULL);
\echo :LAST_ERROR_SQLSTATE
-- None of the failed calls left a snapshot behind.
SELECT count(*) AS snapshots_after_errors FROM backupkit.snapshots WHERE label = 'core_errors';

-- A good snapshot to restore from (ids are fixed above, so the messages below are stable).
SELECT backupkit.snapshot_tables(ARRAY['core_errors_t', 'core_errors_nokey']::regclass[], 'core_errors') AS sid \gset
SELECT :sid = 7100000 AS first_id_as_fixed;

-- restore_table_from_snapshot
SELECT backupkit.restore_table_from_snapshot(NULL, 'core_errors_t');
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.restore_table_from_snapshot(-1, 'core_errors_t');
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.restore_table_from_snapshot(:sid, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.restore_table_from_snapshot(:sid, 'core_errors_other');
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.restore_table_from_snapshot(:sid, 'core_errors_view');
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.restore_table_from_snapshot(:sid, 'core_errors_t', 'upsert');
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.restore_table_from_snapshot(:sid, 'core_errors_t', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.restore_table_from_snapshot(:sid, 'core_errors_t', 'replace', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.restore_table_from_snapshot(:sid, 'core_errors_nokey', 'merge');
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.restore_table_from_snapshot(:sid, 'core_errors_nokey', 'missing');
\echo :LAST_ERROR_SQLSTATE

-- snapshot_rows, snapshot_contents, drop_snapshot: NULL and unknown ids, tables not in the snapshot
SELECT * FROM backupkit.snapshot_rows(NULL, 'core_errors_t');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM backupkit.snapshot_rows(-1, 'core_errors_t');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM backupkit.snapshot_rows(:sid, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM backupkit.snapshot_rows(:sid, 'core_errors_other');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM backupkit.snapshot_contents(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM backupkit.snapshot_contents(-1);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.drop_snapshot(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.drop_snapshot(-1);
\echo :LAST_ERROR_SQLSTATE

-- A snapshot belongs to the role that created it (and its members and superusers).
CREATE ROLE core_errors_stranger;
GRANT USAGE ON SCHEMA backupkit TO core_errors_stranger;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON core_errors_t TO core_errors_stranger;
SET ROLE core_errors_stranger;
SELECT count(*) AS visible_snapshots FROM backupkit.snapshots WHERE id = :sid;
SELECT * FROM backupkit.snapshot_contents(:sid);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM backupkit.snapshot_rows(:sid, 'core_errors_t');
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.restore_table_from_snapshot(:sid, 'core_errors_t');
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.drop_snapshot(:sid);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.snapshot_tables(ARRAY['core_errors_nokey']::regclass[]);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- An error deep inside a restore: the snapshot holds text that the column, now integer, cannot read.
CREATE TABLE core_errors_cast (id integer PRIMARY KEY, n text);
INSERT INTO core_errors_cast VALUES (1, '10'), (2, 'eleven'), (3, '12');
SELECT backupkit.snapshot_tables(ARRAY['core_errors_cast']::regclass[], 'core_errors') AS cast_sid \gset
DELETE FROM core_errors_cast WHERE id = 2;
ALTER TABLE core_errors_cast ALTER COLUMN n TYPE integer USING n::integer;
INSERT INTO core_errors_cast VALUES (4, 13);
SELECT count(*) AS rows_before, md5(string_agg(c::text, ',' ORDER BY c::text)) AS md5_before
  FROM core_errors_cast c \gset
SELECT backupkit.restore_table_from_snapshot(:cast_sid, 'core_errors_cast');
\echo :LAST_ERROR_SQLSTATE
-- Same thing inside an explicit transaction: it is aborted, and rolls back as a whole.
BEGIN;
DELETE FROM core_errors_cast WHERE id = 1;
SELECT backupkit.restore_table_from_snapshot(:cast_sid, 'core_errors_cast');
SELECT 1 AS in_aborted_transaction;
ROLLBACK;
SELECT count(*) = :rows_before AS same_row_count,
       md5(string_agg(c::text, ',' ORDER BY c::text)) = :'md5_before' AS same_contents
  FROM core_errors_cast c;
SELECT 1 AS backend_still_works;
-- A successful restore after the failure: the snapshot and the table are still usable.
SELECT (backupkit.restore_table_from_snapshot(:sid, 'core_errors_t')->>'rows_in_snapshot')::bigint AS restored_rows;

-- Clean up.
SELECT backupkit.drop_snapshot(:sid) AS dropped, backupkit.drop_snapshot(:cast_sid) AS dropped_cast;
SELECT count(*) AS snapshots_left FROM backupkit.snapshots WHERE label = 'core_errors';
DROP VIEW core_errors_view;
DROP MATERIALIZED VIEW core_errors_matview;
DROP TABLE core_errors_t, core_errors_nokey, core_errors_other, core_errors_cast, core_errors_parted;
DROP SEQUENCE core_errors_seq;
DROP FOREIGN TABLE core_errors_foreign;
DROP SERVER core_errors_server;
DROP FOREIGN DATA WRAPPER core_errors_fdw;
REVOKE USAGE ON SCHEMA backupkit FROM core_errors_stranger;
DROP ROLE core_errors_stranger;
