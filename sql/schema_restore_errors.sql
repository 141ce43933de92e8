-- Error messages of restore_snapshot(..., schema => ...): invalid values, snapshots without
-- definitions, a role without CREATE on the schema, and a statement that fails (a trigger function dropped
-- with the table): each names the object and the statement, and nothing changes.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS backupkit;
RESET client_min_messages;
CREATE SCHEMA sr;
-- Runs a statement and shows its error (snapshot ids replaced by N) and the statement backupkit was running.
CREATE FUNCTION sr.show(sql text) RETURNS SETOF text LANGUAGE plpgsql AS $$
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
    RETURN QUERY SELECT 'CONTEXT: ' || l FROM regexp_split_to_table(context, E'\n') l WHERE l LIKE 'schema restore statement:%';
END $$;
CREATE FUNCTION sr.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TABLE sr.t (id integer PRIMARY KEY, v text NOT NULL);
CREATE TRIGGER t_stamp BEFORE INSERT ON sr.t FOR EACH ROW EXECUTE FUNCTION sr.stamp();
INSERT INTO sr.t SELECT g, 'v' || g FROM generate_series(1, 10) g;
SELECT backupkit.snapshot_tables('{sr.t}', 'schema_restore_errors') AS sid \gset

-- Invalid values.
SELECT sr.show(format('SELECT backupkit.restore_snapshot(%s, schema => %L)', :sid, 'everything'));
SELECT sr.show(format('SELECT backupkit.restore_snapshot(%s, schema => NULL)', :sid));

-- A role without CREATE on the schema (a member of the snapshot's creator, so it may use the snapshot).
CREATE ROLE sr_creator;
CREATE ROLE sr_member IN ROLE sr_creator;
GRANT USAGE ON SCHEMA sr TO sr_creator;
CREATE TABLE sr.c (id integer PRIMARY KEY, w text);
ALTER TABLE sr.c OWNER TO sr_creator;
INSERT INTO sr.c SELECT g, 'w' || g FROM generate_series(1, 5) g;
SET ROLE sr_creator;
SELECT backupkit.snapshot_tables('{sr.c}', 'by sr_creator') AS csid \gset
DROP TABLE sr.c;
SET ROLE sr_member;
SELECT sr.show(format('SELECT backupkit.restore_snapshot(%s, schema => %L)', :csid, 'missing'));
RESET ROLE;
SELECT to_regclass('sr.c') IS NULL AS still_dropped;
-- With CREATE it is re-created, owned by its captured owner (the caller is a member).
GRANT CREATE ON SCHEMA sr TO sr_creator;
SET ROLE sr_member;
SELECT backupkit.restore_snapshot(:csid, schema => 'missing')->'schema_warnings' AS warnings;
RESET ROLE;
SELECT pg_get_userbyid(relowner) AS owner, (SELECT count(*) FROM sr.c) AS rows_back FROM pg_class WHERE oid = 'sr.c'::regclass;
-- A table owned by a role the caller is not a member of is re-created owned by the caller, with a warning.
CREATE TABLE sr.d (id integer PRIMARY KEY);
GRANT SELECT ON sr.d TO sr_creator;
INSERT INTO sr.d SELECT generate_series(1, 4);
SET ROLE sr_creator;
SELECT backupkit.snapshot_tables('{sr.d}', 'owned by another') AS dsid \gset
RESET ROLE;
DROP TABLE sr.d;
SET ROLE sr_member;
SELECT backupkit.restore_snapshot(:dsid, schema => 'missing')->'schema_warnings' AS warnings;
RESET ROLE;
SELECT pg_get_userbyid(relowner) AS owner, (SELECT count(*) FROM sr.d) AS rows_back FROM pg_class WHERE oid = 'sr.d'::regclass;

-- A table renamed since is left as it is (a warning says so); its rows are restored into it, found by OID.
CREATE TABLE sr.r (id integer PRIMARY KEY);
INSERT INTO sr.r SELECT generate_series(1, 3);
SELECT backupkit.snapshot_tables('{sr.r}', 'renamed') AS rsid \gset
ALTER TABLE sr.r RENAME TO r2;
DELETE FROM sr.r2;
SELECT r->'ddl' AS ddl, r->'schema_warnings' AS warnings FROM backupkit.restore_snapshot(:rsid, schema => 'missing') r;
SELECT to_regclass('sr.r') IS NULL AS not_recreated, (SELECT count(*) FROM sr.r2) AS rows_back;

-- A statement that fails: the trigger function went with the migration. Nothing changes.
SET client_min_messages = warning;
DROP TABLE sr.t;
DROP FUNCTION sr.stamp();
RESET client_min_messages;
SELECT sr.show(format('SELECT backupkit.restore_snapshot(%s, schema => %L)', :sid, 'missing'));
SELECT to_regclass('sr.t') IS NULL AS still_dropped;

-- A snapshot taken before definitions were recorded: 'missing' says so, 'keep' restores its rows.
CREATE TABLE sr.o (id integer PRIMARY KEY);
INSERT INTO sr.o SELECT generate_series(1, 3);
SELECT backupkit.snapshot_tables('{sr.o}', 'old style') AS old \gset
UPDATE backupkit.snapshot_table SET definition = NULL, metadata_checksum = NULL WHERE snapshot_id = :old;
UPDATE backupkit.snapshot SET metadata_checksum = NULL WHERE snapshot_id = :old;
SELECT sr.show(format('SELECT backupkit.restore_snapshot(%s, schema => %L)', :old, 'missing'));
DELETE FROM sr.o;
SET client_min_messages = error;
SELECT backupkit.restore_snapshot(:old, schema => 'keep') IS NOT NULL AS old_snapshot_restores;
RESET client_min_messages;
SELECT count(*) AS rows_back FROM sr.o;

SELECT backupkit.drop_snapshot(:csid) AND backupkit.drop_snapshot(:dsid) AS dropped;
SET client_min_messages = warning;
DROP SCHEMA sr CASCADE;
DROP OWNED BY sr_member, sr_creator;
DROP ROLE sr_member;
DROP ROLE sr_creator;
