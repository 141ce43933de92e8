-- import_snapshot verifies what it writes: every chunk's own checksum, each table's totals and checksum over
-- its chunks, the metadata checksums the stream carries, and that every frame comes from one export. Each
-- stream below is forged so that every frame checksum is right (frames are resealed with backupkit's own
-- XXH64), and each is refused with a clear error, leaving no snapshot, table entry or chunk behind.
BEGIN;
SELECT plan(30);

SET LOCAL backupkit.chunk_rows = 50;
CREATE SCHEMA iv;
CREATE TABLE iv.t (id integer PRIMARY KEY, v text);
CREATE TABLE iv.u (k text PRIMARY KEY, n numeric);
INSERT INTO iv.t SELECT g, md5(g::text) FROM generate_series(1, 300) g;
INSERT INTO iv.u SELECT 'k' || g, g / 7.0 FROM generate_series(1, 120) g;

-- Test helpers: the frame layout of doc/export-format.md (version 2), sealed as export_snapshot seals it.
CREATE FUNCTION iv.csum(bytea) RETURNS bigint AS 'backupkit', 'bk_checksum64' LANGUAGE c STRICT;
CREATE FUNCTION iv.le(v bigint, nbytes integer) RETURNS bytea LANGUAGE sql IMMUTABLE
AS $$ SELECT decode(string_agg(lpad(to_hex((v >> (8 * i)) & 255), 2, '0'), '' ORDER BY i), 'hex')
        FROM generate_series(0, nbytes - 1) i $$;
CREATE FUNCTION iv.frame(kind integer, seq bigint, export_id bytea, payload bytea) RETURNS bytea LANGUAGE sql
AS $$ SELECT body || iv.le(iv.csum(body), 8)
        FROM (SELECT 'BKX1'::bytea || iv.le(2, 2) || iv.le(kind, 1) || '\x00'::bytea || iv.le(seq, 4)
                     || iv.le(length(payload), 4) || export_id || payload AS body) b $$;
CREATE FUNCTION iv.kind(f bytea) RETURNS integer LANGUAGE sql AS $$ SELECT get_byte(f, 6) $$;
CREATE FUNCTION iv.eid(f bytea) RETURNS bytea LANGUAGE sql AS $$ SELECT substring(f FROM 17 FOR 8) $$;
CREATE FUNCTION iv.payload(f bytea) RETURNS bytea LANGUAGE sql AS $$ SELECT substring(f FROM 25 FOR length(f) - 32) $$;
-- frame n (1-based) with a new payload, resealed
CREATE FUNCTION iv.reseal(f bytea, n bigint, payload bytea) RETURNS bytea LANGUAGE sql
AS $$ SELECT iv.frame(iv.kind(f), n - 1, iv.eid(f), payload) $$;
-- frame n resealed under another export id
CREATE FUNCTION iv.rebind(f bytea, n bigint, export_id bytea) RETURNS bytea LANGUAGE sql
AS $$ SELECT iv.frame(iv.kind(f), n - 1, export_id, iv.payload(f)) $$;
-- a chunk frame's payload with its 33-byte prefix field at offset off (4 bytes) set to v
CREATE FUNCTION iv.set_prefix(f bytea, n bigint, off integer, v integer) RETURNS bytea LANGUAGE sql
AS $$ SELECT iv.reseal(f, n, overlay(iv.payload(f) PLACING iv.le(v, 4) FROM off + 1)) $$;
CREATE FUNCTION iv.text_payload(f bytea, n bigint, old text, new text) RETURNS bytea LANGUAGE sql
AS $$ SELECT iv.reseal(f, n, convert_to(replace(convert_from(iv.payload(f), 'UTF8'), old, new), 'UTF8')) $$;
CREATE FUNCTION iv.chunk_text(f bytea, n bigint, old text, new text) RETURNS bytea LANGUAGE sql
AS $$ SELECT iv.reseal(f, n, substring(iv.payload(f) FROM 1 FOR 33)
                             || convert_to(replace(convert_from(substring(iv.payload(f) FROM 34), 'UTF8'), old, new), 'UTF8')) $$;
