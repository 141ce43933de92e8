-- Scheduled snapshots through pg_cron (optional: backupkit reaches pg_cron only when these are called) and
-- the overview function.

CREATE FUNCTION backupkit.schedule_snapshots(job_name text, schedule text, tables regclass[], label text,
                                             keep_last integer DEFAULT NULL, keep_daily integer DEFAULT NULL,
                                             keep_weekly integer DEFAULT NULL, keep_monthly integer DEFAULT NULL)
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_schedule_snapshots';
COMMENT ON FUNCTION backupkit.schedule_snapshots(text, text, regclass[], text, integer, integer, integer, integer) IS 'Creates or replaces a pg_cron job that snapshots the tables under the label, then prunes that label by the keep rules given; returns the pg_cron job id';

CREATE FUNCTION backupkit.unschedule_snapshots(job_name text)
RETURNS boolean
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_unschedule_snapshots';
COMMENT ON FUNCTION backupkit.unschedule_snapshots(text) IS 'Removes the pg_cron job of that name owned by the current role; false when there is none';

CREATE FUNCTION backupkit.info()
RETURNS jsonb
LANGUAGE c STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_info';
COMMENT ON FUNCTION backupkit.info() IS 'Overview: extension and server version, snapshots the current role may use, stored bytes, compression ratio, last successful validation, scheduled jobs';
