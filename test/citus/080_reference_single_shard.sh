#!/usr/bin/env bash
# Distributed snapshots of a whole Citus schema, on a coordinator and two workers: a reference table
# (customers, a copy on every node including the coordinator), a hash-distributed orders referencing it, a
# co-located order_lines referencing orders, a single-shard table (notes, create_distributed_table(t, NULL))
# and a table of a distributed schema (schema-based sharding), captured in one distributed snapshot and
# restored together:
# - the map: every copy of the reference table captured by its own node, all equal; single-shard tables as
#   one shard; validate_distributed checks each node's part;
# - replace, merge, missing and a dry run, proven by checksums through Citus, shard row counts
#   (run_command_on_shards) and every copy of customers identical (run_command_on_placements);
# - tenant restores leave the reference table alone unless listed, and then only put back the rows it lacks;
#   a listed single-shard table is refused;
# - the functions of single-server snapshots refuse a distributed snapshot's id (0A000), and a node's part is
#   pinned on the node, so that the node's prune or drop_snapshot leaves it.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"
start_citus_cluster "citus.shard_count = 4"

PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, tier text);
SELECT create_reference_table('customers');
CREATE TABLE orders (tenant int, id bigint, customer_id int NOT NULL REFERENCES customers, amount numeric(12,2), PRIMARY KEY (tenant, id));
SELECT create_distributed_table('orders', 'tenant');
CREATE TABLE order_lines (tenant int, order_id bigint, line int, sku text, qty int, PRIMARY KEY (tenant, order_id, line));
SELECT create_distributed_table('order_lines', 'tenant', colocate_with => 'orders');
ALTER TABLE order_lines ADD FOREIGN KEY (tenant, order_id) REFERENCES orders;
CREATE TABLE notes (id int PRIMARY KEY, customer_id int REFERENCES customers, body text);
SELECT create_distributed_table('notes', NULL);
SET citus.enable_schema_based_sharding = on;
CREATE SCHEMA shop;
CREATE TABLE shop.items (id int PRIMARY KEY, title text, price numeric(8,2));
RESET citus.enable_schema_based_sharding;
INSERT INTO customers SELECT g, 'customer ' || g, CASE WHEN g % 3 = 0 THEN 'gold' END FROM generate_series(1, 300) g;
INSERT INTO orders SELECT g % 20, g, 1 + (g * 7) % 300, g * 1.25 FROM generate_series(1, 2000) g;
INSERT INTO order_lines SELECT o.tenant, o.id, l, 'sku-' || (o.id * l) % 97, l FROM orders o, generate_series(1, 3) l;
INSERT INTO notes SELECT g, 1 + g % 300, 'note ' || g FROM generate_series(1, 500) g;
INSERT INTO shop.items SELECT g, 'item ' || g, g / 4.0 FROM generate_series(1, 400) g;
-- A customer only tenant 3 references.
INSERT INTO customers VALUES (2000, 'customer of tenant 3 only', 'gold');
INSERT INTO orders VALUES (3, 50000, 2000, 12.5);
SQL
tables="ARRAY['customers', 'orders', 'order_lines', 'notes', 'shop.items']::regclass[]"
all_tables=(customers orders order_lines notes shop.items)
# copies_of <table>: how many copies of the table's single shard there are, and how many different ones.
copies_of() {
	q -c "SELECT count(*) || ' copies, ' || count(DISTINCT result) || ' distinct' FROM run_command_on_placements('$1', \$\$SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, ',' ORDER BY t::text COLLATE \"C\"), '')) FROM %s t\$\$)"
}
state() { # state: checksums of every table through Citus
	local t
	for t in "${all_tables[@]}"; do echo "$t=$(checksum "$t")"; done | tr '\n' ' '
}
is "$(copies_of customers)" "3 copies, 1 distinct" "customers has a copy on the coordinator and on both workers"

sid=$(q -c "SELECT backupkit.snapshot_distributed($tables, 'whole schema')")
[ -n "$sid" ]
ok $? "one distributed snapshot of the reference, hash-distributed, single-shard and schema tables ($sid)"
captured=$(state)
captured_unrenamed=$(checksum customers "id % 7 <> 0")
is "$(q -c "SELECT string_agg(table_name || '=' || table_type || '/' || coalesce(distribution_column, '-'), ' ' ORDER BY table_no) FROM backupkit.distributed_snapshot_table WHERE snapshot_id = $sid")" \
	"customers=reference/- orders=hash/tenant order_lines=hash/tenant notes=single_shard/- items=single_shard/-" \
	"the map records each table's Citus type"
