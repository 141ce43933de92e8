#!/usr/bin/env bash
# A restore while another session keeps writing: the restore waits for the writer's transaction (it takes
# EXCLUSIVE / ACCESS EXCLUSIVE locks), the writer waits for the restore, nobody deadlocks, and every write
# that committed after the restore is still there afterwards.
set -u
BIN=$("${PG_CONFIG:-pg_config}" --bindir)
DB=bk_concurrent_$$
P() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -At -d "$DB" "$@"; }
n=0
check() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "# got '$1', expected '$2'"; fi; }
echo "1..4"
"$BIN/createdb" "$DB"
trap '"$BIN/dropdb" --if-exists "$DB"' EXIT
P <<'SQL'
CREATE EXTENSION backupkit;
CREATE TABLE counters (id int PRIMARY KEY, v bigint NOT NULL);
CREATE TABLE ledger (n bigserial PRIMARY KEY, id int, at timestamptz DEFAULT clock_timestamp());
INSERT INTO counters SELECT i, 0 FROM generate_series(1, 1000) i;
SQL
sid=$(P -c "SELECT backupkit.snapshot_tables('{counters}')")
cat > "/tmp/bk_writer_$$.sql" <<'SQL'
\set id random(1, 1000)
BEGIN;
UPDATE counters SET v = v + 1 WHERE id = :id;
INSERT INTO ledger (id) VALUES (:id);
END;
SQL
"$BIN/pgbench" -n -c 3 -T 6 -f "/tmp/bk_writer_$$.sql" "$DB" >"/tmp/bk_writer_$$.out" 2>&1 &
writer=$!
sleep 2
restore_ok=0
for i in 1 2 3; do
    P -c "SET backupkit.progress_notices = off; SELECT backupkit.restore_snapshot($sid)" >/dev/null && restore_ok=$((restore_ok + 1))
    P -c "SELECT backupkit.restore_table_from_snapshot($sid, 'counters', 'merge')" >/dev/null && restore_ok=$((restore_ok + 1))
done
wait $writer
writer_rc=$?
check "$restore_ok" 6 "six restores completed while the writer ran"
check "$writer_rc" 0 "the writer never failed (no deadlock, no error)"
failed=$(grep -o 'number of failed transactions: [0-9]*' "/tmp/bk_writer_$$.out" | grep -o '[0-9]*$')
check "${failed:-0}" 0 "no writer transaction failed"
# Every ledger entry written after the last restore is reflected in the counters.
last=$(P -c "SELECT max(logged_at) FROM backupkit.operations WHERE operation = 'restore'")
after=$(P -c "SELECT count(*) FROM ledger WHERE at > '$last'")
sum=$(P -c "SELECT sum(v) FROM counters")
check "$sum" "$after" "writes committed after the last restore are all kept"
rm -f "/tmp/bk_writer_$$.sql" "/tmp/bk_writer_$$.out"
