-- Metadata checksums: every stored field a restore relies on is covered. Each case below changes one field as a
-- superuser could (or a damaged page would): validate_snapshot_integrity reports it, naming the field, and
-- replace, merge, missing, a dry run, restore_snapshot (with and without its up-front validation), diff,
-- snapshot_rows and export all refuse with XX001 naming the field, leaving the tables as they were (whole-table
-- checksums). Untouched snapshots restore; a snapshot from before checksums (NULL) restores with a warning.
BEGIN;
SELECT plan(46);
SET LOCAL client_min_messages = warning;

CREATE SCHEMA mc;
CREATE TABLE mc.parent (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE mc.t (id serial PRIMARY KEY, parent_id integer REFERENCES mc.parent, v text, n numeric);
INSERT INTO mc.parent SELECT g, 'p' || g FROM generate_series(1, 20) g;
INSERT INTO mc.t (parent_id, v, n) SELECT 1 + g % 20, md5(g::text), g / 3.0 FROM generate_series(1, 400) g;

CREATE FUNCTION mc.fp() RETURNS text LANGUAGE sql AS $$
    SELECT md5((SELECT coalesce(string_agg(t::text, '|' ORDER BY t.id), '') FROM mc.t t) || '/' ||
               (SELECT coalesce(string_agg(p::text, '|' ORDER BY p.id), '') FROM mc.parent p)) $$;
SELECT mc.fp() AS captured \gset
SELECT backupkit.snapshot_tables('{mc.parent,mc.t}', 'sealed') AS sid \gset

-- Damage the live tables, so that every restore below would change something.
UPDATE mc.t SET v = 'changed' WHERE id % 10 = 0;
DELETE FROM mc.t WHERE id > 380;
INSERT INTO mc.t (parent_id, v) VALUES (1, 'extra');
SELECT mc.fp() AS damaged \gset

-- Applies a change to the storage tables, runs every consumer of the snapshot, undoes the change (by rolling
-- back a block) and returns one word each: validate ('invalid' when some error names the field), then the
-- SQLSTATE of each operation (with '?' when its detail does not name the field), then whether the tables
-- still hold exactly what they held before.
CREATE FUNCTION mc.tamper(change text, field text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    out text := '';
    before text := mc.fp();
    report jsonb;
    op text;
    state text;
    detail text;
    ops text[] := ARRAY[
        format('SELECT backupkit.restore_table_from_snapshot(%s, ''mc.t'', ''replace'')', current_setting('mc.sid')),
        format('SELECT backupkit.restore_table_from_snapshot(%s, ''mc.t'', ''merge'')', current_setting('mc.sid')),
        format('SELECT backupkit.restore_table_from_snapshot(%s, ''mc.t'', ''missing'')', current_setting('mc.sid')),
        format('SELECT backupkit.restore_table_from_snapshot(%s, ''mc.t'', dry_run => true)', current_setting('mc.sid')),
        format('SELECT backupkit.restore_snapshot(%s)', current_setting('mc.sid')),
        format('SELECT backupkit.restore_snapshot(%s, validate => false)', current_setting('mc.sid')),
        format('SELECT backupkit.restore_snapshot(%s, ''{mc.t}'', ''merge'', validate => false)', current_setting('mc.sid')),
        format('SELECT count(*) FROM backupkit.diff(%s, ''mc.t'')', current_setting('mc.sid')),
        format('SELECT count(*) FROM backupkit.snapshot_rows(%s, ''mc.t'')', current_setting('mc.sid')),
        format('SELECT count(*) FROM backupkit.export_snapshot(%s)', current_setting('mc.sid'))];
BEGIN
    BEGIN
        EXECUTE change;
        report := backupkit.validate_snapshot_integrity(current_setting('mc.sid')::bigint);
        out := CASE WHEN report->>'valid' = 'false' AND report->>'metadata' = 'mismatch'
                         AND EXISTS (SELECT FROM jsonb_array_elements_text(report->'errors') e
                                      WHERE e LIKE '%metadata%' AND e LIKE '%' || field || '%')
                    THEN 'invalid' ELSE 'VALID:' || (report->'errors')::text END;
        FOREACH op IN ARRAY ops LOOP
            BEGIN
                EXECUTE op;
                out := out || ' ok';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
                out := out || ' ' || state || CASE WHEN detail LIKE '%' || field || '%' THEN '' ELSE '?' END;
            END;
        END LOOP;
        out := out || CASE WHEN mc.fp() = before THEN ' unchanged' ELSE ' CHANGED' END;
        RAISE EXCEPTION 'undo' USING ERRCODE = 'P0001';
    EXCEPTION WHEN SQLSTATE 'P0001' THEN
        NULL;
    END;
    RETURN out;
END $$;
SELECT set_config('mc.sid', :'sid', true);
\set refused '''invalid XX001 XX001 XX001 XX001 XX001 XX001 XX001 XX001 XX001 XX001 unchanged'''

-- Positive control: without a change, validate says valid and every operation runs (the tables change).
SELECT is((SELECT (backupkit.validate_snapshot_integrity(:sid))->>'valid'), 'true', 'the untouched snapshot is valid');
SELECT is((SELECT (backupkit.validate_snapshot_integrity(:sid))->>'metadata'), 'ok', 'its metadata checksums verify');
SELECT is(mc.tamper('SELECT 1', ''),
          'VALID:[] ok ok ok ok ok ok ok ok ok ok CHANGED', 'without a change nothing is refused (the helper can fail)');

-- Each stored field of the table entry.
-- The UPDATE of entry mc.t, or of the snapshot row, setting what is given.
CREATE FUNCTION mc.te(assignment text) RETURNS text LANGUAGE sql AS $$
    SELECT format('UPDATE backupkit.snapshot_table SET %s WHERE snapshot_id = %s AND table_name = %L', assignment,
                  current_setting('mc.sid'), 't') $$;
CREATE FUNCTION mc.sn(assignment text) RETURNS text LANGUAGE sql AS $$
    SELECT format('UPDATE backupkit.snapshot SET %s WHERE snapshot_id = %s', assignment, current_setting('mc.sid')) $$;
SELECT is(mc.tamper(mc.te($$columns = jsonb_set(columns, '{2,name}', '"w"')$$), 'columns'), :refused,
          'a captured column renamed');
SELECT is(mc.tamper(mc.te($$columns = jsonb_set(columns, '{3,type}', '"text"')$$), 'columns'), :refused,
          'a column type changed');
SELECT is(mc.tamper(mc.te($$columns = jsonb_build_array(columns->0, columns->2, columns->1, columns->3)$$), 'columns'),
          :refused, 'the column order changed');
SELECT is(mc.tamper(mc.te($$columns = jsonb_set(columns, '{3,captured}', 'false')$$), 'columns'), :refused,
          'a column marked as not captured');
SELECT is(mc.tamper(mc.te($$key_columns = '{v}'$$), 'key_columns'), :refused, 'the key columns changed');
SELECT is(mc.tamper(mc.te($$key_columns = NULL$$), 'key_columns'), :refused, 'the key removed');
SELECT is(mc.tamper(mc.te($$key_kind = 'unique'$$), 'key_kind'), :refused, 'the key kind changed');
SELECT is(mc.tamper(mc.te($$foreign_keys = '[]'$$), 'foreign_keys'), :refused, 'the foreign keys changed');
SELECT is(mc.tamper(mc.te($$sequences = '[]'$$), 'sequences'), :refused, 'the sequences changed');
SELECT is(mc.tamper(mc.te($$row_count = row_count + 1$$), 'row_count'), :refused, 'the row count changed');
SELECT is(mc.tamper(mc.te($$chunk_count = chunk_count + 1$$), 'chunk_count'), :refused, 'the chunk count changed');
SELECT is(mc.tamper(mc.te($$raw_bytes = raw_bytes + 1$$), 'raw_bytes'), :refused, 'the raw size changed');
SELECT is(mc.tamper(mc.te($$stored_bytes = stored_bytes - 1$$), 'stored_bytes'), :refused, 'the stored size changed');
SELECT is(mc.tamper(mc.te($$checksum = '0123456789abcdef'$$), 'checksum'), :refused, 'the table checksum changed');
SELECT is(mc.tamper(mc.te($$schema_name = 'public'$$), 'schema_name'), :refused, 'the schema name changed');
SELECT is(mc.tamper(mc.te($$table_name = 'renamed'$$), 'table_name'), :refused, 'the table name changed');
SELECT is(mc.tamper(mc.te('columns = columns, key_columns = key_columns'), ''),
          'VALID:[] ok ok ok ok ok ok ok ok ok ok CHANGED', 'an UPDATE that changes no value is no tampering');
SELECT is(mc.tamper(mc.te($$relid = (relid::bigint + 1)::text::oid$$), 'relid'), :refused, 'the captured oid changed');
SELECT is(mc.tamper(mc.te($$capture_layout = capture_layout + 1$$), 'capture_layout'), :refused,
          'the capture position changed');
-- (restore_snapshot without validation plans mc.parent first: it stops at the snapshot's own checksum, which
-- chains the entries' checksums, so its detail names table_entries instead.)
SELECT is(mc.tamper(mc.te($$metadata_checksum = overlay(metadata_checksum PLACING '\xff'::bytea FROM 12)$$),
                    'checksum itself'), 'invalid XX001 XX001 XX001 XX001 XX001 XX001? XX001 XX001 XX001 XX001 unchanged',
          'the metadata checksum itself damaged');
SELECT is(mc.tamper(mc.te($$metadata_checksum = NULL$$), 'no metadata checksum'),
          'invalid XX001 XX001 XX001 XX001 XX001 XX001? XX001 XX001 XX001 XX001 unchanged',
          'an entry stripped of its checksum in a sealed snapshot');
-- The other table's entry: restoring mc.t alone still refuses (the snapshot's checksum chains every entry).
SELECT is(mc.tamper($$UPDATE backupkit.snapshot_table SET columns = jsonb_set(columns, '{1,name}', '"label"')
                      WHERE snapshot_id = $$ || :sid || $$ AND table_name = 'parent'$$, 'columns'),
          'invalid ok ok ok ok XX001 XX001 ok ok ok XX001 CHANGED',
          'an entry of another table: mc.t alone still restores, the whole snapshot and its export are refused');

-- Each covered field of the snapshot row.
SELECT is(mc.tamper(mc.sn($$label = 'other'$$), 'label'), :refused, 'the label changed');
SELECT is(mc.tamper(mc.sn($$created_at = created_at - interval '1 day'$$), 'created_at'), :refused,
          'the capture time changed');
SELECT is(mc.tamper(mc.sn($$created_by_name = 'someone'$$), 'created_by_name'), :refused, 'the creator name changed');
SELECT is(mc.tamper(mc.sn($$compression = 'none'$$), 'compression'), :refused, 'the compression changed');
SELECT is(mc.tamper(mc.sn($$format_version = 0$$), 'format_version'), :refused, 'the format version changed');
SELECT is(mc.tamper(mc.sn($$table_count = 1$$), 'table_count'), :refused, 'the table count changed');
SELECT is(mc.tamper(mc.sn($$row_count = row_count + 1$$), 'row_count'), :refused, 'the row total changed');
SELECT is(mc.tamper(mc.sn($$origin = '{"imported_from": {}}'$$), 'origin'), :refused, 'the origin changed');
SELECT is(mc.tamper(mc.sn($$status = 'importing'$$), 'status'), :refused, 'the status changed');
SELECT is(mc.tamper($$DELETE FROM backupkit.snapshot_table WHERE snapshot_id = $$ || :sid || $$ AND table_name = 'parent'$$,
                    'table_entries'),
          'invalid XX001 XX001 XX001 XX001 XX001 XX001 XX001 XX001 XX001 XX001 unchanged', 'a table entry removed');
SELECT is(mc.tamper(mc.sn($$pinned = true, duration_ms = 1$$), ''),
          'VALID:[] ok ok ok ok ok ok ok ok ok ok CHANGED', 'pinned and duration_ms are not covered (pin_snapshot changes pinned)');

-- The messages themselves.
SELECT mc.te($$columns = jsonb_set(columns, '{2,name}', '"w"')$$) AS rename \gset
:rename;
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''mc.t'', ''replace'')', :sid),
                 'XX001', format('snapshot %s is corrupted: metadata of table "mc.t" does not match its checksum', :sid),
                 'the error names the snapshot and the table');