is "$(q -c "SELECT count(*) || ' ' || count(DISTINCT group_id) || ' ' || count(DISTINCT s.content_fingerprint) || ' ' || min(s.row_count) FROM backupkit.distributed_snapshot_shard s JOIN backupkit.distributed_snapshot_table t USING (snapshot_id, table_no) WHERE snapshot_id = $sid AND t.table_name = 'customers'")" \
	"3 3 1 301" "customers: each of the 3 nodes captured its own copy, all with the same 301 rows (the same content fingerprint)"
is "$(q -c "SELECT row_count FROM backupkit.distributed_snapshot WHERE snapshot_id = $sid")" \
	"$((301 + 2001 + 6000 + 500 + 400))" "the snapshot's row count counts the reference table once"
for t in orders order_lines notes shop.items; do
	is "$(shard_counts $t)" "$(map_counts "$sid" $t)" "$t: the map records each shard's rows as the nodes count them"
done
is "$(q -c "SELECT count(*) FROM backupkit.distributed_snapshot_node WHERE snapshot_id = $sid")" 3 \
	"three parts: the coordinator's (its copy of customers) and each worker's"
is "$(q -c "SELECT r->>'valid' || ' ' || jsonb_array_length(r->'nodes') FROM backupkit.validate_distributed($sid) r")" \
	"true 3" "validate_distributed: every node's part"

# --- Changes everywhere, then replace ----------------------------------------------------------------------
mutate() {
	q <<'SQL' >/dev/null
DELETE FROM order_lines WHERE order_id % 9 = 0 OR order_id IN (SELECT id FROM orders WHERE customer_id IN (5, 6));
DELETE FROM notes WHERE customer_id IN (5, 6) OR id % 10 = 0;
DELETE FROM orders WHERE customer_id IN (5, 6) OR id % 9 = 0;
DELETE FROM customers WHERE id IN (5, 6);
UPDATE customers SET name = 'renamed', tier = 'silver' WHERE id % 7 = 0;
INSERT INTO customers VALUES (1001, 'new customer', NULL);
INSERT INTO orders VALUES (3, 99999, 1001, 1);
UPDATE order_lines SET qty = qty + 100 WHERE order_id % 4 = 0;
UPDATE notes SET body = 'edited' WHERE id % 3 = 0;
DELETE FROM shop.items WHERE id > 350;
UPDATE shop.items SET price = 0 WHERE id < 10;
SQL
}
mutate
changed=$(state)
isnt "$changed" "$captured" "every table differs from the snapshot after the changes"
is "$(copies_of customers)" "3 copies, 1 distinct" "(Citus changed every copy of customers)"

q -c "SELECT backupkit.restore_distributed($sid, mode => 'replace', dry_run => true)" >/dev/null
ok $? "replace dry run"
is "$(state)" "$changed" "the dry run changed nothing"

report=$(q -c "SELECT backupkit.restore_distributed($sid, mode => 'replace')")
ok $? "replace of the whole schema, parents first (customers, then orders and notes, then order_lines)"
is "$(q -c "SELECT '$report'::jsonb->>'commit'")" "two-phase" "committed on every node with two-phase commit"
is "$(state)" "$captured" "replace: every table equals its snapshot through Citus"
is "$(copies_of customers)" "3 copies, 1 distinct" "replace: every copy of customers is identical"
is "$(q -c "SELECT count(DISTINCT result) || ' ' || min(result) FROM run_command_on_placements('customers', 'SELECT count(*) FROM %s')")" \
	"1 301" "replace: each copy holds the captured 301 customers"
for t in orders order_lines notes shop.items; do
	is "$(shard_counts $t)" "$(map_counts "$sid" $t)" "replace: $t's shards hold the captured row counts"
done
is "$(shell_bytes customers orders order_lines notes shop.items)" 0 "no byte in the coordinator's shells"
is "$(prepared_left)" 0 "no prepared transaction is left on any node"

# --- merge and missing ---------------------------------------------------------------------------------------
mutate
q -c "SELECT backupkit.restore_distributed($sid, mode => 'merge')" >/dev/null
ok $? "merge"
for t in "${all_tables[@]}"; do
	case $t in
	customers) where="id <> 1001" ;;
	orders) where="id <> 99999" ;;
	*) where="" ;;
	esac
	is "$t=$(checksum "$t" "$where")" "$(tr ' ' '\n' <<<"$captured" | grep "^$t=")" "merge: $t's captured rows are back"
