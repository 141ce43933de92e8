#!/usr/bin/env bash
# Distributed snapshots under writers connected to the workers (MX: metadata-synced workers coordinate the
# distributed transactions that start on them, logging them in their own pg_dist_transaction), on a
# coordinator and two workers. pgbench commits transfers between accounts through both workers at once,
# each transfer a multi-shard transaction (two-phase commit coordinated by the worker); three snapshots are
# taken meanwhile. Each must hold every transfer wholly or not at all: restored, the total balance is intact
# and the per-account operation counts sum to an even number. Without the capture's hold on the workers'
# own Citus catalogs, a transfer committed on one node's snapshot only breaks these sums.
# The pause of distributed commits is reported (as bench/citus_mx_pause.sh measures it from the writers).
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"
start_citus_cluster "citus.shard_count = 8" "max_connections = 80"

PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, ops int NOT NULL DEFAULT 0);
SELECT create_distributed_table('accounts', 'id');
INSERT INTO accounts SELECT g, 1000, 0 FROM generate_series(1, 1000) g;
SQL
is "$(q -c "SELECT count(*) FROM pg_dist_node WHERE groupid > 0 AND hasmetadata AND metadatasynced")" 2 \
	"both workers hold Citus's metadata (MX)"

writer=$BK_CITUS_DIR/transfer.sql
cat >"$writer" <<'SQL'
\set a random(1, 1000)
\set b random(1, 1000)
\set x random(1, 100)
BEGIN;
UPDATE accounts SET balance = balance - :x, ops = ops + 1 WHERE id = :a;
UPDATE accounts SET balance = balance + :x, ops = ops + 1 WHERE id = :b;
END;
SQL
# The writers' transactions start on the workers: check that Citus logs them there.
pgbench -n -h "$BK_CITUS_DIR" -p "${BK_CITUS_PORTS[1]}" -t 20 -f "$writer" >/dev/null 2>&1
is "$(bk_citus_psql "${BK_CITUS_PORTS[1]}" -At -c "SELECT sum(ops) FROM accounts")" 40 \
	"a transfer runs on a worker"
for run in 1 2 3 4 5; do
	pids=()
	for port in "${BK_CITUS_PORTS[@]:1}"; do
		pgbench -n -h "$BK_CITUS_DIR" -p "$port" -c 4 -j 2 -T 5 -f "$writer" >"$BK_CITUS_DIR/pgbench$run.$port.log" 2>&1 &
		pids+=($!)
	done
	sleep 2
	before=$(q -c "SELECT sum(ops) FROM accounts")
	sid=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['accounts']::regclass[], 'mx $run')")
	after=$(q -c "SELECT sum(ops) FROM accounts")
	status=0
	for pid in "${pids[@]}"; do wait "$pid" || status=1; done
	ok $status "run $run: pgbench committed transfers through both workers while snapshot $sid was taken"
	[ $status = 0 ] || sed 's/^/#   /' "$BK_CITUS_DIR"/pgbench$run.*.log >&2
	echo "# run $run: distributed commits paused for $(q -c "SELECT round(commits_blocked_ms::numeric, 2) || ' ms (' || round(block_wait_ms::numeric, 2) || ' ms waiting for the coordinator''s lock first)' FROM backupkit.distributed_snapshot WHERE snapshot_id = $sid")"
	is "$(q -c "SELECT count(*) FROM backupkit.distributed_snapshot WHERE snapshot_id = $sid AND commits_blocked_ms >= 0")" 1 \
		"run $run: the pause is recorded"
	q -c "SELECT backupkit.restore_distributed($sid)" >/dev/null
	ok $? "run $run: restore of snapshot $sid"
	is "$(q -c "SELECT sum(balance) || ' ' || sum(ops) % 2 FROM accounts")" "1000000 0" \
		"run $run: every transfer coordinated by a worker is wholly in the snapshot or wholly out"
	ops=$(q -c "SELECT sum(ops) FROM accounts")
	[ "$ops" -ge "$before" ] && [ "$ops" -le "$after" ] && [ "$ops" -gt 40 ]
	ok $? "run $run: the snapshot is of an instant during the writes ($before <= $ops <= $after ops)"
done
is "$(prepared_left)" 0 "no prepared transaction is left on any node"
# The hold on a worker ends with its transaction: no lock on the workers' Citus catalogs is left.
is "$(q -c "SELECT sum(result::int) FROM run_command_on_workers(\$\$SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname IN ('pg_dist_transaction', 'pg_dist_node', 'pg_dist_partition') AND l.mode = 'ExclusiveLock'\$\$)")" 0 \
	"no hold is left on any worker"
is "$(bk_citus_psql "${BK_CITUS_PORTS[1]}" -At -c "BEGIN" -c "SELECT backupkit.hold_distributed_commits(5000)" \
	-c "SHOW idle_in_transaction_session_timeout" -c "ROLLBACK" | tail -1)" "5s" \
	"a hold ends the session when its transaction stays idle longer than max_ms"
is "$(error_of "SELECT backupkit.hold_distributed_commits(0)")" "ERROR:  22023: max_ms must be between 1 and 10000" \
	"hold_distributed_commits bounds how long it may hold"

tap_finish
