#!/usr/bin/env bash
# Distributed snapshots on a coordinator and two workers (scripts/citus-cluster.sh):
# - consistency: three snapshots taken while pgbench commits transfers between accounts on both workers
#   (multi-node transactions, two-phase commit) each hold a state where the total balance is intact and
#   every transfer is wholly in or wholly out, checked after restoring each one and on the map's row counts;
#   how long distributed commits were blocked is reported;
# - every restore mode (replace, merge, missing) and dry runs, proven by checksums through Citus, shard row
#   counts (run_command_on_shards) against the snapshot's map, and zero bytes in the coordinator's shells;
# - validation of every node's part, and corruption of one node's part found (XX001);
# - a failure on one node rolls every node back; a shard moved since capture is refused; no prepared
#   transaction is left behind; the errors a user can reach, with their exact text;
# - drop removes each node's part.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"
start_citus_cluster "citus.shard_count = 8" "max_connections = 60"

PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, ops int NOT NULL DEFAULT 0);
CREATE TABLE orders (tenant int, id bigint, amount numeric(12,2), note text, PRIMARY KEY (tenant, id));
CREATE TABLE order_lines (tenant int, order_id bigint, line int, sku text, qty int, PRIMARY KEY (tenant, order_id, line));
SELECT create_distributed_table('accounts', 'id');
SELECT create_distributed_table('orders', 'tenant');
SELECT create_distributed_table('order_lines', 'tenant', colocate_with => 'orders');
ALTER TABLE order_lines ADD FOREIGN KEY (tenant, order_id) REFERENCES orders;
INSERT INTO accounts SELECT g, 1000, 0 FROM generate_series(1, 1000) g;
INSERT INTO orders SELECT g % 20, g, g * 1.25, CASE WHEN g % 7 = 0 THEN NULL ELSE 'note ' || g END FROM generate_series(1, 2000) g;
INSERT INTO order_lines SELECT o.tenant, o.id, l, 'sku-' || (o.id * l) % 97, l FROM orders o, generate_series(1, 3) l;
SQL
is "$(q -c "SELECT count(DISTINCT nodeport) FROM run_command_on_placements('accounts', 'SELECT 1')")" 2 \
	"the accounts' shards are on both workers"

# --- Consistency under concurrent multi-node transactions ---------------------------------------------
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
for run in 1 2 3; do
	pgbench -n -c 2 -j 2 -T 6 -f "$writer" >"$BK_CITUS_DIR/pgbench$run.log" 2>&1 &
	writer_pid=$!
	sleep 2
	before=$(q -c "SELECT sum(ops) FROM accounts")
	sid=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['accounts']::regclass[], 'under writes $run')")
	after=$(q -c "SELECT sum(ops) FROM accounts")
	wait $writer_pid
	status=$?
	ok $status "run $run: pgbench committed transfers while snapshot $sid was taken"
	[ $status = 0 ] || sed 's/^/#   /' "$BK_CITUS_DIR/pgbench$run.log" >&2
	pauses=$(q -c "SELECT round(commits_blocked_ms::numeric, 2) || ' ms blocked, ' || round(block_wait_ms::numeric, 2) || ' ms waiting for commits under way' FROM backupkit.distributed_snapshot WHERE snapshot_id = $sid")
	echo "# run $run: distributed commits paused for $pauses"
	is "$(q -c "SELECT count(*) FROM backupkit.distributed_snapshot WHERE snapshot_id = $sid AND commits_blocked_ms >= 0 AND block_wait_ms >= 0")" 1 \
		"run $run: the pause of distributed commits is recorded"
	is "$(q -c "SELECT row_count FROM backupkit.distributed_snapshot WHERE snapshot_id = $sid")" 1000 \
		"run $run: the map holds every account"
	q -c "SELECT backupkit.restore_distributed($sid, mode => 'replace')" >/dev/null
	ok $? "run $run: restore of snapshot $sid"
	# Each transfer moves an amount and counts one op on each side: a transfer captured on one node only
	# would change the total or make the ops odd.
	is "$(q -c "SELECT sum(balance) || ' ' || sum(ops) % 2 FROM accounts")" "1000000 0" \
		"run $run: the snapshot holds every transfer wholly or not at all (total balance, even ops)"
	ops=$(q -c "SELECT sum(ops) FROM accounts")
	[ "$ops" -ge "$before" ] && [ "$ops" -le "$after" ]
	ok $? "run $run: the snapshot is of an instant during the writes ($before <= $ops <= $after ops)"
	[ "$ops" -gt 0 ]
	ok $? "run $run: the snapshot holds committed transfers"
done
is "$(shell_bytes accounts)" 0 "no byte in the coordinator's shell of accounts"

