-- merge and missing compare captured rows with live ones by fingerprint and stage only the rows that differ:
-- every kind of subtle change must still be found, unchanged rows must not be rewritten, and keys of any
-- shape (composite, text with tabs and backslashes) must match.
BEGIN;
SELECT plan(16);
SET LOCAL client_min_messages = warning;

CREATE FUNCTION pg_temp.fp(rel regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE format('SELECT md5(coalesce(string_agg(t::text, %L ORDER BY t::text), %L)) FROM %s t', ',', '', rel) INTO r;
    RETURN r;
END $$;

CREATE TABLE fp_t (
    id int PRIMARY KEY,
    n numeric, f float8, t text, j jsonb, ts timestamptz, b bytea, a int[], r int4range, nul text
);
INSERT INTO fp_t
SELECT i, 1.0, 0, 'a', '{"a": 1}', '2024-01-01 00:00:00+00', '\x0102', ARRAY[1, 2], '[1,5)', CASE WHEN i % 2 = 0 THEN '' END
  FROM generate_series(1, 200) i;
SELECT backupkit.snapshot_tables('{fp_t}', 'fp') AS s \gset
SELECT pg_temp.fp('fp_t') AS captured \gset

-- One subtle change per row for rows 1..10; rows 11..200 stay as they are.
UPDATE fp_t SET n = 1.00 WHERE id = 1;                                   -- same number, other scale
UPDATE fp_t SET f = '-0' WHERE id = 2;                                   -- negative zero
UPDATE fp_t SET t = 'a ' WHERE id = 3;                                   -- trailing space
UPDATE fp_t SET nul = '' WHERE id = 5;                                   -- NULL became empty
UPDATE fp_t SET nul = NULL WHERE id = 4;                                 -- empty became NULL
UPDATE fp_t SET j = '{"a": 1.0}' WHERE id = 6;                           -- numeric scale inside jsonb
UPDATE fp_t SET ts = ts + interval '1 microsecond' WHERE id = 7;
UPDATE fp_t SET b = '\x0103' WHERE id = 8;
UPDATE fp_t SET a = ARRAY[1, NULL] WHERE id = 9;
UPDATE fp_t SET r = '[1,6)' WHERE id = 10;
DELETE FROM fp_t WHERE id BETWEEN 191 AND 200;
CREATE TEMP TABLE untouched AS SELECT id, xmin::text AS x, ctid AS c FROM fp_t WHERE id BETWEEN 11 AND 190;

SELECT backupkit.restore_table_from_snapshot(:s, 'fp_t', 'merge', dry_run => true) AS dry \gset
SELECT backupkit.restore_table_from_snapshot(:s, 'fp_t', 'merge') AS real \gset
SELECT is((:'real'::jsonb->>'updated')::int, 10, 'merge finds every subtle change (scale, -0, spaces, NULL vs empty, jsonb, µs, bytes, arrays, ranges)');
SELECT is((:'real'::jsonb->>'inserted')::int, 10, 'merge re-inserts the deleted rows');
SELECT is((:'real'::jsonb->>'unchanged')::int, 180, 'merge counts the rest as unchanged');
SELECT is((:'dry'::jsonb - 'duration_ms' - 'dry_run'), (:'real'::jsonb - 'duration_ms' - 'dry_run'), 'the dry run reports the same counts');
SELECT is(pg_temp.fp('fp_t'), :'captured', 'after merge the table is identical to the snapshot');
SELECT is((SELECT count(*) FROM fp_t f JOIN untouched u USING (id) WHERE f.xmin::text = u.x AND f.ctid = u.c), 180::bigint,
          'unchanged rows are not rewritten');

-- missing: only absent rows come back; changed rows keep their current values.
UPDATE fp_t SET t = 'changed' WHERE id <= 5;
DELETE FROM fp_t WHERE id > 150;
SELECT backupkit.restore_table_from_snapshot(:s, 'fp_t', 'missing') AS m \gset
SELECT is((:'m'::jsonb->>'inserted')::int, 50, 'missing inserts exactly the absent rows');
SELECT is((SELECT count(*) FROM fp_t WHERE t = 'changed'), 5::bigint, 'missing leaves changed rows alone');
SELECT is((SELECT count(*) FROM fp_t), 200::bigint, 'missing brings the table back to its row count');

-- A column added after the capture is not part of the comparison: rows are still unchanged.
SELECT backupkit.restore_table_from_snapshot(:s, 'fp_t', 'merge') AS again \gset
ALTER TABLE fp_t ADD COLUMN extra int DEFAULT 7;
SELECT backupkit.restore_table_from_snapshot(:s, 'fp_t', 'merge') AS drift \gset
SELECT is((:'drift'::jsonb->>'updated')::int, 0, 'a column added since the capture does not make rows differ');
SELECT is((:'drift'::jsonb->>'unchanged')::int, 200, 'and every row counts as unchanged');

-- A composite text key holding tabs, backslashes, newlines and quotes.
CREATE TABLE fp_k (a text, b text, v int, PRIMARY KEY (a, b));
INSERT INTO fp_k SELECT 'k' || i || E'\t\\x', E'line\n' || i || '"', i FROM generate_series(1, 30) i;
SELECT backupkit.snapshot_tables('{fp_k}', 'fpk') AS sk \gset
SELECT pg_temp.fp('fp_k') AS captured_k \gset
UPDATE fp_k SET v = -v WHERE v % 3 = 0;
DELETE FROM fp_k WHERE v % 5 = 1;
SELECT backupkit.restore_table_from_snapshot(:sk, 'fp_k', 'merge') AS mk \gset
SELECT is((:'mk'::jsonb->>'updated')::int, 10, 'merge matches composite keys with escaped characters');
SELECT is((:'mk'::jsonb->>'inserted')::int, 4, 'and re-inserts the deleted ones (v % 5 = 1, not negated)');
SELECT is(pg_temp.fp('fp_k'), :'captured_k', 'the table with a composite key is restored identically');

-- The fingerprint function itself: NULL and empty differ, and the settings are those of the capture.
SELECT isnt(backupkit.row_fingerprint(ROW(NULL::text)), backupkit.row_fingerprint(ROW(''::text)), 'row_fingerprint tells NULL from empty');
SELECT is(backupkit.row_fingerprint(ROW(1, 'x'::text)), backupkit.row_fingerprint(ROW(1::bigint, 'x'::varchar)),
          'row_fingerprint compares text forms, so equal values of compatible types match');

SELECT * FROM finish();
ROLLBACK;
