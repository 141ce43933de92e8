-- The public SQL surface exists with the contracted signatures, and backupkit's own tables are closed to PUBLIC.
BEGIN;
SELECT plan(12);

SELECT has_extension('backupkit', 'backupkit is installed');
SELECT has_schema('backupkit');
SELECT function_returns('backupkit', 'snapshot_tables', ARRAY['regclass[]', 'text', 'text'], 'bigint');
SELECT function_returns('backupkit', 'snapshot_rows', ARRAY['bigint', 'regclass'], 'setof jsonb');
SELECT function_returns('backupkit', 'drop_snapshot', ARRAY['bigint'], 'boolean');
SELECT has_function('backupkit', 'snapshot_contents', ARRAY['bigint']);
SELECT has_function('backupkit', 'restore_table_from_snapshot', ARRAY['bigint', 'regclass', 'text', 'boolean', 'boolean']);
SELECT has_view('backupkit', 'snapshots', 'view backupkit.snapshots exists');

CREATE ROLE bk_harness_nobody;
SELECT ok(NOT has_table_privilege('bk_harness_nobody', 'backupkit.snapshot', 'SELECT'),
          'PUBLIC cannot read backupkit.snapshot');
SELECT ok(NOT has_table_privilege('bk_harness_nobody', 'backupkit.snapshot_chunk', 'SELECT,INSERT,UPDATE,DELETE'),
          'PUBLIC cannot touch backupkit.snapshot_chunk');
SELECT ok(has_table_privilege('bk_harness_nobody', 'backupkit.snapshots', 'SELECT'),
          'PUBLIC can read the backupkit.snapshots view');

-- A snapshot taken and dropped inside the test leaves the catalog as it was.
CREATE TABLE bk_harness_t (id int PRIMARY KEY, v text);
INSERT INTO bk_harness_t SELECT g, 'v' || g FROM generate_series(1, 10) g;
SELECT backupkit.snapshot_tables(ARRAY['bk_harness_t'::regclass]) AS sid \gset
SELECT is((SELECT count(*) FROM backupkit.snapshot_rows(:sid, 'bk_harness_t')), 10::bigint,
          'a fresh snapshot holds the table''s 10 rows');

SELECT * FROM finish();
ROLLBACK;
