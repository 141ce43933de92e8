#!/usr/bin/env bash
# Crashes and aborts of distributed operations at their dangerous moments, on a coordinator and two workers,
# and what recovery leaves. The coordinator backend is killed (kill -9, through backupkit.fault_injection,
# a superuser-only setting) when every node has prepared but the coordinator has not committed, when the
# coordinator has committed but no node yet, and when one node has committed; it is terminated
# (pg_terminate_backend) while the nodes are prepared; a node's connection is lost before its COMMIT
# PREPARED; the transaction around the call aborts. After each, and after
# backupkit.recover_distributed() (or the recovery every distributed operation runs first): no backupkit
# prepared transaction on any node, no lock held by one, the coordinator's map and the nodes' parts agree,
# and the tables (checksums through Citus) are exactly as the coordinator decided: restored or untouched,
# captured or never captured. Also: a running operation's prepared transactions are left alone, node parts
# without a map are dropped (dry run first), a missing part is reported by validate_distributed and
# recover_distributed, a node that is down does not stop recovery on the others, and only superusers may run
# recover_distributed.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"

isnt() { # isnt <got> <unexpected> <description>
	if [ "$1" != "$2" ]; then ok 0 "$3"; else ok 1 "$3"; echo "#   both: $1" >&2; fi
}
start_cluster "restart_after_crash = on"

PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE TABLE orders (tenant int, id bigint, amount numeric(12,2), note text, PRIMARY KEY (tenant, id));
CREATE TABLE order_lines (tenant int, order_id bigint, line int, qty int, PRIMARY KEY (tenant, order_id, line));
SELECT create_distributed_table('orders', 'tenant');
SELECT create_distributed_table('order_lines', 'tenant', colocate_with => 'orders');
INSERT INTO orders SELECT g % 40, g, g * 1.25, 'note ' || g FROM generate_series(1, 4000) g;
INSERT INTO order_lines SELECT o.tenant, o.id, l, l FROM orders o, generate_series(1, 2) l;
SQL

state() { echo "orders=$(checksum orders) lines=$(checksum order_lines)"; }
damage() {
	q <<'SQL' >/dev/null
DELETE FROM order_lines WHERE order_id % 7 = 0;
UPDATE orders SET amount = -amount, note = 'changed' WHERE id % 5 = 0;
INSERT INTO orders SELECT g % 40, 100000 + g, 1, 'added' FROM generate_series(1, 50) g;
SQL
}
# Every backupkit prepared transaction on the coordinator and the workers.
prepared_left() {
	q -c "SELECT (SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'backupkit%') + (SELECT coalesce(sum(result::int), 0) FROM run_command_on_workers(\$\$SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'backupkit%'\$\$))"
}
# Locks held by prepared transactions (pg_locks shows them without a pid) on every node.
prepared_locks() {
	q -c "SELECT (SELECT count(*) FROM pg_locks WHERE pid IS NULL) + (SELECT coalesce(sum(result::int), 0) FROM run_command_on_workers('SELECT count(*) FROM pg_locks WHERE pid IS NULL'))"
}
# The map (snapshot/group/worker snapshot) and the parts registered on the nodes, each sorted: they agree
# when both lines are equal. Parts not registered would be stray snapshots: the nodes' snapshot count is
# compared with the map too.
map_rows() {
	q -c "SELECT coalesce(string_agg(snapshot_id || '/' || group_id || '/' || worker_snapshot_id, ' ' ORDER BY snapshot_id, group_id), '') FROM backupkit.distributed_snapshot_node"
}
part_rows() {
	q -c "SELECT coalesce(string_agg(p, ' ' ORDER BY p), '') FROM (SELECT unnest(string_to_array(result, ' ')) p FROM run_command_on_workers(\$\$SELECT coalesce(string_agg(p.snapshot_id || '/' || p.group_id || '/' || p.worker_snapshot_id, ' '), '') FROM backupkit.distributed_snapshot_part p\$\$) WHERE result <> '') x" |
		tr ' ' '\n' | sort -t/ -k1,1n -k2,2n | tr '\n' ' ' | sed 's/ $//'
}
node_snapshots() {
	q -c "SELECT coalesce(sum(result::int), 0) FROM run_command_on_workers('SELECT count(*) FROM backupkit.snapshot')"
}
map_count() { q -c "SELECT count(*) FROM backupkit.distributed_snapshot_node"; }
# The checks after every case: nothing prepared, no lock, map and parts agreeing.
clean() { # clean <what>
	is "$(prepared_left)" 0 "$1: no backupkit prepared transaction on any node"
	is "$(prepared_locks)" 0 "$1: no lock held by a prepared transaction on any node"
	is "$(part_rows)" "$(map_rows | tr ' ' '\n' | sort -t/ -k1,1n -k2,2n | tr '\n' ' ' | sed 's/ $//')" \
		"$1: the nodes' parts are exactly the map's"
	is "$(node_snapshots)" "$(map_count)" "$1: no other snapshot on the nodes"
}
# The coordinator accepts connections again (after a backend's kill -9 it restarts all of them).
wait_coordinator() {
	local i
	for ((i = 0; i < 120; i++)); do
		q -c 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}
