#!/usr/bin/env bash
# Two sessions at once on the same snapshot or tables, released together from an advisory-lock barrier:
# two replaces of one table, two restore_snapshot calls, restore against drop_snapshot, restore against
# prune_snapshots, drop against drop, and a snapshot against a restore of the same foreign-key-linked
# tables. Each pair is run several times. After each round: what each session got is an outcome the
# operation may have (success, or a clean refusal), the server is up, the tables are in the state the
# outcomes imply, no half snapshot.
# Small tables: the two sessions start together, so their work overlaps whatever the size.
export BK_FAULT_ROWS=${BK_FAULT_ROWS:-20000}
# shellcheck source=test/fault/lib.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${BK_FAULT_ROUNDS:-3}
export BK_FAULT_WANT="as the outcomes imply"
fault_cluster_start
make_tables ""
captured=$(tables_state)
base=$(Q "SELECT backupkit.snapshot_tables('{parent,child}', 'base')")
Q "SELECT backupkit.pin_snapshot($base)" >/dev/null
captured_child=$(checksum child)

# Tables back to the captured state, a fresh snapshot of it labelled victim (id in $victim), then damaged.
prepare() {
	[ "$(tables_state)" = "$captured" ] || Q "SELECT backupkit.restore_snapshot($base)" >/dev/null
	Q "SELECT backupkit.drop_snapshot(snapshot_id) FROM backupkit.snapshot WHERE NOT pinned" >/dev/null
	victim=$(Q "SELECT backupkit.snapshot_tables('{parent,child}', 'victim')")
	damage
	damaged=$(tables_state)
	damaged_parent=$(checksum parent)
}

# race <sql A> <sql B>: both wait on an advisory lock that is then released; sets rc_a, rc_b, err_a, err_b.
race() {
	bk_psql -d "$DB" -c "SELECT pg_advisory_lock(4242)" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
	local holder=$! i
	for _ in $(seq 1 200); do
		[ "$(Q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted")" = 1 ] && break
		sleep 0.05
	done
	bk_psql -d "$DB" -At -c "SELECT pg_advisory_lock_shared(4242)" -c "$1" >"$OUT/a.out" 2>"$OUT/a.err" &
	local a=$!
	bk_psql -d "$DB" -At -c "SELECT pg_advisory_lock_shared(4242)" -c "$2" >"$OUT/b.out" 2>"$OUT/b.err" &
	local b=$!
	for i in $(seq 1 200); do
		[ "$(Q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted")" = 2 ] && break
		sleep 0.05
	done
	Q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'" >/dev/null
	wait "$holder" 2>/dev/null
	wait "$a"
	rc_a=$?
	wait "$b"
	rc_b=$?
	err_a=$(grep -m1 -E 'ERROR|FATAL|server closed' "$OUT/a.err" | sed 's/^psql:[^:]*: //')
	err_b=$(grep -m1 -E 'ERROR|FATAL|server closed' "$OUT/b.err" | sed 's/^psql:[^:]*: //')
}
said() { if [ "$1" = 0 ]; then echo "succeeded"; else echo "failed ($2)"; fi; }
# allowed <rc> <err> <regex of acceptable errors>: 0 when the session succeeded or failed that way.
allowed() { [ "$1" = 0 ] || [[ $2 =~ $3 ]]; }
count_victims() { Q "SELECT count(*) FROM backupkit.snapshot WHERE label = 'victim'"; }
deadlocks=0

