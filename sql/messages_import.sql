-- import_snapshot's refusals of a stream whose frames are each intact (their checksums are recomputed) but
-- that is not what an export writes: frames of the wrong kind or at the wrong place, a chunk longer than it
-- announced, a chunk prefix that is too short or inconsistent, a trailer whose counts disagree. Each shows its
-- SQLSTATE, message, detail, hint and context line; nothing of a refused import is written.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS backupkit;
RESET client_min_messages;
CREATE SCHEMA mi;
SET search_path = mi;
-- Runs a statement and shows its error (snapshot ids replaced by N).
CREATE FUNCTION mi.show(sql text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text; detail text; hint text; ctx text;
BEGIN
    EXECUTE sql;
    RETURN NEXT 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
    RETURN NEXT state || ': ' || msg;
    IF detail <> '' THEN RETURN NEXT 'DETAIL: ' || detail; END IF;
    IF hint <> '' THEN RETURN NEXT 'HINT: ' || hint; END IF;
    -- only backupkit's own context line, not the PL/pgSQL ones
    IF split_part(ctx, E'\n', 1) NOT LIKE 'PL/pgSQL%' AND split_part(ctx, E'\n', 1) NOT LIKE 'SQL statement%' THEN
        RETURN NEXT 'CONTEXT: ' || split_part(ctx, E'\n', 1);
    END IF;
END $$;
-- Frame helpers (as in sql/metadata_errors.sql): a frame rebuilt with sequence number n - 1 and a new payload,
-- its checksum recomputed with backupkit's own XXH64.
CREATE FUNCTION mi.csum(bytea) RETURNS bigint AS 'backupkit', 'bk_checksum64' LANGUAGE c STRICT;
CREATE FUNCTION mi.le(v bigint, nbytes integer) RETURNS bytea LANGUAGE sql IMMUTABLE
AS $$ SELECT decode(string_agg(lpad(to_hex((v >> (8 * i)) & 255), 2, '0'), '' ORDER BY i), 'hex')
        FROM generate_series(0, nbytes - 1) i $$;
CREATE FUNCTION mi.payload(f bytea) RETURNS bytea LANGUAGE sql AS $$ SELECT substring(f FROM 25 FOR length(f) - 32) $$;
CREATE FUNCTION mi.frame(f bytea, n bigint, payload bytea) RETURNS bytea LANGUAGE sql
AS $$ SELECT body || mi.le(mi.csum(body), 8)
        FROM (SELECT substring(f FROM 1 FOR 8) || mi.le(n - 1, 4) || mi.le(length(payload), 4)
                     || substring(f FROM 17 FOR 8) || payload AS body) b $$;
-- The same frame as another kind (1 header, 2 table, 3 chunk, 4 chunk part, 5 trailer).
CREATE FUNCTION mi.as_kind(f bytea, n bigint, kind integer) RETURNS bytea LANGUAGE sql
AS $$ SELECT mi.frame(set_byte(f, 6, kind), n, mi.payload(f)) $$;
-- A chunk frame whose prefix announces data_len bytes of payload (the prefix's last field, at byte 25).
CREATE FUNCTION mi.data_len(f bytea, n bigint, v bigint) RETURNS bytea LANGUAGE sql
AS $$ SELECT mi.frame(f, n, overlay(mi.payload(f) PLACING mi.le(v, 8) FROM 26)) $$;
CREATE FUNCTION mi.import(stream text) RETURNS SETOF text LANGUAGE sql
AS $$ SELECT mi.show(format('SELECT backupkit.import_snapshot(f ORDER BY n) FROM (%s) s', stream)) $$;

CREATE TABLE mi.t (id integer PRIMARY KEY, v text);
CREATE TABLE mi.u (k text PRIMARY KEY);
INSERT INTO mi.t SELECT g, 'value ' || g FROM generate_series(1, 20) g;
INSERT INTO mi.u VALUES ('a'), ('b');
-- z: the same compressed; p: header, table t, one chunk, trailer (uncompressed); two: header, tables t and u, a chunk each, trailer.
SELECT backupkit.snapshot_tables('{mi.t}', 'plain', 'none') AS sid_p \gset
SELECT backupkit.snapshot_tables('{mi.t}', 'zstd') AS sid_z \gset
CREATE TEMP TABLE z AS SELECT n, f, get_byte(f, 6) AS kind FROM backupkit.export_snapshot(:sid_z) WITH ORDINALITY e(f, n);
CREATE TEMP TABLE p AS SELECT n, f, get_byte(f, 6) AS kind FROM backupkit.export_snapshot(:sid_p) WITH ORDINALITY e(f, n);
SELECT backupkit.snapshot_tables('{mi.t,mi.u}', 'two', 'none') AS sid_two \gset
CREATE TEMP TABLE two AS SELECT n, f, get_byte(f, 6) AS kind FROM backupkit.export_snapshot(:sid_two) WITH ORDINALITY e(f, n);
SELECT string_agg(kind::text, ',' ORDER BY n) AS kinds_p FROM p;
SELECT string_agg(kind::text, ',' ORDER BY n) AS kinds_two FROM two;
SELECT (SELECT count(*) FROM backupkit.snapshot) || '/' || (SELECT count(*) FROM backupkit.snapshot_chunk) AS stored \gset
-- The unchanged streams import (the forgeries below differ from them in one place each).
SELECT backupkit.import_snapshot(f ORDER BY n) > :sid_p AS imported FROM p;
SELECT backupkit.import_snapshot(f ORDER BY n) > :sid_two AS imported FROM two;
SELECT (SELECT count(*) FROM backupkit.snapshot) || '/' || (SELECT count(*) FROM backupkit.snapshot_chunk) AS stored \gset

-- a second header: the table frame turned into one
SELECT mi.import($$SELECT n, CASE WHEN n = 2 THEN mi.as_kind(f, n, 1) ELSE f END AS f FROM p$$);
-- a chunk part that continues no chunk: the chunk frame turned into one
SELECT mi.import($$SELECT n, CASE WHEN n = 3 THEN mi.as_kind(f, n, 4) ELSE f END AS f FROM p$$);
-- a chunk that announces one byte more than it holds, then the trailer
SELECT mi.import($$SELECT n, CASE WHEN n = 3 THEN mi.data_len(f, n, length(f) - 32 - 33 + 1) ELSE f END AS f FROM p$$);
-- ... then a chunk part of two bytes: longer than announced
SELECT mi.import($$SELECT n, CASE WHEN n = 3 THEN mi.data_len(f, n, length(f) - 32 - 33 + 1) ELSE f END AS f FROM p WHERE n < 4
                   UNION ALL SELECT 4, mi.frame(set_byte(f, 6, 4), 4, '\x2020'::bytea) FROM p WHERE n = 4
                   UNION ALL SELECT 5, mi.frame(f, 5, mi.payload(f)) FROM p WHERE n = 4$$);
-- a table frame after a chunk frame: table u's frame and table t's chunk swapped
SELECT mi.import($$SELECT CASE n WHEN 3 THEN 4 WHEN 4 THEN 3 ELSE n END AS n,
                          CASE WHEN n IN (3, 4) THEN mi.frame(f, 7 - n, mi.payload(f)) ELSE f END AS f FROM two$$);
-- a chunk frame too short for its prefix, and one whose prefix names an encoding that does not exist
SELECT mi.import($$SELECT n, CASE WHEN n = 3 THEN mi.frame(f, n, substring(mi.payload(f) FROM 1 FOR 20)) ELSE f END AS f FROM p$$);
SELECT mi.import($$SELECT n, CASE WHEN n = 3 THEN mi.frame(f, n, overlay(mi.payload(f) PLACING '\x02'::bytea FROM 25)) ELSE f END AS f FROM p$$);
-- a compressed chunk whose zstd frame is damaged: zstd's own words (which vary with its version) in the context
SELECT regexp_replace(i, 'damaged: .*', 'damaged: ...') AS import
  FROM mi.import($$SELECT n, CASE WHEN kind = 3 THEN mi.frame(f, n, overlay(mi.payload(f) PLACING '\xff'::bytea FROM 50)) ELSE f END AS f FROM z$$) i;
-- a frame of a kind that does not exist
SELECT mi.import($$SELECT n, CASE WHEN n = 2 THEN mi.as_kind(f, n, 9) ELSE f END AS f FROM p$$);
-- a trailer that announces one row more than arrived
SELECT mi.import($$SELECT n, CASE WHEN kind = 5 THEN mi.frame(f, n, convert_to(
                       jsonb_set(convert_from(mi.payload(f), 'UTF8')::jsonb, '{rows}', '21')::text, 'UTF8')) ELSE f END AS f
                   FROM p$$);
-- nothing of the refused imports was written
SELECT (SELECT count(*) FROM backupkit.snapshot) || '/' || (SELECT count(*) FROM backupkit.snapshot_chunk) = :'stored'
       AS nothing_imported;

SET client_min_messages = warning;
-- the two exported snapshots and their two imports
SELECT count(*) AS dropped FROM (SELECT backupkit.drop_snapshot(snapshot_id) FROM backupkit.snapshot
                                  WHERE snapshot_id >= :sid_p) d;
RESET search_path;
DROP SCHEMA mi CASCADE;
RESET client_min_messages;
