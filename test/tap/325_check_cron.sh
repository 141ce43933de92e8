#!/usr/bin/env bash
# Runs the pgTAP file test/pgtap_cron/325_check_cron.sql in the database pg_cron lives in (cron.database_name,
# "postgres" on the test cluster): backupkit.schedules and backupkit.check() need pg_cron's tables, which
# exist in that one database only. Everything it creates is rolled back; extensions it had to create are
# dropped afterwards.
set -u
DB=${BK_CRON_DB:-postgres}
export PGOPTIONS="-c client_min_messages=warning"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At -d $DB)
created=()
cleanup() {
    for e in "${created[@]}"; do "${PSQL[@]}" -c "DROP EXTENSION IF EXISTS $e CASCADE" >/dev/null 2>&1; done
}
trap cleanup EXIT
if [ "$("${PSQL[@]}" -c "SELECT current_setting('cron.database_name', true) = current_database()")" != t ]; then
    echo "1..0 # SKIP pg_cron is not set up for database $DB"
    exit 0
fi
for e in pg_cron backupkit pgtap; do
    if [ -z "$("${PSQL[@]}" -c "SELECT 1 FROM pg_extension WHERE extname = '$e'")" ]; then
        "${PSQL[@]}" -c "CREATE EXTENSION $e" >/dev/null && created=("$e" "${created[@]}")
    fi
done
psql -X -q -At -v ON_ERROR_STOP=1 -d $DB -f "$(dirname "$0")/../pgtap_cron/325_check_cron.sql"
