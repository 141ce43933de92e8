-- Health of scheduled snapshots and of the snapshots themselves: backupkit.schedules (one row per
-- backupkit pg_cron job), backupkit.cron_setup_problems() (can pg_cron run jobs at all?) and
-- backupkit.check() (one row per check, for monitoring). pg_cron is reached through dynamic SQL only, so
-- none of this depends on it being installed.

CREATE FUNCTION backupkit.cron_interval(schedule text)
RETURNS interval
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_cron_interval';
COMMENT ON FUNCTION backupkit.cron_interval(text) IS 'The longest gap between two consecutive runs of a pg_cron schedule (five fields, @macros or "N seconds")';

CREATE FUNCTION backupkit.cron_setup_problems(use_background_workers boolean DEFAULT NULL, host text DEFAULT NULL,
                                              listen_addresses text DEFAULT NULL,
                                              socket_directories text DEFAULT NULL, log_run boolean DEFAULT NULL)
RETURNS TABLE (severity text, check_name text, detail text, hint text)
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    -- Each argument left NULL is read from the server's settings (pg_cron's defaults when unset). pg_cron's own
    -- settings are superuser-only: other roles without the privileges of pg_read_all_settings cannot read them.
    may_read boolean := (log_run IS NOT NULL AND (use_background_workers OR host IS NOT NULL))
                        OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER)
                        OR pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE');
    use_bgw boolean := use_background_workers;
    cron_host text := host;
    listen text := listen_addresses;
    sockets text := socket_directories;
    logs boolean := log_run;
BEGIN
    IF NOT may_read THEN
        RETURN QUERY SELECT 'warning', 'pg_cron setup',
            pg_catalog.format('Role %s may not read pg_cron''s settings, so whether pg_cron can run jobs was not checked.',
                              pg_catalog.quote_ident(CURRENT_USER::text)),
            'Run backupkit.check() as a role with the privileges of pg_read_all_settings.';
        RETURN;
    END IF;
    use_bgw := coalesce(use_bgw, coalesce(pg_catalog.current_setting('cron.use_background_workers', true), 'off') = 'on');
    IF NOT use_bgw THEN
        cron_host := coalesce(cron_host, nullif(pg_catalog.current_setting('cron.host', true), ''), 'localhost');
    END IF;
    logs := coalesce(logs, coalesce(pg_catalog.current_setting('cron.log_run', true), 'on') = 'on');
    -- Settings a role may not read (unix_socket_directories is superuser-only) are absent from pg_settings.
    IF listen IS NULL THEN
        SELECT s.setting INTO listen FROM pg_catalog.pg_settings s WHERE s.name = 'listen_addresses';
    END IF;
    IF sockets IS NULL THEN
        SELECT s.setting INTO sockets FROM pg_catalog.pg_settings s WHERE s.name = 'unix_socket_directories';
    END IF;
    IF use_bgw THEN
        RETURN QUERY SELECT 'ok', 'pg_cron setup', 'pg_cron runs jobs in background workers.', NULL::text;
    ELSIF cron_host LIKE '/%' THEN
        IF sockets IS NOT NULL AND NOT cron_host = ANY (
                SELECT pg_catalog.btrim(d) FROM pg_catalog.regexp_split_to_table(sockets, ',') AS d) THEN
            RETURN QUERY SELECT 'error', 'pg_cron setup',
                pg_catalog.format('pg_cron connects through the socket directory %s, but the server listens in %s.',
                                  cron_host, sockets),
                'Set cron.host to one of the server''s socket directories, or cron.use_background_workers = on, and restart the server.';
        ELSE
            RETURN QUERY SELECT 'ok', 'pg_cron setup',
                pg_catalog.format('pg_cron connects through the socket directory %s.', cron_host), NULL::text;
        END IF;
    ELSIF listen IS NOT NULL AND pg_catalog.btrim(listen) = '' THEN
        RETURN QUERY SELECT 'error', 'pg_cron setup',
            pg_catalog.format('pg_cron connects to host "%s" over TCP/IP, but the server does not listen on TCP/IP (listen_addresses is empty), so every job fails with "connection failed".', cron_host),
            'Set cron.use_background_workers = on (or cron.host to the server''s socket directory) and restart the server.';
    ELSIF listen IS NOT NULL AND cron_host IN ('localhost', '127.0.0.1', '::1') AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.regexp_split_to_table(listen, ',') AS a
             WHERE pg_catalog.btrim(a) IN ('*', '0.0.0.0', '::', 'localhost', '127.0.0.1', '::1')) THEN
        RETURN QUERY SELECT 'error', 'pg_cron setup',
            pg_catalog.format('pg_cron connects to host "%s", but the server listens only on %s.', cron_host, listen),
            'Set cron.use_background_workers = on (or cron.host to an address the server listens on) and restart the server.';
    ELSE
        RETURN QUERY SELECT 'ok', 'pg_cron setup',
            pg_catalog.format('pg_cron connects to host "%s"; the connection must also be allowed by pg_hba.conf without a password prompt.', cron_host),
            NULL::text;
    END IF;
    IF NOT logs THEN
        RETURN QUERY SELECT 'warning', 'pg_cron run log',
            'cron.log_run is off: pg_cron records no job runs, so failed runs cannot be seen.',
            'Set cron.log_run = on and restart the server.';
    ELSE
        RETURN QUERY SELECT 'ok', 'pg_cron run log', 'pg_cron records every job run in cron.job_run_details.', NULL::text;
    END IF;
