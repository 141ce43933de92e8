#!/usr/bin/env bash
# On a real Citus cluster (a coordinator and two workers, scripts/citus-cluster.sh): every operation
# backupkit cannot yet perform on a Citus table (Citus local and single-shard tables; hash-distributed and
# reference tables are handled, see 020_restore.sh and 030_snapshot_consistency.sh) refuses it with 0A000 and
# the exact message, detail and hint naming the table and its Citus type, in dry runs too, and changes
# nothing: the whole-table checksums seen through Citus and the row count and checksum of every shard
# placement (run_command_on_placements) are the same after each refused call. A multi-table restore that
# includes such a table refuses as a whole. What still works is checked too: restores of a local table on
# the coordinator, ordering, snapshot_rows, check_referential_integrity, and the hint's INSERT ... SELECT.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"

start_cluster

# The tables, created local and captured, then handed to Citus (a Citus local or single-shard table cannot
# be captured; a snapshot taken before distributing, or imported, is how a snapshot comes to hold one).
q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2), placed date);
CREATE TABLE order_lines (order_id bigint, line int, sku text, qty int, PRIMARY KEY (order_id, line));
CREATE TABLE notes (id int PRIMARY KEY, body text);
CREATE TABLE events (id int PRIMARY KEY, kind text, at timestamptz);
CREATE TABLE audit (id int PRIMARY KEY, what text);
INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 50) g;
INSERT INTO orders SELECT g, 1 + g % 50, g * 1.25, date '2026-01-01' + g % 300 FROM generate_series(1, 1000) g;
INSERT INTO order_lines SELECT o, l, 'sku-' || (o * l) % 97, l FROM generate_series(1, 1000) o, generate_series(1, 3) l;
INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 100) g;
INSERT INTO events SELECT g, 'kind ' || g % 7, timestamptz '2026-01-01 00:00+00' + g * interval '1 hour' FROM generate_series(1, 200) g;
INSERT INTO audit SELECT g, 'audit ' || g FROM generate_series(1, 100) g;
SQL
tables=(customers orders order_lines notes events audit)
citus_tables=(customers orders order_lines notes events)
refused_tables=(notes events)
declare -A captured
for t in "${tables[@]}"; do
	captured[$t]=$(q -c "$(checksum_sql "$t")")
done
sid=$(q -c "SELECT backupkit.snapshot_tables(ARRAY['customers', 'orders', 'order_lines', 'notes', 'events', 'audit']::regclass[], 'before citus')")
[ -n "$sid" ]
ok $? "snapshot of the tables while still local (snapshot $sid)"

PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
SELECT create_reference_table('customers');
SELECT create_distributed_table('orders', 'id');
SELECT create_distributed_table('order_lines', 'order_id', colocate_with => 'orders');
SELECT create_distributed_table('events', NULL);
SELECT citus_add_local_table_to_metadata('notes');
SELECT truncate_local_data_after_distributing_table(t) FROM unnest(ARRAY['customers', 'orders', 'order_lines', 'events']::regclass[]) t;
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);
SQL
is "$(q -c "SELECT string_agg(logicalrelid::text || '=' || partmethod::text || repmodel::text || CASE WHEN colocationid <> 0 THEN 'g' ELSE '-' END, ' ' ORDER BY logicalrelid::text) FROM pg_dist_partition")" \
	"customers=ntg events=nsg notes=ns- order_lines=hsg orders=hsg" \
	"Citus manages a reference, two co-located hash-distributed, a single-shard and a Citus local table"
is "$(q -c "SELECT count(DISTINCT nodeport) FROM run_command_on_placements('orders', 'SELECT 1')")" 2 \
	"the distributed table's shards are on both workers"

# The live data now differs from the snapshot, so a restore that ran would change it.
q <<'SQL' >/dev/null
DELETE FROM order_lines WHERE order_id % 10 = 0;
DELETE FROM orders WHERE id % 10 = 0;
UPDATE customers SET name = upper(name) WHERE id % 3 = 0;
UPDATE orders SET amount = amount + 1 WHERE id % 7 = 0;
DELETE FROM notes WHERE id > 80;
INSERT INTO events VALUES (1000, 'late', now());
DELETE FROM audit WHERE id % 4 = 0;
UPDATE audit SET what = 'changed' WHERE id % 5 = 0;
SQL

# Everything a restore could touch: each table's checksum through Citus, each shard placement's row count
# and checksum (every copy of a reference table, on every node), and the size of each Citus table's shell
# on the coordinator (where backupkit's COPY would put rows that Citus never reads).
state_sql="SELECT string_agg(s, ' ' ORDER BY s) FROM ("
for t in "${tables[@]}"; do
	state_sql+="SELECT '$t=' || ($(checksum_sql "$t")) AS s UNION ALL "
done
for t in "${citus_tables[@]}"; do
	state_sql+="SELECT '$t/' || shardid || '@' || nodeport || '=' || result FROM run_command_on_placements('$t', \$\$SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\"), '')) FROM %s t\$\$) UNION ALL "
