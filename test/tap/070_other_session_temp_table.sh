#!/usr/bin/env bash
# A temporary table of another session cannot be captured (its rows live in that session's local buffers).
set -u
BIN=$("${PG_CONFIG:-pg_config}" --bindir)
DB=bk_temp_$$
trap '"$BIN/dropdb" --if-exists --force "$DB" >/dev/null 2>&1' EXIT
P() { "$BIN/psql" -X -q -At -d "$DB" "$@"; }
echo "1..2"
"$BIN/createdb" "$DB"
P -c "CREATE EXTENSION backupkit"
# Session A holds a temporary table open for a few seconds.
printf '%s\n' "CREATE TEMPORARY TABLE held (id int);" "INSERT INTO held VALUES (1);" "SELECT pg_sleep(6);" | P >/dev/null &
holder=$!
oid=""
for i in $(seq 1 100); do
    oid=$(P -c "SELECT oid FROM pg_class WHERE relname = 'held' AND relpersistence = 't'")
    [ -n "$oid" ] && break
    sleep 0.05
done
err=$(P -v ON_ERROR_STOP=1 -c "SELECT backupkit.snapshot_tables(ARRAY[$oid]::regclass[])" 2>&1 >/dev/null)
case "$err" in
    *"cannot snapshot temporary table"*"of another session"*) echo "ok 1 - another session's temporary table is refused with a clear error" ;;
    *) echo "not ok 1 - another session's temporary table is refused with a clear error"; echo "# got: $err" ;;
esac
count=$(P -c "SELECT count(*) FROM backupkit.snapshots")
[ "$count" = 0 ] && echo "ok 2 - no snapshot was written" || echo "not ok 2 - no snapshot was written"
wait $holder
