#!/usr/bin/env bash
# backupkit.info() works for every role that may use backupkit when pg_cron is installed, including roles
# without USAGE on schema cron (before, they got "permission denied for schema cron"). Such a role has no job
# it could have scheduled and reads scheduled_jobs = null; a role with USAGE reads its own jobs ([] here).
#
# pg_cron can only be created in cron.database_name, which the test cluster sets to "postgres".
set -u
DB=postgres
export PGOPTIONS="-c client_min_messages=warning"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At -d $DB)
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3 (got '$1', want '$2')"; fi; }
created_cron=0
created_bk=0
cleanup() {
	# DROP OWNED also revokes the grant on schema cron, which would keep the role from being dropped.
	for role in bk_tap_255_nocron bk_tap_255_cron; do
		"${PSQL[@]}" -c "DROP OWNED BY $role" -c "DROP ROLE $role" >/dev/null 2>&1
	done
	[ $created_bk = 1 ] && "${PSQL[@]}" -c "DROP EXTENSION backupkit CASCADE" >/dev/null 2>&1
	[ $created_cron = 1 ] && "${PSQL[@]}" -c "DROP EXTENSION pg_cron" >/dev/null 2>&1
}
trap cleanup EXIT

if [ "$("${PSQL[@]}" -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_cron'")" != 1 ] ||
	! "${PSQL[@]}" -c "SHOW shared_preload_libraries" | grep -q pg_cron; then
	echo "1..0 # SKIP pg_cron is not available or not preloaded"
	exit 0
fi
echo "1..5"
if [ "$("${PSQL[@]}" -c "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")" = 0 ]; then
	"${PSQL[@]}" -c "CREATE EXTENSION pg_cron" && created_cron=1
fi
if [ "$("${PSQL[@]}" -c "SELECT count(*) FROM pg_extension WHERE extname = 'backupkit'")" = 0 ]; then
	"${PSQL[@]}" -c "CREATE EXTENSION backupkit" && created_bk=1
fi
"${PSQL[@]}" -c "CREATE ROLE bk_tap_255_nocron" -c "CREATE ROLE bk_tap_255_cron" \
	-c "GRANT USAGE ON SCHEMA cron TO bk_tap_255_cron"

out=$("${PSQL[@]}" -c "SET ROLE bk_tap_255_nocron" -c "SELECT backupkit.info() ? 'snapshots'" 2>&1)
ok "$out" "t" "a role without USAGE on schema cron gets info()"
ok "$("${PSQL[@]}" -c "SET ROLE bk_tap_255_nocron" -c "SELECT jsonb_typeof(backupkit.info()->'scheduled_jobs')")" \
	"null" "its scheduled_jobs is null"
ok "$("${PSQL[@]}" -c "SET ROLE bk_tap_255_nocron" -c "SELECT has_schema_privilege('cron', 'USAGE')")" "f" \
	"(it really has no USAGE on cron)"
ok "$("${PSQL[@]}" -c "SET ROLE bk_tap_255_cron" -c "SELECT backupkit.info()->'scheduled_jobs'")" "[]" \
	"a role with USAGE reads its own jobs (none)"
ok "$("${PSQL[@]}" -c "SELECT jsonb_typeof(backupkit.info()->'scheduled_jobs')")" "array" \
	"the superuser reads the jobs as before"
