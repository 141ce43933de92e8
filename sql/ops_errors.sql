-- Error messages of retention, pinning, scheduling, export and import.
SET client_min_messages = warning;
CREATE TABLE public.ops_err_t (id integer PRIMARY KEY, v text);
INSERT INTO public.ops_err_t SELECT g, md5(g::text) FROM generate_series(1, 100) g;
SELECT backupkit.snapshot_tables(ARRAY['public.ops_err_t'::regclass], 'ops_errors') AS sid \gset

-- prune_snapshots
SELECT * FROM backupkit.prune_snapshots();
SELECT * FROM backupkit.prune_snapshots(label => 'ops_errors');
SELECT * FROM backupkit.prune_snapshots(keep_last => 0);
SELECT * FROM backupkit.prune_snapshots(keep_monthly => -1);
SELECT * FROM backupkit.prune_snapshots(older_than => '-1 day');
SELECT * FROM backupkit.prune_snapshots(keep_last => 1, dry_run => NULL);
SELECT action, reason FROM backupkit.prune_snapshots(keep_last => 1, label => 'ops_errors', dry_run => true);

-- pin_snapshot
SELECT backupkit.pin_snapshot(NULL);
SELECT backupkit.pin_snapshot(:sid, NULL);
SELECT backupkit.pin_snapshot(-1);
SELECT backupkit.pin_snapshot(:sid);
SELECT action, reason FROM backupkit.prune_snapshots(older_than => '0 seconds', label => 'ops_errors', dry_run => true);
SELECT backupkit.pin_snapshot(:sid, false);

-- schedule_snapshots without pg_cron in this database
SELECT backupkit.schedule_snapshots(NULL, '0 3 * * *', ARRAY['public.ops_err_t'::regclass], 'nightly');
SELECT backupkit.schedule_snapshots('j', NULL, ARRAY['public.ops_err_t'::regclass], 'nightly');
SELECT backupkit.schedule_snapshots('j', '0 3 * * *', NULL, 'nightly');
SELECT backupkit.schedule_snapshots('j', '0 3 * * *', ARRAY['public.ops_err_t'::regclass], NULL);
SELECT backupkit.schedule_snapshots('j', '0 3 * * *', '{}', 'nightly');
SELECT backupkit.schedule_snapshots('j', '0 3 * * *', ARRAY['public.ops_err_t'::regclass], 'nightly', keep_daily => 0);
SELECT backupkit.schedule_snapshots('j', '0 3 * * *', ARRAY['public.ops_err_t'::regclass], 'nightly', keep_last => 7);
SELECT backupkit.unschedule_snapshots(NULL);
SELECT backupkit.unschedule_snapshots('j');

-- info
SELECT info ? 'extension_version' AS has_version, (info->>'snapshots')::integer >= 1 AS has_snapshots,
       info->'scheduled_jobs' AS jobs
  FROM backupkit.info() AS info;

-- export_snapshot / import_snapshot
SELECT count(*) FROM backupkit.export_snapshot(NULL);
SELECT count(*) FROM backupkit.export_snapshot(-1);
CREATE TEMP TABLE ops_err_frames AS
SELECT n, f FROM backupkit.export_snapshot(:sid) WITH ORDINALITY AS e(f, n);
SELECT count(*) AS frames, bool_and(substring(f FROM 1 FOR 4) = '\x424b5831') AS magic FROM ops_err_frames;
SELECT backupkit.import_snapshot(f) FROM ops_err_frames WHERE false;
SELECT backupkit.import_snapshot(NULL::bytea);
SELECT backupkit.import_snapshot('\x00'::bytea);
SELECT backupkit.import_snapshot(substring(f FROM 1 FOR 20)) FROM ops_err_frames WHERE n = 1;
-- (terse: the detail counts bytes of a header that names the server version)
\set VERBOSITY terse
SELECT backupkit.import_snapshot(substring(f FROM 1 FOR length(f) - 1)) FROM ops_err_frames WHERE n = 1;
\set VERBOSITY default
SELECT backupkit.import_snapshot(set_byte(f, 20, get_byte(f, 20) # 1)) FROM ops_err_frames WHERE n = 1;
SELECT backupkit.import_snapshot(set_byte(f, 4, 9)) FROM ops_err_frames WHERE n = 1;
SELECT backupkit.import_snapshot(f ORDER BY n DESC) FROM ops_err_frames;
SELECT backupkit.import_snapshot(f ORDER BY n) FROM ops_err_frames WHERE n < 3;
SELECT backupkit.import_snapshot(f ORDER BY n)
  FROM (SELECT n, f FROM ops_err_frames UNION ALL SELECT 100, f FROM ops_err_frames WHERE n = 1) s;
-- nothing was left behind by the failed imports
SELECT count(*) AS snapshots FROM backupkit.snapshots WHERE label = 'ops_errors';
SELECT backupkit.import_snapshot(f ORDER BY n) > :sid AS imported FROM ops_err_frames;

SELECT count(*) FROM backupkit.prune_snapshots(older_than => '0 seconds', label => 'ops_errors');
DROP TABLE public.ops_err_t;
