-- Error messages and warnings of restore_snapshot(..., schema => 'exact'): values that cannot be converted back
-- while the restore keeps rows, a statement that fails (a view added since depends on a column to drop; a
-- caller that does not own the table), an owner the caller cannot give back, a snapshot without definitions.
-- Each names the object and the statement, and nothing changes.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS backupkit;
RESET client_min_messages;
CREATE SCHEMA se;
-- Runs a statement and shows its error (snapshot ids replaced by N) and the statement backupkit was running.
CREATE FUNCTION se.show(sql text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text; detail text; hint text; context text;
BEGIN
    EXECUTE sql;
    RETURN NEXT 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT, context = PG_EXCEPTION_CONTEXT;
    RETURN NEXT state || ': ' || regexp_replace(msg, 'snapshot \d+', 'snapshot N', 'g');
    IF detail <> '' THEN RETURN NEXT 'DETAIL: ' || detail; END IF;
    IF hint <> '' THEN RETURN NEXT 'HINT: ' || regexp_replace(hint, '\(\d+\)', '(N)', 'g'); END IF;
    RETURN QUERY SELECT 'CONTEXT: ' || l FROM regexp_split_to_table(context, E'\n') l
                  WHERE l LIKE 'schema restore statement:%' OR l LIKE 'column % changed type%';
END $$;
-- The table's definition in a few words, to show that a refusal changed nothing.
CREATE FUNCTION se.shape(t regclass) RETURNS text LANGUAGE sql AS $$
SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
  FROM pg_attribute WHERE attrelid = t AND attnum > 0 AND NOT attisdropped
$$;
CREATE TABLE se.t (id integer PRIMARY KEY, amount numeric(8,2), note text);
INSERT INTO se.t SELECT g, g * 1.5, 'n' || g FROM generate_series(1, 10) g;
SELECT backupkit.snapshot_tables('{se.t}', 'schema_exact_errors') AS sid \gset

-- Values that do not convert back to the captured type, while merge or missing keep rows.
ALTER TABLE se.t ALTER COLUMN amount TYPE text;
UPDATE se.t SET amount = 'many' WHERE id = 3;
SELECT se.show(format('SELECT backupkit.restore_snapshot(%s, mode => %L, schema => %L)', :sid, 'merge', 'exact'));
SELECT se.show(format('SELECT backupkit.restore_snapshot(%s, mode => %L, schema => %L, dry_run => true)', :sid, 'missing', 'exact'));
SELECT se.shape('se.t'), (SELECT amount FROM se.t WHERE id = 3);
-- replace reloads every row: the column comes back whatever its values.
SELECT r->'ddl' AS ddl FROM backupkit.restore_snapshot(:sid, schema => 'exact') r;
SELECT se.shape('se.t'), (SELECT sum(amount) FROM se.t) AS total;

-- A statement that fails: a view added since depends on a column added since. Nothing changes.
ALTER TABLE se.t ADD COLUMN extra integer;
CREATE VIEW se.v AS SELECT id, extra FROM se.t;
SELECT se.show(format('SELECT backupkit.restore_snapshot(%s, schema => %L)', :sid, 'exact'));
SELECT se.shape('se.t');
DROP VIEW se.v;

-- A caller that may use the snapshot (a member of its creator) but does not own the table: 42501 from the
-- first statement, named. Nothing changes.
CREATE ROLE se_owner;
CREATE ROLE se_creator;
CREATE ROLE se_caller IN ROLE se_creator;
GRANT USAGE ON SCHEMA se TO se_creator;
CREATE TABLE se.o (id integer PRIMARY KEY, w text);
ALTER TABLE se.o OWNER TO se_owner;
GRANT SELECT ON se.o TO se_creator;
INSERT INTO se.o SELECT g, 'w' || g FROM generate_series(1, 3) g;
SET ROLE se_creator;
SELECT backupkit.snapshot_tables('{se.o}', 'by se_creator') AS osid \gset
RESET ROLE;
ALTER TABLE se.o ADD COLUMN added integer;
SET ROLE se_caller;
SELECT se.show(format('SELECT backupkit.restore_snapshot(%s, schema => %L)', :osid, 'exact'));
RESET ROLE;
SELECT se.shape('se.o'), pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'se.o'::regclass;
-- The caller owns the table now but is not a member of its captured owner: restored, with a warning.
ALTER TABLE se.o OWNER TO se_caller;
SET ROLE se_caller;
SELECT r->'schema_warnings' AS warnings FROM backupkit.restore_snapshot(:osid, schema => 'exact') r;
RESET ROLE;
SELECT se.shape('se.o'), pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'se.o'::regclass;

-- schema => 'keep' (the default): a dropped column's warning and a failed type input name the column, its
-- captured and its current type, and the schema mode that undoes the change.
CREATE TABLE se.k (id integer PRIMARY KEY, amount numeric(8,2), gone text);
INSERT INTO se.k SELECT g, g * 1.5, 'g' || g FROM generate_series(1, 4) g;
SELECT backupkit.snapshot_tables('{se.k}', 'keep messages') AS ksid \gset
ALTER TABLE se.k DROP COLUMN gone;
ALTER TABLE se.k ALTER COLUMN amount TYPE integer USING amount::integer;
SELECT se.show(format('SELECT backupkit.restore_snapshot(%s)', :ksid));
ALTER TABLE se.k ALTER COLUMN amount TYPE numeric(10,2);
SELECT jsonb_array_elements_text(r->'tables'->0->'warnings') AS warning FROM backupkit.restore_snapshot(:ksid) r;

-- A snapshot taken before definitions were recorded.
CREATE TABLE se.old (id integer PRIMARY KEY);
SELECT backupkit.snapshot_tables('{se.old}', 'old style') AS old \gset
UPDATE backupkit.snapshot_table SET definition = NULL, metadata_checksum = NULL WHERE snapshot_id = :old;
UPDATE backupkit.snapshot SET metadata_checksum = NULL WHERE snapshot_id = :old;
SELECT se.show(format('SELECT backupkit.restore_snapshot(%s, schema => %L)', :old, 'exact'));

SET client_min_messages = warning;
SELECT backupkit.drop_snapshot(:osid) AS dropped;
DROP SCHEMA se CASCADE;
DROP OWNED BY se_caller, se_creator, se_owner;
DROP ROLE se_caller;
DROP ROLE se_creator;
DROP ROLE se_owner;
