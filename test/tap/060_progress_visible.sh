#!/usr/bin/env bash
# A long restore shows its progress to another session through backupkit.progress, and psql users get
# progress NOTICE lines (about once a second) while it runs.
set -u
BIN=$("${PG_CONFIG:-pg_config}" --bindir)
DB=bk_progress_$$
OUT=$(mktemp /tmp/bk_progress.XXXXXX)
trap '"$BIN/dropdb" --if-exists "$DB"; rm -f "$OUT" "$OUT.notices"' EXIT
P() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -At -d "$DB" "$@"; }
n=0
check() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "# got '$1', expected '$2'"; fi; }
echo "1..4"
"$BIN/createdb" "$DB"
P <<'SQL'
CREATE EXTENSION backupkit;
CREATE TABLE big (id bigint PRIMARY KEY, payload text);
INSERT INTO big SELECT i, repeat(md5(i::text), 4) FROM generate_series(1, 1500000) i;
SQL
sid=$(P -c "SET backupkit.progress_notices = off; SELECT backupkit.snapshot_tables('{big}')")
# The restore runs in the background with notices on; this session polls the view meanwhile.
start=$(date +%s%N)
P -c "SET client_min_messages = notice; SELECT backupkit.restore_table_from_snapshot($sid, 'big', 'merge', true) IS NOT NULL" \
    >/dev/null 2>"$OUT.notices" &
restore=$!
seen=""
for i in $(seq 1 200); do
    row=$(P -c "SELECT operation || ' ' || current_table || ' ' || rows_total FROM backupkit.progress WHERE snapshot_id = $sid AND current_table <> '-' LIMIT 1")
    if [ -n "$row" ]; then seen=$row; break; fi
    sleep 0.05
done
wait $restore
rc=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check "$rc" 0 "the restore finished"
check "$seen" "dry-run public.big 1500000" "another session saw the operation, table and total rows in backupkit.progress"
# Notices start after the first second, so a machine that finishes sooner has nothing to show.
if [ "$elapsed_ms" -gt 1500 ]; then
    check "$(grep -c 'backupkit dry-run of snapshot' "$OUT.notices" | awk '{print ($1 >= 1) ? "yes" : "no"}')" "yes" "psql got progress NOTICE lines"
else
    n=$((n + 1)); echo "ok $n # SKIP the restore took only ${elapsed_ms} ms"
fi
check "$(P -c "SELECT count(*) FROM backupkit.progress")" "0" "nothing is listed once it is over"