END
$fn$;
COMMENT ON FUNCTION backupkit.cron_setup_problems(boolean, text, text, text, boolean) IS 'Whether pg_cron, as configured (or with the settings given), can run jobs and record their outcome';

CREATE FUNCTION backupkit.schedule_list()
RETURNS TABLE (jobid bigint, job_name text, schedule text, tables text[], label text, keep_last integer,
               keep_daily integer, keep_weekly integer, keep_monthly integer, owner text, active boolean,
               scheduled_at timestamptz, last_run_start timestamptz, last_run_end timestamptz,
               last_run_status text, last_run_message text, last_snapshot_id bigint,
               last_snapshot_at timestamptz, run_interval interval, overdue boolean)
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- Without USAGE on pg_cron's schema a role can have scheduled no job, and may see none.
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron')
       OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
                       WHERE n.nspname = 'cron' AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')) THEN
        RETURN;
    END IF;
    -- The command is the one schedule_snapshots wrote: every value went through format('%L').
    RETURN QUERY EXECUTE $q$
    WITH j AS (
        SELECT j.jobid, j.jobname::text AS job_name, j.schedule::text AS schedule, j.username::text AS owner,
               j.active,
               pg_catalog.replace(pg_catalog.substring(j.command, $r$snapshot_tables\('((?:[^']|'')*)'::regclass\[\]$r$), '''''', '''') AS tables_text,
               pg_catalog.replace(pg_catalog.substring(j.command, $r$::regclass\[\], E?'((?:[^']|'')*)'\)$r$), '''''', '''') AS label,
               pg_catalog.substring(j.command, $r$keep_last => '(\d+)'$r$)::integer AS keep_last,
               pg_catalog.substring(j.command, $r$keep_daily => '(\d+)'$r$)::integer AS keep_daily,
               pg_catalog.substring(j.command, $r$keep_weekly => '(\d+)'$r$)::integer AS keep_weekly,
               pg_catalog.substring(j.command, $r$keep_monthly => '(\d+)'$r$)::integer AS keep_monthly,
               CASE WHEN j.schedule ~ '^\s*(@|\d+ seconds?\s*$|(\S+\s+){4}\S+\s*$)'
                    THEN backupkit.cron_interval(j.schedule) END AS run_interval
          FROM cron.job j
         WHERE j.command LIKE '%backupkit.snapshot_tables(%'
    )
    SELECT j.jobid, j.job_name, j.schedule, j.tables_text::text[], j.label, j.keep_last, j.keep_daily,
           j.keep_weekly, j.keep_monthly, j.owner, j.active, created.at, r.start_time, r.end_time, r.status,
           r.return_message, s.id, s.created_at, j.run_interval,
           j.active AND j.run_interval IS NOT NULL
               AND pg_catalog.now() - GREATEST(coalesce(created.at, r.first_start, pg_catalog.now()), s.created_at)
                   > 2 * j.run_interval
      FROM j
      LEFT JOIN LATERAL (
            SELECT o.logged_at AS at FROM backupkit.operations o
             WHERE o.operation = 'schedule' AND (o.details ->> 'jobid')::bigint = j.jobid
             ORDER BY o.logged_at DESC LIMIT 1) created ON true
      LEFT JOIN LATERAL (
            SELECT d.start_time, d.end_time, d.status, d.return_message,
                   (SELECT min(d2.start_time) FROM cron.job_run_details d2 WHERE d2.jobid = j.jobid) AS first_start
              FROM cron.job_run_details d
             WHERE d.jobid = j.jobid
             ORDER BY d.runid DESC LIMIT 1) r ON true
      LEFT JOIN LATERAL (
            SELECT sn.id, sn.created_at FROM backupkit.snapshots sn
             WHERE sn.label = j.label AND sn.created_by = j.owner AND sn.status = 'complete'
             ORDER BY sn.created_at DESC, sn.id DESC LIMIT 1) s ON true
     ORDER BY j.jobid
    $q$;
