-- backupkit.schedules and backupkit.check() with pg_cron (run by test/tap/325_check_cron.sh in the database
-- pg_cron lives in): a job whose last run failed (cron.job_run_details rows written as superuser, as pg_cron
-- writes them), an overdue job, an inactive one, a healthy one, and the view's parsed columns.
BEGIN;
SELECT plan(17);

CREATE TABLE public.bk325_t (id integer PRIMARY KEY, v text);
INSERT INTO public.bk325_t SELECT g, md5(g::text) FROM generate_series(1, 20) g;

SELECT backupkit.schedule_snapshots('bk325_failing', '15 2 * * *', ARRAY['public.bk325_t']::regclass[], 'bk325 f''s',
                                    keep_last => 3, keep_daily => 7) AS failing \gset
SELECT backupkit.schedule_snapshots('bk325_overdue', '0 * * * *', ARRAY['public.bk325_t']::regclass[], 'bk325_o') AS overdue \gset
SELECT backupkit.schedule_snapshots('bk325_healthy', '*/5 * * * *', ARRAY['public.bk325_t']::regclass[], 'bk325_h') AS healthy \gset
SELECT backupkit.schedule_snapshots('bk325_paused', '@daily', ARRAY['public.bk325_t']::regclass[], 'bk325_p') AS paused \gset

-- The failing job: its last run failed the way pg_cron records a job that cannot connect.
INSERT INTO cron.job_run_details (jobid, job_pid, database, username, command, status, return_message, start_time, end_time)
VALUES (:failing, 0, current_database(), current_user, 'x', 'succeeded', '1 row', now() - interval '2 days', now() - interval '2 days'),
       (:failing, 0, current_database(), current_user, 'x', 'failed', 'connection failed', NULL, now() - interval '1 hour');
-- The overdue job: scheduled three hours ago (twice its hourly interval has passed), no snapshot since.
UPDATE backupkit.operation_log SET logged_at = now() - interval '3 hours'
 WHERE operation = 'schedule' AND (details ->> 'jobid')::bigint = :overdue;
-- The healthy job took its snapshot; the paused one is inactive.
SELECT backupkit.snapshot_tables(ARRAY['public.bk325_t']::regclass[], 'bk325_h') AS healthy_snap \gset
SELECT cron.alter_job(:paused, active => false);

SELECT is((SELECT count(*)::int FROM backupkit.schedules WHERE job_name LIKE 'bk325%'), 4, 'the view lists the four backupkit jobs');
SELECT is((SELECT tables FROM backupkit.schedules WHERE jobid = :failing), ARRAY['public.bk325_t'], 'tables are read from the job''s command');
SELECT is((SELECT label FROM backupkit.schedules WHERE jobid = :failing), 'bk325 f''s', 'a label with a quote is read back');
SELECT is((SELECT keep_last || '/' || keep_daily || '/' || coalesce(keep_weekly::text, '-') FROM backupkit.schedules WHERE jobid = :failing),
          '3/7/-', 'retention rules are read back');
SELECT is((SELECT last_run_status || ': ' || last_run_message FROM backupkit.schedules WHERE jobid = :failing),
          'failed: connection failed', 'the last run and pg_cron''s message are shown');
SELECT is((SELECT run_interval FROM backupkit.schedules WHERE jobid = :failing), interval '1 day', 'the interval comes from the schedule');
SELECT is((SELECT last_snapshot_id FROM backupkit.schedules WHERE jobid = :healthy), :healthy_snap::bigint,
          'the last successful snapshot of the job''s label is shown');
SELECT is((SELECT overdue FROM backupkit.schedules WHERE jobid = :overdue), true, 'a job without a snapshot for over twice its interval is overdue');
SELECT is((SELECT overdue FROM backupkit.schedules WHERE jobid = :healthy), false, 'a job with a recent snapshot is not overdue');
SELECT is((SELECT overdue FROM backupkit.schedules WHERE jobid = :failing), false, 'a daily job scheduled just now is not overdue yet');

SELECT is((SELECT severity || ' ' || detail FROM backupkit.check() WHERE check_name = 'job last run' AND object = 'job "bk325_failing"'),
          'error The last run (ended ' || (now() - interval '1 hour') || ') failed: connection failed',
          'check(): the failing job is an error row carrying pg_cron''s message');
SELECT is((SELECT severity FROM backupkit.check() WHERE check_name = 'job overdue' AND object = 'job "bk325_overdue"'),
          'error', 'check(): the overdue job is an error row');
SELECT is((SELECT severity FROM backupkit.check() WHERE check_name = 'job active' AND object = 'job "bk325_paused"'),
          'warning', 'check(): the inactive job is a warning row');
SELECT is((SELECT string_agg(severity, ',' ORDER BY check_name) FROM backupkit.check() WHERE object = 'job "bk325_healthy"'),
          'ok,ok', 'check(): the healthy job has only ok rows');
SELECT is((SELECT severity FROM backupkit.check() WHERE check_name = 'pg_cron setup'),
          CASE WHEN current_setting('cron.use_background_workers', true) = 'on' THEN 'ok' ELSE 'error' END,
          'check(): the pg_cron setup row matches the server''s settings');
SELECT cmp_ok((backupkit.info() ->> 'check_errors')::int, '>=', 2, 'info() counts the error rows');

-- Once the job succeeds again, its row is ok.
INSERT INTO cron.job_run_details (jobid, job_pid, database, username, command, status, return_message, start_time, end_time)
VALUES (:failing, 0, current_database(), current_user, 'x', 'succeeded', '1 row', now(), now());
SELECT is((SELECT severity FROM backupkit.check() WHERE check_name = 'job last run' AND object = 'job "bk325_failing"'),
          'ok', 'check(): a job whose last run succeeded is ok again');

SELECT * FROM finish();
ROLLBACK;