for round in $(seq 1 "$ROUNDS"); do
	# 1. Two replaces of the same table: they queue on the table lock; both succeed.
	prepare
	sql="SELECT backupkit.restore_table_from_snapshot($victim, 'child', 'replace')"
	race "$sql" "$sql"
	is "$(said $rc_a "$err_a"), $(said $rc_b "$err_b")" "succeeded, succeeded" "round $round, two replaces of one table: both succeed"
	is "$(checksum child)" "$captured_child" "round $round, two replaces of one table: the table equals the snapshot"
	check_after "round $round, two replaces of one table" "parent=$damaged_parent child=$captured_child" 2

	# 2. Two restore_snapshot calls of both tables.
	prepare
	sql="SELECT backupkit.restore_snapshot($victim)"
	race "$sql" "$sql"
	if [ $rc_a = 0 ] && [ $rc_b = 0 ]; then
		pass "round $round, two restore_snapshot calls: both succeed"
	elif [[ $err_a$err_b == *deadlock* ]]; then
		deadlocks=$((deadlocks + 1))
		n=$((n + 1))
		echo "not ok $n - round $round, two restore_snapshot calls: no deadlock"
	else
		fail "round $round, two restore_snapshot calls: both succeed" "$(said $rc_a "$err_a"), $(said $rc_b "$err_b")"
	fi
	want=$captured
	[ $rc_a = 0 ] || [ $rc_b = 0 ] || want=$damaged
	check_after "round $round, two restore_snapshot calls" "$want" 2

	# 3. restore_snapshot against drop_snapshot: the drop waits for the restore or refuses; when the drop
	#    goes first the restore finds no snapshot and changes nothing.
	prepare
	race "SELECT backupkit.restore_snapshot($victim)" "SELECT backupkit.drop_snapshot($victim)"
	if allowed $rc_a "$err_a" "snapshot $victim does not exist" && allowed $rc_b "$err_b" 'in use|being restored|could not obtain'; then
		pass "round $round, restore against drop: restore $(said $rc_a "$err_a"), drop $(said $rc_b "$err_b")"
	else
		fail "round $round, restore against drop" "restore $(said $rc_a "$err_a"), drop $(said $rc_b "$err_b")"
	fi
	want=$damaged
	[ $rc_a = 0 ] && want=$captured
	check_after "round $round, restore against drop" "$want" "$((1 + $(count_victims)))"
	is "$(count_victims)" "$([ $rc_b = 0 ] && echo 0 || echo 1)" "round $round, restore against drop: the snapshot is gone exactly when the drop succeeded"

	# 4. restore_table_from_snapshot against prune_snapshots of its label (a newer snapshot is kept by
	#    keep_last => 1): the snapshot being restored is either kept as in use or dropped after it.
	prepare
	Q "SELECT backupkit.snapshot_tables('{parent}', 'victim')" >/dev/null
	race "SELECT backupkit.restore_table_from_snapshot($victim, 'child')" \
		"SELECT count(*) FROM backupkit.prune_snapshots(keep_last => 1, label => 'victim') WHERE action = 'drop'"
	if allowed $rc_a "$err_a" "snapshot $victim does not exist" && [ $rc_b = 0 ]; then
		pass "round $round, restore against prune: restore $(said $rc_a "$err_a"), prune dropped $(cat "$OUT/b.out" | tail -1)"
	else
		fail "round $round, restore against prune" "restore $(said $rc_a "$err_a"), prune $(said $rc_b "$err_b")"
	fi
	want="parent=$damaged_parent child=$captured_child"
	[ $rc_a = 0 ] || want=$damaged
	check_after "round $round, restore against prune" "$want" "$((1 + $(count_victims)))"

	# 5. drop against drop: one drops it, the other finds nothing (false or "does not exist").
	prepare
	sql="SELECT backupkit.drop_snapshot($victim)"
	race "$sql" "$sql"
	if allowed $rc_a "$err_a" 'does not exist' && allowed $rc_b "$err_b" 'does not exist' &&
		[ "$(cat "$OUT/a.out" "$OUT/b.out" | grep -c '^t$')" = 1 ]; then
		pass "round $round, drop against drop: exactly one drops it"
	else
		fail "round $round, drop against drop" "A $(said $rc_a "$err_a") $(tail -1 "$OUT/a.out"), B $(said $rc_b "$err_b") $(tail -1 "$OUT/b.out")"
	fi
	check_after "round $round, drop against drop" "$damaged" 1

	# 6. A snapshot of both tables against restore_snapshot of both (issue 15: deadlock when the two take
	#    their locks in different orders). Whatever happens, the snapshot is complete or absent.
	prepare
	race "SELECT backupkit.snapshot_tables('{parent,child}', 'victim')" "SELECT backupkit.restore_snapshot($victim)"
	if [[ $err_a$err_b == *deadlock* ]]; then
		deadlocks=$((deadlocks + 1))
		n=$((n + 1))
		echo "not ok $n - round $round, snapshot against restore of the same tables: no deadlock"
	elif [ $rc_a = 0 ] && [ $rc_b = 0 ]; then
		pass "round $round, snapshot against restore of the same tables: both succeed"
	else
		fail "round $round, snapshot against restore of the same tables" "snapshot $(said $rc_a "$err_a"), restore $(said $rc_b "$err_b")"
	fi
	want=$damaged
	[ $rc_b = 0 ] && want=$captured
	check_after "round $round, snapshot against restore" "$want" "$((1 + $(count_victims)))"
done
note "deadlocks seen: $deadlocks"
finish
