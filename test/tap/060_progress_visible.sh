#!/usr/bin/env bash
# A running restore shows its progress to another session through backupkit.progress, and the caller gets
# progress NOTICE lines once the operation is more than a second old. Neither depends on the machine's speed:
# the restore (fire_triggers => true) is held in a row trigger of the restored table, on an advisory lock this
# script holds, until the other session has looked at backupkit.progress and more than a second has passed;
# the next chunk it loads then reports.
set -u
BIN=$("${PG_CONFIG:-pg_config}" --bindir)
DB=bk_progress_$$
OUT=$(mktemp /tmp/bk_progress.XXXXXX)
trap '"$BIN/dropdb" --if-exists "$DB"; rm -f "$OUT" "$OUT.notices" "$OUT.holder"' EXIT
P() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -At -d "$DB" "$@"; }
n=0
check() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "# got '$1', expected '$2'"; fi; }
echo "1..6"
"$BIN/createdb" "$DB"
P <<'SQL'
CREATE EXTENSION backupkit;
CREATE TABLE big (id bigint PRIMARY KEY, payload text);
INSERT INTO big SELECT i, repeat(md5(i::text), 4) FROM generate_series(1, 50000) i;
-- The first row loaded waits for advisory lock 6060, held by this script while it watches.
CREATE FUNCTION hold_first_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 1 THEN
        PERFORM pg_advisory_lock(6060);
        PERFORM pg_advisory_unlock(6060);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER hold_first_row BEFORE INSERT ON big FOR EACH ROW EXECUTE FUNCTION hold_first_row();
SQL
sid=$(P -c "SET backupkit.progress_notices = off; SET backupkit.chunk_rows = 5000; SELECT backupkit.snapshot_tables('{big}')")
chunks=$(P -c "SELECT chunks FROM backupkit.snapshot_contents($sid)")

# A session that holds the lock until this script tells it to let go.
fifo=$OUT.holder
mkfifo "$fifo"
"$BIN/psql" -X -q -At -d "$DB" <"$fifo" >/dev/null 2>&1 &
holder=$!
exec 7>"$fifo"
echo "SELECT pg_advisory_lock(6060);" >&7
for i in $(seq 1 200); do
	[ "$(P -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 6060 AND granted")" = 1 ] && break
	sleep 0.05
done

P -c "SET client_min_messages = notice; SELECT backupkit.restore_table_from_snapshot($sid, 'big', fire_triggers => true) IS NOT NULL" \
	>/dev/null 2>"$OUT.notices" &
restore=$!
waiting=no
for i in $(seq 1 600); do
	if [ "$(P -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 6060 AND NOT granted")" = 1 ]; then
		waiting=yes
		break
	fi
	sleep 0.05
done
check "$waiting" yes "the restore reached the first row and waits in its trigger"
seen=$(P -c "SELECT operation || ' ' || current_table || ' ' || rows_total FROM backupkit.progress WHERE snapshot_id = $sid")
check "$seen" "restore public.big 50000" "another session sees the operation, table and total rows in backupkit.progress"
# More than a second since the operation began (and since its last report): the next chunk loaded reports.
sleep 1.2
echo "SELECT pg_advisory_unlock(6060);" >&7
exec 7>&-
wait "$holder"
wait $restore
check "$?" 0 "the restore finished"
notices=$(grep -c 'backupkit restore of snapshot' "$OUT.notices")
check "$([ "$notices" -ge 1 ] && echo yes || echo "no ($notices of $chunks chunks)")" yes "psql got progress NOTICE lines"
check "$(P -c "SELECT count(*) FROM backupkit.progress")" "0" "nothing is listed once it is over"
check "$(P -c "SELECT count(*) || ' ' || sum(length(payload)) FROM big")" "50000 6400000" "the table is back whole"