END
$fn$;
COMMENT ON FUNCTION backupkit.schedule_list() IS 'The rows of backupkit.schedules (no rows without pg_cron)';

CREATE VIEW backupkit.schedules AS
SELECT * FROM backupkit.schedule_list();
COMMENT ON VIEW backupkit.schedules IS 'One row per backupkit pg_cron job the current role may see: schedule, tables, label, retention, last run, last successful snapshot and whether it is overdue (no successful snapshot within twice the schedule''s longest interval)';
GRANT SELECT ON backupkit.schedules TO PUBLIC;

CREATE FUNCTION backupkit.check()
RETURNS TABLE (severity text, check_name text, object text, detail text, hint text)
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    j record;
    n bigint;
    ids text;
    op record;
    dead record;
    has_cron boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron');
    found_any boolean;
    log_line text;
    log_size bigint;
BEGIN
    -- pg_cron itself.
    IF has_cron THEN
        RETURN QUERY SELECT p.severity, p.check_name, 'pg_cron'::text, p.detail, p.hint
                       FROM backupkit.cron_setup_problems() p;
    ELSE
        RETURN QUERY SELECT 'ok'::text, 'pg_cron setup'::text, 'pg_cron'::text,
                            'pg_cron is not installed in this database: no scheduled snapshots.'::text, NULL::text;
    END IF;

    -- Each scheduled job: its last run, whether it is overdue, whether it is active.
    found_any := false;
    FOR j IN SELECT * FROM backupkit.schedules LOOP
        found_any := true;
        IF j.last_run_status = 'failed' THEN
            RETURN QUERY SELECT 'error'::text, 'job last run'::text, pg_catalog.format('job "%s"', j.job_name),
                pg_catalog.format('The last run%s failed: %s',
                                  coalesce(' (started ' || j.last_run_start || ')', ' (ended ' || j.last_run_end || ')', ''),
                                  coalesce(pg_catalog.btrim(j.last_run_message), 'no message')),
                'See cron.job_run_details for every run and SELECT * FROM backupkit.check() WHERE check_name LIKE ''pg_cron%'' for the setup.'::text;
        ELSIF j.last_run_status IS NULL THEN
            RETURN QUERY SELECT 'ok'::text, 'job last run'::text, pg_catalog.format('job "%s"', j.job_name),
                'The job has not run yet.'::text, NULL::text;
        ELSE
            RETURN QUERY SELECT 'ok'::text, 'job last run'::text, pg_catalog.format('job "%s"', j.job_name),
                pg_catalog.format('The last run (started %s) is %s.', j.last_run_start, j.last_run_status), NULL::text;
        END IF;
        IF j.overdue THEN
            RETURN QUERY SELECT 'error'::text, 'job overdue'::text, pg_catalog.format('job "%s"', j.job_name),
                pg_catalog.format('No successful snapshot labelled "%s" since %s, more than twice the schedule''s interval (%s).',
                                  j.label, coalesce(j.last_snapshot_at, j.scheduled_at), j.run_interval),
                'Check the job''s last runs in cron.job_run_details and the pg_cron setup.'::text;
        ELSIF NOT j.active THEN
            RETURN QUERY SELECT 'warning'::text, 'job active'::text, pg_catalog.format('job "%s"', j.job_name),
                'The job is not active: it takes no snapshots.'::text,
                'Activate it with cron.alter_job(job_id => ..., active => true) or remove it with backupkit.unschedule_snapshots.'::text;
        ELSE
            RETURN QUERY SELECT 'ok'::text, 'job overdue'::text, pg_catalog.format('job "%s"', j.job_name),
                pg_catalog.format('Last successful snapshot: %s.', coalesce(j.last_snapshot_at::text, 'none yet')), NULL::text;
        END IF;
    END LOOP;

    -- Validation: snapshots whose last validation failed (one row each), snapshots never validated (one row).
    found_any := false;
    FOR op IN
        SELECT s.id, v.outcome, v.logged_at
          FROM backupkit.snapshots s
          JOIN LATERAL (SELECT o.outcome, o.logged_at FROM backupkit.operations o
                         WHERE o.operation = 'validate' AND o.snapshot_id = s.id
                         ORDER BY o.logged_at DESC LIMIT 1) v ON true
         WHERE s.status = 'complete' AND v.outcome <> 'success'
         ORDER BY s.id
    LOOP
        found_any := true;
        RETURN QUERY SELECT 'error'::text, 'snapshot validation'::text, pg_catalog.format('snapshot %s', op.id),
            pg_catalog.format('The last validation (%s) found the snapshot %s.', op.logged_at, op.outcome),
            pg_catalog.format('SELECT backupkit.validate_snapshot_integrity(%s) lists the problems; do not rely on this snapshot.', op.id);
    END LOOP;
    SELECT count(*), pg_catalog.string_agg(x.id::text, ', ' ORDER BY x.id) FILTER (WHERE x.rn <= 10)
      INTO n, ids
      FROM (SELECT s.id, pg_catalog.row_number() OVER (ORDER BY s.id) AS rn
              FROM backupkit.snapshots s
             WHERE s.status = 'complete'
               AND NOT EXISTS (SELECT 1 FROM backupkit.operations o
                                WHERE o.operation = 'validate' AND o.snapshot_id = s.id)) x;
    IF n > 0 THEN
        RETURN QUERY SELECT 'warning'::text, 'snapshot validation'::text, 'snapshots'::text,
            pg_catalog.format('%s snapshot(s) have never been validated: %s%s.', n, ids, CASE WHEN n > 10 THEN ', ...' ELSE '' END),
            'Run SELECT * FROM backupkit.validate_all_snapshots() (or backupkit validate --all).'::text;
    ELSIF NOT found_any THEN
        RETURN QUERY SELECT 'ok'::text, 'snapshot validation'::text, 'snapshots'::text,
            'Every snapshot passed its last validation.'::text, NULL::text;
    END IF;

    -- Snapshots naming tables that no longer exist (they cannot be restored in place).
    found_any := false;
    FOR op IN
        SELECT s.id, pg_catalog.string_agg(c.table_name, ', ' ORDER BY c.table_name) AS missing
          FROM backupkit.snapshots s
          CROSS JOIN LATERAL backupkit.snapshot_contents(s.id) c
         WHERE s.status = 'complete' AND pg_catalog.to_regclass(c.table_name) IS NULL
         GROUP BY s.id ORDER BY s.id
    LOOP
        found_any := true;
        RETURN QUERY SELECT 'warning'::text, 'snapshot tables'::text, pg_catalog.format('snapshot %s', op.id),
            pg_catalog.format('Tables of the snapshot no longer exist: %s.', op.missing),
            'Re-create the tables before restoring them, or drop the snapshot with backupkit.drop_snapshot.'::text;
    END LOOP;
    IF NOT found_any THEN
        RETURN QUERY SELECT 'ok'::text, 'snapshot tables'::text, 'snapshots'::text,
            'Every table of every snapshot exists.'::text, NULL::text;
    END IF;

    -- The last failed operation in the operation log (failed validations, failed restores).
    SELECT x.* INTO op FROM (
        SELECT o.logged_at AS at, o.operation AS what, o.snapshot_id, o.role, o.outcome
          FROM backupkit.operations o WHERE o.outcome NOT IN ('success', 'dry run')
        UNION ALL
        SELECT r.finished_at, 'restore', r.snapshot_id, r.initiated_by::text, r.status
          FROM backupkit.restores r WHERE r.status NOT IN ('success', 'completed', 'dry run')) x
     ORDER BY x.at DESC LIMIT 1;
    IF FOUND THEN
        RETURN QUERY SELECT 'warning'::text, 'failed operation'::text,
            pg_catalog.format('%s of snapshot %s', op.what, coalesce(op.snapshot_id::text, 'none')),
            pg_catalog.format('The last failed operation: %s of snapshot %s by role %s at %s (%s).', op.what,
                              coalesce(op.snapshot_id::text, 'none'), op.role, op.at, op.outcome),
            'Operations whose transaction aborted are logged in the server log as "backupkit operation failed:".'::text;
    ELSE
        RETURN QUERY SELECT 'ok'::text, 'failed operation'::text, 'operations'::text,
            'No failed operation in the operation log (aborted ones are only in the server log).'::text, NULL::text;
    END IF;

    -- Operations whose transaction aborted leave only a line in the server log (doc/operations.md); it is
    -- read when the caller may read it and the logging collector writes it to a file (the last 1 MB only).
    log_line := NULL;
    IF pg_catalog.current_setting('logging_collector') = 'on'
       AND pg_catalog.has_function_privilege('pg_catalog.pg_read_file(text, bigint, bigint)', 'EXECUTE')
       AND pg_catalog.has_function_privilege('pg_catalog.pg_current_logfile()', 'EXECUTE')
       AND pg_catalog.has_function_privilege('pg_catalog.pg_stat_file(text)', 'EXECUTE') THEN
        BEGIN
            log_size := (pg_catalog.pg_stat_file(pg_catalog.pg_current_logfile())).size;
            SELECT l INTO log_line
              FROM pg_catalog.regexp_split_to_table(
                       pg_catalog.pg_read_file(pg_catalog.pg_current_logfile(), GREATEST(log_size - 1048576, 0),
                                               LEAST(log_size, 1048576)), E'\n') WITH ORDINALITY AS x(l, i)
             WHERE l LIKE '%backupkit operation failed:%'
             ORDER BY i DESC LIMIT 1;
        EXCEPTION WHEN OTHERS THEN
            log_line := NULL;
        END;
        IF log_line IS NOT NULL THEN
            RETURN QUERY SELECT 'warning'::text, 'failed operation'::text, 'server log'::text,
                pg_catalog.format('The last failed operation in the server log: %s', log_line),
                'The ERROR line just before it in the server log (same process id) says why.'::text;
        ELSE
            RETURN QUERY SELECT 'ok'::text, 'failed operation'::text, 'server log'::text,
                'No failed operation in the recent server log.'::text, NULL::text;
        END IF;
    END IF;

    -- Dead space in backupkit's storage (chunks and their TOAST), from the statistics collector.
    SELECT pg_catalog.sum(t.n_dead_tup) AS dead_tup, pg_catalog.sum(t.n_live_tup) AS live_tup,
           pg_catalog.sum(pg_catalog.pg_relation_size(t.relid)) AS bytes
      INTO dead
      FROM pg_catalog.pg_stat_all_tables t
     WHERE t.relid IN ('backupkit.snapshot_chunk'::regclass,
                       (SELECT c.reltoastrelid FROM pg_catalog.pg_class c WHERE c.oid = 'backupkit.snapshot_chunk'::regclass));
    IF dead.dead_tup > 0 AND dead.dead_tup::float8 / (dead.dead_tup + dead.live_tup) > 0.2
       AND dead.bytes * dead.dead_tup::float8 / (dead.dead_tup + dead.live_tup) > 1048576 THEN
        RETURN QUERY SELECT 'warning'::text, 'storage dead space'::text, 'backupkit.snapshot_chunk'::text,
            pg_catalog.format('About %s of backupkit''s storage (%s%%) is dead rows of dropped snapshots.',
                              pg_catalog.pg_size_pretty((dead.bytes * dead.dead_tup::float8 / (dead.dead_tup + dead.live_tup))::bigint),
                              pg_catalog.round(100 * dead.dead_tup::numeric / (dead.dead_tup + dead.live_tup))),
            'Run VACUUM backupkit.snapshot_chunk (as its owner) or let autovacuum reach it; the space is reused afterwards.'::text;
    ELSE
        RETURN QUERY SELECT 'ok'::text, 'storage dead space'::text, 'backupkit.snapshot_chunk'::text,
            pg_catalog.format('Dead rows: %s of %s.', coalesce(dead.dead_tup, 0), coalesce(dead.dead_tup, 0) + coalesce(dead.live_tup, 0)),
            NULL::text;
    END IF;
END
$fn$;
COMMENT ON FUNCTION backupkit.check() IS 'Health checks for monitoring, one row each (severity ok, warning or error): pg_cron setup, failing or overdue jobs, snapshots never validated or failing validation, snapshots of dropped tables, the last failed operation, dead space in storage';
