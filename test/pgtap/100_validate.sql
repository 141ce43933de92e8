-- validate_snapshot_integrity finds every kind of storage damage, names the table and chunk, and keeps going;
-- a restore of a damaged table fails with XX001 and changes nothing.
BEGIN;
SELECT plan(43);

-- The first chunk of a table holds up to 100 rows whatever the setting, the next ones 10.
SET LOCAL backupkit.chunk_rows = 25;
CREATE SCHEMA vt;
CREATE TABLE vt.parent (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE vt.child (id integer PRIMARY KEY, parent_id integer REFERENCES vt.parent, note text);
INSERT INTO vt.parent SELECT g, 'parent ' || g FROM generate_series(1, 150) g;
INSERT INTO vt.child SELECT g, 1 + g % 150, 'note ' || g FROM generate_series(1, 200) g;

-- A fresh snapshot of both tables; compression as given.
CREATE FUNCTION vt.snap(compression text DEFAULT 'zstd') RETURNS bigint LANGUAGE sql
AS $$ SELECT backupkit.snapshot_tables('{vt.parent,vt.child}', 'validate test', compression) $$;
CREATE FUNCTION vt.tno(sid bigint, tab name) RETURNS integer LANGUAGE sql
AS $$ SELECT table_no FROM backupkit.snapshot_table WHERE snapshot_id = sid AND table_name = tab $$;
-- The errors of a report that match a LIKE pattern.
CREATE FUNCTION vt.errors_like(report jsonb, pattern text) RETURNS bigint LANGUAGE sql
AS $$ SELECT count(*) FROM jsonb_array_elements_text(report->'errors') e WHERE e LIKE pattern $$;
CREATE FUNCTION vt.tab(report jsonb, tab text) RETURNS jsonb LANGUAGE sql
AS $$ SELECT t FROM jsonb_array_elements(report->'tables') t WHERE t->>'table' = tab $$;

-- clean
SELECT vt.snap() AS sid \gset
CREATE TEMP TABLE r AS SELECT backupkit.validate_snapshot_integrity(:sid) AS j;
SELECT is((SELECT j->>'valid' FROM r), 'true', 'a clean snapshot is valid');
SELECT is((SELECT jsonb_array_length(j->'errors') FROM r), 0, 'a clean snapshot has no errors');
SELECT is((SELECT (j->>'snapshot_id')::bigint FROM r), :sid::bigint, 'the report names the snapshot');
SELECT ok((SELECT j ? 'checked_at' AND j ? 'warnings' FROM r), 'the report has checked_at and warnings');
SELECT is((SELECT vt.tab(j, 'vt.child') FROM r) - 'foreign_keys',
          '{"table": "vt.child", "rows_expected": 200, "rows_found": 200, "chunks": 8, "checksum": "ok",
            "decodable": true, "schema": "identical", "primary_key_unique": true}'::jsonb,
          'per-table entry of a clean table');
SELECT is((SELECT vt.tab(j, 'vt.child')->'foreign_keys' FROM r),
          '[{"constraint": "child_parent_id_fkey", "parent_table": "vt.parent", "closed": true, "orphan_rows": 0,
             "sample_keys": []}]'::jsonb, 'foreign key closed inside the snapshot');
SELECT is((SELECT count(*) FROM backupkit.operations WHERE operation = 'validate' AND snapshot_id = :sid),
          1::bigint, 'the validation is in the operation log');
DROP TABLE r;

-- a flipped byte in a zstd payload
SELECT vt.snap() AS sid \gset
UPDATE backupkit.snapshot_chunk SET payload_zstd = set_byte(payload_zstd, length(payload_zstd) / 2,
       get_byte(payload_zstd, length(payload_zstd) / 2) # 16)
 WHERE snapshot_id = :sid AND table_no = vt.tno(:sid, 'child') AND chunk_no = 3;
CREATE TEMP TABLE r AS SELECT backupkit.validate_snapshot_integrity(:sid) AS j;
SELECT is((SELECT j->>'valid' FROM r), 'false', 'flipped zstd byte: invalid');
SELECT is((SELECT vt.errors_like(j, 'Chunk 3 of table "vt.child" %') FROM r), 1::bigint,
          'flipped zstd byte: chunk 3 of vt.child named once');
SELECT is((SELECT vt.tab(j, 'vt.child')->>'checksum' FROM r), 'mismatch', 'flipped zstd byte: checksum mismatch');
SELECT is((SELECT vt.tab(j, 'vt.parent')->>'checksum' FROM r), 'ok', 'flipped zstd byte: the other table is ok');
SELECT is((SELECT vt.errors_like(j, '%vt.parent%') FROM r), 0::bigint, 'flipped zstd byte: nothing about vt.parent');
DROP TABLE r;
-- restoring the damaged table fails and changes nothing
CREATE TEMP TABLE before AS SELECT md5(string_agg(c::text, ',' ORDER BY id)) AS sum FROM vt.child c;
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, %L)', :sid, 'vt.child'), 'XX001', NULL,
                 'restoring a damaged table fails with XX001');