# crash <fault> <sql>: runs sql with backupkit.fault_injection = fault, which kills the backend; waits for the
# coordinator to be back. Prints what psql printed.
crash() {
	psql -X -q -At -c "SET backupkit.fault_injection = '$1'" -c "$2" 2>&1
	wait_coordinator
}
recover() { q -c "SELECT action || ' ' || count(*) FROM backupkit.recover_distributed($1) GROUP BY action ORDER BY action" | tr '\n' ';'; }

base=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['orders', 'order_lines']::regclass[], 'base')")
captured=$(state)
damage
damaged=$(state)
isnt "$damaged" "$captured" "the damage changed the tables"
clean "after a capture"

# 1. Capture, killed once every node has prepared: the coordinator never committed, the nodes roll back.
maps_before=$(map_count)
out=$(crash prepared:kill "SELECT backupkit.snapshot_distributed(ARRAY['orders', 'order_lines']::regclass[], 'killed')")
[[ "$out" == *"server closed the connection unexpectedly"* ]]
ok $? "capture killed after PREPARE: the backend died"
is "$(prepared_left)" 2 "the two workers hold its prepared transactions"
isnt "$(prepared_locks)" 0 "which hold locks"
is "$(recover false)" "rolled back 2;" "recover_distributed rolls both back (no decision row)"
is "$(map_count)" "$maps_before" "no map row for the killed capture"
clean "capture killed after PREPARE"

# 2. Capture, killed after the coordinator committed, before any COMMIT PREPARED: the nodes commit.
out=$(crash committed:kill "SELECT backupkit.snapshot_distributed(ARRAY['orders', 'order_lines']::regclass[], 'committed')")
sid=$(q -c "SELECT max(snapshot_id) FROM backupkit.distributed_snapshot")
isnt "$sid" "$base" "the capture's map committed"
is "$(prepared_left)" 2 "its parts wait prepared on both workers"
is "$(recover true)" "would commit 2;" "a dry run says it would commit both"
is "$(prepared_left)" 2 "and changes nothing"
is "$(recover false)" "committed 2;" "recover_distributed commits both"
clean "capture killed after the coordinator's commit"
is "$(q -c "SELECT r->>'valid' FROM backupkit.validate_distributed($sid) r")" true "the recovered snapshot validates"
q -c "SELECT backupkit.restore_distributed($sid)" >/dev/null
is "$(state)" "$damaged" "it holds the tables as they were (damaged) when captured"

# 3. Capture, killed after the first node committed: the other node commits at recovery.
out=$(crash node_committed:kill "SELECT backupkit.snapshot_distributed(ARRAY['orders', 'order_lines']::regclass[], 'half')")
sid3=$(q -c "SELECT max(snapshot_id) FROM backupkit.distributed_snapshot")
is "$(prepared_left)" 1 "one worker committed its part, the other waits prepared"
is "$(recover false)" "committed 1;" "recover_distributed commits the other"
clean "capture killed between the nodes' commits"
is "$(q -c "SELECT r->>'valid' FROM backupkit.validate_distributed($sid3) r")" true "that snapshot validates too"

# 4. Restore (replace, two-phase), killed after PREPARE: the tables stay as they were.
q -c "SELECT backupkit.restore_distributed($base)" >/dev/null
damage
damaged=$(state)
out=$(crash prepared:kill "SELECT backupkit.restore_distributed($base)")
is "$(prepared_left)" 2 "restore killed after PREPARE: both workers prepared"
is "$(recover false)" "rolled back 2;" "recover_distributed rolls the restore back"
is "$(state)" "$damaged" "the tables are exactly as before the restore"
clean "restore killed after PREPARE"

