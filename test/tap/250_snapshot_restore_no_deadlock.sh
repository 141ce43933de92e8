#!/usr/bin/env bash
# A snapshot and a restore of the same foreign-key-linked tables, side by side, never deadlock: both lock the
# tables in one global order (by oid, before any other work). Before, snapshot_tables locked in array order
# while restore_snapshot cleared the referencing table first, and most rounds ended in "deadlock detected".
# Both orders of the snapshot's array are run, for BK_DEADLOCK_ROUNDS rounds each (default 15; 5 with BK_QUICK).
set -u
BIN=$("${PG_CONFIG:-pg_config}" --bindir)
DB=bk_deadlock_$$
TMP=$(mktemp -d /tmp/bk_deadlock.XXXXXX)
trap '"$BIN/dropdb" --if-exists "$DB"; rm -rf "$TMP"' EXIT
P() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -At -d "$DB" "$@"; }
rounds=${BK_DEADLOCK_ROUNDS:-$([ "${BK_QUICK:-0}" = 1 ] && echo 5 || echo 15)}
n=0
check() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "# got '$1', expected '$2'"; fi; }
echo "1..5"
"$BIN/createdb" "$DB"
P <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION backupkit;
CREATE TABLE k1 (id integer PRIMARY KEY, v text);
CREATE TABLE k2 (id integer PRIMARY KEY, k1_id integer NOT NULL REFERENCES k1, v text);
INSERT INTO k1 SELECT i, md5(i::text) FROM generate_series(1, 20000) i;
INSERT INTO k2 SELECT i, i, md5(i::text) FROM generate_series(1, 20000) i;
SQL
sid=$(P -c "SET backupkit.progress_notices = off; SELECT backupkit.snapshot_tables('{k1,k2}')")
before=$(P -c "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM k2 t")
deadlocks=0
failures=0
for order in '{k1,k2}' '{k2,k1}'; do
	for r in $(seq 1 "$rounds"); do
		P -c "UPDATE k2 SET v = 'changed' WHERE id % 100 = $r" >/dev/null
		P -c "SET backupkit.progress_notices = off; SELECT backupkit.snapshot_tables('$order') IS NOT NULL" \
			>/dev/null 2>"$TMP/snap.err" &
		snap=$!
		P -c "SET backupkit.progress_notices = off; SELECT backupkit.restore_snapshot($sid) IS NOT NULL" \
			>/dev/null 2>"$TMP/restore.err"
		restore_rc=$?
		wait $snap
		snap_rc=$?
		if grep -q "deadlock detected" "$TMP/snap.err" "$TMP/restore.err"; then
			deadlocks=$((deadlocks + 1))
		elif [ $restore_rc != 0 ] || [ $snap_rc != 0 ]; then
			failures=$((failures + 1))
			cat "$TMP/snap.err" "$TMP/restore.err" | sed 's/^/# /'
		fi
	done
done
echo "# $deadlocks of $((2 * rounds)) rounds ended in a deadlock"
check "$deadlocks" 0 "no deadlock in $((2 * rounds)) rounds of snapshot and restore side by side (both array orders)"
check "$failures" 0 "every snapshot and every restore succeeded"
check "$(P -c "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM k2 t")" "$before" "the last restore left k2 as captured"
check "$(P -c "SELECT count(*) FROM backupkit.snapshots")" "$((2 * rounds + 1))" "every snapshot was recorded"
# The snapshots taken during restores each hold a consistent state: every k2 row's parent is in the same snapshot.
check "$(P -c "SELECT count(*) FROM backupkit.snapshots s WHERE (SELECT count(*) FROM backupkit.snapshot_rows(s.id, 'k2') r
	WHERE NOT EXISTS (SELECT FROM backupkit.snapshot_rows(s.id, 'k1') p WHERE p->>'id' = r->>'k1_id')) > 0")" 0 \
	"no snapshot holds a k2 row without its k1 parent"