done
is "$(q -c "SELECT count(*) FROM customers WHERE id = 1001")/$(q -c "SELECT count(*) FROM orders WHERE id = 99999")" "1/1" \
	"merge: the customer and order added since stay"
is "$(copies_of customers)" "3 copies, 1 distinct" "merge: every copy of customers is identical"
q -c "DELETE FROM orders WHERE id = 99999" -c "DELETE FROM customers WHERE id = 1001" >/dev/null

mutate
renamed=$(checksum customers "id % 7 = 0")
q -c "SELECT backupkit.restore_distributed($sid, mode => 'missing')" >/dev/null
ok $? "missing"
is "$(checksum customers "id % 7 <> 0 AND id <> 1001")" "$captured_unrenamed" "missing: the other customers are as captured"
is "$(q -c "SELECT count(*) FROM customers WHERE id IN (5, 6)")" 2 "missing: the deleted customers are back"
is "$(checksum customers "id % 7 = 0")" "$renamed" "missing: the renamed customers keep their changes"
is "$(copies_of customers)" "3 copies, 1 distinct" "missing: every copy of customers is identical"
q -c "SELECT backupkit.restore_distributed($sid)" >/dev/null
is "$(state)" "$captured" "replace again: back to the snapshot"

# --- One tenant: the reference table is left alone unless listed -----------------------------------------
tenant_rows() { echo "$(checksum orders "tenant = $1") $(checksum order_lines "tenant = $1")"; }
captured_3=$(tenant_rows 3)
q <<'SQL' >/dev/null
UPDATE orders SET amount = amount + 1000 WHERE tenant IN (3, 4);
DELETE FROM order_lines WHERE tenant IN (3, 4) AND line = 1;
UPDATE customers SET name = 'renamed since' WHERE id = 10;
SQL
changed_4=$(tenant_rows 4)
customers_now=$(checksum customers)
q -c "SELECT backupkit.restore_distributed($sid, tenant => '3')" >/dev/null
ok $? "tenant 3 restored (tables not listed)"
is "$(tenant_rows 3)" "$captured_3" "tenant 3's orders and order lines equal the snapshot"
is "$(tenant_rows 4)" "$changed_4" "tenant 4 keeps its changes"
is "$(checksum customers)" "$customers_now" "customers is left as it is (no reference row restored unless listed)"

# The tenant's rows reference a customer deleted since: without customers listed the restore fails on the
# foreign key and changes nothing; listed, the customer comes back (only the rows customers lacks).
q -c "DELETE FROM orders WHERE id = 50000" -c "DELETE FROM customers WHERE id = 2000" 	-c "UPDATE orders SET amount = 0 WHERE tenant = 3" >/dev/null
before=$(state)
got=$(error_of "SELECT backupkit.restore_distributed($sid, tenant => '3')")
[[ "$got" == "ERROR:  23503:"* ]]
ok $? "a tenant restore whose rows reference a deleted customer fails on the foreign key (23503)"
is "$(state)" "$before" "and changes nothing on any node"
report=$(q -c "SELECT backupkit.restore_distributed($sid, ARRAY['customers', 'orders', 'order_lines']::regclass[], 'replace', tenant => '3')")
ok $? "with customers listed, the tenant restore runs"
is "$(tenant_rows 3)" "$captured_3" "tenant 3 equals its snapshot, order 50000 included"
is "$(q -c "SELECT name FROM customers WHERE id = 2000")" "customer of tenant 3 only" "the deleted customer is back"
is "$(q -c "SELECT name FROM customers WHERE id = 10")" "renamed since" "a customer changed since keeps its change (reference rows: only the missing ones)"
is "$(copies_of customers)" "3 copies, 1 distinct" "every copy of customers is identical"
is "$(q -c "SELECT jsonb_array_length('$report'::jsonb->'nodes')")" 3 	"every node holding a copy of customers took part"
is "$(error_of "SELECT backupkit.restore_distributed($sid, ARRAY['orders', 'notes']::regclass[], tenant => '3')")" 	"ERROR:  0A000: table \"public.notes\" has no distribution column to restore tenant \"3\" by
DETAIL:  It is a single-shard Citus table: all its rows are in one shard.
HINT:  Restore it without tenant, in a call of its own." "a listed single-shard table is refused with tenant"
q -c "SELECT backupkit.restore_distributed($sid)" >/dev/null
is "$(state)" "$captured" "replace: back to the snapshot"

