-- Cost of metadata checksums on many small tables: a 500-table snapshot (sealed at capture), its validation,
-- two restore_snapshot calls (every plan verifies its entry and the snapshot row) and 50 single-table merges.
-- Run in an empty database (psql -X -d DB -f bench/metadata_checksums.sql) with this build and with one
-- before metadata checksums (3374c69), and compare the Time lines.
\timing on
CREATE EXTENSION backupkit;
SELECT format('CREATE TABLE b%s (id int PRIMARY KEY, v text); INSERT INTO b%s SELECT g, md5(g::text) FROM generate_series(1, 20) g;', i, i) FROM generate_series(1, 500) i \gexec
\o /dev/null
SELECT backupkit.snapshot_tables(array_agg(format('b%s', i)::regclass ORDER BY i)) AS sid FROM generate_series(1, 500) i \gset
\o
\echo snapshot 500 tables
SELECT backupkit.snapshot_tables(array_agg(format('b%s', i)::regclass ORDER BY i)) AS sid FROM generate_series(1, 500) i \gset
\echo validate
SELECT (backupkit.validate_snapshot_integrity(:sid))->>'valid';
\echo restore_snapshot replace 500 tables
SELECT length(backupkit.restore_snapshot(:sid)::text) > 0;
\echo restore_snapshot again
SELECT length(backupkit.restore_snapshot(:sid)::text) > 0;
\echo one table merge x50
SELECT count(backupkit.restore_table_from_snapshot(:sid, 'b250', 'merge')) FROM generate_series(1, 50);
