#!/usr/bin/env bash
# The failure of issue 13, for real: a server listening on a Unix socket only, pg_cron with its defaults
# (jobs connect to localhost over TCP/IP). schedule_snapshots warns at once; the job's first run fails with
# "connection failed"; backupkit.schedules shows it, backupkit.check() reports it as an error, and
# `backupkit check` exits 1. Starts its own cluster (the suite's runs jobs in background workers) and waits
# at most 75 s for pg_cron's minute tick.
set -u
cd "$(dirname "$0")/../.."
PG_CONFIG=${PG_CONFIG:-pg_config}
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh
export PGOPTIONS="-c client_min_messages=warning"
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3 (got '$1', want '$2')"; fi; }
if [ -n "${BK_NO_PG_CRON:-}" ]; then
	echo "1..0 # SKIP $BK_NO_PG_CRON"
	exit 0
fi
echo "1..6"
bk_cluster_start "shared_preload_libraries = 'pg_cron'" "cron.database_name = 'postgres'" "fsync = off" >/dev/null || exit 1
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -At -d postgres)
"${PSQL[@]}" -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION backupkit" \
    -c "CREATE TABLE public.t (id integer PRIMARY KEY)" -c "INSERT INTO public.t VALUES (1)" >/dev/null
warn=$(PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" \
    -c "SELECT backupkit.schedule_snapshots('nightly', '* * * * *', ARRAY['public.t']::regclass[], 'nightly')" 2>&1 >/dev/null)
ok "$(echo "$warn" | grep -c 'WARNING:  pg_cron cannot run job "nightly" as configured')" "1" \
    "schedule_snapshots warns at once that pg_cron cannot run the job"
status=""
for _ in $(seq 1 75); do
    status=$("${PSQL[@]}" -c "SELECT status || ': ' || btrim(return_message) FROM cron.job_run_details ORDER BY runid DESC LIMIT 1")
    [ -n "$status" ] && [ "${status%%:*}" != running ] && [ "${status%%:*}" != starting ] && break
    sleep 1
done
ok "$status" "failed: connection failed" "the job really ran and failed (cron.job_run_details)"
ok "$("${PSQL[@]}" -c "SELECT last_run_status || '/' || btrim(last_run_message) || '/' || active FROM backupkit.schedules")" \
    "failed/connection failed/true" "backupkit.schedules shows the failed run and pg_cron's message"
ok "$("${PSQL[@]}" -c "SELECT string_agg(severity || ' ' || check_name, ', ' ORDER BY check_name) FROM backupkit.check() WHERE check_name IN ('job last run', 'pg_cron setup')")" \
    "error job last run, error pg_cron setup" "backupkit.check() reports the failing job and the setup as errors"
ok "$("${PSQL[@]}" -c "SELECT (backupkit.info() ->> 'check_errors')::int >= 2")" "t" "info() counts the errors"
"$PG_BINDIR/backupkit" -d postgres check --quiet >/dev/null 2>&1
ok "$?" "1" "backupkit check exits 1"
