#!/usr/bin/env bash
# prune_snapshots never drops a snapshot that a running restore (or any reader) holds: it is kept as 'in use'.
set -u
DB=bk_tap_310_in_use
export PGOPTIONS="-c client_min_messages=warning"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At)
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3 (got '$1', want '$2')"; fi; }
cleanup() {
    [ -n "${reader:-}" ] && kill "$reader" 2>/dev/null
    wait 2>/dev/null
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
}
trap cleanup EXIT

echo "1..5"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
"${PSQL[@]}" -d $DB >/dev/null <<'SQL'
CREATE EXTENSION backupkit;
CREATE TABLE t (id integer PRIMARY KEY, v text);
INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g;
SELECT backupkit.snapshot_tables(ARRAY['t'::regclass], 'x') FROM generate_series(1, 3);
SQL
busy=$("${PSQL[@]}" -d $DB -c "SELECT min(snapshot_id) FROM backupkit.snapshot")

# A reader holds the oldest snapshot (FOR KEY SHARE, as a restore does) until it commits.
"${PSQL[@]}" -d $DB -c "BEGIN" -c "SELECT count(*) FROM backupkit.snapshot_contents($busy)" \
    -c "SELECT pg_sleep(60)" -c "COMMIT" >/dev/null 2>&1 &
reader=$!
for _ in $(seq 1 100); do
    waiting=$("${PSQL[@]}" -d $DB -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' AND datname = current_database()")
    [ "$waiting" = 1 ] && break
    sleep 0.1
done

out=$("${PSQL[@]}" -d $DB -c "SELECT snapshot_id, action, coalesce(reason, '') FROM backupkit.prune_snapshots(keep_last => 1) ORDER BY snapshot_id")
ok "$(echo "$out" | grep "^$busy|" )" "$busy|keep|in use" "the snapshot being read is kept as in use"
ok "$(echo "$out" | grep -c '|drop|')" "1" "the other old snapshot is dropped"
ok "$("${PSQL[@]}" -d $DB -c "SELECT count(*) FROM backupkit.snapshot")" "2" "two snapshots remain"

kill "$reader" 2>/dev/null; wait "$reader" 2>/dev/null; reader=
"${PSQL[@]}" -d $DB -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' AND datname = current_database()" >/dev/null
sleep 0.5
out=$("${PSQL[@]}" -d $DB -c "SELECT snapshot_id, action FROM backupkit.prune_snapshots(keep_last => 1) ORDER BY snapshot_id")
ok "$(echo "$out" | grep "^$busy|")" "$busy|drop" "once the reader has finished the snapshot is dropped"
ok "$("${PSQL[@]}" -d $DB -c "SELECT count(*) FROM backupkit.operations WHERE operation = 'prune' AND (details->>'in_use')::int = 1")" "1" "the in-use count is logged"
