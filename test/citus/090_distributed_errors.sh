#!/usr/bin/env bash
# The refusals of distributed snapshots (snapshot_distributed, restore_distributed, validate_distributed,
# drop_distributed_snapshot) that need the cluster itself to change, each reached on a coordinator and two
# workers: a node group without an active primary, a coordinator map that disagrees with a node's part, a
# table distributed by another column since the capture, tables re-sharded since, a tenant restore of tables
# in different co-location groups, a captured table dropped since. Each is checked by SQLSTATE, message,
# detail and hint, and by checksums through Citus that show nothing changed.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"
start_citus_cluster "citus.shard_count = 4"

PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE TABLE orders (tenant int, id bigint, amount numeric(12,2), note text, PRIMARY KEY (tenant, id));
CREATE TABLE order_lines (tenant int, order_id bigint, line int, qty int, PRIMARY KEY (tenant, order_id, line));
SELECT create_distributed_table('orders', 'tenant');
SELECT create_distributed_table('order_lines', 'tenant', colocate_with => 'orders');
ALTER TABLE order_lines ADD FOREIGN KEY (tenant, order_id) REFERENCES orders;
-- Distributed by the same column type and shard count, but in a co-location group of its own.
CREATE TABLE events (tenant int, id int, what text, PRIMARY KEY (tenant, id));
SELECT create_distributed_table('events', 'tenant', colocate_with => 'none');
INSERT INTO orders SELECT g % 20, g, g * 1.25, 'note ' || g FROM generate_series(1, 1000) g;
INSERT INTO order_lines SELECT o.tenant, o.id, l, l FROM orders o, generate_series(1, 2) l;
INSERT INTO events SELECT g % 20, g, 'event ' || g FROM generate_series(1, 400) g;
SQL
sid=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['orders', 'order_lines', 'events']::regclass[])")
[ -n "$sid" ]
ok $? "distributed snapshot $sid of orders, order_lines and events"
# Changes in every shard, so that any restore that ran would show in the checksums.
q -c "UPDATE orders SET note = 'changed' WHERE id % 3 = 0" -c "DELETE FROM order_lines WHERE line = 2 AND order_id % 4 = 0" \
	-c "DELETE FROM events WHERE id % 5 = 0" >/dev/null
state() { echo "$(checksum orders) $(checksum order_lines) $(checksum events) $(shard_counts orders) $(shard_counts events)"; }
changed=$(state)
snapshots() { q -c "SELECT count(*) FROM backupkit.distributed_snapshot"; }
n_snapshots=$(snapshots)

# expect_error <sql> <expected verbose error> <what>: the error, and that no table changed.
expect_error() {
	is "$(error_of "$1")" "$2" "$3"
	is "$(state)" "$changed" "$3: nothing changed"
}

# --- A tenant restore of tables in different co-location groups ------------------------------------------
got=$(error_of "SELECT backupkit.restore_distributed($sid, tenant => '3')")
colocation="ERROR:  22023: the tables of a tenant restore must be co-located
DETAIL:  Tables \"public.%s\" and \"public.%s\" are in different Citus co-location groups.
HINT:  Restore the tenant of each table in its own call, or co-locate the tables with alter_distributed_table(colocate_with => ...)."
# shellcheck disable=SC2059 # the expected error is the format
[ "$got" = "$(printf "$colocation" orders events)" ] || [ "$got" = "$(printf "$colocation" events orders)" ]
status=$?
ok $status "a tenant restore of tables in different co-location groups is refused"
[ $status = 0 ] || echo "$got" | sed 's/^/#   /' >&2
is "$(state)" "$changed" "and nothing changed"
q -c "SELECT backupkit.restore_distributed($sid, ARRAY['events']::regclass[], mode => 'missing', tenant => '3')" >/dev/null
ok $? "the tenant of events alone is restored"
is "$(q -c "SELECT count(*) FROM events WHERE tenant = 3")" 20 "and its deleted events are back"
changed=$(state)

