-- merge and missing skip rows still stored in the tuple they were captured from (src/pg/restore/unchanged_rows.hpp).
-- The proof rests on committed history, so this file commits and cleans up after itself. Every case checks
-- the whole table against the snapshot, and the cases that must not take the shortcut check that they did not.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bk_inplace CASCADE;
CREATE SCHEMA bk_inplace;
SET search_path = bk_inplace, public;
SET backupkit.chunk_rows = 300; -- several chunks per table

SELECT plan(44);

CREATE FUNCTION fp(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE format('SELECT md5(coalesce(string_agg(x::text, %L ORDER BY x::text), %L)) FROM (%s) x', ',', '', q) INTO r;
    RETURN r;
END $$;
CREATE FUNCTION make_table() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DROP TABLE IF EXISTS bk_inplace.u;
    CREATE TABLE bk_inplace.u (id int PRIMARY KEY, v int, t text, pad text);
    INSERT INTO bk_inplace.u SELECT i, i, 'row ' || i, repeat('x', i % 50) FROM generate_series(1, 2000) i;
END $$;
CREATE FUNCTION take() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    -- Dynamic: a cached plan would keep the oid of the table make_table() dropped.
    RETURN backupkit.snapshot_tables(ARRAY[to_regclass('bk_inplace.u')], 'inplace');
END $$;
CREATE FUNCTION merge(s bigint, m text DEFAULT 'merge') RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    RETURN backupkit.restore_table_from_snapshot(s, to_regclass('bk_inplace.u'), m);
END $$;

-- 1. The capture records where rows lay.
SELECT make_table() \gset
VACUUM (FREEZE) u; -- frozen tuples keep their original xmin and still count as captured
SELECT take() AS s \gset
SELECT fp('SELECT * FROM bk_inplace.u') AS captured \gset
SELECT is((SELECT capture_relfilenode FROM backupkit.snapshot_table WHERE snapshot_id = :s),
          pg_relation_filenode('u'), 'the capture records the heap it read');
SELECT is((SELECT count(*) FROM backupkit.snapshot_chunk WHERE snapshot_id = :s AND row_tids IS NOT NULL),
          (SELECT count(*) FROM backupkit.snapshot_chunk WHERE snapshot_id = :s), 'every chunk holds its rows'' tuple ids');
SELECT cmp_ok((SELECT sum(length(row_tids)) FROM backupkit.snapshot_chunk WHERE snapshot_id = :s), '<', 2000::bigint,
              'tuple ids of scan-ordered rows take a few bytes per page, not per row');

-- 2. An unchanged table: nothing is read, compared or written.
SELECT merge(:s) AS r \gset
SELECT is((:'r'::jsonb->>'unchanged_in_place')::int, 2000, 'merge of an unchanged table proves every row in place');
SELECT is((:'r'::jsonb->>'updated')::int + (:'r'::jsonb->>'inserted')::int, 0, 'and writes nothing');

-- 3. The bad bulk change: updates (one to identical values), deletes, inserts of new keys.
UPDATE u SET v = -v WHERE id % 10 = 0;           -- 200 rows
UPDATE u SET v = v WHERE id = 7;                 -- a new tuple with the same values
DELETE FROM u WHERE id % 20 = 5;                 -- 100 rows
INSERT INTO u SELECT i, i, 'new', '' FROM generate_series(2001, 2050) i;
SELECT backupkit.restore_table_from_snapshot(:s, 'bk_inplace.u', 'merge', dry_run => true) AS dry \gset
SELECT merge(:s) AS r \gset
SELECT is(:'dry'::jsonb - 'duration_ms' - 'dry_run', :'r'::jsonb - 'duration_ms' - 'dry_run',
          'a dry run reports what the merge then does');
SELECT is((:'r'::jsonb->>'updated')::int, 200, 'merge updates exactly the changed rows');
SELECT is((:'r'::jsonb->>'inserted')::int, 100, 'and re-inserts exactly the deleted ones');
SELECT is((:'r'::jsonb->>'unchanged')::int, 1700, 'the rest is unchanged');
SELECT is((:'r'::jsonb->>'unchanged_in_place')::int, 1699, 'all of it proven in place but the row rewritten with equal values');
SELECT is(fp('SELECT * FROM bk_inplace.u WHERE id <= 2000'), :'captured', 'the captured rows are back, identical');
SELECT is((SELECT count(*) FROM u WHERE id > 2000), 50::bigint, 'merge leaves rows added since alone');

-- 4. missing after a DELETE: the absent rows come back, nothing else is touched.
DELETE FROM u WHERE id % 10 = 4;                 -- 200 rows
UPDATE u SET t = 'kept' WHERE id = 1;
SELECT backupkit.restore_table_from_snapshot(:s, 'bk_inplace.u', 'missing', dry_run => true) AS dry \gset
SELECT merge(:s, 'missing') AS r \gset
SELECT is(:'dry'::jsonb - 'duration_ms' - 'dry_run' - 'path', :'r'::jsonb - 'duration_ms' - 'dry_run' - 'path',
          'a dry run of missing reports the same counts');
SELECT is((:'r'::jsonb->>'inserted')::int, 200, 'missing inserts exactly the deleted rows');
SELECT is((SELECT t FROM u WHERE id = 1), 'kept', 'missing leaves a changed row as it is');
UPDATE u SET t = 'row 1' WHERE id = 1;
SELECT is(fp('SELECT * FROM bk_inplace.u WHERE id <= 2000'), :'captured', 'and the table is whole again');

-- 5. Line pointers reused by rows written since: same tuple id, new xmin, different values.
DELETE FROM u WHERE id BETWEEN 100 AND 400;
VACUUM u;
INSERT INTO u SELECT i, 0, 'reused', 'reused' FROM generate_series(100, 400) i;
VACUUM (FREEZE) u;                               -- freezing keeps the new rows' xmin
SELECT cmp_ok((SELECT min(ctid) FROM u WHERE t = 'reused'), '<', (SELECT max(ctid) FROM u WHERE t <> 'reused'),
              'the new rows went into line pointers freed inside the heap');
SELECT merge(:s) AS r \gset
SELECT is((:'r'::jsonb->>'updated')::int, 301, 'merge restores rows whose tuple ids were reused');
SELECT is(fp('SELECT * FROM bk_inplace.u WHERE id <= 2000'), :'captured', 'the table is identical to the snapshot');

-- 6. A rewritten heap (VACUUM FULL moves tuples, keeping their xmin): no shortcut, same result.
UPDATE u SET v = 0 WHERE id % 100 = 1;
VACUUM FULL u;
SELECT merge(:s) AS r \gset
SELECT is((:'r'::jsonb->>'unchanged_in_place')::int, 0, 'a rewritten heap disables the shortcut');
SELECT is((:'r'::jsonb->>'updated')::int, 20, 'merge still finds the changed rows by content');
SELECT is(fp('SELECT * FROM bk_inplace.u WHERE id <= 2000'), :'captured', 'and restores them');

-- 7. The bad migration: a column dropped and added again under the same name. The tuples are untouched,
--    but their bytes no longer mean the captured values.
SELECT make_table() \gset
SELECT take() AS s \gset
ALTER TABLE u DROP COLUMN t;
ALTER TABLE u ADD COLUMN t text;
SELECT merge(:s) AS r \gset
SELECT is((:'r'::jsonb->>'unchanged_in_place')::int, 0, 'a changed attribute layout disables the shortcut');
SELECT is((:'r'::jsonb->>'updated')::int, 2000, 'merge writes the captured values into the re-added column');
SELECT is(fp('SELECT id, v, t, pad FROM bk_inplace.u'), :'captured', 'every row is back');

-- 8. An entry not written by the capture itself (as after an import or pg_dump): never trusted.
SELECT make_table() \gset
SELECT take() AS s \gset
UPDATE backupkit.snapshot_table SET capture_layout = capture_layout WHERE snapshot_id = :s;
UPDATE u SET v = 0 WHERE id % 2 = 0;
SELECT merge(:s) AS r \gset
SELECT is((:'r'::jsonb->>'unchanged_in_place')::int, 0, 'a rewritten snapshot entry disables the shortcut');
SELECT is((:'r'::jsonb->>'updated')::int, 1000, 'merge compares by content instead');

-- 9. A damaged tuple id list costs the shortcut for its chunk, never a row.
SELECT make_table() \gset
SELECT take() AS s \gset
SELECT fp('SELECT * FROM bk_inplace.u') AS captured \gset
UPDATE backupkit.snapshot_chunk SET row_tids = overlay(row_tids PLACING '\xff'::bytea FROM 6)
 WHERE snapshot_id = :s AND chunk_no = 0;
DELETE FROM u WHERE id <= 10;
SELECT merge(:s) AS r \gset
SELECT is((:'r'::jsonb->>'unchanged_in_place')::int, 1700, 'a chunk whose tuple id list fails its checksum takes the normal path');
SELECT is((:'r'::jsonb->>'inserted')::int, 10, 'and its rows are restored all the same');
SELECT is(fp('SELECT * FROM bk_inplace.u'), :'captured', 'the table matches the snapshot');
DELETE FROM u WHERE id IN (5, 1500);
SELECT merge(:s, 'missing') AS r \gset
SELECT is((:'r'::jsonb->>'inserted')::int, 2, 'missing with a damaged list still finds exactly the absent rows');
SELECT is(fp('SELECT * FROM bk_inplace.u'), :'captured', 'and leaves the rows it could not prove in place alone');
SELECT backupkit.validate_snapshot_integrity(:s) AS v \gset
SELECT is(:'v'::jsonb->>'valid', 'true', 'a damaged tuple id list leaves the snapshot valid');
SELECT is((SELECT count(*) FROM jsonb_array_elements_text(:'v'::jsonb->'warnings') w
            WHERE w LIKE 'The tuple id list of chunk 0 of table "bk_inplace.u" is damaged (tuple id list fails its checksum)%'),
          1::bigint, 'validation warns about it');

-- 10. diff still lists rows added since the capture (it reads every key).
INSERT INTO u VALUES (5000, 1, 'added', '');
SELECT is((SELECT count(*) FROM backupkit.diff(:s, 'bk_inplace.u') d WHERE d.change = 'added'), 1::bigint,
          'diff lists rows added since the capture');

-- 11. missing copies the absent rows straight into a plain table; with a CHECK constraint or another unique
--     index, where rows may have to be set aside, it stages them.
SELECT make_table() \gset
SELECT take() AS s \gset
SELECT fp('SELECT * FROM bk_inplace.u') AS captured \gset
DELETE FROM u WHERE id % 4 = 0;
SELECT merge(:s, 'missing') AS r \gset
SELECT is(:'r'::jsonb->>'path', 'copy', 'missing copies absent rows straight in');
SELECT is((:'r'::jsonb->>'inserted')::int, 500, 'exactly the absent rows');
SELECT is(fp('SELECT * FROM bk_inplace.u'), :'captured', 'and the table is whole again');
DELETE FROM u WHERE id % 4 = 0;
ALTER TABLE u ADD CONSTRAINT v_small CHECK (v < 1990) NOT VALID;
SELECT merge(:s, 'missing') AS r \gset
SELECT is(:'r'::jsonb->>'path', 'staged', 'with a CHECK constraint missing stages the rows');
SELECT is((:'r'::jsonb->>'conflicts')::int, 3, 'and sets aside the ones the constraint added since rejects');
ALTER TABLE u DROP CONSTRAINT v_small;
CREATE UNIQUE INDEX ON u (t);
DELETE FROM u WHERE id % 4 = 0;
SELECT merge(:s, 'missing') AS r \gset
SELECT is(:'r'::jsonb->>'path', 'staged', 'with a second unique index missing stages the rows');

-- 12. Tables without one heap record no positions.
CREATE TABLE part (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
CREATE TABLE part_1 PARTITION OF part FOR VALUES FROM (0) TO (1000);
INSERT INTO part SELECT i, i FROM generate_series(1, 10) i;
SELECT backupkit.snapshot_tables('{bk_inplace.part}', 'inplace') AS sp \gset
SELECT ok((SELECT capture_xid IS NULL FROM backupkit.snapshot_table WHERE snapshot_id = :sp)
          AND (SELECT bool_and(row_tids IS NULL) FROM backupkit.snapshot_chunk WHERE snapshot_id = :sp),
          'a partitioned table records no tuple ids');

-- 13. A caller with column privileges only (no SELECT on the table, so no ctid) still captures every row.
CREATE ROLE bk_inplace_cols;
GRANT USAGE ON SCHEMA bk_inplace TO bk_inplace_cols;
CREATE TABLE colpriv (id int PRIMARY KEY, v int);
INSERT INTO colpriv VALUES (1, 1), (2, 2);
GRANT SELECT (id, v) ON colpriv TO bk_inplace_cols;
SET ROLE bk_inplace_cols;
SELECT backupkit.snapshot_tables(ARRAY['bk_inplace.colpriv'::regclass], 'inplace') AS sc \gset
RESET ROLE;
SELECT is((SELECT row_count FROM backupkit.snapshot_table WHERE snapshot_id = :sc), 2::bigint,
          'a caller with column privileges only captures every row');
SELECT ok((SELECT capture_xid IS NULL FROM backupkit.snapshot_table WHERE snapshot_id = :sc),
          'and records no tuple ids');
DROP OWNED BY bk_inplace_cols;
DROP ROLE bk_inplace_cols;

SELECT count(*) AS dropped FROM (SELECT backupkit.drop_snapshot(id) FROM backupkit.snapshots WHERE label = 'inplace') d \gset
RESET search_path;
DROP SCHEMA bk_inplace CASCADE;
SELECT * FROM finish();
