#!/usr/bin/env bash
# Tiny memory and timeouts. With work_mem = 64kB (and maintenance_work_mem at its 1MB minimum) every
# operation still gives exact results. statement_timeout stops a snapshot and restores midway;
# lock_timeout stops them while another session holds a conflicting lock (restore_snapshot after it has
# locked and cleared its first table). After each: the server is up, the tables are exactly as before, no
# half snapshot.
# shellcheck source=test/fault/lib.sh
source "$(dirname "$0")/lib.sh"
fault_cluster_start
make_tables ""
captured=$(tables_state)

# 1. work_mem = 64kB: everything works and is exact.
small="SET work_mem = '64kB'; SET maintenance_work_mem = '1MB'; SET hash_mem_multiplier = 1;"
sid=$(Q "$small SELECT backupkit.snapshot_tables('{parent,child}', 'small memory')")
if [ -n "$sid" ]; then pass "work_mem = 64kB: snapshot"; else fail "work_mem = 64kB: snapshot"; fi
is "$(Q "$small SELECT (backupkit.validate_snapshot_integrity($sid))->>'valid'")" "true" "work_mem = 64kB: validation"
damage
damaged=$(tables_state)
is "$(Q "$small SELECT count(*) > 0 FROM backupkit.diff($sid, 'parent')")" "t" "work_mem = 64kB: diff"
for mode in merge missing replace; do
	# child first: parent's replace must not delete rows child still references
	Q "$small SELECT backupkit.restore_table_from_snapshot($sid, 'child', '$mode'); SELECT backupkit.restore_table_from_snapshot($sid, 'parent', '$mode')" >/dev/null 2>"$OUT/op.err" ||
		note "$(cat "$OUT/op.err")"
	case $mode in
		merge)
			# merge keeps rows added since the snapshot (the damage's two): remove them, then compare
			Q "DELETE FROM parent WHERE id < 0" >/dev/null
			is "$(tables_state)" "$captured" "work_mem = 64kB: merge brings back every captured row exactly"
			;;
		missing)
			# missing leaves changed rows alone: only the deleted ones come back
			is "$(Q "SELECT count(*) FROM child")" "$ROWS" "work_mem = 64kB: missing brings back every deleted row"
			Q "SELECT backupkit.restore_snapshot($sid)" >/dev/null
			;;
		replace)
			is "$(tables_state)" "$captured" "work_mem = 64kB: replace restores the tables exactly"
			;;
	esac
	damage
done
Q "$small SELECT backupkit.restore_snapshot($sid)" >/dev/null 2>"$OUT/op.err" || note "$(cat "$OUT/op.err")"
is "$(tables_state)" "$captured" "work_mem = 64kB: restore_snapshot restores both tables exactly"
damage

# 2. statement_timeout at about 40% of an uninterrupted run's time.
for op in "snapshot|SELECT backupkit.snapshot_tables('{parent,child}', 'timeout')" \
	"replace|SELECT backupkit.restore_table_from_snapshot($sid, 'child', 'replace')" \
	"merge|SELECT backupkit.restore_table_from_snapshot($sid, 'parent', 'merge')" \
	"restore_snapshot|SELECT backupkit.restore_snapshot($sid)"; do
	IFS='|' read -r name sql <<<"$op"
	start=$(date +%s%N)
	Q "BEGIN; $sql; ROLLBACK" >/dev/null
	ms=$((($(date +%s%N) - start) / 1000000 * 4 / 10))
	if Q "SET statement_timeout = $ms; $sql" >/dev/null 2>"$OUT/op.err"; then
		skip "statement_timeout = $ms ms on $name: it finished first"
	else
		if grep -q 'statement timeout' "$OUT/op.err"; then pass "statement_timeout = $ms ms stops $name"; else
			fail "statement_timeout = $ms ms stops $name" "$(cat "$OUT/op.err")"
		fi
		check_after "statement_timeout on $name" "$damaged" 1
	fi
done

# 3. lock_timeout while another session holds a lock.
hold() { # lock statement: held until release
	bk_psql -d "$DB" -c "BEGIN" -c "$1" -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
	holder=$!
	for _ in $(seq 1 200); do
		[ "$(Q "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(120)'")" = 1 ] && return
		sleep 0.05
	done
}
release() {
	Q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(120)'" >/dev/null
	wait "$holder" 2>/dev/null
}
lock_case() { # what lock sql
	hold "$2"
	if Q "SET lock_timeout = '300ms'; $3" >/dev/null 2>"$OUT/op.err"; then
		fail "lock_timeout stops $1" "it succeeded"
	elif grep -q 'lock timeout' "$OUT/op.err"; then
		pass "lock_timeout stops $1"
	else
		fail "lock_timeout stops $1" "$(cat "$OUT/op.err")"
	fi
	release
	check_after "lock_timeout on $1" "$damaged" 1
}
lock_case "a snapshot while another session holds ACCESS EXCLUSIVE on a table" \
	"LOCK TABLE child IN ACCESS EXCLUSIVE MODE" "SELECT backupkit.snapshot_tables('{parent,child}', 'locked')"
lock_case "replace while another session has an uncommitted UPDATE on the table" \
	"UPDATE child SET payload = payload WHERE id = 1" "SELECT backupkit.restore_table_from_snapshot($sid, 'child')"
lock_case "merge while another session holds SHARE on the table" \
	"LOCK TABLE parent IN SHARE MODE" "SELECT backupkit.restore_table_from_snapshot($sid, 'parent', 'merge')"
lock_case "restore_snapshot of both tables while another session holds ROW EXCLUSIVE on parent" \
	"LOCK TABLE parent IN ROW EXCLUSIVE MODE" "SELECT backupkit.restore_snapshot($sid)"
finish