# --- Every restore mode, by checksums through Citus -----------------------------------------------------
sid=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['orders', 'order_lines']::regclass[], 'quiet')")
[ -n "$sid" ]
ok $? "snapshot of the co-located orders and order_lines (distributed snapshot $sid)"
declare -A captured
declare -A keycol=([orders]=id [order_lines]=order_id)
for t in orders order_lines; do
	captured[$t]=$(checksum $t)
	is "$(shard_counts $t)" "$(map_counts "$sid" $t)" "$t: the map records each shard's rows as the nodes count them"
done
is "$(q -c "SELECT shard_count || ' ' || row_count || ' ' || table_count FROM backupkit.distributed_snapshot WHERE snapshot_id = $sid")" \
	"16 8000 2" "the map: 16 shards, 8000 rows, 2 tables"
is "$(q -c "SELECT count(*) FROM backupkit.distributed_snapshot_node WHERE snapshot_id = $sid")" 2 \
	"one part per worker"
is "$(q -c "SELECT r->>'valid' || ' ' || (r->>'shards') || ' ' || (r->>'rows') || ' ' || jsonb_array_length(r->'nodes') FROM backupkit.validate_distributed($sid) r")" \
	"true 16 8000 2" "validate_distributed: each node's part and each shard's rows and checksum"

captured_rest=$(checksum orders "tenant NOT IN (4, 11)")
mutate() {
	q <<'SQL' >/dev/null
DELETE FROM order_lines WHERE tenant = 3 OR (tenant = 6 AND line = 2);
DELETE FROM orders WHERE tenant = 3;
UPDATE orders SET amount = amount + 1, note = 'changed' WHERE tenant IN (4, 11);
INSERT INTO orders VALUES (5, 99999, 1, 'new');
INSERT INTO order_lines VALUES (5, 99999, 1, 'new', 1);
SQL
}
mutate
changed_orders=$(checksum orders)
changed_lines=$(checksum order_lines)
isnt "$changed_orders" "${captured[orders]}" "orders differs from the snapshot after the changes"

report=$(q -c "SELECT backupkit.restore_distributed($sid, mode => 'replace', dry_run => true)")
is "$(checksum orders) $(checksum order_lines)" "$changed_orders $changed_lines" "replace dry run changes nothing"
is "$(q -c "SELECT r->>'commit' || ' ' || (r->>'dry_run') || ' ' || jsonb_array_length(r->'nodes') FROM (SELECT '$report'::jsonb r) x")" \
	"rolled back true 2" "the dry run's report: both nodes, rolled back"

# Each node recorded where its shards' rows lay at capture (its own tuple ids and xids): a merge right after
# the changes leaves the rows still stored where they were captured alone (7300 of 8000 here).
report=$(q -c "SELECT backupkit.restore_distributed($sid, mode => 'merge')")
in_place=$(q -c "SELECT sum((t->>'unchanged_in_place')::bigint) FROM jsonb_array_elements('$report'::jsonb->'nodes') n, jsonb_array_elements(n->'report'->'tables') t")
is "$in_place" 7300 "merge on the nodes: the rows unchanged since the capture are left in place (the shortcut holds per shard)"
is "$(checksum orders "id <> 99999") $(checksum order_lines "order_id <> 99999")" "${captured[orders]} ${captured[order_lines]}" \
	"and the captured rows are back"
q -c "DELETE FROM order_lines WHERE order_id = 99999" -c "DELETE FROM orders WHERE id = 99999" >/dev/null

mutate
report=$(q -c "SELECT backupkit.restore_distributed($sid, mode => 'replace')")
is "$(q -c "SELECT '$report'::jsonb->>'commit'")" "two-phase" "replace commits on both nodes with two-phase commit"
for t in orders order_lines; do
	is "$(checksum $t)" "${captured[$t]}" "replace: $t equals its snapshot through Citus"
	is "$(shard_counts $t)" "$(map_counts "$sid" $t)" "replace: $t's shards hold the captured row counts"
done

mutate
q -c "SELECT backupkit.restore_distributed($sid, mode => 'merge')" >/dev/null
ok $? "merge"
for t in orders order_lines; do
	is "$(checksum $t "NOT (tenant = 5 AND ${keycol[$t]} = 99999)")" "${captured[$t]}" \
		"merge: $t's captured rows are back (deleted restored, changed put back)"
	is "$(q -c "SELECT count(*) FROM $t WHERE tenant = 5 AND ${keycol[$t]} = 99999")" 1 \
		"merge: the row added since the snapshot stays in $t"
done
q -c "DELETE FROM order_lines WHERE order_id = 99999" -c "DELETE FROM orders WHERE id = 99999" >/dev/null

mutate
changed_4=$(checksum orders "tenant IN (4, 11)")
q -c "SELECT backupkit.restore_distributed($sid, ARRAY['orders', 'order_lines']::regclass[], 'missing')" >/dev/null
ok $? "missing"
is "$(checksum orders "tenant NOT IN (4, 11) AND id <> 99999")" "$captured_rest" \
	"missing: the deleted orders are back, the others as captured"
