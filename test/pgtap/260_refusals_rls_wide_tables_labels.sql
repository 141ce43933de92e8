-- Defects found by the reliability campaign (issue 15, "Other defects"): system catalogs and backupkit's own
-- tables are never targets; rows captured under row-level security are used only under the policies they were
-- captured under; every function works on 51 and 1,600 columns; a caught error leaves no progress behind;
-- labels are bounded so that every snapshot exports; validate warns about rows a CHECK constraint now rejects.
BEGIN;
SELECT plan(71);

CREATE SCHEMA rel;
CREATE FUNCTION rel.checksum(t regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
    EXECUTE format('SELECT count(*) || '':'' || pg_catalog.md5(coalesce(pg_catalog.string_agg(r::text, '','' ORDER BY r::text), '''')) FROM %s r', t) INTO h;
    RETURN h;
END $$;
GRANT USAGE ON SCHEMA rel TO PUBLIC;
GRANT EXECUTE ON FUNCTION rel.checksum(regclass) TO PUBLIC;
CREATE TABLE rel.t (id integer PRIMARY KEY, v text);
INSERT INTO rel.t SELECT i, 'v' || i FROM generate_series(1, 10) i;
SELECT backupkit.snapshot_tables('{rel.t}') AS t_sid \gset

-- 1. System catalogs and backupkit's own tables, refused for everyone (this file runs as a superuser).
SELECT throws_ok($$SELECT backupkit.snapshot_tables('{pg_class}')$$, '0A000',
                 'cannot snapshot system table "pg_catalog.pg_class"', 'a superuser cannot snapshot pg_class');
SELECT throws_ok($$SELECT backupkit.snapshot_tables('{rel.t,pg_authid}')$$, '0A000',
                 'cannot snapshot system table "pg_catalog.pg_authid"', 'nor pg_authid, listed after a user table');
SELECT throws_ok($$SELECT backupkit.snapshot_tables('{information_schema.sql_features}')$$, '0A000',
                 'cannot snapshot system table "information_schema.sql_features"', 'nor a table of information_schema');
SELECT throws_ok($$SELECT backupkit.snapshot_tables('{backupkit.snapshot_chunk}')$$, '0A000',
                 'cannot snapshot table "backupkit.snapshot_chunk" of extension "backupkit"',
                 'nor backupkit''s own storage');
SELECT throws_ok(format($$SELECT backupkit.snapshot_tables(ARRAY[%L::regclass])$$,
                        (SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = 'pg_proc'::regclass)),
                 '42809', NULL, 'nor the TOAST table of a catalog');
SELECT throws_ok(format($$SELECT backupkit.restore_table_from_snapshot(%s, 'pg_class', 'merge')$$, :t_sid), '0A000',
                 'cannot restore system table "pg_catalog.pg_class"', 'a superuser cannot merge into pg_class');
SELECT throws_ok(format($$SELECT backupkit.restore_snapshot(%s, '{pg_class}', 'missing')$$, :t_sid), '0A000',
                 'cannot restore system table "pg_catalog.pg_class"', 'nor restore it in a set');
SELECT throws_ok(format($$SELECT backupkit.restore_table_from_snapshot(%s, 'backupkit.snapshot', 'merge')$$, :t_sid),
                 '0A000', 'cannot restore table "backupkit.snapshot" of extension "backupkit"',
                 'nor restore into backupkit''s storage');
SELECT throws_ok($$SELECT backupkit.get_table_restoration_order('{pg_class}'::regclass[])$$, '0A000',
                 'cannot order system table "pg_catalog.pg_class"', 'ordering refuses a catalog');
SELECT throws_ok($$SELECT * FROM backupkit.restoration_plan('{rel.t,pg_constraint}')$$, '0A000',
                 'cannot order system table "pg_catalog.pg_constraint"', 'restoration_plan refuses a catalog too');
-- A snapshot whose entry names pg_class (as one taken before the check, or imported, could): every use refused.
SELECT backupkit.snapshot_tables('{rel.t}') AS cat_sid \gset
UPDATE backupkit.snapshot_table SET schema_name = 'pg_catalog', table_name = 'pg_class', relid = 'pg_class'::regclass
 WHERE snapshot_id = :cat_sid;
SELECT rel.checksum('pg_class') AS pg_class_before \gset
SELECT throws_ok(format('SELECT backupkit.restore_snapshot(%s, mode => ''merge'')', :cat_sid), '0A000',
                 'cannot restore system table "pg_catalog.pg_class"', 'a snapshot naming pg_class cannot restore into it');
SELECT throws_ok(format('SELECT backupkit.restore_snapshot(%s, mode => ''replace'', dry_run => true)', :cat_sid), '0A000',
                 'cannot restore system table "pg_catalog.pg_class"', 'not even as a dry run');
SELECT throws_ok(format('SELECT * FROM backupkit.diff(%s, ''pg_class'')', :cat_sid), '0A000',
                 'cannot diff system table "pg_catalog.pg_class"', 'nor diff against it');
SELECT throws_ok(format('SELECT * FROM backupkit.diff(%s, ''pg_class'')', :t_sid), '0A000',
                 'cannot diff system table "pg_catalog.pg_class"', 'diff refuses a catalog before looking in the snapshot');
SELECT throws_ok(format('SELECT * FROM backupkit.snapshot_rows(%s, ''pg_authid'')', :t_sid), '0A000',
                 'cannot read captured rows of system table "pg_catalog.pg_authid"', 'snapshot_rows refuses a catalog too');
SELECT throws_ok(format('SELECT * FROM backupkit.snapshot_rows(%s, ''pg_class'')', :cat_sid), '0A000',
                 'cannot read captured rows of system table "pg_catalog.pg_class"', 'nor read its rows as pg_class''s');
SELECT is(rel.checksum('pg_class'), :'pg_class_before', 'pg_class is unchanged');

-- 3. Row-level security: one rule for restore, dry run, export, diff and reads.
CREATE ROLE rel_owner;
CREATE ROLE rel_alice;
CREATE ROLE rel_full BYPASSRLS;
CREATE ROLE rel_carol;
GRANT USAGE, CREATE ON SCHEMA rel TO rel_owner;
GRANT rel_alice TO rel_owner;
GRANT rel_full TO rel_carol;
CREATE TABLE rel.r (id integer PRIMARY KEY, owner name NOT NULL, v text);
ALTER TABLE rel.r OWNER TO rel_owner;
INSERT INTO rel.r SELECT i, CASE WHEN i % 2 = 0 THEN 'rel_alice' ELSE 'rel_bob' END, 'v' || i FROM generate_series(1, 20) i;
ALTER TABLE rel.r ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON rel.r USING (owner = current_user) WITH CHECK (owner = current_user);
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON rel.r TO rel_alice, rel_full, rel_carol;
SET LOCAL ROLE rel_alice;
SELECT backupkit.snapshot_tables('{rel.r}', 'alice sees 10 rows') AS alice_sid \gset
RESET ROLE;
SELECT rel.checksum('rel.r') AS r_before \gset
-- rel_owner is a member of rel_alice and sees every row (it owns the table): alice's capture lacks ten of them.
SET LOCAL ROLE rel_owner;
SELECT is((SELECT count(*) FROM rel.r), 20::bigint, 'the owner sees all 20 rows');
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''rel.r'')', :alice_sid), '42501',
                 'permission denied to restore captured rows of table "rel.r"',
                 'RLS: a member who sees every row cannot replace from a capture that saw some');
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''rel.r'', ''replace'', true)', :alice_sid),
                 '42501', 'permission denied to restore captured rows of table "rel.r"', 'RLS: nor dry-run it');
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''rel.r'', ''merge'')', :alice_sid), '42501',
                 'permission denied to restore captured rows of table "rel.r"', 'RLS: nor merge it');
SELECT throws_ok(format('SELECT backupkit.restore_snapshot(%s)', :alice_sid), '42501',
                 'permission denied to restore captured rows of table "rel.r"', 'RLS: nor restore it in a set');
SELECT throws_ok(format('SELECT backupkit.restore_snapshot(%s, ''{rel.r}'', dry_run => true)', :alice_sid), '42501',
                 'permission denied to restore captured rows of table "rel.r"', 'RLS: nor dry-run the set');
SELECT throws_ok(format('SELECT count(*) FROM backupkit.export_snapshot(%s)', :alice_sid), '42501',
                 'permission denied to export captured rows of table "rel.r"',
                 'RLS: nor export it (to import it as her own)');
SELECT throws_ok(format('SELECT count(*) FROM backupkit.diff(%s, ''rel.r'')', :alice_sid), '42501',
                 'permission denied to read captured rows of table "rel.r"', 'RLS: nor diff it');
SELECT throws_ok(format('SELECT count(*) FROM backupkit.snapshot_rows(%s, ''rel.r'')', :alice_sid), '42501',
                 'permission denied to read captured rows of table "rel.r"', 'RLS: nor read it');
RESET ROLE;
SELECT is(rel.checksum('rel.r'), :'r_before', 'RLS: the table kept every row');
-- The capture records that the policies filtered it: switching row-level security off afterwards does not let
-- the member replace from it (which would delete the ten rows alice never saw).
RESET ROLE;
SELECT is((SELECT (definition->>'capture_rls_active')::boolean FROM backupkit.snapshot_table
            WHERE snapshot_id = :alice_sid), true, 'RLS: the capture recorded that the policies filtered it');
ALTER TABLE rel.r DISABLE ROW LEVEL SECURITY;
SET LOCAL ROLE rel_owner;
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''rel.r'')', :alice_sid), '42501',
                 'permission denied to restore captured rows of table "rel.r"',
                 'RLS: with row-level security switched off since, the member still cannot replace from it');
SELECT throws_ok(format('SELECT count(*) FROM backupkit.diff(%s, ''rel.r'')', :alice_sid), '42501',
                 'permission denied to read captured rows of table "rel.r"', 'RLS: nor diff it');
RESET ROLE;
ALTER TABLE rel.r ENABLE ROW LEVEL SECURITY;
SELECT is(rel.checksum('rel.r'), :'r_before', 'RLS: the table still has its 20 rows');
SET LOCAL ROLE rel_owner;
-- The creator exports its capture; a member imports it as his own: it stays alice's capture.
SET LOCAL ROLE rel_alice;
CREATE TEMP TABLE rel_alice_frames AS
SELECT f.n, f.frame FROM backupkit.export_snapshot(:alice_sid) WITH ORDINALITY f(frame, n);
GRANT SELECT ON rel_alice_frames TO rel_owner;
SELECT backupkit.import_snapshot(frame ORDER BY n) AS alice_reimported FROM rel_alice_frames \gset
RESET ROLE;
SET LOCAL ROLE rel_owner;
SELECT backupkit.import_snapshot(frame ORDER BY n) AS owner_imported FROM rel_alice_frames \gset
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''rel.r'')', :owner_imported), '42501',
                 'permission denied to restore captured rows of table "rel.r"',
                 'RLS: importing the creator''s export does not make the capture the member''s own');
SELECT throws_ok(format('SELECT count(*) FROM backupkit.snapshot_rows(%s, ''rel.r'')', :owner_imported), '42501',
                 'permission denied to read captured rows of table "rel.r"', 'RLS: nor may he read it');
RESET ROLE;
SET LOCAL ROLE rel_alice;
SELECT is((SELECT count(*) FROM backupkit.snapshot_rows(:alice_reimported, 'rel.r')), 10::bigint,
          'RLS: the creator''s own re-import stays hers');
RESET ROLE;
SELECT is(rel.checksum('rel.r'), :'r_before', 'RLS: the table still holds every row');
-- The other direction: rel_full (BYPASSRLS) captured all rows; rel_carol, its member, is filtered by the policy
-- (BYPASSRLS is not inherited) and must not count or restore rows hidden from her.
SET LOCAL ROLE rel_full;
SELECT backupkit.snapshot_tables('{rel.r}', 'every row') AS full_sid \gset
RESET ROLE;
SET LOCAL ROLE rel_carol;
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''rel.r'', ''missing'', true)', :full_sid),
                 '42501', 'permission denied to restore captured rows of table "rel.r"',
                 'RLS: a filtered member gets no dry-run counts of a full capture');
SELECT throws_ok(format('SELECT count(*) FROM backupkit.export_snapshot(%s)', :full_sid), '42501',
                 'permission denied to export captured rows of table "rel.r"', 'RLS: nor exports it');
RESET ROLE;
-- Positive controls: the creator itself restores, exports and reads its capture; the owner uses its own.
SET LOCAL ROLE rel_alice;
DELETE FROM rel.r WHERE id = 2;
SELECT is(backupkit.restore_table_from_snapshot(:alice_sid, 'rel.r')->>'inserted', '1', 'RLS: the creator restores its capture');
SELECT cmp_ok((SELECT count(*) FROM backupkit.export_snapshot(:alice_sid)), '>', 0::bigint, 'RLS: and exports it');
SELECT is((SELECT count(*) FROM backupkit.snapshot_rows(:alice_sid, 'rel.r')), 10::bigint, 'RLS: and reads its 10 rows');
RESET ROLE;
SELECT is(rel.checksum('rel.r'), :'r_before', 'RLS: the creator''s replace deleted none of the hidden rows');
SET LOCAL ROLE rel_owner;
SELECT backupkit.snapshot_tables('{rel.r}') AS owner_sid \gset
DELETE FROM rel.r WHERE id IN (1, 2);
SELECT is(backupkit.restore_table_from_snapshot(:owner_sid, 'rel.r', 'missing')->>'inserted', '2',
          'RLS: the owner restores its own full capture');
RESET ROLE;
SELECT is(rel.checksum('rel.r'), :'r_before', 'RLS: and the table is whole again');
-- Without row-level security on the table, a member restores the role's capture as before.
CREATE TABLE rel.plain (id integer PRIMARY KEY, v text);
ALTER TABLE rel.plain OWNER TO rel_owner;
INSERT INTO rel.plain SELECT i, 'p' || i FROM generate_series(1, 5) i;
GRANT SELECT ON rel.plain TO rel_alice;
SET LOCAL ROLE rel_alice;
SELECT backupkit.snapshot_tables('{rel.plain}') AS plain_sid \gset
RESET ROLE;
SET LOCAL ROLE rel_owner;
DELETE FROM rel.plain WHERE id = 5;
SELECT is(backupkit.restore_table_from_snapshot(:plain_sid, 'rel.plain', 'missing')->>'inserted', '1',
          'without RLS a member restores the role''s capture');
RESET ROLE;

-- 5. 51 and 1,600 columns: snapshot, diff, every restore mode (and its dry run), validate.
CREATE FUNCTION rel.wide_table(name text, ncols integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE rel.%I (id integer PRIMARY KEY, %s)', name,
                   (SELECT string_agg(format('c%s integer', i), ', ') FROM generate_series(1, ncols - 1) i));
    EXECUTE format('INSERT INTO rel.%I SELECT g, %s FROM generate_series(1, 20) g', name,
                   (SELECT string_agg(format('g * %s', i), ', ') FROM generate_series(1, ncols - 1) i));
END $$;
CREATE FUNCTION rel.damage(t regclass, col text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE %s SET %I = -1 WHERE id = 2', t, col);
    EXECUTE format('DELETE FROM %s WHERE id = 3', t);
    EXECUTE format('INSERT INTO %s (id) VALUES (99)', t);
END $$;
SELECT rel.wide_table('w51', 51);
SELECT rel.wide_table('w1600', 1600);
SELECT is((SELECT relnatts::integer FROM pg_class WHERE oid = 'rel.w1600'::regclass), 1600, 'w1600 has 1,600 columns');
SELECT backupkit.snapshot_tables('{rel.w51,rel.w1600}') AS wide_sid \gset
SELECT rel.checksum('rel.w51') AS w51_before \gset
SELECT rel.checksum('rel.w1600') AS w1600_before \gset
SELECT rel.damage('rel.w51', 'c50');
SELECT rel.damage('rel.w1600', 'c1599');
SELECT set_eq(format('SELECT change, key FROM backupkit.diff(%s, ''rel.w51'')', :wide_sid),
              $$VALUES ('changed', '{"id": 2}'::jsonb), ('removed', '{"id": 3}'), ('added', '{"id": 99}')$$,
              'diff works on 51 columns');
SELECT set_eq(format('SELECT change, key FROM backupkit.diff(%s, ''rel.w1600'')', :wide_sid),
              $$VALUES ('changed', '{"id": 2}'::jsonb), ('removed', '{"id": 3}'), ('added', '{"id": 99}')$$,
              'diff works on 1,600 columns');
SELECT is((SELECT (snapshot_row->>'c1599')::integer FROM backupkit.diff(:wide_sid, 'rel.w1600') WHERE change = 'changed'),
          2 * 1599, 'diff shows the 1,600th column''s captured value');
SELECT is((SELECT count(*) FROM backupkit.snapshot_rows(:wide_sid, 'rel.w1600') r WHERE r ? 'c1599'), 20::bigint,
          'snapshot_rows returns all 1,600 columns');
SELECT is(backupkit.validate_snapshot_integrity(:wide_sid)->>'valid', 'true', 'validate passes on 1,600 columns');
CREATE TEMP TABLE rel_wide_frames AS SELECT f.n, f.frame FROM backupkit.export_snapshot(:wide_sid) WITH ORDINALITY f(frame, n);
SELECT backupkit.import_snapshot(frame ORDER BY n) AS wide_imported FROM rel_wide_frames \gset
SELECT is(backupkit.validate_snapshot_integrity(:wide_imported)->>'valid', 'true', 'export and import carry 1,600 columns');
CREATE FUNCTION rel.modes_round_trip(t regclass, col text, before text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE failed text := '';
        m text;
        sid bigint := current_setting('rel.sid')::bigint;
BEGIN
    FOREACH m IN ARRAY ARRAY['replace', 'merge', 'missing'] LOOP
        PERFORM backupkit.restore_table_from_snapshot(sid, t, m, true);
        PERFORM backupkit.restore_table_from_snapshot(sid, t, m);
        -- merge and missing keep the added row; missing also keeps the changed one
        EXECUTE format('DELETE FROM %s WHERE id = 99', t);
        IF m = 'missing' THEN
            EXECUTE format('UPDATE %s SET %I = 2 * %s WHERE id = 2', t, col, substr(col, 2));
        END IF;
        IF rel.checksum(t) <> before THEN failed := failed || m || ' '; END IF;
        PERFORM rel.damage(t, col);
    END LOOP;
    PERFORM backupkit.restore_snapshot(sid, ARRAY[t], dry_run => true);
    PERFORM backupkit.restore_snapshot(sid, ARRAY[t]);
    IF rel.checksum(t) <> before THEN failed := failed || 'restore_snapshot'; END IF;
    RETURN failed;
END $$;
SELECT set_config('rel.sid', :'wide_sid', true) IS NOT NULL;
SELECT is(rel.modes_round_trip('rel.w51', 'c50', :'w51_before'), '', 'every restore mode round-trips 51 columns');
SELECT is(rel.modes_round_trip('rel.w1600', 'c1599', :'w1600_before'), '', 'every restore mode round-trips 1,600 columns');
-- The staged replace (a referenced table cannot be truncated) on 1,600 columns.
CREATE TABLE rel.w1600_ref (id integer REFERENCES rel.w1600);
SELECT rel.damage('rel.w1600', 'c1599');
SELECT is(backupkit.restore_table_from_snapshot(:wide_sid, 'rel.w1600')->>'path', 'staged', 'staged replace on 1,600 columns');
SELECT is(rel.checksum('rel.w1600'), :'w1600_before', 'and it round-trips');

-- 6. An error caught inside the same statement leaves no progress row behind.
CREATE TABLE rel.p (id integer PRIMARY KEY, v integer);
INSERT INTO rel.p SELECT i, i FROM generate_series(1, 100) i;
SELECT backupkit.snapshot_tables('{rel.p}') AS p_sid \gset
ALTER TABLE rel.p ADD CONSTRAINT v_small CHECK (v <= 50) NOT VALID;
CREATE FUNCTION rel.progress_after_caught_error(sid bigint, set_restore boolean) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    BEGIN
        IF set_restore THEN
            PERFORM backupkit.restore_snapshot(sid);
        ELSE
            PERFORM backupkit.restore_table_from_snapshot(sid, 'rel.p');
        END IF;
    EXCEPTION WHEN check_violation THEN NULL;
    END;
    PERFORM pg_stat_clear_snapshot(); -- read this backend's activity afresh
    SELECT count(*) INTO n FROM backupkit.progress WHERE pid = pg_backend_pid();
    RETURN n;
END $$;
SELECT is(rel.progress_after_caught_error(:p_sid, false), 0::bigint, 'a caught failed restore leaves no progress row');
SELECT is(rel.progress_after_caught_error(:p_sid, true), 0::bigint, 'nor a caught failed set restore');
SELECT is((SELECT count(*) FROM rel.p), 100::bigint, 'and the table is unchanged');

-- 8. validate warns about rows a CHECK constraint now on the table rejects (which no restore can load).
SELECT is(backupkit.validate_snapshot_integrity(:p_sid)->>'valid', 'true', 'the snapshot itself is intact');
SELECT ok(backupkit.validate_snapshot_integrity(:p_sid)->'warnings' @>
          '["Check constraint \"v_small\" of table \"rel.p\" rejects 50 captured rows, for example the row with key {\"id\": 51}: no restore can write them (replace fails; merge and missing set them aside as conflicts)."]',
          'validate names the NOT VALID constraint, the count and a key of an offending row');
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''rel.p'')', :p_sid), '23514', NULL,
                 'as warned, the replace cannot load them');
CREATE TABLE rel.keyless (a integer, b text);
INSERT INTO rel.keyless VALUES (1, 'ok'), (2, 'too long a value');
SELECT backupkit.snapshot_tables('{rel.keyless}') AS keyless_sid \gset
DELETE FROM rel.keyless WHERE a = 2;
ALTER TABLE rel.keyless ADD CONSTRAINT short_b CHECK (length(b) < 5);
SELECT ok(backupkit.validate_snapshot_integrity(:keyless_sid)->'warnings' @>
          '["Check constraint \"short_b\" of table \"rel.keyless\" rejects 1 captured row, for example the row {\"b\": \"too long a value\"}: no restore can write it (replace fails; merge and missing set it aside as conflicts)."]',
          'on a keyless table, the offending row is shown by the constraint''s columns');
ALTER TABLE rel.keyless DROP CONSTRAINT short_b;
ALTER TABLE rel.keyless ADD CONSTRAINT small_a CHECK (a < 10);
SELECT is(backupkit.validate_snapshot_integrity(:keyless_sid)->'warnings', '[]'::jsonb,
          'a constraint every captured row satisfies gives no warning');
ALTER TABLE rel.keyless ALTER COLUMN a TYPE smallint;
ALTER TABLE rel.keyless ADD CONSTRAINT positive_a CHECK (a > 1) NOT VALID;
SELECT is(jsonb_array_length(backupkit.validate_snapshot_integrity(:keyless_sid)->'warnings'), 2,
          'after a type change the check still runs (and the schema change is reported too)');

-- What the captured rows hold never makes validate fail: a constraint that errors on them, or values the
-- column's new type rejects, are warnings too.
CREATE TABLE rel.odd (id integer PRIMARY KEY, v integer, w text);
INSERT INTO rel.odd VALUES (1, 7, 'a'), (2, 8, 'b');
SELECT backupkit.snapshot_tables('{rel.odd}') AS odd_sid \gset
UPDATE rel.odd SET v = 9 WHERE id = 1;
ALTER TABLE rel.odd ADD CONSTRAINT inverse CHECK (100 / (v - 7) > 0) NOT VALID;
SELECT ok(backupkit.validate_snapshot_integrity(:odd_sid)->'warnings' @>
          '["Check constraint \"inverse\" of table \"rel.odd\" could not be evaluated on the captured rows: division by zero."]',
          'a constraint that fails on a captured row is reported, not raised');
ALTER TABLE rel.odd DROP CONSTRAINT inverse;
ALTER TABLE rel.odd ALTER COLUMN w TYPE integer USING length(w), ADD CONSTRAINT small_w CHECK (w < 5) NOT VALID;
SELECT ok(backupkit.validate_snapshot_integrity(:odd_sid)->'warnings' @>
          '["The rows of table \"rel.odd\" could not be checked against its check constraints: invalid input syntax for type integer: \"a\"."]',
          'captured values the column''s new type rejects are reported, not raised');

-- 7. Labels are bounded so that every snapshot can be exported.
SELECT throws_ok($$SELECT backupkit.snapshot_tables('{rel.t}', repeat('x', 10001))$$, '22023',
                 'label of 10001 characters is too long', 'a label above 10,000 characters is refused');
SELECT throws_ok($$SELECT backupkit.schedule_snapshots('j', '0 3 * * *', '{rel.t}', repeat('x', 10001))$$, '22023',
                 'label of 10001 characters is too long', 'schedule_snapshots refuses it at once');
-- At the limit, with the characters JSON escapes the most (6 bytes each) or the longest in UTF-8.
SELECT backupkit.snapshot_tables('{rel.t}', repeat(chr(1), 10000)) AS ctl_sid \gset
SELECT backupkit.snapshot_tables('{rel.t}', repeat(chr(128512), 10000)) AS emoji_sid \gset
CREATE TEMP TABLE rel_frames AS
SELECT s.id, f.n, f.frame FROM (VALUES (:ctl_sid::bigint), (:emoji_sid)) s(id),
       LATERAL backupkit.export_snapshot(s.id) WITH ORDINALITY f(frame, n);
SELECT is((SELECT count(DISTINCT id) FROM rel_frames), 2::bigint, 'a label at the limit exports (both kinds)');
SELECT backupkit.import_snapshot(frame ORDER BY n) AS ctl_imported FROM rel_frames WHERE id = :ctl_sid \gset
SELECT backupkit.import_snapshot(frame ORDER BY n) AS emoji_imported FROM rel_frames WHERE id = :emoji_sid \gset
SELECT ok((SELECT label = repeat(chr(1), 10000) FROM backupkit.snapshots WHERE id = :ctl_imported),
          'and imports with the label intact');
SELECT ok((SELECT label = repeat(chr(128512), 10000) FROM backupkit.snapshots WHERE id = :emoji_imported),
          'and the label of 4-byte characters imports intact too');

SELECT * FROM finish();
ROLLBACK;
