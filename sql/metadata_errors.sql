-- Error messages of metadata checksums (a snapshot whose stored metadata changed) and of import_snapshot's
-- verification (streams whose frames are intact but whose content is not what was exported).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS backupkit;
RESET client_min_messages;
CREATE SCHEMA me;
SET search_path = me;
-- Runs a statement and shows its error with snapshot ids replaced by N.
CREATE FUNCTION me.show(sql text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text; detail text; hint text;
BEGIN
    EXECUTE sql;
    RETURN NEXT 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT;
    RETURN NEXT state || ': ' || regexp_replace(msg, 'snapshot \d+', 'snapshot N', 'g');
    -- (checksums vary with the data, zstd's own words with its version)
    IF detail <> '' THEN
        RETURN NEXT 'DETAIL: ' || regexp_replace(regexp_replace(detail, '[0-9a-f]{16}', 'X', 'g'), 'damaged: .*', 'damaged: ...');
    END IF;
    IF hint <> '' THEN RETURN NEXT 'HINT: ' || regexp_replace(hint, '\(\d+\)', '(N)', 'g'); END IF;
END $$;
CREATE TABLE me.t (id integer PRIMARY KEY, v text);
CREATE TABLE me.u (k text PRIMARY KEY);
INSERT INTO me.t SELECT g, 'value ' || g FROM generate_series(1, 20) g;
INSERT INTO me.u VALUES ('a'), ('b');
SELECT backupkit.snapshot_tables('{me.t,me.u}', 'metadata_errors') AS sid \gset
SELECT set_config('me.sid', :'sid', false) IS NOT NULL AS ok;
CREATE FUNCTION me.restore() RETURNS text LANGUAGE sql
AS $$ SELECT format('SELECT backupkit.restore_table_from_snapshot(%s, ''me.t'', ''merge'')', current_setting('me.sid')) $$;

-- a renamed column and a changed key: the fields are named
UPDATE backupkit.snapshot_table SET columns = jsonb_set(columns, '{1,name}', '"w"'), key_columns = '{v}'
 WHERE snapshot_id = :sid AND table_name = 't';
SELECT me.show(me.restore());
SELECT r->'valid' AS valid, r->'metadata' AS metadata, jsonb_array_elements_text(r->'errors') AS error
  FROM backupkit.validate_snapshot_integrity(:sid) r;
SELECT me.show(format('SELECT backupkit.restore_snapshot(%s)', :sid));
UPDATE backupkit.snapshot_table SET columns = jsonb_set(columns, '{1,name}', '"v"'), key_columns = '{id}'
 WHERE snapshot_id = :sid AND table_name = 't';
-- the checksum itself damaged, then removed
UPDATE backupkit.snapshot_table SET metadata_checksum = overlay(metadata_checksum PLACING '\x00'::bytea FROM 2)
 WHERE snapshot_id = :sid AND table_name = 't';
SELECT me.show(me.restore());
UPDATE backupkit.snapshot_table SET metadata_checksum = NULL WHERE snapshot_id = :sid AND table_name = 't';
SELECT me.show(me.restore());
-- a checksum of a later version
UPDATE backupkit.snapshot_table SET metadata_checksum = '\x07'::bytea WHERE snapshot_id = :sid AND table_name = 't';
SELECT me.show(me.restore());
-- the snapshot row: a changed label; an entry removed; the row's own checksum removed
SELECT backupkit.snapshot_tables('{me.t,me.u}', 'second') AS sid2 \gset
SELECT set_config('me.sid', :'sid2', false) IS NOT NULL AS ok;
UPDATE backupkit.snapshot SET label = 'relabeled' WHERE snapshot_id = :sid2;
SELECT me.show(me.restore());
UPDATE backupkit.snapshot SET label = 'second' WHERE snapshot_id = :sid2;
SELECT me.show(format('SELECT count(*) FROM backupkit.export_snapshot(%s)', :sid2));
UPDATE backupkit.snapshot SET metadata_checksum = NULL WHERE snapshot_id = :sid2;
SELECT me.show(me.restore());
-- a snapshot from before metadata checksums: a warning, not an error
UPDATE backupkit.snapshot_table SET metadata_checksum = NULL WHERE snapshot_id = :sid2;
SELECT r->'valid' AS valid, r->'metadata' AS metadata, regexp_replace(jsonb_array_elements_text(r->'warnings'), '\d+', 'N') AS warning
  FROM backupkit.validate_snapshot_integrity(:sid2) r;
SELECT regexp_replace(jsonb_array_elements_text(r->'warnings'), '\d+', 'N') AS warning
  FROM backupkit.restore_table_from_snapshot(:sid2, 'me.t', 'merge') r;
DELETE FROM backupkit.snapshot_table WHERE snapshot_id = :sid2 AND table_name = 'u';
SELECT backupkit.snapshot_tables('{me.t,me.u}', 'third') AS sid3 \gset
SELECT set_config('me.sid', :'sid3', false) IS NOT NULL AS ok;
DELETE FROM backupkit.snapshot_table WHERE snapshot_id = :sid3 AND table_name = 'u';
SELECT me.show(me.restore());

-- import_snapshot: frames forged so that every frame checksum is right (helpers as in
-- test/pgtap/330_import_verification.sql)
CREATE FUNCTION me.csum(bytea) RETURNS bigint AS 'backupkit', 'bk_checksum64' LANGUAGE c STRICT;
CREATE FUNCTION me.le(v bigint, nbytes integer) RETURNS bytea LANGUAGE sql IMMUTABLE
AS $$ SELECT decode(string_agg(lpad(to_hex((v >> (8 * i)) & 255), 2, '0'), '' ORDER BY i), 'hex')
        FROM generate_series(0, nbytes - 1) i $$;
CREATE FUNCTION me.payload(f bytea) RETURNS bytea LANGUAGE sql AS $$ SELECT substring(f FROM 25 FOR length(f) - 32) $$;
CREATE FUNCTION me.frame(f bytea, n bigint, payload bytea, export_id bytea DEFAULT NULL) RETURNS bytea LANGUAGE sql
AS $$ SELECT body || me.le(me.csum(body), 8)
        FROM (SELECT substring(f FROM 1 FOR 8) || me.le(n - 1, 4) || me.le(length(payload), 4)
                     || coalesce(export_id, substring(f FROM 17 FOR 8)) || payload AS body) b $$;
CREATE FUNCTION me.prefix(f bytea, n bigint, off integer, v integer) RETURNS bytea LANGUAGE sql
AS $$ SELECT me.frame(f, n, overlay(me.payload(f) PLACING me.le(v, 4) FROM off + 1)) $$;
CREATE FUNCTION me.json(f bytea, n bigint, old text, new text) RETURNS bytea LANGUAGE sql
AS $$ SELECT me.frame(f, n, convert_to(replace(convert_from(me.payload(f), 'UTF8'), old, new), 'UTF8')) $$;
SELECT backupkit.snapshot_tables('{me.t,me.u}', 'zstd') AS sid5 \gset
CREATE TEMP TABLE z AS SELECT n, f, get_byte(f, 6) AS kind FROM backupkit.export_snapshot(:sid5) WITH ORDINALITY e(f, n);
SELECT backupkit.snapshot_tables('{me.t}', 'plain', 'none') AS sid4 \gset
CREATE TEMP TABLE p AS SELECT n, f, get_byte(f, 6) AS kind FROM backupkit.export_snapshot(:sid4) WITH ORDINALITY e(f, n);
CREATE TEMP TABLE other AS SELECT n, f FROM backupkit.export_snapshot(:sid4) WITH ORDINALITY e(f, n);
SELECT (SELECT count(*) FROM backupkit.snapshot) || '/' || (SELECT count(*) FROM backupkit.snapshot_chunk) AS stored \gset
CREATE FUNCTION me.import(stream text) RETURNS SETOF text LANGUAGE sql
AS $$ SELECT me.show(format('SELECT backupkit.import_snapshot(f ORDER BY n) FROM (%s) s', stream)) $$;
-- a chunk's content changed (uncompressed and compressed)
SELECT me.import($$SELECT n, CASE WHEN kind = 3 THEN me.frame(f, n, overlay(me.payload(f) PLACING '9'::bytea FROM 38)) ELSE f END AS f FROM p$$);
SELECT me.import($$SELECT n, CASE WHEN kind = 3 THEN me.frame(f, n, overlay(me.payload(f) PLACING '\xff'::bytea FROM 50)) ELSE f END AS f FROM z$$);
-- the chunk prefix changed: number, row count, size, table, encoding
SELECT me.import($$SELECT n, CASE WHEN kind = 3 THEN me.prefix(f, n, 4, 3) ELSE f END AS f FROM p$$);
SELECT me.import($$SELECT n, CASE WHEN kind = 3 THEN me.prefix(f, n, 8, 7) ELSE f END AS f FROM p$$);
SELECT me.import($$SELECT n, CASE WHEN kind = 3 THEN me.prefix(f, n, 12, 5) ELSE f END AS f FROM p$$);
SELECT me.import($$SELECT n, CASE WHEN kind = 3 THEN me.prefix(f, n, 12, -5) ELSE f END AS f FROM p$$);
SELECT me.import($$SELECT n, CASE WHEN kind = 3 THEN me.prefix(f, n, 0, 9) ELSE f END AS f FROM p$$);
SELECT me.import($$SELECT n, CASE WHEN kind = 3 THEN me.frame(f, n, overlay(me.payload(f) PLACING '\x01'::bytea FROM 25)) ELSE f END AS f FROM p$$);
-- table frames: out of order, changed metadata; the header's metadata changed
SELECT me.import($$SELECT CASE n WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE n END AS n, CASE WHEN n IN (2, 3) THEN me.frame(f, 5 - n, me.payload(f)) ELSE f END AS f FROM z$$);
SELECT me.import($$SELECT n, CASE WHEN kind = 2 THEN me.json(f, n, '"name": "v"', '"name": "w"') ELSE f END AS f FROM p$$);
SELECT me.import($$SELECT n, CASE WHEN kind = 1 THEN me.json(f, n, '"label": "plain"', '"label": "other"') ELSE f END AS f FROM p$$);
-- frames of two exports
SELECT me.import($$SELECT n, f FROM p WHERE n < 3 UNION ALL SELECT n, f FROM other WHERE n >= 3$$);
-- a version 1 stream
SELECT me.import($$SELECT n, set_byte(f, 4, 1) AS f FROM p$$);
-- nothing of the refused imports was written
SELECT (SELECT count(*) FROM backupkit.snapshot) || '/' || (SELECT count(*) FROM backupkit.snapshot_chunk) = :'stored'
       AS nothing_imported;

SET client_min_messages = warning;
RESET search_path;
DROP SCHEMA me CASCADE;
RESET client_min_messages;
