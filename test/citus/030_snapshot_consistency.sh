#!/usr/bin/env bash
# Snapshots of Citus tables taken while a writer commits multi-shard transactions are consistent (issue 14,
# step 2): each writer transaction moves an amount between two accounts on (usually) different shards and adds
# five orders with three lines each, spread over the shards; every snapshot, in each of several runs, holds
# the accounts' exact total, a multiple of five orders and exactly three lines per order with no line without
# its order. The capture's SHARE lock (LOCK TABLE, propagated by Citus) pauses the writer for the capture:
# the longest gap between two commits of the writer is printed as a diagnostic (with each capture's
# duration), not asserted. A snapshot is then restored over the table to show it also restores whole.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"
runs=${BK_CITUS_CONSISTENCY_RUNS:-4}

start_cluster "max_connections = 60"
writer_pid=
stop_writer() {
	if [ -n "$writer_pid" ]; then
		kill "$writer_pid" 2>/dev/null
		wait "$writer_pid" 2>/dev/null
		writer_pid=
	fi
}
trap 'stop_writer; bk_citus_stop' EXIT

q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
SET client_min_messages = warning;
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, account_id int NOT NULL, lines int NOT NULL);
CREATE TABLE order_lines (order_id bigint, line int, qty int, PRIMARY KEY (order_id, line));
CREATE TABLE writer_log (txn int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());
SELECT create_distributed_table('accounts', 'id');
SELECT create_distributed_table('orders', 'id');
SELECT create_distributed_table('order_lines', 'order_id', colocate_with => 'orders');
INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 1000) g;
INSERT INTO orders SELECT g, 1 + g % 1000, 3 FROM generate_series(1, 40000) g;
INSERT INTO order_lines SELECT o, l, l FROM generate_series(1, 40000) o, generate_series(1, 3) l;
SQL
is "$(q -c "SELECT sum(balance) FROM accounts")/$(q -c "SELECT count(*) FROM orders")/$(q -c "SELECT count(*) FROM order_lines")" \
	"1000000/40000/120000" "the tables start consistent"

# The writer's transactions, generated up front and fed to one session (one commit each).
script=$BK_CITUS_DIR/writer.sql
for ((txn = 1; txn <= 20000; txn++)); do
	a=$((1 + RANDOM % 1000))
	b=$((1 + (a + 1 + RANDOM % 998) % 1000))
	base=$((1000000 + txn * 5))
	orders="" lines=""
	for ((j = 0; j < 5; j++)); do
		orders+="${orders:+, }($((base + j)), $a, 3)"
		for l in 1 2 3; do lines+="${lines:+, }($((base + j)), $l, $((txn % 9)))"; done
	done
	echo "BEGIN; UPDATE accounts SET balance = balance - 7 WHERE id = $a; UPDATE accounts SET balance = balance + 7 WHERE id = $b; INSERT INTO orders VALUES $orders; INSERT INTO order_lines VALUES $lines; INSERT INTO writer_log (txn) VALUES ($txn); COMMIT;"
done >"$script"
psql -X -q -v ON_ERROR_STOP=1 -f "$script" >/dev/null 2>"$BK_CITUS_DIR/writer.err" &
writer_pid=$!

sids=()
for ((run = 1; run <= runs; run++)); do
	sleep 2
	before=$(q -c "SELECT count(*) FROM writer_log")
	sid=$(q -c "SELECT backupkit.snapshot_tables(ARRAY['accounts', 'orders', 'order_lines']::regclass[], 'under a writer')")
	after=$(q -c "SELECT count(*) FROM writer_log")
	[ -n "$sid" ]
	ok $? "run $run: snapshot $sid taken while the writer commits (writer at transaction $before before, $after after)"
	sids+=("$sid")
done
sleep 1
committed=$(q -c "SELECT count(*) FROM writer_log")
stop_writer
[ "$committed" -gt $((runs * 10)) ]
ok $? "the writer kept committing between the snapshots ($committed transactions)"
[ ! -s "$BK_CITUS_DIR/writer.err" ] || grep -qv "terminat\|connection" "$BK_CITUS_DIR/writer.err"
ok $? "the writer met no error but its own stop"

for sid in "${sids[@]}"; do
	got=$(q <<SQL
CREATE TEMP TABLE s_accounts AS SELECT x.* FROM backupkit.snapshot_rows($sid, 'accounts') r, jsonb_populate_record(NULL::accounts, r) x;
CREATE TEMP TABLE s_orders AS SELECT x.* FROM backupkit.snapshot_rows($sid, 'orders') r, jsonb_populate_record(NULL::orders, r) x;
CREATE TEMP TABLE s_lines AS SELECT x.* FROM backupkit.snapshot_rows($sid, 'order_lines') r, jsonb_populate_record(NULL::order_lines, r) x;
SELECT (SELECT sum(balance) || '/' || count(*) FROM s_accounts)
	|| ' orders%5=' || (SELECT count(*) % 5 FROM s_orders)
	|| ' orders_without_3_lines=' || (SELECT count(*) FROM s_orders o LEFT JOIN (SELECT order_id, count(*) AS n FROM s_lines GROUP BY 1) l
	                                   ON l.order_id = o.id WHERE coalesce(l.n, 0) <> o.lines)
	|| ' lines_without_order=' || (SELECT count(*) FROM s_lines l WHERE NOT EXISTS (SELECT FROM s_orders o WHERE o.id = l.order_id));
SQL
)
	is "$got" "1000000/1000 orders%5=0 orders_without_3_lines=0 lines_without_order=0" \
		"snapshot $sid: the transfer total holds, whole writer transactions only, every order with its lines"
	is "$(q -c "SELECT (SELECT count(*) FROM backupkit.snapshot_rows($sid, 'orders')) - 40000 = 5 * ((SELECT count(*) FROM backupkit.snapshot_rows($sid, 'order_lines')) - 120000) / 15")" \
		t "snapshot $sid: as many writer transactions in orders as in order_lines"
done

# The writer's pause: the longest gap between two consecutive commits, and each capture's duration.
echo "# longest gap between two writer commits: $(q -c "SELECT round(extract(epoch FROM max(gap)) * 1000) || ' ms' FROM (SELECT at - lag(at) OVER (ORDER BY txn) AS gap FROM writer_log) g"); median gap $(q -c "SELECT round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)) * 1000, 1) || ' ms' FROM (SELECT at - lag(at) OVER (ORDER BY txn) AS gap FROM writer_log) g WHERE gap IS NOT NULL")"
echo "# capture durations: $(q -c "SELECT string_agg(round(duration_ms) || ' ms', ', ' ORDER BY snapshot_id) FROM backupkit.snapshot WHERE snapshot_id IN ($(IFS=,; echo "${sids[*]}"))")"

# The last snapshot restores whole over the tables the writer kept changing.
last=${sids[$((${#sids[@]} - 1))]}
q -c "SELECT backupkit.restore_snapshot($last)" >/dev/null
ok $? "restore_snapshot of the last snapshot (replace) over the written tables"
is "$(q -c "SELECT sum(balance) FROM accounts")/$(q -c "SELECT count(*) % 5 FROM orders")/$(q -c "SELECT count(*) FROM order_lines")" \
	"1000000/0/$(q -c "SELECT count(*) FROM backupkit.snapshot_rows($last, 'order_lines')")" \
	"the restored tables hold the snapshot's consistent state"
for t in accounts orders order_lines; do
	is "$(shell_bytes "$t")" 0 "$t's shell on the coordinator holds no bytes"
done

finish