# 5. Restore killed after the coordinator's commit: recovery completes the restore.
out=$(crash committed:kill "SELECT backupkit.restore_distributed($base)")
is "$(recover false)" "committed 2;" "recover_distributed commits the restore on both workers"
is "$(state)" "$captured" "the tables equal the snapshot"
clean "restore killed after the coordinator's commit"

# 6. Restore killed after one node committed: the other node's shards follow at recovery.
damage
out=$(crash node_committed:kill "SELECT backupkit.restore_distributed($base)")
is "$(prepared_left)" 1 "restore killed between the nodes' commits: one worker still prepared"
got=$(psql -X -q -At -c "SET statement_timeout = '1s'" -c "SELECT count(*) FROM orders" 2>&1)
[[ "$got" == *"canceling statement due to statement timeout"* ]]
ok $? "until recovery, the prepared transaction's locks block reads of the table"
is "$(recover false)" "committed 1;" "recover_distributed commits it"
is "$(state)" "$captured" "the tables equal the snapshot"
clean "restore killed between the nodes' commits"

# 7. The connection to a node is lost before its COMMIT PREPARED: a warning, and the next distributed
# operation on that node commits it first (its role prepared it).
damage
out=$(psql -X -q -At -c "SET backupkit.fault_injection = 'committed:disconnect'" -c "SELECT backupkit.restore_distributed($base)" 2>&1)
[[ "$out" == *"WARNING:  could not commit prepared transaction \"backupkit_${base}_"*"\" on Citus node \""*"HINT:  It holds its locks on the node until backupkit.recover_distributed() commits it, as the coordinator decided."* ]] ||
	[[ "$out" == *"WARNING:  could not commit prepared transaction \"backupkit_${base}_"* ]]
status=$?
ok $status "a lost node connection at COMMIT PREPARED warns"
[ $status = 0 ] || echo "$out" | sed 's/^/#   /' >&2
is "$(prepared_left)" 1 "that node's transaction waits prepared"
q -c "SELECT backupkit.validate_distributed($base)" >/dev/null
is "$(prepared_left)" 0 "the next distributed operation (validate_distributed) committed it first"
is "$(state)" "$captured" "the restore is complete"
clean "lost node connection"

# 8. pg_terminate_backend while the nodes are prepared: the aborting backend rolls them back itself.
damage
damaged=$(state)
psql -X -q -At -c "SET backupkit.fault_injection = 'prepared:sleep'" -c "SELECT backupkit.restore_distributed($base)" \
	>/dev/null 2>&1 &
bg=$!
for ((i = 0; i < 100; i++)); do
	[ "$(prepared_left)" = 2 ] && break
	sleep 0.2
done
is "$(prepared_left)" 2 "restore waiting after PREPARE"
# While it runs, recovery leaves its prepared transactions alone.
is "$(recover false)" "left running 2;" "recover_distributed leaves a running operation's transactions alone"
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%restore_distributed($base)%' AND pid <> pg_backend_pid()" >/dev/null
wait $bg
is "$(prepared_left)" 0 "pg_terminate_backend: the backend rolled the nodes back as it aborted, no recovery needed"
is "$(state)" "$damaged" "the tables are as before"
clean "pg_terminate_backend after PREPARE"

# 9. The transaction around the call aborts, or a subtransaction does: the nodes roll back, no part is left.
maps_before=$(map_count)
q -c "DO \$\$ BEGIN PERFORM backupkit.snapshot_distributed(ARRAY['orders']::regclass[], 'aborted'); RAISE EXCEPTION 'abort after the capture'; END \$\$" >/dev/null 2>&1
is "$(map_count)" "$maps_before" "a capture whose transaction aborts leaves no map"
clean "transaction aborted after the capture"
# A subtransaction counts as a transaction block: the call is refused there (the subtransaction callback
# that would roll the nodes back with it is a second line of defence).
got=$(error_of "DO \$\$ BEGIN BEGIN PERFORM backupkit.restore_distributed($base); RAISE EXCEPTION 'undo'; EXCEPTION WHEN raise_exception THEN NULL; END; END \$\$")
is "$(echo "$got" | head -1)" "ERROR:  25001: backupkit.restore_distributed cannot run inside a transaction block" \
	"a restore inside a subtransaction (PL/pgSQL exception block) is refused"
is "$(state)" "$damaged" "and changes nothing"
clean "restore refused in a subtransaction"

# 10. Drop killed after the coordinator's commit: recovery completes the drop on the nodes.
out=$(crash committed:kill "SELECT backupkit.drop_distributed_snapshot($sid3)")
is "$(q -c "SELECT count(*) FROM backupkit.distributed_snapshot WHERE snapshot_id = $sid3")" 0 "the map of the dropped snapshot is gone"
is "$(recover false)" "committed 2;" "recover_distributed commits the drop on both workers"
clean "drop killed after the coordinator's commit"

