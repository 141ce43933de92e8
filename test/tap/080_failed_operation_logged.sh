#!/usr/bin/env bash
# A restore that fails rolls back with its transaction, so the operation log cannot keep it; the server log
# gets the stable line documented in doc/operations.md instead.
set -u
BIN=$("${PG_CONFIG:-pg_config}" --bindir)
DB=bk_failed_$$
LOG="$PGHOST/server.log"
trap '"$BIN/dropdb" --if-exists "$DB" >/dev/null 2>&1' EXIT
P() { "$BIN/psql" -X -q -At -d "$DB" "$@"; }
echo "1..3"
"$BIN/createdb" "$DB"
P -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION backupkit;
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t VALUES (1, 'one'), (2, 'two');
SQL
sid=$(P -v ON_ERROR_STOP=1 -c "SELECT backupkit.snapshot_tables('{t}')")
P -c "ALTER TABLE t ADD CONSTRAINT t_not_two CHECK (v <> 'two') NOT VALID" >/dev/null
before=$(wc -l <"$LOG")
P -c "SELECT backupkit.restore_table_from_snapshot($sid, 't')" >/dev/null 2>&1 && echo "not ok 1 - the restore fails" || echo "ok 1 - the restore fails"
role=$(P -c "SELECT current_user")
sleep 0.5
line=$(tail -n +"$((before + 1))" "$LOG" | grep -F "backupkit operation failed: restore snapshot $sid by role $role" | head -1)
[ -n "$line" ] && echo "ok 2 - the server log has the failure line" || { echo "not ok 2 - the server log has the failure line"; tail -n 20 "$LOG" | sed 's/^/# /'; }
n=$(P -c "SELECT count(*) FROM backupkit.operations WHERE operation = 'restore'")
[ "$n" = 0 ] && echo "ok 3 - and the operation log has no row for it (rolled back)" || echo "not ok 3 - and the operation log has no row for it (rolled back)"
