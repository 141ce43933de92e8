#!/usr/bin/env bash
# A snapshot job scheduled through backupkit.schedule_snapshots really fires under pg_cron: within a bounded
# wait (pg_cron has minute granularity) a snapshot with the job's label appears and the prune ran.
#
# Needs a cluster started with shared_preload_libraries = 'pg_cron' and cron.database_name = 'postgres'. The
# test cluster listens only on a Unix socket, so pg_cron must either run jobs in background workers
# (cron.use_background_workers = on) or connect through the socket (cron.host = '<socket directory>'); both
# are postmaster settings that a reload cannot change, so this test checks them and says which is missing.
set -u
DB=postgres
JOB=bk_tap_310_job
LABEL=bk_tap_310
export PGOPTIONS="-c client_min_messages=warning"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At -d $DB)
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3 (got '$1', want '$2')"; fi; }
created_cron=0
created_bk=0
cleanup() {
    "${PSQL[@]}" -c "SELECT backupkit.unschedule_snapshots('$JOB')" >/dev/null 2>&1
    "${PSQL[@]}" -c "DROP TABLE IF EXISTS public.bk_tap_310_t" >/dev/null 2>&1
    [ $created_bk = 1 ] && "${PSQL[@]}" -c "DROP EXTENSION backupkit CASCADE" >/dev/null 2>&1
    [ $created_cron = 1 ] && "${PSQL[@]}" -c "DROP EXTENSION pg_cron" >/dev/null 2>&1
}
trap cleanup EXIT

if [ -n "${BK_NO_PG_CRON:-}" ]; then
	echo "1..0 # SKIP $BK_NO_PG_CRON"
	exit 0
fi
echo "1..6"
preload=$("${PSQL[@]}" -c "SHOW shared_preload_libraries")
bgw=$("${PSQL[@]}" -c "SELECT coalesce(current_setting('cron.use_background_workers', true), 'off')")
host=$("${PSQL[@]}" -c "SELECT coalesce(current_setting('cron.host', true), '')")
socket=$("${PSQL[@]}" -c "SHOW unix_socket_directories")
usable=no
if [ "$bgw" = on ] || [ "$host" = "$socket" ]; then usable=yes; fi
ok "$(case "$preload" in *pg_cron*) echo "$usable" ;; *) echo "pg_cron not preloaded" ;; esac)" "yes" \
    "pg_cron is preloaded and can reach the server (use_background_workers=$bgw, cron.host=$host)"

if [ -z "$("${PSQL[@]}" -c "SELECT 1 FROM pg_extension WHERE extname = 'pg_cron'")" ]; then
    "${PSQL[@]}" -c "CREATE EXTENSION pg_cron" >/dev/null && created_cron=1
fi
if [ -z "$("${PSQL[@]}" -c "SELECT 1 FROM pg_extension WHERE extname = 'backupkit'")" ]; then
    "${PSQL[@]}" -c "CREATE EXTENSION backupkit" >/dev/null && created_bk=1
fi
"${PSQL[@]}" -c "CREATE TABLE public.bk_tap_310_t (id integer PRIMARY KEY, v text)" \
    -c "INSERT INTO public.bk_tap_310_t SELECT g, md5(g::text) FROM generate_series(1, 1000) g" >/dev/null
# Two older snapshots under the label, so that the job's prune (keep_last => 2) has something to drop.
"${PSQL[@]}" -c "SELECT backupkit.snapshot_tables(ARRAY['public.bk_tap_310_t'::regclass], '$LABEL') FROM generate_series(1, 2)" >/dev/null
before=$("${PSQL[@]}" -c "SELECT coalesce(max(snapshot_id), 0) FROM backupkit.snapshot")
started=$("${PSQL[@]}" -c "SELECT clock_timestamp()")

jobid=$("${PSQL[@]}" -c "SELECT backupkit.schedule_snapshots('$JOB', '* * * * *', ARRAY['public.bk_tap_310_t'::regclass], '$LABEL', keep_last => 2)")
ok "$("${PSQL[@]}" -c "SELECT count(*) FROM cron.job WHERE jobid = $jobid AND jobname = '$JOB' AND schedule = '* * * * *'")" "1" \
    "the job is in cron.job"

fired=no
for _ in $(seq 1 150); do
    if [ "$("${PSQL[@]}" -c "SELECT count(*) FROM backupkit.snapshot WHERE label = '$LABEL' AND snapshot_id > $before")" -ge 1 ] &&
       [ "$("${PSQL[@]}" -c "SELECT count(*) FROM backupkit.operations WHERE operation = 'prune' AND logged_at > '$started'")" -ge 1 ]; then
        fired=yes
        break
    fi
    sleep 1
done
ok "$fired" "yes" "within 150 s the job took a snapshot with label $LABEL and pruned"
if [ $fired = no ]; then
    "${PSQL[@]}" -c "SELECT status || ': ' || coalesce(return_message, '') FROM cron.job_run_details WHERE jobid = $jobid" | sed 's/^/# /'
fi
ok "$("${PSQL[@]}" -c "SELECT count(*) FROM backupkit.snapshot WHERE label = '$LABEL'")" "2" \
    "the prune kept the two newest snapshots of the label"
ok "$("${PSQL[@]}" -c "SELECT backupkit.unschedule_snapshots('$JOB')")" "t" "unschedule_snapshots removes the job"
ok "$("${PSQL[@]}" -c "SELECT count(*) FROM cron.job WHERE jobname = '$JOB'")" "0" "the job is gone"
