-- backupkit.check() rows that do not need pg_cron: validation never done / failed, snapshots of dropped
-- tables, the last failed operation, an ok row for every check, info() counts; backupkit.schedules without
-- pg_cron. (With pg_cron: test/pgtap_cron/325_check_cron.sql.)
BEGIN;
SELECT plan(13);

CREATE TABLE public.bk320_t (id integer PRIMARY KEY, v text);
INSERT INTO public.bk320_t SELECT g, md5(g::text) FROM generate_series(1, 100) g;
CREATE TABLE public.bk320_gone (id integer PRIMARY KEY);
SELECT backupkit.snapshot_tables(ARRAY['public.bk320_t']::regclass[], 'bk320') AS good \gset
SELECT backupkit.snapshot_tables(ARRAY['public.bk320_t']::regclass[], 'bk320') AS bad \gset
SELECT backupkit.snapshot_tables(ARRAY['public.bk320_gone', 'public.bk320_t']::regclass[], 'bk320') AS gone \gset

SELECT is((SELECT count(*)::int FROM backupkit.schedules), 0, 'no pg_cron here: backupkit.schedules is empty');
SELECT set_eq($$SELECT DISTINCT check_name FROM backupkit.check()$$,
              ARRAY['pg_cron setup', 'snapshot validation', 'snapshot tables', 'failed operation', 'storage dead space'],
              'every check reports at least one row');
SELECT ok((SELECT bool_and(severity IN ('ok', 'warning', 'error')) FROM backupkit.check()), 'severity is ok, warning or error');
SELECT ok((SELECT string_to_array(rtrim(split_part(detail, ': ', 2), '.'), ', ') @> ARRAY[:'good']
             FROM backupkit.check() WHERE check_name = 'snapshot validation' AND severity = 'warning'),
          'a snapshot never validated is listed in a warning');

SELECT ok((backupkit.validate_snapshot_integrity(:good) ->> 'valid')::boolean, 'the good snapshot validates');
SELECT ok(NOT coalesce((SELECT string_to_array(rtrim(split_part(detail, ': ', 2), '.'), ', ') @> ARRAY[:'good']
                         FROM backupkit.check() WHERE check_name = 'snapshot validation' AND severity = 'warning'), false),
          'a validated snapshot is no longer listed as never validated');

-- A damaged chunk: its validation fails, check() turns that into an error row and the last failed operation.
UPDATE backupkit.snapshot_chunk SET checksum = checksum # 1 WHERE snapshot_id = :bad;
SELECT is((backupkit.validate_snapshot_integrity(:bad) ->> 'valid')::boolean, false, 'the damaged snapshot fails validation');
SELECT is((SELECT severity FROM backupkit.check() WHERE check_name = 'snapshot validation' AND object = 'snapshot ' || :bad),
          'error', 'check(): a snapshot whose last validation failed is an error row');
SELECT alike((SELECT detail FROM backupkit.check() WHERE check_name = 'failed operation'),
            'The last failed operation: validate of snapshot ' || :bad || '%(invalid).', 'check(): the failed validation is the last failed operation');

-- A dropped table.
SELECT is((SELECT count(*)::int FROM backupkit.check() WHERE object = 'snapshot ' || :gone), 0, 'no row while the tables exist');
DROP TABLE public.bk320_gone;
SELECT is((SELECT severity || ': ' || detail FROM backupkit.check() WHERE check_name = 'snapshot tables' AND object = 'snapshot ' || :gone),
          'warning: Tables of the snapshot no longer exist: public.bk320_gone.', 'check(): a snapshot of a dropped table is a warning row');

SELECT is((backupkit.info() ->> 'check_errors')::int, (SELECT count(*)::int FROM backupkit.check() WHERE severity = 'error'),
          'info() counts the error rows');
SELECT is((backupkit.info() ->> 'check_warnings')::int, (SELECT count(*)::int FROM backupkit.check() WHERE severity = 'warning'),
          'info() counts the warning rows');

SELECT * FROM finish();
ROLLBACK;
