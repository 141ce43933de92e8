-- Messages of restores and diff that no other regression test shows: a replace that would orphan rows of a
-- table outside the restore, a keyless referenced table, user triggers a non-owner cannot disable, diff of a
-- keyless table, a damaged snapshot refused before anything changes, and a foreign-key cycle a non-owner
-- cannot restore. Each with its SQLSTATE; each leaves the tables as they were.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS backupkit;
RESET client_min_messages;
-- Messages name the snapshot; the ids this file creates start at a fixed value so the output is stable.
SELECT setval('backupkit.snapshot_id_seq', 7400000, false) IS NOT NULL AS ids_fixed;
CREATE SCHEMA mr;
SET search_path = mr, public;
CREATE FUNCTION mr.fingerprint(t regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
    EXECUTE format('SELECT count(*) || '':'' || md5(coalesce(string_agg(r::text, '','' ORDER BY r::text), '''')) FROM %s r', t)
       INTO h;
    RETURN h;
END $$;

-- A replace would delete a parent row that a table outside the restore references (ON DELETE CASCADE would
-- silently delete the child row).
CREATE TABLE mr.parent (id integer PRIMARY KEY, v text);
CREATE TABLE mr.child (id integer PRIMARY KEY, parent_id integer REFERENCES mr.parent ON DELETE CASCADE);
INSERT INTO mr.parent SELECT g, 'p' || g FROM generate_series(1, 5) g;
SELECT backupkit.snapshot_tables('{mr.parent}') AS parent_sid \gset
INSERT INTO mr.parent VALUES (6, 'new');
INSERT INTO mr.child VALUES (1, 6);
SELECT mr.fingerprint('mr.parent') AS parent_before, mr.fingerprint('mr.child') AS child_before \gset
SELECT backupkit.restore_table_from_snapshot(:parent_sid, 'mr.parent');
\echo :LAST_ERROR_SQLSTATE
SELECT mr.fingerprint('mr.parent') = :'parent_before' AND mr.fingerprint('mr.child') = :'child_before' AS unchanged;

-- A table without a key (its unique column is nullable) referenced from outside cannot be replaced.
CREATE TABLE mr.code (code text UNIQUE, label text);
CREATE TABLE mr.uses_code (id integer PRIMARY KEY, code text REFERENCES mr.code (code));
INSERT INTO mr.code VALUES ('a', 'A'), ('b', 'B');
INSERT INTO mr.uses_code VALUES (1, 'a');
SELECT backupkit.snapshot_tables('{mr.code}') AS code_sid \gset
UPDATE mr.code SET label = 'changed';
SELECT backupkit.restore_table_from_snapshot(:code_sid, 'mr.code');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS still_changed FROM mr.code WHERE label = 'changed';

-- diff matches rows by key: a keyless table has none.
CREATE TABLE mr.keyless (a integer, b text);
INSERT INTO mr.keyless VALUES (1, 'one'), (1, 'one');
SELECT backupkit.snapshot_tables('{mr.keyless}') AS keyless_sid \gset
SELECT * FROM backupkit.diff(:keyless_sid, 'mr.keyless');
\echo :LAST_ERROR_SQLSTATE

-- A role that may write the table but does not own it cannot switch its user triggers off.
CREATE ROLE messages_restore_writer;
GRANT USAGE ON SCHEMA mr TO messages_restore_writer;
CREATE TABLE mr.audited (id integer PRIMARY KEY, v text);
INSERT INTO mr.audited SELECT g, 'a' || g FROM generate_series(1, 5) g;
CREATE FUNCTION mr.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER audited_audit BEFORE INSERT OR UPDATE ON mr.audited FOR EACH ROW EXECUTE FUNCTION mr.audit();
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON mr.audited TO messages_restore_writer;
SET ROLE messages_restore_writer;
SELECT backupkit.snapshot_tables('{mr.audited}') AS audited_sid \gset
UPDATE mr.audited SET v = 'changed' WHERE id = 1;
SELECT backupkit.restore_table_from_snapshot(:audited_sid, 'mr.audited');
\echo :LAST_ERROR_SQLSTATE
-- with fire_triggers => true there is nothing to disable
SELECT backupkit.restore_table_from_snapshot(:audited_sid, 'mr.audited', fire_triggers => true)->>'triggers_fired' AS triggers_fired;
RESET ROLE;
-- Reading captured rows needs SELECT on the table now, not only when the snapshot was taken.
REVOKE SELECT ON mr.audited FROM messages_restore_writer;
SET ROLE messages_restore_writer;
SELECT count(*) FROM backupkit.snapshot_rows(:audited_sid, 'mr.audited');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- A foreign-key cycle whose constraints are not DEFERRABLE: the restore must drop and re-create one, which only
-- the owner may do.
CREATE TABLE mr.ring_a (id integer PRIMARY KEY, b_id integer);
CREATE TABLE mr.ring_b (id integer PRIMARY KEY, a_id integer REFERENCES mr.ring_a);
ALTER TABLE mr.ring_a ADD CONSTRAINT ring_a_b FOREIGN KEY (b_id) REFERENCES mr.ring_b;
INSERT INTO mr.ring_a VALUES (1, NULL);
INSERT INTO mr.ring_b VALUES (1, 1);
UPDATE mr.ring_a SET b_id = 1;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON mr.ring_a, mr.ring_b TO messages_restore_writer;
SET ROLE messages_restore_writer;
SELECT backupkit.snapshot_tables('{mr.ring_a,mr.ring_b}') AS ring_sid \gset
INSERT INTO mr.ring_a VALUES (2, NULL);
SELECT backupkit.restore_snapshot(:ring_sid);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS ring_a_rows FROM mr.ring_a;
RESET ROLE;

-- restore_snapshot proves the whole snapshot before it touches any table.
CREATE TABLE mr.damaged (id integer PRIMARY KEY, v text);
INSERT INTO mr.damaged SELECT g, 'd' || g FROM generate_series(1, 20) g;
SELECT backupkit.snapshot_tables('{mr.parent,mr.damaged}', compression => 'none') AS damaged_sid \gset
UPDATE backupkit.snapshot_chunk SET payload = '[["1", "tampered"]]'
 WHERE snapshot_id = :damaged_sid AND table_no = 1;
DELETE FROM mr.damaged WHERE id > 10;
SELECT backupkit.restore_snapshot(:damaged_sid);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS damaged_rows FROM mr.damaged;

RESET search_path;
SET client_min_messages = warning;
SELECT count(backupkit.drop_snapshot(id)) AS snapshots_dropped FROM backupkit.snapshots WHERE id >= 7400000 AND id < 7450000;
DROP SCHEMA mr CASCADE;
DROP ROLE messages_restore_writer;
