-- diff, the restore history, rules, validation before restore_snapshot, and a table dropped since capture.
BEGIN;
SELECT plan(17);
SET LOCAL client_min_messages = warning;

CREATE TABLE d (id int PRIMARY KEY, v text, n numeric);
INSERT INTO d SELECT i, 'v' || i, i FROM generate_series(1, 100) i;
SELECT backupkit.snapshot_tables('{d}', 'extras') AS sid \gset
SELECT is((SELECT count(*)::int FROM backupkit.diff(:sid, 'd')), 0, 'diff of an unchanged table is empty');
DELETE FROM d WHERE id <= 3;
UPDATE d SET v = 'changed' WHERE id BETWEEN 10 AND 14;
UPDATE d SET n = 20.0 WHERE id = 20;
INSERT INTO d VALUES (1000, 'new', 0), (1001, 'new', 0);
SELECT is((SELECT string_agg(change || ':' || n, ',' ORDER BY change) FROM (SELECT change, count(*) AS n FROM backupkit.diff(:sid, 'd') GROUP BY change) x),
          'added:2,changed:6,removed:3', 'diff counts added, changed and removed rows');
SELECT is((SELECT snapshot_row->>'v' FROM backupkit.diff(:sid, 'd') WHERE key = '{"id": 10}'), 'v10', 'diff shows the snapshot row');
SELECT is((SELECT current_row->>'v' FROM backupkit.diff(:sid, 'd') WHERE key = '{"id": 10}'), 'changed', 'and the current row');
SELECT is((SELECT change FROM backupkit.diff(:sid, 'd') WHERE key = '{"id": 20}'), 'changed', 'numeric 20 vs 20.0 is a change (images differ)');
SELECT is((SELECT current_row FROM backupkit.diff(:sid, 'd') WHERE key = '{"id": 1}'), NULL, 'a removed row has no current row');

-- History: every completed restore and dry run is recorded.
SELECT count(*) AS before FROM backupkit.restores \gset
SELECT backupkit.restore_table_from_snapshot(:sid, 'd', 'merge', true) IS NOT NULL AS dry \gset
SELECT backupkit.restore_snapshot(:sid) IS NOT NULL AS real \gset
SELECT is((SELECT count(*) FROM backupkit.restores) - :before, 2::bigint, 'a dry run and a restore are in the history');
SELECT is((SELECT mode || ',' || dry_run || ',' || array_to_string(tables, ';') FROM backupkit.restores ORDER BY restore_id DESC LIMIT 1),
          'replace,false,public.d', 'the history row says mode, dry run and tables');
SELECT ok((SELECT report ? 'tables' FROM backupkit.restores ORDER BY restore_id DESC LIMIT 1), 'with the per-table report');
SELECT is((SELECT count(*)::int FROM backupkit.diff(:sid, 'd')), 0, 'after the restore diff is empty again');

-- Rules never apply, as with COPY (every shape: 240_rules.sql): a table with an INSERT rule is loaded with COPY.
CREATE TABLE ruled (id int PRIMARY KEY, v text);
CREATE TABLE rule_log (id int);
CREATE RULE log_insert AS ON INSERT TO ruled DO ALSO INSERT INTO rule_log VALUES (NEW.id);
INSERT INTO ruled VALUES (1, 'a'), (2, 'b');
DELETE FROM rule_log;
SELECT backupkit.snapshot_tables('{ruled}') AS rs \gset
DELETE FROM ruled;
SELECT is(backupkit.restore_table_from_snapshot(:rs, 'ruled')->>'path', 'copy', 'a table with rules takes the copy path');
SELECT is((SELECT count(*)::int FROM rule_log), 0, 'its INSERT rule did not fire for the restored rows');

-- restore_snapshot validates the whole snapshot first.
CREATE TABLE v1 (id int PRIMARY KEY, v text);
CREATE TABLE v2 (id int PRIMARY KEY, v text);
INSERT INTO v1 SELECT i, 'x' || i FROM generate_series(1, 50) i;
INSERT INTO v2 SELECT i, 'y' || i FROM generate_series(1, 50) i;
SELECT backupkit.snapshot_tables('{v1,v2}') AS vs \gset
UPDATE backupkit.snapshot_chunk SET checksum = checksum + 1
 WHERE snapshot_id = :vs AND table_no = (SELECT table_no FROM backupkit.snapshot_table WHERE snapshot_id = :vs AND table_name = 'v2');
DELETE FROM v1; DELETE FROM v2;
SELECT throws_ok(format('SELECT backupkit.restore_snapshot(%s)', :vs), 'XX001', format('snapshot %s failed validation', :vs),
                 'a damaged snapshot is refused before anything changes');
SELECT is((SELECT count(*)::int FROM v1), 0, 'nothing was restored');
SELECT lives_ok(format('SELECT backupkit.restore_snapshot(%s, ARRAY[''v1'']::regclass[], validate => false)', :vs),
                'validate => false restores the tables whose chunks are intact');
SELECT throws_ok(format('SELECT backupkit.restore_snapshot(%s, ARRAY[''v2'']::regclass[], validate => false)', :vs), 'XX001', NULL,
                 'the damaged table itself is still refused');

-- A table dropped since capture.
DROP TABLE d;
SELECT throws_ok(format('SELECT backupkit.restore_snapshot(%s)', :sid), '42P01', 'table "public.d" of snapshot ' || :sid || ' no longer exists',
                 'a dropped table is a clear error');

SELECT * FROM finish();
ROLLBACK;