done
for t in "${citus_tables[@]}"; do
	state_sql+="SELECT 'shell:$t=' || pg_relation_size('$t') UNION ALL "
done
state_sql+="SELECT 'snapshots=' || count(*) FROM backupkit.snapshots) x"
state() { q -c "$state_sql"; }
before=$(state)
[ -n "$before" ]
ok $? "the state to protect is recorded"
for t in "${tables[@]}"; do
	[ "$(q -c "$(checksum_sql "$t")")" != "${captured[$t]}" ]
	ok $? "$t differs from its snapshot, so a restore that ran would change it"
done
for t in "${citus_tables[@]}"; do
	[ "$(q -c "SELECT count(*) FROM run_command_on_placements('$t', 'SELECT 1')")" -ge 1 ]
	ok $? "$t has shard placements to check"
	[[ " $before " == *" shell:$t=0 "* ]]
	ok $? "$t: its shell on the coordinator holds no bytes"
done

# refused <description> <statement> <expected error, detail and hint>: the exact text, and nothing changed.
refused() {
	local got
	got=$(error_of "$2")
	is "$got" "$3" "$1: refused with the exact message"
	is "$(state)" "$before" "$1: nothing changed (checksums through Citus, every placement, no snapshot added)"
}

# The detail names the table's Citus type (<type> stands for it).
restore_detail="DETAIL:  The table's Citus type is \"<type>\"; backupkit restores hash-distributed and reference tables only.
HINT:  Leave this table out of the restore; to put its rows back, insert them through Citus with INSERT ... SELECT from backupkit.snapshot_rows()."
snapshot_detail="DETAIL:  The table's Citus type is \"<type>\"; backupkit captures hash-distributed and reference tables only.
HINT:  Leave this table out of the list; for it, use citus_create_restore_point() with physical backups of every node."
diff_detail="DETAIL:  The table's Citus type is \"<type>\"; backupkit compares hash-distributed and reference tables only.
HINT:  Compare the rows of backupkit.snapshot_rows() with the table in SQL."
declare -A kind=([customers]="reference" [orders]="hash-distributed" [order_lines]="hash-distributed" [notes]="local"
	[events]="single-shard")

for t in "${refused_tables[@]}"; do
	what="Citus table \"public.$t\""
	restore_detail_t=${restore_detail/<type>/${kind[$t]}}
	snapshot_detail_t=${snapshot_detail/<type>/${kind[$t]}}
	diff_detail_t=${diff_detail/<type>/${kind[$t]}}
	for mode in replace merge missing; do
		for dry in false true; do
			refused "restore_table_from_snapshot $t $mode dry_run=$dry" \
				"SELECT backupkit.restore_table_from_snapshot($sid, 'public.$t', '$mode', dry_run => $dry)" \
				"ERROR:  0A000: cannot restore $what
$restore_detail_t"
		done
	done
	refused "diff $t" "SELECT count(*) FROM backupkit.diff($sid, 'public.$t')" "ERROR:  0A000: cannot diff $what
$diff_detail_t"
	refused "snapshot_tables $t" "SELECT backupkit.snapshot_tables(ARRAY['public.$t']::regclass[])" \
		"ERROR:  0A000: cannot snapshot $what
$snapshot_detail_t"
	refused "schedule_snapshots $t" \
		"SELECT backupkit.schedule_snapshots('nightly', '0 3 * * *', ARRAY['audit', 'public.$t']::regclass[], 'nightly')" \
		"ERROR:  0A000: cannot schedule snapshots of $what
${snapshot_detail_t}"
done

# Sets: the whole snapshot (the first refused Citus table of the set, in name order, is named), and a set led
# by a local table, refuse as a whole before any table, the local one and the distributed one included, is
# touched.
for mode in replace merge missing; do
	for dry in false true; do
		refused "restore_snapshot of the whole snapshot, $mode dry_run=$dry" \
			"SELECT backupkit.restore_snapshot($sid, mode => '$mode', dry_run => $dry)" \
			"ERROR:  0A000: cannot restore Citus table \"public.events\"
${restore_detail/<type>/single-shard}"
	done
	refused "restore_snapshot of a local, a distributed and a single-shard table, $mode" \
		"SELECT backupkit.restore_snapshot($sid, ARRAY['audit', 'order_lines', 'events']::regclass[], '$mode')" \
		"ERROR:  0A000: cannot restore Citus table \"public.events\"
${restore_detail/<type>/single-shard}"
done
refused "restore_snapshot without validation" \
	"SELECT backupkit.restore_snapshot($sid, ARRAY['audit', 'events', 'notes']::regclass[], validate => false)" \
	"ERROR:  0A000: cannot restore Citus table \"public.events\"