CREATE FUNCTION iv.stored() RETURNS text LANGUAGE sql
AS $$ SELECT (SELECT count(*) FROM backupkit.snapshot) || '/' || (SELECT count(*) FROM backupkit.snapshot_table)
             || '/' || (SELECT count(*) FROM backupkit.snapshot_chunk) $$;
CREATE FUNCTION iv.import(stream text) RETURNS bigint LANGUAGE plpgsql
AS $$ DECLARE id bigint;
      BEGIN EXECUTE format('SELECT backupkit.import_snapshot(f ORDER BY n) FROM %s', stream) INTO id; RETURN id; END $$;

-- Two snapshots of the same tables, same shapes and row counts, different data; one uncompressed.
SELECT backupkit.snapshot_tables('{iv.t,iv.u}', 'first') AS s1 \gset
UPDATE iv.t SET v = upper(v) WHERE id % 3 = 0;
SELECT backupkit.snapshot_tables('{iv.t,iv.u}', 'second') AS s2 \gset
SELECT backupkit.snapshot_tables('{iv.t}', 'plain', 'none') AS s3 \gset
CREATE TEMP TABLE e1 AS SELECT n, f FROM backupkit.export_snapshot(:s1) WITH ORDINALITY AS e(f, n);
CREATE TEMP TABLE e2 AS SELECT n, f FROM backupkit.export_snapshot(:s2) WITH ORDINALITY AS e(f, n);
CREATE TEMP TABLE e3 AS SELECT n, f FROM backupkit.export_snapshot(:s3) WITH ORDINALITY AS e(f, n);
SELECT is((SELECT count(*) FROM e1), (SELECT count(*) FROM e2), 'both exports have the same frame layout');
SELECT is((SELECT count(DISTINCT iv.eid(f)) FROM e1), 1::bigint, 'every frame of an export carries one export id');
SELECT isnt((SELECT iv.eid(f) FROM e1 WHERE n = 1), (SELECT iv.eid(f) FROM e2 WHERE n = 1),
            'two exports have different ids');
SELECT iv.stored() AS before \gset

-- Positive control: every frame rebuilt by the helpers imports, so each refusal below is the check's doing.
CREATE TEMP TABLE rebuilt AS SELECT n, iv.reseal(f, n, iv.payload(f)) AS f FROM e1;
SELECT is((SELECT count(*) FROM rebuilt r JOIN e1 USING (n) WHERE r.f = e1.f), (SELECT count(*) FROM e1),
          'the helpers rebuild every frame byte for byte');

-- 1. A chunk payload changed and its frame resealed.
CREATE TEMP TABLE plain_changed AS
SELECT n, CASE WHEN n = (SELECT min(n) FROM e3 WHERE iv.kind(f) = 3) THEN iv.chunk_text(f, n, '"1"', '"7"') ELSE f END AS f
  FROM e3;
SELECT throws_ok($$SELECT iv.import('plain_changed')$$, 'XX001',
                 'export stream is corrupted: chunk 0 of table "iv.t" does not match its checksum',
                 'uncompressed chunk text changed, frame resealed: refused by the chunk checksum');
