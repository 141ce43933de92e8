-- The messages src/core raises on a damaged chunk, as a user sees them: chunks forged in backupkit's own
-- tables (as superuser; each checksum recomputed with backupkit's XXH64, so that the damage reaches the
-- decoder rather than the checksum check) and read through the real call sites: snapshot_rows
-- (snapshot_rows.cpp), restores (copy_loader.cpp, COPY), diff (copy_loader.cpp, the key stage), the chunk
-- reader's zstd step (chunk_reader.cpp), and validation's report. Each is XX001 "snapshot N is corrupted:
-- chunk C of table ...", the core's message in the context line and its detail as the detail; the table is
-- left as it was.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS backupkit;
RESET client_min_messages;
CREATE SCHEMA mc;
SET search_path = mc;
-- Runs a statement and shows its error: SQLSTATE, message, detail, hint and backupkit's context line (the
-- first), with snapshot ids replaced by N and zstd's own words (they vary with its version) by "...".
CREATE FUNCTION mc.show(sql text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text; detail text; hint text; ctx text;
BEGIN
    EXECUTE sql;
    RETURN NEXT 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
    RETURN NEXT state || ': ' || regexp_replace(msg, 'snapshot \d+', 'snapshot N');
    IF detail <> '' THEN RETURN NEXT 'DETAIL: ' || detail; END IF;
    IF hint <> '' THEN RETURN NEXT 'HINT: ' || regexp_replace(hint, '\(\d+\)', '(N)'); END IF;
    ctx := split_part(ctx, E'\n', 1);
    IF ctx NOT LIKE 'PL/pgSQL%' AND ctx NOT LIKE 'SQL statement%' AND ctx <> '' THEN
        RETURN NEXT 'CONTEXT: ' || regexp_replace(ctx, 'damaged: .*', 'damaged: ...');
    END IF;
END $$;
CREATE FUNCTION mc.csum(bytea) RETURNS bigint AS 'backupkit', 'bk_checksum64' LANGUAGE c STRICT;
CREATE FUNCTION mc.le(v bigint, nbytes integer) RETURNS bytea LANGUAGE sql IMMUTABLE
AS $$ SELECT decode(string_agg(lpad(to_hex((v >> (8 * i)) & 255), 2, '0'), '' ORDER BY i), 'hex')
        FROM generate_series(0, nbytes - 1) i $$;
-- A zstd frame holding content as one raw (stored) block: magic, a single-segment header with a one-byte
-- content size, the block header (last block, raw, its size), the bytes. with_size => false leaves the
-- content size out of the header (a window descriptor instead).
CREATE FUNCTION mc.zstd_raw(content bytea, with_size boolean DEFAULT true) RETURNS bytea LANGUAGE sql IMMUTABLE
AS $$ SELECT '\x28b52ffd'::bytea
             || CASE WHEN with_size THEN '\x20'::bytea || mc.le(length(content), 1) ELSE '\x0000'::bytea END
             || mc.le(1 + (length(content) << 3), 3) || content $$;

CREATE TABLE mc.t (id integer PRIMARY KEY, v text);
INSERT INTO mc.t SELECT g, 'v' || g FROM generate_series(1, 3) g;
SELECT backupkit.snapshot_tables('{mc.t}', 'plain', 'none') AS sid_p \gset
SELECT backupkit.snapshot_tables('{mc.t}', 'zstd') AS sid_z \gset
-- The chunks as captured, to put back after each forgery.
CREATE TABLE mc.captured AS SELECT * FROM backupkit.snapshot_chunk WHERE snapshot_id IN (:sid_p, :sid_z);
SELECT count(*) AS captured_chunks, min(payload::text) AS plain_payload FROM mc.captured;
CREATE FUNCTION mc.put_back() RETURNS void LANGUAGE sql
AS $$ UPDATE backupkit.snapshot_chunk c SET payload = o.payload, payload_zstd = o.payload_zstd, raw_bytes = o.raw_bytes,
                                              checksum = o.checksum, row_count = o.row_count, row_tids = o.row_tids
        FROM mc.captured o WHERE (c.snapshot_id, c.table_no, c.chunk_no) = (o.snapshot_id, o.table_no, o.chunk_no) $$;
-- An uncompressed chunk's new content (jsonb text), with its size and checksum.
CREATE FUNCTION mc.plain(sid bigint, content text) RETURNS void LANGUAGE sql
AS $$ UPDATE backupkit.snapshot_chunk SET payload = content::jsonb, raw_bytes = octet_length(content::jsonb::text),
                                          checksum = mc.csum(convert_to(content::jsonb::text, 'UTF8'))
        WHERE snapshot_id = sid $$;
-- A compressed chunk's new content, stored as a raw zstd block, with its size and checksum.
CREATE FUNCTION mc.zstd(sid bigint, content text) RETURNS void LANGUAGE sql
AS $$ UPDATE backupkit.snapshot_chunk SET payload_zstd = mc.zstd_raw(convert_to(content, 'UTF8')),
                                          raw_bytes = octet_length(content), checksum = mc.csum(convert_to(content, 'UTF8'))
        WHERE snapshot_id = sid $$;
SELECT md5(string_agg(t::text, ',' ORDER BY id)) AS table_before FROM mc.t \gset
-- The forged zstd frame of the captured content reads back: the frames below differ from it in one place.
SELECT mc.zstd(:sid_z, '[["1", "v1"], ["2", "v2"], ["3", "v3"]]');
SELECT count(*) AS rows_read FROM backupkit.snapshot_rows(:sid_z, 'mc.t');
SELECT mc.put_back();

-- a row with too many columns (snapshot_rows), too few (a replace restore: COPY from the chunk)
SELECT mc.plain(:sid_p, '[["1", "v1", "x"], ["2", "v2"], ["3", "v3"]]');
SELECT mc.show(format('SELECT count(*) FROM backupkit.snapshot_rows(%s, %L)', :sid_p, 'mc.t'));
SELECT mc.plain(:sid_p, '[["1", "v1"], ["2"], ["3", "v3"]]');
SELECT mc.show(format('SELECT backupkit.restore_table_from_snapshot(%s, %L, %L)', :sid_p, 'mc.t', 'replace'));
-- more rows than the chunk records: snapshot_rows, then a merge restore (its key stage)
SELECT mc.put_back();
UPDATE backupkit.snapshot_chunk SET row_count = 1 WHERE snapshot_id = :sid_p;
SELECT mc.show(format('SELECT count(*) FROM backupkit.snapshot_rows(%s, %L)', :sid_p, 'mc.t'));
SELECT mc.show(format('SELECT backupkit.restore_table_from_snapshot(%s, %L, %L)', :sid_p, 'mc.t', 'merge'));
SELECT mc.put_back();
-- ... and a diff whose key stage (copy_loader.cpp) runs out of the room the recorded row count gives it
-- (200 short keys)
CREATE TABLE mc.k (id integer PRIMARY KEY);
INSERT INTO mc.k SELECT generate_series(1, 200);
SELECT backupkit.snapshot_tables('{mc.k}', 'keys', 'none') AS sid_k \gset
-- (without its tuple id list: rows still in place would need no key line)
UPDATE backupkit.snapshot_chunk SET row_count = 1, row_tids = NULL WHERE snapshot_id = :sid_k;
SELECT mc.show(format('SELECT count(*) FROM backupkit.diff(%s, %L)', :sid_k, 'mc.k'));
SELECT count(*) AS k_rows FROM mc.k;
-- text that is not JSON, and a \u0000 escape (no jsonb can hold either: compressed chunks)
SELECT mc.zstd(:sid_z, '[["1", "v1"], ["2", "v2"], ["3" "v3"]]');
SELECT mc.show(format('SELECT backupkit.restore_table_from_snapshot(%s, %L, %L)', :sid_z, 'mc.t', 'replace'));
SELECT mc.zstd(:sid_z, '[["1", "v1"], ["2", "v\u0000"], ["3", "v3"]]');
SELECT mc.show(format('SELECT count(*) FROM backupkit.snapshot_rows(%s, %L)', :sid_z, 'mc.t'));
-- zstd frames: damaged, followed by a stray byte, without a content size, of another size than recorded
SELECT mc.put_back();
UPDATE backupkit.snapshot_chunk SET payload_zstd = overlay(payload_zstd PLACING '\xff'::bytea FROM 12)
 WHERE snapshot_id = :sid_z;
SELECT mc.show(format('SELECT count(*) FROM backupkit.snapshot_rows(%s, %L)', :sid_z, 'mc.t'));
SELECT mc.put_back();
UPDATE backupkit.snapshot_chunk SET payload_zstd = payload_zstd || '\x00'::bytea WHERE snapshot_id = :sid_z;
SELECT mc.show(format('SELECT count(*) FROM backupkit.snapshot_rows(%s, %L)', :sid_z, 'mc.t'));
UPDATE backupkit.snapshot_chunk SET payload_zstd = mc.zstd_raw(convert_to(o.payload_text, 'UTF8'), false)
  FROM (SELECT payload::text AS payload_text FROM mc.captured WHERE snapshot_id = :sid_p) o
 WHERE snapshot_id = :sid_z;
SELECT mc.show(format('SELECT backupkit.restore_table_from_snapshot(%s, %L, %L)', :sid_z, 'mc.t', 'merge'));
SELECT mc.put_back();
UPDATE backupkit.snapshot_chunk SET raw_bytes = raw_bytes + 1 WHERE snapshot_id = :sid_z;
SELECT mc.show(format('SELECT count(*) FROM backupkit.snapshot_rows(%s, %L)', :sid_z, 'mc.t'));
SELECT mc.put_back();

-- validation reports what it finds in its own words, the core's message after them
SELECT mc.plain(:sid_p, '[["1", "v1"], ["2"], ["3", "v3"]]');
SELECT e AS error FROM jsonb_array_elements_text(backupkit.validate_snapshot_integrity(:sid_p)->'errors') e;
SELECT mc.put_back();
-- a damaged tuple id list is no error (merge and missing compare that chunk by content): a warning
UPDATE backupkit.snapshot_chunk SET row_tids = '\x00'::bytea WHERE snapshot_id = :sid_p;
SELECT w AS warning FROM jsonb_array_elements_text(backupkit.validate_snapshot_integrity(:sid_p)->'warnings') w;
SELECT mc.put_back();
UPDATE backupkit.snapshot_chunk SET row_tids = overlay(row_tids PLACING '\xff'::bytea FROM length(row_tids))
 WHERE snapshot_id = :sid_p;
SELECT w AS warning FROM jsonb_array_elements_text(backupkit.validate_snapshot_integrity(:sid_p)->'warnings') w;
SELECT mc.put_back();
-- the list checked against the chunk's recorded row count: one row fewer, one row more
UPDATE backupkit.snapshot_chunk SET row_count = 2 WHERE snapshot_id = :sid_p;
SELECT w AS warning FROM jsonb_array_elements_text(backupkit.validate_snapshot_integrity(:sid_p)->'warnings') w;
UPDATE backupkit.snapshot_chunk SET row_count = 4 WHERE snapshot_id = :sid_p;
SELECT w AS warning FROM jsonb_array_elements_text(backupkit.validate_snapshot_integrity(:sid_p)->'warnings') w;
SELECT mc.put_back();

-- every failed restore left the table as it was, and the snapshots are whole again
SELECT md5(string_agg(t::text, ',' ORDER BY id)) = :'table_before' AS table_unchanged FROM mc.t;
SELECT backupkit.validate_snapshot_integrity(:sid_p)->'valid' AS plain_valid,
       backupkit.validate_snapshot_integrity(:sid_z)->'valid' AS zstd_valid;

SET client_min_messages = warning;
SELECT backupkit.drop_snapshot(:sid_p) AND backupkit.drop_snapshot(:sid_z) AND backupkit.drop_snapshot(:sid_k) AS dropped;
RESET search_path;
DROP SCHEMA mc CASCADE;
RESET client_min_messages;