SELECT is((SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM vt.child c), (SELECT sum FROM before),
          'the failed restore changed nothing');
SELECT is((SELECT valid FROM backupkit.validate_all_snapshots() WHERE snapshot_id = :sid), false,
          'validate_all_snapshots reports the damaged snapshot');
SELECT matches((SELECT first_error FROM backupkit.validate_all_snapshots() WHERE snapshot_id = :sid),
               '^Chunk 3 of table "vt\.child" ', 'validate_all_snapshots gives the first error');

-- a flipped byte in a jsonb payload
SELECT vt.snap('none') AS sid \gset
UPDATE backupkit.snapshot_chunk SET payload = replace(payload::text, 'note 30"', 'note 3X"')::jsonb
 WHERE snapshot_id = :sid AND table_no = vt.tno(:sid, 'child') AND chunk_no = 1;
CREATE TEMP TABLE r AS SELECT backupkit.validate_snapshot_integrity(:sid) AS j;
SELECT is((SELECT j->>'valid' FROM r), 'false', 'changed jsonb payload: invalid');
SELECT is((SELECT vt.errors_like(j, 'Chunk 1 of table "vt.child" does not match its checksum%') FROM r), 1::bigint,
          'changed jsonb payload: chunk 1 of vt.child named');
SELECT is((SELECT jsonb_array_length(j->'errors') FROM r), 1, 'changed jsonb payload: one error');
DROP TABLE r;

-- a deleted chunk
SELECT vt.snap() AS sid \gset
DELETE FROM backupkit.snapshot_chunk WHERE snapshot_id = :sid AND table_no = vt.tno(:sid, 'parent') AND chunk_no = 2;
CREATE TEMP TABLE r AS SELECT backupkit.validate_snapshot_integrity(:sid) AS j;
SELECT is((SELECT vt.errors_like(j, 'Chunk 2 of table "vt.parent" is missing.') FROM r), 1::bigint,
          'deleted chunk: chunk 2 of vt.parent is missing');
SELECT is((SELECT vt.errors_like(j, 'Table "vt.parent" holds 125 rows in its readable chunks but its entry records 150.') FROM r),
          1::bigint, 'deleted chunk: the row count shows the loss');
SELECT is((SELECT (vt.tab(j, 'vt.parent')->>'rows_found')::int FROM r), 125, 'deleted chunk: rows_found');
SELECT is((SELECT vt.errors_like(j, '%vt.child%') FROM r), 1::bigint,
          'deleted chunk: children of the lost parents are reported as orphans');
DROP TABLE r;

-- a duplicated chunk appended after the last one
SELECT vt.snap() AS sid \gset
INSERT INTO backupkit.snapshot_chunk
SELECT snapshot_id, table_no, 6, row_count, raw_bytes, checksum, payload, payload_zstd
  FROM backupkit.snapshot_chunk WHERE snapshot_id = :sid AND table_no = vt.tno(:sid, 'parent') AND chunk_no = 5;
CREATE TEMP TABLE r AS SELECT backupkit.validate_snapshot_integrity(:sid) AS j;
SELECT is((SELECT vt.errors_like(j, 'Chunk 6 of table "vt.parent" is not recorded by the table''s entry, which has 6 chunks.') FROM r),
          1::bigint, 'appended chunk: chunk 6 of vt.parent named');
SELECT is((SELECT vt.errors_like(j, 'Chunk 6 of table "vt.parent" duplicates chunk 5.') FROM r), 1::bigint,
          'appended chunk: named as a duplicate of chunk 5');
SELECT is((SELECT vt.tab(j, 'vt.parent')->>'primary_key_unique' FROM r), 'false', 'appended chunk: keys not unique');
DROP TABLE r;

-- a chunk overwritten with another one's content
SELECT vt.snap() AS sid \gset
UPDATE backupkit.snapshot_chunk c SET row_count = o.row_count, raw_bytes = o.raw_bytes, checksum = o.checksum,
       payload_zstd = o.payload_zstd
  FROM backupkit.snapshot_chunk o
 WHERE c.snapshot_id = :sid AND c.table_no = vt.tno(:sid, 'child') AND c.chunk_no = 1
   AND o.snapshot_id = c.snapshot_id AND o.table_no = c.table_no AND o.chunk_no = 0;
CREATE TEMP TABLE r AS SELECT backupkit.validate_snapshot_integrity(:sid) AS j;
SELECT is((SELECT vt.errors_like(j, 'Chunk 1 of table "vt.child" duplicates chunk 0.') FROM r), 1::bigint,
          'overwritten chunk: named as a duplicate');
SELECT is((SELECT vt.tab(j, 'vt.child')->>'checksum' FROM r), 'mismatch', 'overwritten chunk: checksum mismatch');
SELECT is((SELECT vt.tab(j, 'vt.child')->>'primary_key_unique' FROM r), 'false', 'overwritten chunk: keys not unique');
SELECT is((SELECT (vt.tab(j, 'vt.child')->>'duplicate_keys')::int FROM r), 25,
          'overwritten chunk: the 25 duplicated keys are counted');