# --- Copies of a reference table that differ (changed on one node directly) are found --------------------
ref_shard=$(q -c "SELECT shard_name FROM backupkit.distributed_snapshot_shard s JOIN backupkit.distributed_snapshot_table t USING (snapshot_id, table_no) WHERE snapshot_id = $sid AND t.table_name = 'customers' LIMIT 1")
bk_citus_psql "${BK_CITUS_PORTS[2]}" -c "SET citus.enable_manual_changes_to_shards = on" \
	-c "UPDATE $ref_shard SET tier = 'forged' WHERE id = 1" >/dev/null
got=$(error_of "SELECT backupkit.snapshot_distributed(ARRAY['customers']::regclass[])")
is "$(echo "$got" | head -1 | sed 's/ [0-9]*$/ N/')" \
	"ERROR:  XX001: the copies of reference table shard $ref_shard differ between nodes in distributed snapshot N" \
	"a capture finds copies of customers that differ, and fails"
is "$(prepared_left)" 0 "and leaves no prepared transaction"
bk_citus_psql "${BK_CITUS_PORTS[2]}" -c "SET citus.enable_manual_changes_to_shards = on" \
	-c "UPDATE $ref_shard SET tier = NULL WHERE id = 1" >/dev/null
# Put back, customer 1 is stored at another place in that copy than in the others: same rows, another
# physical order, which the comparison of copies must accept (the second snapshot below).

# --- The functions of single-server snapshots refuse a distributed snapshot's id ---------------------------
refusal="ERROR:  0A000: snapshot $sid is a distributed snapshot
DETAIL:  Its rows are stored in parts on the Citus nodes, which the functions for snapshots of one server do not read, export, pin or drop.
HINT:  Use backupkit.restore_distributed(), backupkit.validate_distributed(), backupkit.prune_distributed_snapshots() or backupkit.drop_distributed_snapshot()."
for call in "restore_snapshot($sid)" "validate_snapshot_integrity($sid)" "drop_snapshot($sid)" "pin_snapshot($sid)" \
	"snapshot_rows($sid, 'orders')"; do
	is "$(error_of "SELECT backupkit.$call")" "$refusal" "backupkit.$call refuses the distributed snapshot"
done
is "$(error_of "SELECT count(*) FROM backupkit.export_snapshot($sid)")" "$refusal" "export_snapshot refuses it"

# --- A node's part is pinned there: the node's prune and drop_snapshot leave it ------------------------------
sid2=$(q -c "SELECT backupkit.snapshot_distributed($tables, 'second')")
w1=${BK_CITUS_PORTS[1]}
parts=$(bk_citus_psql "$w1" -At -c "SELECT count(*) FILTER (WHERE pinned) || '/' || count(*) FROM backupkit.snapshot")
is "$parts" "2/2" "the first worker holds two parts, both pinned"
is "$(bk_citus_psql "$w1" -At -c "SELECT count(*) FROM backupkit.prune_snapshots(keep_last => 1) WHERE action = 'drop'")" 0 \
	"prune_snapshots on the worker drops no part"
wsnap=$(q -c "SELECT worker_snapshot_id FROM backupkit.distributed_snapshot_node WHERE snapshot_id = $sid AND node_port = $w1")
got=$(bk_citus_psql "$w1" -At -v VERBOSITY=verbose -c "SELECT backupkit.drop_snapshot($wsnap)" 2>&1 | head -1)
is "$got" "ERROR:  55006: snapshot $wsnap is pinned" "drop_snapshot on the worker refuses a part"
is "$(q -c "SELECT r->>'valid' FROM backupkit.validate_distributed($sid) r")" true "the distributed snapshot is still whole"
is "$(q -c "SELECT backupkit.drop_distributed_snapshot($sid2)")" t "drop_distributed_snapshot unpins and drops each part"
is "$(bk_citus_psql "$w1" -At -c "SELECT count(*) FROM backupkit.snapshot")/$(q -c "SELECT count(*) FROM backupkit.snapshot")" "1/1" \
	"one part left on the worker and on the coordinator (its copy of customers), those of $sid"

tap_finish