# 11. Parts without a map (the coordinator's map lost, as after restoring it from an older backup).
lost=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['orders']::regclass[], 'map lost')")
q -c "DELETE FROM backupkit.distributed_snapshot WHERE snapshot_id = $lost" >/dev/null
is "$(recover true)" "would drop orphan part 2;" "a dry run finds the two orphan parts"
is "$(recover false)" "dropped orphan part 2;" "recover_distributed drops them"
clean "orphan parts"

# 12. A part missing on a node: validate_distributed says so, recover_distributed reports it, the drop works.
miss=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['orders']::regclass[], 'part lost')")
read -r wport wid < <(q -F ' ' -c "SELECT n.node_port, n.worker_snapshot_id FROM backupkit.distributed_snapshot_node n WHERE snapshot_id = $miss ORDER BY group_id LIMIT 1")
# The node keeps its part pinned (080): unpinned first, as someone deleting it by hand would.
bk_citus_psql "$wport" -c "SELECT backupkit.pin_snapshot($wid, false)" -c "SELECT backupkit.drop_snapshot($wid)" >/dev/null
got=$(error_of "SELECT backupkit.validate_distributed($miss)")
[[ "$got" == "ERROR:  XX001: the part of distributed snapshot $miss on Citus node \""*":$wport\" is missing"*"DETAIL:  The coordinator's map names snapshot $wid on the node, which does not exist there."*"HINT:  The distributed snapshot cannot be restored; backupkit.drop_distributed_snapshot() drops what is left of it." ]]
status=$?
ok $status "validate_distributed names the missing part"
[ $status = 0 ] || echo "$got" | sed 's/^/#   /' >&2
is "$(recover true)" "missing part 1;" "recover_distributed reports it"
q -c "SELECT backupkit.drop_distributed_snapshot($miss)" >/dev/null
ok $? "the snapshot with a missing part can be dropped"
clean "missing part"

# 13. A node that is down does not keep recovery from the others: a tenant restore (one node) is killed after
# PREPARE, the other worker is stopped, recovery rolls back what it can reach.
tenant_port=$(q -c "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid) WHERE p.shardid = get_shard_id_for_distribution_column('orders', 7)")
other=$([ "$tenant_port" = "${BK_CITUS_PORTS[1]}" ] && echo 2 || echo 1)
out=$(crash prepared:kill "SELECT backupkit.restore_distributed($base, tenant => '7')")
is "$(prepared_left)" 1 "a tenant restore killed after PREPARE leaves one prepared transaction"
bk_as_server_user "$PG_BINDIR/pg_ctl" -D "$BK_CITUS_DIR/node$other" -m fast -w stop >/dev/null
is "$(recover false)" "rolled back 1;unreachable 1;" "recover_distributed rolls it back and reports the node that is down"
bk_as_server_user "$PG_BINDIR/pg_ctl" -D "$BK_CITUS_DIR/node$other" -l "$BK_CITUS_DIR/node$other.log" -w start >/dev/null
clean "a node down during recovery"

# 14. Only superusers may run recover_distributed; the fault setting is theirs too.
q -c "CREATE ROLE recovery_user LOGIN" >/dev/null
got=$(PGUSER=recovery_user error_of "SELECT * FROM backupkit.recover_distributed()")
is "$(echo "$got" | head -1)" "ERROR:  42501: permission denied for function recover_distributed" \
	"recover_distributed is refused to other roles"
# Set before backupkit's library is loaded, the setting is a placeholder: loading the library refuses it.
got=$(PGUSER=recovery_user psql -X -q -At -c "SET backupkit.fault_injection = 'prepared:kill'" \
	-c "SELECT backupkit.cron_interval('* * * * *') IS NOT NULL" -c "SHOW backupkit.fault_injection" 2>&1 | tr '\n' '|')
is "$got" "WARNING:  permission denied to set parameter \"backupkit.fault_injection\"|t||" \
	"backupkit.fault_injection is refused to other roles, even set before the library loads"

# Nothing of this test is left behind, and the base snapshot still restores exactly.
q -c "SELECT backupkit.restore_distributed($base)" >/dev/null
is "$(state)" "$captured" "the base snapshot restores the captured tables"
clean "at the end"
is "$(shell_bytes orders)" 0 "no byte in the coordinator's shell"
finish
