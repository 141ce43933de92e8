#!/usr/bin/env bash
# The coordinator's map of a distributed snapshot is sealed by a checksum, and distributed snapshots have
# their own retention, on a coordinator and two workers:
# - a map changed after the capture (a shard's row count, a node's part, the label), half-written (a shard
#   row gone) or without its checksum is refused by validate_distributed, restore_distributed and
#   drop_distributed_snapshot with XX001 naming what changed, before any node is touched;
# - prune_distributed_snapshots applies prune_snapshots' rules to distributed snapshots: a dry run reports,
#   a run drops the map and every node's part, and it refuses to run inside a transaction block;
# - a captured table re-created since the capture as another Citus type is refused.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"
start_citus_cluster "citus.shard_count = 4"

PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE TABLE regions (id int PRIMARY KEY, name text);
SELECT create_reference_table('regions');
CREATE TABLE orders (tenant int, id bigint, region int REFERENCES regions, amount numeric(12,2), PRIMARY KEY (tenant, id));
SELECT create_distributed_table('orders', 'tenant');
INSERT INTO regions SELECT g, 'region ' || g FROM generate_series(1, 10) g;
INSERT INTO orders SELECT g % 20, g, 1 + g % 10, g * 1.25 FROM generate_series(1, 1000) g;
SQL
tables="ARRAY['regions', 'orders']::regclass[]"
sid=$(q -c "SELECT backupkit.snapshot_distributed($tables, 'keep me')")
captured="$(checksum orders) $(checksum regions)"
is "$(q -c "SELECT length(map_checksum) > 0 FROM backupkit.distributed_snapshot WHERE snapshot_id = $sid")" t \
	"the map of distributed snapshot $sid carries a checksum"
is "$(q -c "SELECT backupkit.validate_distributed($sid)->>'valid'")" true "and validates"

q -c "UPDATE orders SET amount = 0 WHERE tenant = 1" -c "DELETE FROM orders WHERE tenant = 2" >/dev/null
changed="$(checksum orders) $(checksum regions)"
hint="HINT:  Nothing was read from or written to the nodes; take a new distributed snapshot."
# tamper <sql> <undo sql> <what changed> <description>: every function that reads the map refuses it.
tamper() {
	local expected="ERROR:  XX001: distributed snapshot $sid is corrupted: its map does not match its checksum
DETAIL:  Changed since the capture: $3.
$hint"
	q -c "$1" >/dev/null
	is "$(error_of "SELECT backupkit.validate_distributed($sid)")" "$expected" "$4: validate_distributed refuses the map"
	is "$(error_of "SELECT backupkit.restore_distributed($sid)")" "$expected" "$4: restore_distributed refuses it"
	is "$(checksum orders) $(checksum regions)" "$changed" "$4: and changed nothing on any node"
	is "$(error_of "SELECT backupkit.drop_distributed_snapshot($sid)")" "$expected" "$4: drop_distributed_snapshot refuses it"
	q -c "$2" >/dev/null
	is "$(q -c "SELECT backupkit.validate_distributed($sid)->>'valid'")" true "$4, undone: valid again"
}
shard=$(q -c "SELECT min(shard_id) FROM backupkit.distributed_snapshot_shard WHERE snapshot_id = $sid AND table_no = 1")
tamper "UPDATE backupkit.distributed_snapshot_shard SET row_count = row_count + 1 WHERE snapshot_id = $sid AND shard_id = $shard" \
	"UPDATE backupkit.distributed_snapshot_shard SET row_count = row_count - 1 WHERE snapshot_id = $sid AND shard_id = $shard" \
	"shards" "a shard's row count changed"
tamper "UPDATE backupkit.distributed_snapshot_node SET worker_snapshot_id = worker_snapshot_id + 1000 WHERE snapshot_id = $sid AND group_id = 1" \
	"UPDATE backupkit.distributed_snapshot_node SET worker_snapshot_id = worker_snapshot_id - 1000 WHERE snapshot_id = $sid AND group_id = 1" \
	"nodes" "a node's part pointed elsewhere"
tamper "UPDATE backupkit.distributed_snapshot SET label = 'other' WHERE snapshot_id = $sid" \
	"UPDATE backupkit.distributed_snapshot SET label = 'keep me' WHERE snapshot_id = $sid" \
	"snapshot row" "the label changed"
tamper "UPDATE backupkit.distributed_snapshot_table SET table_type = 'hash', distribution_column = 'id' WHERE snapshot_id = $sid AND table_no = 0" \
	"UPDATE backupkit.distributed_snapshot_table SET table_type = 'reference', distribution_column = NULL WHERE snapshot_id = $sid AND table_no = 0" \
	"tables" "a table's type changed"
q -c "CREATE TABLE saved AS SELECT * FROM backupkit.distributed_snapshot_shard WHERE snapshot_id = $sid AND shard_id = $shard" >/dev/null
tamper "DELETE FROM backupkit.distributed_snapshot_shard WHERE snapshot_id = $sid AND shard_id = $shard" \
	"INSERT INTO backupkit.distributed_snapshot_shard SELECT * FROM saved" \
	"shards" "a half-written map (a shard missing)"
