-- Messages about stored snapshots that no other regression test shows: a pinned snapshot cannot be dropped,
-- chunks stored in another order than captured, and a snapshot of a storage format newer than this library.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS backupkit;
RESET client_min_messages;
-- Messages name the snapshot; the ids this file creates start at a fixed value so the output is stable.
SELECT setval('backupkit.snapshot_id_seq', 7450000, false) IS NOT NULL AS ids_fixed;
CREATE SCHEMA ms;
CREATE TABLE ms.t (id integer PRIMARY KEY, v text);
INSERT INTO ms.t SELECT g, 'value ' || g FROM generate_series(1, 30) g;

-- A pinned snapshot is kept until it is unpinned.
SELECT backupkit.snapshot_tables('{ms.t}', 'pinned') AS pinned_sid \gset
SELECT backupkit.pin_snapshot(:pinned_sid);
SELECT backupkit.drop_snapshot(:pinned_sid);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.pin_snapshot(:pinned_sid, false);
SELECT backupkit.drop_snapshot(:pinned_sid);

-- Two chunks swapped: each is intact, but the table's checksum over its chunks in order is not.
SET backupkit.chunk_rows = 10;
SELECT backupkit.snapshot_tables('{ms.t}', 'swapped') AS swapped_sid \gset
RESET backupkit.chunk_rows;
UPDATE backupkit.snapshot_chunk SET chunk_no = 100 WHERE snapshot_id = :swapped_sid AND chunk_no = 0;
UPDATE backupkit.snapshot_chunk SET chunk_no = 0 WHERE snapshot_id = :swapped_sid AND chunk_no = 1;
UPDATE backupkit.snapshot_chunk SET chunk_no = 1 WHERE snapshot_id = :swapped_sid AND chunk_no = 100;
SELECT count(*) FROM backupkit.snapshot_rows(:swapped_sid, 'ms.t');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM ms.t WHERE id > 20;
SELECT backupkit.restore_table_from_snapshot(:swapped_sid, 'ms.t');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows_left_alone FROM ms.t;

-- A snapshot written by a later version of backupkit, in a storage format this library cannot read.
SELECT backupkit.snapshot_tables('{ms.t}', 'future') AS future_sid \gset
UPDATE backupkit.snapshot SET format_version = format_version + 1 WHERE snapshot_id = :future_sid;
SELECT * FROM backupkit.snapshot_contents(:future_sid);
\echo :LAST_ERROR_SQLSTATE
UPDATE backupkit.snapshot SET format_version = format_version - 1 WHERE snapshot_id = :future_sid;

SET client_min_messages = warning;
SELECT count(backupkit.drop_snapshot(id)) AS snapshots_dropped FROM backupkit.snapshots WHERE id >= 7450000 AND id < 7500000;
DROP SCHEMA ms CASCADE;
