-- Error messages of schema-aware snapshots: snapshot_definitions / snapshot_ddl / snapshot_table_rows /
-- recreate_table (names not in the snapshot, snapshots without definitions, names taken, missing privileges,
-- a changed definition).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS backupkit;
RESET client_min_messages;
CREATE SCHEMA se;
-- Runs a statement and shows its error with snapshot ids replaced by N.
CREATE FUNCTION se.show(sql text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text; detail text; hint text;
BEGIN
    EXECUTE sql;
    RETURN NEXT 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT;
    RETURN NEXT state || ': ' || regexp_replace(msg, 'snapshot \d+', 'snapshot N', 'g');
    IF detail <> '' THEN RETURN NEXT 'DETAIL: ' || detail; END IF;
    IF hint <> '' THEN RETURN NEXT 'HINT: ' || regexp_replace(hint, '\(\d+\)', '(N)', 'g'); END IF;
END $$;
CREATE TABLE se.t (id integer PRIMARY KEY, v text);
INSERT INTO se.t SELECT g, 'v' || g FROM generate_series(1, 10) g;
SELECT backupkit.snapshot_tables('{se.t}', 'schema_errors') AS sid \gset
SELECT set_config('se.sid', :'sid', false) IS NOT NULL AS ok;

-- A table that is not part of the snapshot.
SELECT se.show(format('SELECT count(*) FROM backupkit.snapshot_ddl(%s, %L)', :sid, 'se.nope'));
SELECT se.show(format('SELECT count(*) FROM backupkit.snapshot_table_rows(%s, %L)', :sid, 'se.nope'));
SELECT se.show(format('SELECT backupkit.recreate_table(%s, %L, %L)', :sid, 'se.nope', 'se.copy'));
SELECT se.show(format('SELECT backupkit.recreate_table(%s, NULL)', :sid));
-- The captured name is taken (the live table), an invalid name, a schema that does not exist.
SELECT se.show(format('SELECT backupkit.recreate_table(%s, %L)', :sid, 'se.t'));
SELECT se.show(format('SELECT backupkit.recreate_table(%s, %L, %L)', :sid, 'se.t', 'a.b.c'));
SELECT se.show(format('SELECT backupkit.recreate_table(%s, %L, %L)', :sid, 'se.t', 'nosuch.copy'));
-- A role without CREATE on the schema (a member of the snapshot's creator, so it may use the snapshot).
CREATE ROLE se_creator;
CREATE ROLE se_member IN ROLE se_creator;
GRANT USAGE ON SCHEMA se TO se_creator;
GRANT SELECT ON se.t TO se_creator;
SET ROLE se_creator;
SELECT backupkit.snapshot_tables('{se.t}', 'by se_creator') AS csid \gset
SET ROLE se_member;
SELECT se.show(format('SELECT backupkit.recreate_table(%s, %L, %L)', :csid, 'se.t', 'se.copy'));
RESET ROLE;
-- Works, then the same name again.
SELECT backupkit.recreate_table(:sid, 'se.t', 'se.copy')::text AS copy;
SELECT se.show(format('SELECT backupkit.recreate_table(%s, %L, %L)', :sid, 'se.t', 'se.copy'));
-- A snapshot taken before definitions were recorded.
SELECT backupkit.snapshot_tables('{se.t}', 'old style') AS old \gset
UPDATE backupkit.snapshot_table SET definition = NULL, metadata_checksum = NULL WHERE snapshot_id = :old;
UPDATE backupkit.snapshot SET metadata_checksum = NULL WHERE snapshot_id = :old;
SELECT se.show(format('SELECT count(*) FROM backupkit.snapshot_ddl(%s)', :old));
SELECT se.show(format('SELECT backupkit.recreate_table(%s, %L, %L)', :old, 'se.t', 'se.copy2'));
SELECT se.show(format('SELECT count(*) FROM backupkit.schema_diff(%s)', :old));
-- table_definition describes tables only.
CREATE VIEW se.tv AS SELECT * FROM se.t;
SELECT se.show('SELECT backupkit.table_definition(''se.tv'')');
-- and it still restores its rows.
DELETE FROM se.t WHERE id > 5;
SET client_min_messages = error;
SELECT backupkit.restore_snapshot(:old) IS NOT NULL AS old_snapshot_restores;
RESET client_min_messages;
SELECT count(*) AS rows_back FROM se.t;
-- A changed definition.
UPDATE backupkit.snapshot_table SET definition = jsonb_set(definition, '{relations,0,owner}', '"someone_else"') WHERE snapshot_id = :sid;
SELECT se.show(format('SELECT count(*) FROM backupkit.snapshot_ddl(%s)', :sid));
SELECT se.show(format('SELECT backupkit.restore_snapshot(%s, validate => false)', :sid));
-- A definition removed from an entry sealed with it.
UPDATE backupkit.snapshot_table SET definition = NULL WHERE snapshot_id = :sid;
SELECT se.show(format('SELECT count(*) FROM backupkit.snapshot_rows(%s, %L)', :sid, 'se.t'));
SELECT backupkit.drop_snapshot(:csid) AS dropped;
DROP SCHEMA se CASCADE;
DROP OWNED BY se_member, se_creator;
DROP ROLE se_member;
DROP ROLE se_creator;