CREATE TEMP TABLE zstd_changed AS
SELECT n, CASE WHEN n = (SELECT min(n) FROM e1 WHERE iv.kind(f) = 3)
               THEN iv.reseal(f, n, set_byte(iv.payload(f), 60, get_byte(iv.payload(f), 60) # 1)) ELSE f END AS f
  FROM e1;
SELECT throws_like($$SELECT iv.import('zstd_changed')$$,
                   'export stream is corrupted: chunk 0 of table "iv.t" %',
                   'compressed chunk bytes changed, frame resealed: refused');
SELECT is(iv.stored(), :'before', 'the refused imports left nothing behind');

-- 2. A chunk prefix changed (chunk number, row count, size, checksum) and resealed.
CREATE TEMP TABLE renumbered AS
SELECT n, CASE WHEN n = (SELECT min(n) FROM e1 WHERE iv.kind(f) = 3) + 1 THEN iv.set_prefix(f, n, 4, 5) ELSE f END AS f
  FROM e1;
SELECT throws_ok($$SELECT iv.import('renumbered')$$, 'XX001',
                 'export stream is corrupted: chunk 5 of table "iv.t" is out of order',
                 'chunk number changed: refused');
CREATE TEMP TABLE recounted AS
SELECT n, CASE WHEN n = (SELECT min(n) FROM e1 WHERE iv.kind(f) = 3) THEN iv.set_prefix(f, n, 8, 49) ELSE f END AS f
  FROM e1;
SELECT throws_ok($$SELECT iv.import('recounted')$$, 'XX001',
                 'export stream is corrupted: table "iv.t" does not match its chunks',
                 'chunk row count changed: refused by the table checksum');
CREATE TEMP TABLE resized AS
SELECT n, CASE WHEN n = (SELECT min(n) FROM e3 WHERE iv.kind(f) = 3) THEN iv.set_prefix(f, n, 12, 10) ELSE f END AS f
  FROM e3;
SELECT throws_ok($$SELECT iv.import('resized')$$, 'XX001',
                 'export stream is corrupted: chunk 0 of table "iv.t" does not have its recorded size',
                 'chunk size changed: refused');
CREATE TEMP TABLE moved AS
SELECT n, CASE WHEN n = (SELECT max(n) FROM e1 WHERE iv.kind(f) = 3) THEN iv.set_prefix(f, n, 0, 0) ELSE f END AS f
  FROM e1;
SELECT throws_like($$SELECT iv.import('moved')$$, 'export stream is corrupted: %',
                   'a chunk moved to another table: refused');
SELECT is(iv.stored(), :'before', 'the refused imports left nothing behind');

-- 3. Streams spliced from two exports.
CREATE TEMP TABLE splice_a AS SELECT n, f FROM e1 WHERE n <= 4 UNION ALL SELECT n, f FROM e2 WHERE n > 4;
SELECT throws_ok($$SELECT iv.import('splice_a')$$, '22023', 'export frame 4 belongs to another export',
                 'frames 0-3 of one export, the rest of another: refused');
CREATE TEMP TABLE splice_b AS
SELECT n, f FROM e1 WHERE iv.kind(f) IN (1, 2) UNION ALL SELECT n, f FROM e2 WHERE iv.kind(f) NOT IN (1, 2);
SELECT throws_ok($$SELECT iv.import('splice_b')$$, '22023', 'export frame 3 belongs to another export',
                 'header and tables of one export, chunks and trailer of another: refused');
-- The same splices with every frame forged to carry the first export's id: the checksums still tell.
CREATE TEMP TABLE forged_a AS
SELECT n, f FROM e1 WHERE n = 1
UNION ALL SELECT n, iv.rebind(f, n, (SELECT iv.eid(f) FROM e1 WHERE n = 1)) FROM e2 WHERE n > 1;
SELECT throws_ok($$SELECT iv.import('forged_a')$$, 'XX001',
                 'export stream is corrupted: the snapshot''s metadata does not match its checksum',
                 'one header on another export''s tables and chunks, ids forged: refused by the metadata checksum');
CREATE TEMP TABLE forged_b AS
SELECT n, f FROM e1 WHERE iv.kind(f) IN (1, 2)
UNION ALL SELECT n, iv.rebind(f, n, (SELECT iv.eid(f) FROM e1 WHERE n = 1)) FROM e2 WHERE iv.kind(f) NOT IN (1, 2);
SELECT throws_ok($$SELECT iv.import('forged_b')$$, 'XX001',
                 'export stream is corrupted: table "iv.t" does not match its chunks',
                 'header and tables of one export, chunks of another, ids forged: refused by the table checksum');
SELECT is(iv.stored(), :'before', 'the refused imports left nothing behind');

-- 4. Metadata changed in the stream, frames resealed.
CREATE TEMP TABLE renamed AS
SELECT n, CASE WHEN iv.kind(f) = 2 THEN iv.text_payload(f, n, '"name": "v"', '"name": "w"') ELSE f END AS f FROM e1;
SELECT throws_ok($$SELECT iv.import('renamed')$$, 'XX001',
                 'export stream is corrupted: metadata of table "iv.t" does not match its checksum',
                 'a column renamed in a table frame: refused');
CREATE TEMP TABLE rekeyed AS
SELECT n, CASE WHEN iv.kind(f) = 2 THEN iv.text_payload(f, n, '"key_columns": ["id"]', '"key_columns": ["v"]') ELSE f END AS f
  FROM e1;
SELECT throws_ok($$SELECT iv.import('rekeyed')$$, 'XX001',
                 'export stream is corrupted: metadata of table "iv.t" does not match its checksum',
                 'key columns changed in a table frame: refused');
CREATE TEMP TABLE relabeled AS
SELECT n, CASE WHEN n = 1 THEN iv.text_payload(f, n, '"label": "first"', '"label": "other"') ELSE f END AS f FROM e1;
SELECT throws_ok($$SELECT iv.import('relabeled')$$, 'XX001',
                 'export stream is corrupted: the snapshot''s metadata does not match its checksum',
                 'the label changed in the header: refused');
CREATE TEMP TABLE unsealed AS
SELECT n, CASE WHEN iv.kind(f) = 2 THEN iv.reseal(f, n, convert_to((convert_from(iv.payload(f), 'UTF8')::jsonb
                                                     - 'metadata_checksum')::text, 'UTF8')) ELSE f END AS f FROM e1;
SELECT throws_like($$SELECT iv.import('unsealed')$$,
                   'export stream is corrupted: metadata of table "iv.%" does not match its checksum',
                   'a table frame without its metadata checksum: refused');
SELECT is(iv.stored(), :'before', 'the refused imports left nothing behind');

-- 5. A version 1 stream (backupkit 0.1) is refused clearly.
SELECT throws_ok($$SELECT backupkit.import_snapshot(set_byte(f, 4, 1) ORDER BY n) FROM e1$$, '0A000',
                 'export format version 1 is no longer supported', 'version 1 streams are refused');

-- 6. The untouched streams (and the rebuilt one) import and validate; their seals are this database's.
SELECT iv.import('e1') AS i1 \gset
SELECT iv.import('rebuilt') AS i2 \gset
SELECT iv.import('e3') AS i3 \gset
SELECT is((SELECT string_agg((backupkit.validate_snapshot_integrity(i))->>'valid', ',')
             FROM unnest(ARRAY[:i1, :i2, :i3]::bigint[]) i), 'true,true,true', 'intact streams import and validate');
SELECT is((SELECT string_agg(table_name || ':' || rows || ':' || checksum, ' ' ORDER BY table_name)
             FROM backupkit.snapshot_contents(:i1)),
          (SELECT string_agg(table_name || ':' || rows || ':' || checksum, ' ' ORDER BY table_name)
             FROM backupkit.snapshot_contents(:s1)), 'the imported snapshot has the same tables, rows and checksums');
SELECT is((SELECT count(*) FROM backupkit.snapshot_table WHERE snapshot_id = :i1 AND metadata_checksum IS NOT NULL),
          2::bigint, 'imported entries are sealed');
SELECT is((SELECT (backupkit.validate_snapshot_integrity(:i1))->>'metadata'), 'ok', 'their seals verify');

-- 7. A snapshot from before metadata checksums (NULL, as an upgrade leaves it) exports with checksums of its
-- fields as found, and imports sealed.
UPDATE backupkit.snapshot_table SET metadata_checksum = NULL WHERE snapshot_id = :s2;
UPDATE backupkit.snapshot SET metadata_checksum = NULL WHERE snapshot_id = :s2;
SELECT is((SELECT (backupkit.validate_snapshot_integrity(:s2))->>'metadata'), 'not checksummed', 'an unsealed snapshot');
CREATE TEMP TABLE e_old AS SELECT n, f FROM backupkit.export_snapshot(:s2) WITH ORDINALITY AS e(f, n);
SELECT iv.import('e_old') AS i4 \gset
SELECT is((SELECT r->>'valid' || '/' || (r->>'metadata') FROM backupkit.validate_snapshot_integrity(:i4) r), 'true/ok',
          'exports, and imports sealed');
SELECT throws_ok($$SELECT iv.import('(SELECT n, CASE WHEN get_byte(f, 6) = 2 THEN iv.text_payload(f, n, ''"name": "v"'', ''"name": "x"'') ELSE f END AS f FROM e_old) s')$$,
                 'XX001', 'export stream is corrupted: metadata of table "iv.t" does not match its checksum',
                 'its stream is protected like any other');

SELECT * FROM finish();
ROLLBACK;
