#!/usr/bin/env bash
# Cancel (pg_cancel_backend), terminate (pg_terminate_backend) and kill -9 of the backend running a snapshot
# or a restore (copy path, staged path, merge, restore_snapshot of two foreign-key-linked tables), at
# several points: as soon as backupkit.progress shows it (kill -9), and at fractions of the time an
# uninterrupted run of the same operation takes (cancel 25% and 75%, terminate 50% and 90%, kill -9 30%,
# 60% and 90%); what the operation was doing then (table, rows done) is noted. After each: the server is
# up (crash recovery over after kill -9), the tables are exactly as before, no half snapshot.
# shellcheck source=test/fault/lib.sh
source "$(dirname "$0")/lib.sh"
fault_cluster_start
make_tables ""

sid=$(Q "SELECT backupkit.snapshot_tables('{parent,child}', 'base')")
captured=$(tables_state)
damage
damaged=$(tables_state)
[ "$captured" != "$damaged" ] || bail "the damage changed nothing"

# The operations: name|SQL|state of the tables it starts from.
ops=(
	"snapshot|SELECT backupkit.snapshot_tables('{parent,child}', 'interrupted')|damaged"
	"replace (copy path)|SELECT backupkit.restore_table_from_snapshot($sid, 'child', 'replace')|damaged"
	"replace (staged path, referenced table)|SELECT backupkit.restore_table_from_snapshot($sid, 'parent', 'replace')|damaged"
	"merge|SELECT backupkit.restore_table_from_snapshot($sid, 'child', 'merge')|damaged"
	"restore_snapshot of both tables|SELECT backupkit.restore_snapshot($sid)|damaged"
)
# fault|point: "first" (as soon as backupkit.progress shows the operation) or a fraction of its time.
cases=("kill9|first" "cancel|0.25" "cancel|0.75" "terminate|0.5" "terminate|0.9" "kill9|0.3" "kill9|0.6" "kill9|0.9")

# Brings the tables back to the damaged state after an operation that finished before its fault.
reset_damaged() {
	if [ "$(tables_state)" != "$damaged" ]; then
		Q "SELECT backupkit.restore_snapshot($sid)" >/dev/null && damage
	fi
	Q "SELECT backupkit.drop_snapshot(snapshot_id) FROM backupkit.snapshot WHERE snapshot_id <> $sid" >/dev/null
}

# Uninterrupted duration of each operation (ms), for the timed faults, and the state of the tables after it.
declare -A took done_state
for op in "${ops[@]}"; do
	IFS='|' read -r name sql _ <<<"$op"
	for _ in 1 2; do # the faster of two runs: the first one warms the caches
		start=$(date +%s%N)
		Q "$sql" >/dev/null || bail "$name fails without a fault"
		ms=$((($(date +%s%N) - start) / 1000000))
		[ -n "${took[$name]:-}" ] && [ "${took[$name]}" -le "$ms" ] || took[$name]=$ms
		done_state[$name]=$(tables_state)
		reset_damaged
	done
done
# What an operation leaves when it commits: a row in the restore history or a new snapshot.
commits() { Q "SELECT (SELECT count(*) FROM backupkit.restore_history) + (SELECT count(*) FROM backupkit.snapshot)"; }
note "uninterrupted: $(for k in "${!took[@]}"; do printf '%s %s ms; ' "$k" "${took[$k]}"; done)"

declare -A outcome
run_case() { # name sql fault point
	local name=$1 sql=$2 f=$3 point=$4 pid rc at what
	local count_before commits_before
	count_before=$(snapshot_count)
	commits_before=$(commits)
	local t0
	t0=$(date +%s%N)
	run_bg "$sql"
	if [ "$point" = first ]; then
		what="$f of $name as soon as it shows in backupkit.progress"
		pid=$(wait_progress true)
	else
		what="$f of $name at $(awk -v f="$point" 'BEGIN { print f * 100 }')% of its time"
		sleep "$(awk -v ms="${took[$name]}" -v f="$point" 'BEGIN { print ms * f / 1000 }')"
		pid=$(op_backend)
	fi
	at=""
	[ -z "$pid" ] || at=$(Q "SELECT coalesce(nullif(current_table, '-'), 'starting') || ', rows done ' || rows_done || '/' || rows_total
	                         FROM backupkit.progress WHERE pid = $pid")
	if [ -n "$pid" ]; then fault "$f" "$pid"; fi
	wait "$bg"
	rc=$?
	if [ -z "$pid" ] || [ $rc = 0 ]; then
		skip "$what: the operation finished first ($([ -z "$pid" ] && echo "no backend to signal" || echo "the fault came too late"), $((($(date +%s%N) - t0) / 1000000)) ms)"
		outcome[$what]="finished first"
		reset_damaged
		return
	fi
	outcome[$what]="${at:-no progress row}: $(grep -m1 -E 'ERROR|FATAL|server closed' "$OUT/op.err" | sed 's/^psql:[^:]*: //')"
	wait_server_up
	if [ "$(commits)" = "$commits_before" ]; then
		check_after "$what (${at:-no progress row})" "$damaged" "$count_before"
	else
		# The fault came after the commit (the client lost the answer, not the work): all of it must be there.
		outcome[$what]+=" (after the commit)"
		local made=0
		[ "$name" != snapshot ] || made=1
		check_after "$what (${at:-no progress row}; after the commit: the operation's whole effect is there)" \
			"${done_state[$name]}" "$((count_before + made))"
		reset_damaged
	fi
}

for op in "${ops[@]}"; do
	IFS='|' read -r name sql _ <<<"$op"
	for c in "${cases[@]}"; do
		IFS='|' read -r f point <<<"$c"
		run_case "$name" "$sql" "$f" "$point"
	done
done

note "what each fault did:"
for k in "${!outcome[@]}"; do note "  $k: ${outcome[$k]}"; done | sort
grep -c 'terminated by signal 9' "$BK_CLUSTER_DIR/server.log" | sed 's/^/# backends killed by signal 9 (server log): /'
grep -c 'database system is ready to accept connections' "$BK_CLUSTER_DIR/server.log" |
	sed 's/^/# times the server became ready (start + each crash recovery): /'
finish