# --- A node's part that disagrees with the coordinator's map ------------------------------------------------
# The coordinator's map is sealed (any edit of it is refused as such), and so is each node's part (its seal
# covers the snapshot id). What is left is a node whose part is a valid capture of other contents under the
# same id, as after restoring the node from another backup: made here by dropping the first worker's part,
# setting the node's snapshot id sequence back and capturing there, under that id, the same shards with the
# two events shards in each other's place (same columns, other rows), for a snapshot of events of its own.
sidx=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['events']::regclass[])")
w1=${BK_CITUS_PORTS[1]}
wq() { bk_citus_psql "$w1" -At -c "$1"; }
part=$(q -c "SELECT worker_snapshot_id FROM backupkit.distributed_snapshot_node WHERE snapshot_id = $sidx AND node_port = $w1")
# The part's shards in order, and the positions of its first two events shards.
mapfile -t shards < <(wq "SELECT table_name FROM backupkit.snapshot_contents($part) WITH ORDINALITY ORDER BY ordinality")
mapfile -t ev < <(wq "SELECT ordinality FROM backupkit.snapshot_contents($part) WITH ORDINALITY WHERE table_name LIKE '%events%' ORDER BY ordinality LIMIT 2")
swapped=("${shards[@]}")
swapped[ev[0] - 1]=${shards[ev[1] - 1]}
swapped[ev[1] - 1]=${shards[ev[0] - 1]}
list=$(IFS=,; echo "${swapped[*]}")
registered=$(wq "SELECT snapshot_id || ',' || group_id || ',' || pg_catalog.quote_literal(coordinator) FROM backupkit.distributed_snapshot_part WHERE worker_snapshot_id = $part")
is "$(q -c "SELECT backupkit.validate_distributed($sidx)->>'valid'")" true "the snapshot validates before its part is replaced"
# Citus hides shards from pg_class except to the applications it is told about, as backupkit's node
# connections are: the capture on the worker is made as one of them.
bk_citus_psql "$w1" -q -c "SELECT backupkit.pin_snapshot($part, false)" -c "SELECT backupkit.drop_snapshot($part)" \
	-c "SELECT pg_catalog.setval('backupkit.snapshot_id_seq', $part, false)" >/dev/null &&
	PGAPPNAME=backupkit PGOPTIONS="-c citus.show_shards_for_app_name_prefixes=backupkit" bk_citus_psql "$w1" -q -c "SELECT backupkit.snapshot_tables('{$list}'::regclass[], 'another backup')" >/dev/null &&
	bk_citus_psql "$w1" -q -c "SELECT backupkit.pin_snapshot($part)" \
		-c "INSERT INTO backupkit.distributed_snapshot_part VALUES ($part, $registered)" >/dev/null
ok $? "the first worker's part is replaced by a valid capture of other contents under the same id"
read -r shard rows1 sum1 name < <(q -F ' ' -c "SELECT s.shard_id, s.row_count, s.checksum, s.shard_name FROM backupkit.distributed_snapshot_shard s JOIN backupkit.distributed_snapshot_node n ON n.snapshot_id = s.snapshot_id AND n.group_id = s.group_id WHERE s.snapshot_id = $sidx AND n.node_port = $w1 AND s.worker_table_no = ${ev[0]} - 1")
read -r rows2 sum2 < <(bk_citus_psql "$w1" -At -F ' ' -c "SELECT rows, checksum FROM backupkit.snapshot_contents($part) WITH ORDINALITY WHERE ordinality = ${ev[0]}")
changed=$(state)
expect_error "SELECT backupkit.validate_distributed($sidx)" \
	"ERROR:  XX001: shard $shard of distributed snapshot $sidx does not match its node's part
DETAIL:  The coordinator recorded $rows1 rows with checksum $sum1 for $name; the node holds $rows2 rows with checksum $sum2." \
	"validate_distributed finds a node's part that disagrees with the map"
q -c "SELECT backupkit.drop_distributed_snapshot($sidx)" >/dev/null
ok $? "and the snapshot can be dropped"
n_snapshots=$(snapshots)