q -c "CREATE TABLE saved_seal AS SELECT map_checksum FROM backupkit.distributed_snapshot WHERE snapshot_id = $sid" \
	-c "UPDATE backupkit.distributed_snapshot SET map_checksum = NULL WHERE snapshot_id = $sid" >/dev/null
is "$(error_of "SELECT backupkit.restore_distributed($sid)")" \
	"ERROR:  XX001: distributed snapshot $sid is corrupted: its map has no checksum
DETAIL:  The map was not completely written, or its checksum was removed.
HINT:  Drop it with backupkit.drop_distributed_snapshot() only after checking its parts on the nodes by hand; take a new distributed snapshot." \
	"a map without its checksum is refused"
q -c "UPDATE backupkit.distributed_snapshot SET map_checksum = overlay((SELECT map_checksum FROM saved_seal) placing '\\xff'::bytea from 3 for 1) WHERE snapshot_id = $sid" >/dev/null
is "$(error_of "SELECT backupkit.validate_distributed($sid)" | sed -n 2p)" "DETAIL:  The map's checksum itself is damaged." \
	"a damaged checksum is told apart from a changed map"
q -c "UPDATE backupkit.distributed_snapshot SET map_checksum = (SELECT map_checksum FROM saved_seal) WHERE snapshot_id = $sid" >/dev/null
q -c "SELECT backupkit.restore_distributed($sid)" >/dev/null
ok $? "with its checksum back, the restore runs"
is "$(checksum orders) $(checksum regions)" "$captured" "and the tables equal the snapshot"

# --- Retention ---------------------------------------------------------------------------------------------
for i in 1 2 3; do q -c "SELECT backupkit.snapshot_distributed($tables, 'hourly')" >/dev/null; done
parts() { # backupkit snapshots on each node (the coordinator holds its copy of regions)
	local port out=""
	for port in "${BK_CITUS_PORTS[@]}"; do out+="$(bk_citus_psql "$port" -At -c "SELECT count(*) FROM backupkit.snapshot") "; done
	echo "$out"
}
is "$(parts)" "4 4 4 " "four distributed snapshots: four parts on every node"
is "$(q -c "SELECT string_agg(action, ' ' ORDER BY snapshot_id) FROM backupkit.prune_distributed_snapshots(keep_last => 1, label => 'hourly', dry_run => true)")" \
	"drop drop keep" "a dry run keeps the newest of the label"
is "$(q -c "SELECT count(*) FROM backupkit.distributed_snapshot")" 4 "and drops nothing"
is "$(error_of "BEGIN; SELECT * FROM backupkit.prune_distributed_snapshots(keep_last => 1); COMMIT")" \
	"ERROR:  25001: backupkit.prune_distributed_snapshots cannot run inside a transaction block
DETAIL:  It commits the drops on every node before it returns, which a later rollback of the transaction block could not undo." \
	"refused inside a transaction block"
got=$(error_of "SELECT * FROM backupkit.prune_distributed_snapshots()")
[[ "$got" == "ERROR:  22023:"* ]]
ok $? "a policy without rules is refused (22023)"
is "$(q -c "SELECT string_agg(action || coalesce(':' || reason, ''), ' ' ORDER BY snapshot_id) FROM backupkit.prune_distributed_snapshots(keep_last => 1, label => 'hourly')")" \
	"drop drop keep:keep_last" "prune drops the two older ones"
is "$(q -c "SELECT string_agg(label, ',' ORDER BY snapshot_id) FROM backupkit.distributed_snapshot")" "keep me,hourly" \
	"the map keeps the other label's and the newest"
is "$(parts)" "2 2 2 " "each node's parts of the dropped snapshots are gone"
is "$(prepared_left)" 0 "no prepared transaction is left"
is "$(q -c "SELECT backupkit.validate_distributed($sid)->>'valid'")" true "the snapshot kept still validates"

# --- A table re-created since the capture (Citus's undistribute_table gives it a new OID) ----------------------
q -c "CREATE TABLE flip (id int PRIMARY KEY, v text)" -c "SELECT create_distributed_table('flip', 'id')" \
	-c "INSERT INTO flip SELECT g, 'v' || g FROM generate_series(1, 50) g" >/dev/null
flip_sid=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['orders', 'flip']::regclass[])")
PGOPTIONS='-c client_min_messages=warning' q -c "SELECT undistribute_table('flip')" \
	-c "SELECT create_reference_table('flip')" -c "DELETE FROM flip WHERE id < 10" -c "DELETE FROM orders WHERE id < 10" >/dev/null
before="$(checksum flip) $(checksum orders)"
is "$(error_of "SELECT backupkit.restore_distributed($flip_sid)")" \
	"ERROR:  0A000: Citus table \"public.flip\" is of type \"reference\" now, not \"hash-distributed\" as when captured
DETAIL:  Each node restores the copies and shards it captured, and the table's rows are placed differently now.
HINT:  The captured rows can still be read on each node with backupkit.snapshot_rows() on the node's part (backupkit.distributed_snapshot_node.worker_snapshot_id)." \
	"a captured table re-created since as another Citus type is found by name and refused, not silently left out"
is "$(checksum flip) $(checksum orders)" "$before" "and nothing changed"
q -c "SELECT backupkit.restore_distributed($flip_sid, ARRAY['orders']::regclass[])" >/dev/null
ok $? "the other table, listed, is restored"

tap_finish