is "$(checksum order_lines "order_id <> 99999")" "${captured[order_lines]}" "missing: the deleted order lines are back"
is "$(checksum orders "tenant IN (4, 11)")" "$changed_4" "missing: rows changed since the snapshot keep their changes"
is "$(q -c "SELECT count(*) FROM orders WHERE id = 99999")" 1 "missing: the order added since stays"
q -c "SELECT backupkit.restore_distributed($sid)" >/dev/null
for t in orders order_lines; do
	is "$(checksum $t)" "${captured[$t]}" "replace (the default mode, every table): $t equals its snapshot again"
done
is "$(shell_bytes orders order_lines accounts)" 0 "after every mode, no byte in the coordinator's shells"
is "$(prepared_left)" 0 "no prepared transaction is left on any node"

# --- A failure on one node rolls every node back ---------------------------------------------------------
mutate
changed_orders=$(checksum orders)
changed_lines=$(checksum order_lines)
bad_shard=$(q -c "SELECT shard_name FROM backupkit.distributed_snapshot_shard s JOIN backupkit.distributed_snapshot_node n USING (snapshot_id, group_id) WHERE snapshot_id = $sid AND table_no = 0 AND row_count > 0 AND n.node_port = ${BK_CITUS_PORTS[2]} ORDER BY shard_id LIMIT 1")
bk_citus_psql "${BK_CITUS_PORTS[2]}" -c "SET citus.enable_manual_changes_to_shards = on" \
	-c "ALTER TABLE $bad_shard ADD CONSTRAINT no_restore CHECK (amount < 0) NOT VALID" >/dev/null
got=$(error_of "SELECT backupkit.restore_distributed($sid)")
[[ "$got" == "ERROR:  23514:"* ]]
ok $? "a restore failing on the second worker errors with that node's SQLSTATE"
[[ "$got" == *"on Citus node"*"${BK_CITUS_PORTS[2]}"* ]] || [[ "$got" == *"no_restore"* ]]
ok $? "the error names the node or its constraint"
is "$(checksum orders) $(checksum order_lines)" "$changed_orders $changed_lines" \
	"nothing changed on any node (the first worker's restore was rolled back too)"
is "$(prepared_left)" 0 "no prepared transaction is left behind by the failure"
bk_citus_psql "${BK_CITUS_PORTS[2]}" -c "SET citus.enable_manual_changes_to_shards = on" \
	-c "ALTER TABLE $bad_shard DROP CONSTRAINT no_restore" >/dev/null

# --- Errors a user can reach ----------------------------------------------------------------------------
is "$(error_of "BEGIN; SELECT backupkit.restore_distributed($sid); COMMIT")" \
	"ERROR:  25001: backupkit.restore_distributed cannot run inside a transaction block
DETAIL:  It commits the restore on every node before it returns, which a later rollback of the transaction block could not undo." \
	"refused inside a transaction block"
q -c "CREATE TABLE regions (id int PRIMARY KEY)" >/dev/null
is "$(error_of "SELECT backupkit.snapshot_distributed(ARRAY['regions']::regclass[])")" \
	"ERROR:  0A000: table \"public.regions\" is not a hash-distributed, reference or single-shard Citus table
DETAIL:  Distributed snapshots hold the tables whose rows Citus stores in shards on its nodes.
HINT:  Capture other tables with backupkit.snapshot_tables()." "a table Citus does not manage is refused"
is "$(error_of "SELECT backupkit.restore_distributed(999999)")" \
	"ERROR:  42704: distributed snapshot 999999 does not exist" "an unknown distributed snapshot"
is "$(error_of "SELECT backupkit.restore_distributed($sid, ARRAY['accounts']::regclass[])")" \
	"ERROR:  42P01: table \"public.accounts\" is not part of distributed snapshot $sid" "a table outside the snapshot"
is "$(error_of "SELECT backupkit.restore_distributed($sid, mode => 'sideways')")" \
	"ERROR:  22023: unrecognized restore mode: \"sideways\"
HINT:  Valid values are \"replace\", \"merge\" and \"missing\"." "an unrecognized mode"
q -c "CREATE ROLE intruder LOGIN" -c "GRANT SELECT ON orders TO intruder" >/dev/null
is "$(PGUSER=intruder error_of "SELECT backupkit.restore_distributed($sid)")" \
	"ERROR:  42501: permission denied for distributed snapshot $sid
DETAIL:  Only members of role \"postgres\", which created the snapshot, may use it." "another role may not use the snapshot"