# --- A node group without an active primary node -----------------------------------------------------------
# Citus's citus_disable_node refuses a node holding the only placement of a shard; the state it leaves when
# it may (isactive false) is set directly.
group2=$(q -c "SELECT groupid FROM pg_dist_node WHERE nodeport = ${BK_CITUS_PORTS[2]}")
q -c "UPDATE pg_dist_node SET isactive = false WHERE nodeport = ${BK_CITUS_PORTS[2]}" >/dev/null
inactive="ERROR:  55000: a Citus node group holding shards has no active primary node
DETAIL:  No primary node of group $group2, which holds shards of the tables, is active.
HINT:  Activate the node with citus_activate_node() and try again."
# Citus cannot read the inactive node's shards: the tables are compared once it is active again.
is "$(error_of "SELECT backupkit.snapshot_distributed(ARRAY['orders', 'order_lines']::regclass[])")" "$inactive" \
	"a snapshot with an inactive node is refused (its shards are not left out)"
is "$(snapshots)" "$n_snapshots" "and no distributed snapshot was recorded"
is "$(error_of "SELECT backupkit.restore_distributed($sid)")" "$inactive" "a restore with an inactive node is refused"
is "$(error_of "SELECT backupkit.validate_distributed($sid)")" "$inactive" "validate_distributed with an inactive node"
is "$(error_of "SELECT backupkit.drop_distributed_snapshot($sid)")" "$inactive" \
	"drop_distributed_snapshot with an inactive node"
is "$(snapshots)" "$n_snapshots" "the snapshot is still there"
q -c "UPDATE pg_dist_node SET isactive = true WHERE nodeport = ${BK_CITUS_PORTS[2]}" >/dev/null
is "$(state)" "$changed" "nothing changed while the node was inactive"
q -c "SELECT backupkit.validate_distributed($sid)" >/dev/null
ok $? "the node active again, the snapshot validates"

# --- A table distributed by another column since the capture ------------------------------------------------
# undistribute_table and create_distributed_table re-create the table under its name (a new oid).
PGOPTIONS='-c client_min_messages=warning' q -c "SELECT undistribute_table('events')" \
	-c "SELECT create_distributed_table('events', 'id', colocate_with => 'none')" >/dev/null
changed=$(state)
redistributed="ERROR:  0A000: table \"public.events\" is distributed by column \"id\" now, not by \"tenant\" as when captured
DETAIL:  Each node restores the shards it captured, and the rows of the table are in other shards now.
HINT:  The captured rows can still be read on each node with backupkit.snapshot_rows() on the node's part (backupkit.distributed_snapshot_node.worker_snapshot_id)."
expect_error "SELECT backupkit.restore_distributed($sid, ARRAY['events']::regclass[])" "$redistributed" \
	"a restore of a table distributed by another column since is refused"
expect_error "SELECT backupkit.restore_distributed($sid)" "$redistributed" \
	"so is a restore of the whole snapshot, before any table is restored"

# --- Tables re-sharded since the capture ----------------------------------------------------------------
PGOPTIONS='-c client_min_messages=warning' q -c "SELECT alter_distributed_table('orders', shard_count => 6, cascade_to_colocated => true)" >/dev/null
changed=$(state)
expect_error "SELECT backupkit.restore_distributed($sid, ARRAY['orders', 'order_lines']::regclass[])" \
	"ERROR:  0A000: the tables have 12 shards now, distributed snapshot $sid holds 8
DETAIL:  Each node restores the shards it captured, and Citus has re-sharded the tables since.
HINT:  The captured rows can still be read on each node with backupkit.snapshot_rows() on the node's part (backupkit.distributed_snapshot_node.worker_snapshot_id)." \
	"a restore of tables re-sharded since is refused"

# --- A captured table dropped since -------------------------------------------------------------------------
q -c "DROP TABLE events" >/dev/null
state() { echo "$(checksum orders) $(checksum order_lines) $(shard_counts orders)"; }
changed=$(state)
expect_error "SELECT backupkit.restore_distributed($sid)" \
	"ERROR:  42P01: table \"public.events\" of distributed snapshot $sid no longer exists
HINT:  Re-create the table, or list the tables to restore." \
	"a restore of a snapshot whose table was dropped is refused, not skipped in silence"

is "$(shell_bytes orders order_lines)" 0 "no byte in the coordinator's shells"
is "$(prepared_left)" 0 "no prepared transaction left on any node"
tap_finish
