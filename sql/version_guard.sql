-- The library/catalog version guard: while pg_extension says another version than the one the library was
-- built for (as after installing a new library, before ALTER EXTENSION backupkit UPDATE), every backupkit
-- function that touches its tables refuses with 55000. The stale catalog is simulated by changing extversion
-- inside a transaction that is rolled back; this session has not called backupkit before, so nothing is cached.
SET client_min_messages = warning;
CREATE TABLE vg_t (id int PRIMARY KEY, v text);
INSERT INTO vg_t VALUES (1, 'a'), (2, 'b');
\set VERBOSITY default
BEGIN;
UPDATE pg_catalog.pg_extension SET extversion = '0.1' WHERE extname = 'backupkit';
SELECT backupkit.snapshot_tables(ARRAY['vg_t']::regclass[], 'version guard');
ROLLBACK;
\set VERBOSITY sqlstate
BEGIN;
UPDATE pg_catalog.pg_extension SET extversion = '0.1' WHERE extname = 'backupkit';
SELECT count(*) FROM backupkit.validate_all_snapshots();
ROLLBACK;
\set VERBOSITY default
-- A mismatch is not remembered: once the versions agree (here: rolled back; on a server: after the update),
-- the same session works.
SELECT backupkit.snapshot_tables(ARRAY['vg_t']::regclass[], 'version guard') IS NOT NULL AS snapshot_taken;
SELECT table_name, rows FROM backupkit.snapshot_contents((SELECT max(id) FROM backupkit.snapshots WHERE label = 'version guard'));
DROP TABLE vg_t;