${restore_detail/<type>/single-shard}"
refused "snapshot_tables of a local and a Citus table" \
	"SELECT backupkit.snapshot_tables(ARRAY['audit', 'notes']::regclass[])" \
	"ERROR:  0A000: cannot snapshot Citus table \"public.notes\"
${snapshot_detail/<type>/local}"
is "$(q -c "SELECT count(*) FROM backupkit.restores")" 0 "no refused restore was recorded as done"

# What keeps working.
is "$(q -c "SELECT backupkit.get_table_restoration_order(ARRAY['order_lines', 'orders', 'customers']::regclass[])")" \
	"{customers,orders,order_lines}" "ordering of Citus tables follows their foreign keys"
q -c "SELECT backupkit.get_table_restoration_order($sid)" >/dev/null
ok $? "ordering of the snapshot's tables"
is "$(q -c "SELECT string_agg(table_name::text, ',' ORDER BY position) FROM backupkit.restoration_plan(ARRAY['order_lines', 'customers', 'orders']::regclass[])")" \
	"customers,orders,order_lines" "restoration_plan of Citus tables"
for t in orders order_lines customers events notes; do
	is "$(q -c "SELECT count(*) || ':' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text COLLATE \"C\"), '')) FROM backupkit.snapshot_rows($sid, '$t') r, jsonb_populate_record(NULL::$t, r) x")" \
		"${captured[$t]}" "snapshot_rows of $t gives back the captured rows exactly"
done
is "$(q -c "SELECT backupkit.validate_snapshot_integrity($sid)->>'valid'")" true \
	"validate_snapshot_integrity of a snapshot holding Citus tables (reads backupkit's storage only)"
is "$(q -c "SELECT count(*) > 0 FROM backupkit.export_snapshot($sid)")" t "export_snapshot of that snapshot"
is "$(state)" "$before" "validation and export changed nothing"
is "$(q -c "SELECT count(*) FROM backupkit.check_referential_integrity(ARRAY['orders', 'order_lines', 'customers']::regclass[]) WHERE orphan_rows > 0")" \
	0 "check_referential_integrity runs on Citus tables (no orphans)"

is "$(q -c "SELECT r->>'path' FROM backupkit.restore_table_from_snapshot($sid, 'audit', 'merge', dry_run => true) r")" \
	"staged" "dry run of a local table on the coordinator"
is "$(state)" "$before" "the dry run changed nothing"
is "$(q -c "SELECT count(*) FROM backupkit.diff($sid, 'audit')")" \
	"$(q -c "SELECT count(*) FROM (SELECT x.* FROM backupkit.snapshot_rows($sid, 'audit') r, jsonb_populate_record(NULL::audit, r) x EXCEPT SELECT * FROM audit) d")" \
	"diff of a local table lists its deleted and changed rows"
for mode in missing merge replace; do
	q -c "SELECT backupkit.restore_table_from_snapshot($sid, 'audit', '$mode')" >/dev/null
	ok $? "restore_table_from_snapshot of a local table, $mode"
done
is "$(q -c "$(checksum_sql audit)")" "${captured[audit]}" "the local table is back to its captured rows"
q -c "DELETE FROM audit WHERE id < 10" >/dev/null
q -c "SELECT backupkit.restore_snapshot($sid, ARRAY['audit']::regclass[])" >/dev/null
ok $? "restore_snapshot of the local table alone"
is "$(q -c "$(checksum_sql audit)")" "${captured[audit]}" "... back to its captured rows"
sid2=$(q -c "SELECT backupkit.snapshot_tables(ARRAY['audit']::regclass[])")
[ -n "$sid2" ]
ok $? "snapshot of a local table on the coordinator"

# The hint's way back, through Citus: the shards get the rows, not the coordinator's shell.
q <<SQL >/dev/null
BEGIN;
TRUNCATE order_lines, orders;
INSERT INTO orders SELECT (jsonb_populate_record(NULL::orders, r)).* FROM backupkit.snapshot_rows($sid, 'orders') r;
INSERT INTO order_lines SELECT (jsonb_populate_record(NULL::order_lines, r)).* FROM backupkit.snapshot_rows($sid, 'order_lines') r;
COMMIT;
SQL
ok $? "INSERT ... SELECT from snapshot_rows through Citus, as the hint says"
for t in orders order_lines; do
	is "$(q -c "$(checksum_sql "$t")")" "${captured[$t]}" "$t holds its captured rows again"
	is "$(q -c "SELECT sum(result::bigint) FROM run_command_on_shards('$t', 'SELECT count(*) FROM %s')")" \
		"${captured[$t]%%:*}" "$t: the shards hold every row"
done

# Snapshot administration touches backupkit's storage only.
q -c "SELECT backupkit.pin_snapshot($sid)" -c "SELECT backupkit.pin_snapshot($sid, false)" >/dev/null
ok $? "pin and unpin a snapshot holding Citus tables"
is "$(q -c "SELECT backupkit.drop_snapshot($sid)")" t "drop a snapshot holding Citus tables"

finish