# A shard moved since capture: its node's part no longer stands for it. (Citus reaches the coordinator
# through citus.local_hostname for a move: here, the socket directory.)
q -c "ALTER SYSTEM SET citus.local_hostname TO '$BK_CITUS_DIR'" -c "SELECT pg_reload_conf()" >/dev/null
moved=$(q -c "SELECT shard_id FROM backupkit.distributed_snapshot_shard WHERE snapshot_id = $sid AND table_no = 0 ORDER BY shard_id LIMIT 1")
from_port=$(q -c "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $moved")
to_port=$(q -c "SELECT nodeport FROM pg_dist_node WHERE nodeport <> $from_port AND groupid > 0 LIMIT 1")
q -c "SELECT citus_move_shard_placement($moved, '$BK_CITUS_DIR', $from_port, '$BK_CITUS_DIR', $to_port, shard_transfer_mode => 'block_writes')" >/dev/null
ok $? "shard $moved moved to the other worker"
before_move=$(checksum orders)
got=$(error_of "SELECT backupkit.restore_distributed($sid)")
is "$(echo "$got" | head -1)" "ERROR:  0A000: shard $moved is no longer on the node that captured it" "a moved shard is refused"
is "$(checksum orders)" "$before_move" "the refused restore changed nothing"
q -c "SELECT citus_move_shard_placement($moved, '$BK_CITUS_DIR', $to_port, '$BK_CITUS_DIR', $from_port, shard_transfer_mode => 'block_writes')" >/dev/null
q -c "SELECT backupkit.restore_distributed($sid)" >/dev/null
ok $? "moved back, the restore runs"
is "$(checksum orders)" "${captured[orders]}" "and orders equals its snapshot"

# --- Corruption in one node's part is found ----------------------------------------------------------------
wsnap=$(q -c "SELECT worker_snapshot_id FROM backupkit.distributed_snapshot_node WHERE snapshot_id = $sid AND node_port = ${BK_CITUS_PORTS[1]}")
bk_citus_psql "${BK_CITUS_PORTS[1]}" -c "UPDATE backupkit.snapshot_chunk SET checksum = checksum + 1 WHERE snapshot_id = $wsnap AND table_no = 0 AND chunk_no = 0" >/dev/null
got=$(error_of "SELECT backupkit.validate_distributed($sid)")
is "$(echo "$got" | head -1)" \
	"ERROR:  XX001: the part of distributed snapshot $sid on Citus node \"$BK_CITUS_DIR:${BK_CITUS_PORTS[1]}\" is not valid" \
	"validate_distributed finds a damaged chunk on one node"
bk_citus_psql "${BK_CITUS_PORTS[1]}" -c "UPDATE backupkit.snapshot_chunk SET checksum = checksum - 1 WHERE snapshot_id = $wsnap AND table_no = 0 AND chunk_no = 0" >/dev/null

# --- A capture failing on one node leaves nothing anywhere ------------------------------------------------
parts() { # backupkit snapshots on every node, and distributed snapshots in the map
	echo "$(q -c "SELECT count(*) FROM backupkit.distributed_snapshot")/$(bk_citus_psql "${BK_CITUS_PORTS[1]}" -At -c "SELECT count(*) FROM backupkit.snapshot")/$(bk_citus_psql "${BK_CITUS_PORTS[2]}" -At -c "SELECT count(*) FROM backupkit.snapshot")"
}
parts_before=$(parts)
# A statement timeout of 1 ms on the second worker only (ALTER SYSTEM is not propagated by Citus).
bk_citus_psql "${BK_CITUS_PORTS[2]}" -c "ALTER SYSTEM SET statement_timeout = 1" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
got=$(error_of "SELECT backupkit.snapshot_distributed(ARRAY['orders', 'order_lines']::regclass[])")
PGOPTIONS='-c statement_timeout=0' bk_citus_psql "${BK_CITUS_PORTS[2]}" -c "ALTER SYSTEM RESET statement_timeout" \
	-c "SELECT pg_reload_conf()" >/dev/null
sleep 1
is "$(echo "$got" | head -1)" "ERROR:  57014: canceling statement due to statement timeout" \
	"a capture cancelled on the second worker fails with that node's error"
is "$(parts)" "$parts_before" "no part of it is left on any node, nor in the map"
is "$(prepared_left)" 0 "and no prepared transaction"

# --- Drop ----------------------------------------------------------------------------------------------------
is "$(q -c "SELECT backupkit.drop_distributed_snapshot($sid)")" t "drop_distributed_snapshot"
is "$(q -c "SELECT count(*) FROM backupkit.distributed_snapshot_shard WHERE snapshot_id = $sid")" 0 "the map is gone"
is "$(bk_citus_psql "${BK_CITUS_PORTS[1]}" -At -c "SELECT count(*) FROM backupkit.snapshot WHERE snapshot_id = $wsnap")" 0 \
	"and the node's part"

tap_finish