DROP TABLE r;

-- a changed row count
SELECT vt.snap() AS sid \gset
UPDATE backupkit.snapshot_table SET row_count = 201 WHERE snapshot_id = :sid AND table_no = vt.tno(:sid, 'child');
CREATE TEMP TABLE r AS SELECT backupkit.validate_snapshot_integrity(:sid) AS j;
SELECT is((SELECT j->'errors' FROM r),
          '["The metadata of table \"vt.child\" does not match its checksum. Stored fields that differ from those sealed when it was written: row_count.",
            "Table \"vt.child\" holds 200 rows in its readable chunks but its entry records 201."]'::jsonb,
          'changed row count: the metadata checksum and the chunks both say so, and nothing else');
DROP TABLE r;

-- a truncated zstd frame, plus a second kind of damage in the other table: both found
SELECT vt.snap() AS sid \gset
UPDATE backupkit.snapshot_chunk SET payload_zstd = substring(payload_zstd FROM 1 FOR length(payload_zstd) - 6)
 WHERE snapshot_id = :sid AND table_no = vt.tno(:sid, 'child') AND chunk_no = 7;
UPDATE backupkit.snapshot_chunk SET row_count = row_count + 1
 WHERE snapshot_id = :sid AND table_no = vt.tno(:sid, 'parent') AND chunk_no = 0;
CREATE TEMP TABLE r AS SELECT backupkit.validate_snapshot_integrity(:sid) AS j;
SELECT is((SELECT vt.errors_like(j, 'Chunk 7 of table "vt.child" cannot be decompressed: %') FROM r), 1::bigint,
          'truncated frame: chunk 7 of vt.child named');
SELECT is((SELECT vt.tab(j, 'vt.child')->>'decodable' FROM r), 'false', 'truncated frame: not decodable');
SELECT is((SELECT vt.errors_like(j, 'Chunk 0 of table "vt.parent" holds 25 rows but records 26.') FROM r), 1::bigint,
          'changed chunk row count: found in the same run');
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, %L)', :sid, 'vt.child'), 'XX001', NULL,
                 'restoring a truncated chunk fails with XX001');
DROP TABLE r;

-- orphans inside the snapshot (the live constraint was NOT VALID)
ALTER TABLE vt.child DROP CONSTRAINT child_parent_id_fkey;
INSERT INTO vt.child VALUES (1000, 999, 'orphan');
ALTER TABLE vt.child ADD CONSTRAINT child_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES vt.parent NOT VALID;
SELECT vt.snap() AS sid \gset
CREATE TEMP TABLE r AS SELECT backupkit.validate_snapshot_integrity(:sid) AS j;
SELECT is((SELECT vt.tab(j, 'vt.child')->'foreign_keys'->0 FROM r),
          '{"constraint": "child_parent_id_fkey", "parent_table": "vt.parent", "closed": false, "orphan_rows": 1,
            "sample_keys": [{"parent_id": "999"}]}'::jsonb, 'orphans inside the snapshot are counted with their keys');
SELECT is((SELECT vt.errors_like(j, 'Table "vt.child" holds 1 rows whose key in table "vt.parent" (foreign key "child_parent_id_fkey") is absent%') FROM r),
          1::bigint, 'orphans inside the snapshot: one error');
DROP TABLE r;

-- schema drift against the live tables
DELETE FROM vt.child WHERE id = 1000;
SELECT vt.snap() AS sid \gset
ALTER TABLE vt.parent ADD COLUMN extra text;
CREATE TEMP TABLE r AS SELECT backupkit.validate_snapshot_integrity(:sid) AS j;
SELECT is((SELECT vt.tab(j, 'vt.parent')->>'schema' FROM r), 'compatible', 'added nullable column: compatible');
SELECT is((SELECT vt.tab(j, 'vt.parent')->'schema_drift' FROM r), '["column \"extra\" was added"]'::jsonb,
          'added nullable column: the drift is listed');
DROP TABLE r;
ALTER TABLE vt.child ALTER COLUMN note TYPE varchar(20);
CREATE TEMP TABLE r AS SELECT backupkit.validate_snapshot_integrity(:sid) AS j;
SELECT is((SELECT vt.tab(j, 'vt.child')->'schema_why' FROM r),
          '["column \"note\" is text in the snapshot but character varying(20) in the live table"]'::jsonb,
          'changed type: incompatible, with why');
SELECT is((SELECT j->>'valid' FROM r), 'true', 'schema drift alone leaves the snapshot valid');
DROP TABLE r;
DROP TABLE vt.child;
CREATE TEMP TABLE r AS SELECT backupkit.validate_snapshot_integrity(:sid) AS j;
SELECT is((SELECT vt.tab(j, 'vt.child')->>'schema' FROM r), 'missing', 'dropped table: missing');
SELECT is((SELECT vt.errors_like(j, '%') FROM r), 0::bigint, 'dropped table: a warning, not an error');
DROP TABLE r;

SELECT * FROM finish();
ROLLBACK;
