#!/usr/bin/env bash
# The cluster the TAP scripts get: reachable through PGHOST/PGPORT/PGUSER, pg_cron preloaded and usable in
# the postgres database, backupkit installable in a fresh database, BK_ROOT pointing at the repository.
set -u
n=0
fails=0
ok() { # ok <condition-status> <description>
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}
psql_q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
db=bk_harness_cluster_$$

echo "1..6"
[ -f "${BK_ROOT:-/nonexistent}/backupkit.control" ]
ok $? "BK_ROOT points at the repository"
[ "$(psql_q -d postgres -c 'SELECT 1')" = 1 ]
ok $? "server reachable through PGHOST/PGPORT/PGUSER"
if [ -n "${BK_NO_PG_CRON:-}" ]; then
	# scripts/run-tests.sh found no pg_cron for this server: say so rather than pass or fail.
	n=$((n + 2))
	echo "ok $((n - 1)) # skip $BK_NO_PG_CRON"
	echo "ok $n # skip $BK_NO_PG_CRON"
else
	[ "$(psql_q -d postgres -c 'SHOW shared_preload_libraries')" = pg_cron ]
	ok $? "pg_cron is preloaded"
	psql_q -d postgres -c 'CREATE EXTENSION IF NOT EXISTS pg_cron' >/dev/null 2>&1
	ok $? "pg_cron can be created in the postgres database"
fi
psql_q -d postgres -c "CREATE DATABASE $db" >/dev/null && psql_q -d "$db" -c 'CREATE EXTENSION backupkit' >/dev/null
ok $? "backupkit installs in a fresh database"
sid=$(psql_q -d "$db" -c "CREATE TABLE t AS SELECT 1 AS x" -c "SELECT backupkit.snapshot_tables('{t}')")
[ -n "$sid" ] && [ "$(psql_q -d "$db" -c "SELECT count(*) FROM backupkit.snapshot_rows($sid, 't')")" = 1 ]
ok $? "snapshot in the fresh database"
psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null
[ $fails = 0 ]