SELECT is(mc.fp(), :'damaged', 'and nothing changed');
UPDATE backupkit.snapshot_table SET columns = jsonb_set(columns, '{2,name}', '"v"')
 WHERE snapshot_id = :sid AND table_name = 't';
SELECT is((SELECT (backupkit.validate_snapshot_integrity(:sid))->>'metadata'), 'ok',
          'putting the value back makes the checksum match again');

-- Untouched: every mode works and the restore is exact.
SELECT is((SELECT jsonb_array_length(r->'tables'->0->'warnings') FROM backupkit.restore_snapshot(:sid) r), 0,
          'the sealed snapshot restores without warnings');
SELECT is(mc.fp(), :'captured', 'and the tables equal the snapshot');

-- A snapshot from before metadata checksums: NULL everywhere (as an upgrade leaves it).
UPDATE mc.t SET v = 'again' WHERE id <= 5;
UPDATE backupkit.snapshot_table SET metadata_checksum = NULL WHERE snapshot_id = :sid;
UPDATE backupkit.snapshot SET metadata_checksum = NULL WHERE snapshot_id = :sid;
SELECT is((SELECT r->>'valid' || '/' || (r->>'metadata') FROM backupkit.validate_snapshot_integrity(:sid) r),
          'true/not checksummed', 'an unsealed snapshot is valid, its metadata "not checksummed"');
SELECT is((SELECT r->'warnings' FROM backupkit.validate_snapshot_integrity(:sid) r),
          format('["Snapshot %s predates metadata checksums: its stored table descriptions (columns, keys, counts) are not verified."]', :sid)::jsonb,
          'validate warns about it');
SELECT is((SELECT r->'warnings' FROM backupkit.restore_table_from_snapshot(:sid, 'mc.t', 'merge') r),
          format('["snapshot %s predates metadata checksums: its stored table description was not verified"]', :sid)::jsonb,
          'a restore of it carries the warning');
SELECT is(mc.fp(), :'captured', 'and restores exactly');
UPDATE backupkit.snapshot_table SET metadata_checksum = '\x01'::bytea WHERE snapshot_id = :sid AND table_name = 't';
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''mc.t'')', :sid), 'XX001',
                 format('snapshot %s is corrupted: its metadata does not match its checksum', :sid),
                 'an entry sealed in an unsealed snapshot is refused');

SELECT * FROM finish();
ROLLBACK;
