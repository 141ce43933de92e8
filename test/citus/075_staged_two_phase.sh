#!/usr/bin/env bash
# Distributed restores in modes merge and missing, whose nodes stage rows (src/pg/restore/stage_table.cpp):
# on a node they stage in unlogged tables the transaction drops, not temporary tables, so they commit in two
# phases like replace. For each mode, run by a superuser and by a role that only owns the tables: the
# report says "two-phase"; the tables end exactly as the same restore leaves identical local tables (local
# restores keep their temporary stages: checksums through Citus against the local copies); no staging
# table is left on any node. A kill of the coordinator once every node prepared is rolled back by recovery,
# one after the coordinator's commit is committed by it, as for replace (070_recovery.sh).
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"

start_cluster "restart_after_crash = on"

PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE ROLE keeper LOGIN;
GRANT USAGE ON SCHEMA backupkit TO keeper;
CREATE TABLE orders (tenant int, id bigint, amount numeric(12,2), note text, PRIMARY KEY (tenant, id));
CREATE TABLE order_lines (tenant int, order_id bigint, line int, qty int, PRIMARY KEY (tenant, order_id, line));
CREATE TABLE l_orders (LIKE orders INCLUDING ALL);
CREATE TABLE l_order_lines (LIKE order_lines INCLUDING ALL);
SELECT create_distributed_table('orders', 'tenant');
SELECT create_distributed_table('order_lines', 'tenant', colocate_with => 'orders');
INSERT INTO orders SELECT g % 40, g, g * 1.25, 'note ' || g FROM generate_series(1, 4000) g;
INSERT INTO order_lines SELECT o.tenant, o.id, l, l FROM orders o, generate_series(1, 2) l;
INSERT INTO l_orders SELECT * FROM orders;
INSERT INTO l_order_lines SELECT * FROM order_lines;
ALTER TABLE orders OWNER TO keeper;
ALTER TABLE order_lines OWNER TO keeper;
ALTER TABLE l_orders OWNER TO keeper;
ALTER TABLE l_order_lines OWNER TO keeper;
SQL

# The same changes to the distributed tables and their local copies.
damage() {
	local o l
	for o in orders l_orders; do
		l=${o/orders/order_lines}
		q <<SQL >/dev/null
DELETE FROM $l WHERE order_id % 7 = 0;
UPDATE $o SET amount = -amount, note = 'changed' WHERE id % 5 = 0;
INSERT INTO $o SELECT g % 40, 100000 + g, 1, 'added' FROM generate_series(1, 50) g ON CONFLICT DO NOTHING;
SQL
	done
}
dist_state() { echo "orders=$(checksum orders) lines=$(checksum order_lines)"; }
local_state() { echo "orders=$(checksum l_orders) lines=$(checksum l_order_lines)"; }
prepared_left() {
	q -c "SELECT (SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'backupkit%') + (SELECT coalesce(sum(result::int), 0) FROM run_command_on_workers(\$\$SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'backupkit%'\$\$))"
}
prepared_locks() {
	q -c "SELECT (SELECT count(*) FROM pg_locks WHERE pid IS NULL) + (SELECT coalesce(sum(result::int), 0) FROM run_command_on_workers('SELECT count(*) FROM pg_locks WHERE pid IS NULL'))"
}
# Staging tables (committed, so visible) and their files on every node.
stages_left() {
	q -c "SELECT coalesce(sum(result::int), 0) FROM run_command_on_all_nodes(\$\$SELECT count(*) FROM pg_class WHERE relname LIKE 'backupkit\\_stage\\_%' OR relname LIKE 'backupkit\\_keys\\_%'\$\$)"
}
wait_coordinator() {
	local i
	for ((i = 0; i < 120; i++)); do
		q -c 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}
crash() { # crash <fault> <sql>
	psql -X -q -At -c "SET backupkit.fault_injection = '$1'" -c "$2" 2>&1
	wait_coordinator
}
recover() { q -c "SELECT action || ' ' || count(*) FROM backupkit.recover_distributed(false) GROUP BY action ORDER BY action" | tr '\n' ';'; }

base=$(PGUSER=keeper q -c "SELECT backupkit.snapshot_distributed(ARRAY['orders', 'order_lines']::regclass[], 'base')")
lbase=$(PGUSER=keeper q -c "SELECT backupkit.snapshot_tables(ARRAY['l_orders', 'l_order_lines']::regclass[], 'local base')")
is "$(dist_state)" "$(local_state)" "the distributed tables and their local copies hold the same rows"

for mode in merge missing; do
	for who in postgres keeper; do
		damage
		damaged=$(dist_state)
		is "$damaged" "$(local_state)" "$mode by $who: both damaged alike"
		q -c "SELECT backupkit.restore_snapshot($lbase, ARRAY['l_orders', 'l_order_lines']::regclass[], '$mode')" >/dev/null
		report=$(PGUSER=$who q -c "SELECT backupkit.restore_distributed($base, mode => '$mode')")
		is "$(q -c "SELECT '$report'::jsonb ->> 'commit'")" two-phase "$mode by $who: the report says two-phase"
		is "$(dist_state)" "$(local_state)" "$mode by $who: the tables end as the local restore leaves their copies"
		isnt "$(dist_state)" "$damaged" "$mode by $who: the restore changed them"
		is "$(shell_bytes orders order_lines)" 0 "$mode by $who: nothing in the coordinator's shells"
		is "$(stages_left)" 0 "$mode by $who: no staging table left on any node"
	done

	# Killed once every node prepared: recovery rolls the restore back, the tables stay damaged.
	damage
	damaged=$(dist_state)
	crash prepared:kill "SELECT backupkit.restore_distributed($base, mode => '$mode')" >/dev/null
	is "$(prepared_left)" 2 "$mode killed after PREPARE: both workers prepared"
	is "$(stages_left)" 0 "$mode killed after PREPARE: no staging table visible on any node"
	is "$(recover)" "rolled back 2;" "$mode killed after PREPARE: recover_distributed rolls both back"
	is "$(dist_state)" "$damaged" "$mode killed after PREPARE: the tables are exactly as before the restore"
	is "$(prepared_locks)" 0 "$mode killed after PREPARE: no lock left"

	# Killed after the coordinator's commit: recovery commits the restore on both workers.
	q -c "SELECT backupkit.restore_snapshot($lbase, ARRAY['l_orders', 'l_order_lines']::regclass[], '$mode')" >/dev/null
	crash committed:kill "SELECT backupkit.restore_distributed($base, mode => '$mode')" >/dev/null
	is "$(recover)" "committed 2;" "$mode killed after the coordinator's commit: recover_distributed commits both"
	is "$(dist_state)" "$(local_state)" "$mode killed after the coordinator's commit: the restore is complete"
	is "$(prepared_left)" 0 "$mode killed after the coordinator's commit: nothing left prepared"
	is "$(prepared_locks)" 0 "$mode killed after the coordinator's commit: no lock left"
	is "$(stages_left)" 0 "$mode killed after the coordinator's commit: no staging table on any node"
done

finish
