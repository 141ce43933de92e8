#!/usr/bin/env bash
# Citus through the coordinator (issue 14, step 2): times of snapshot and restores of a 200,000-row
# hash-distributed table (8 shards on two workers) and of a 50,000-row reference table, against the naive
# INSERT ... SELECT from snapshot_rows, and how long a writer pauses while a snapshot holds its SHARE lock.
# One run, printed as a Markdown table; numbers vary with the machine (nothing is asserted).
#
#   PG_CONFIG=... bash bench/citus.sh        (Citus installed into PG_CONFIG's server: scripts/build-citus.sh)
set -eu
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-pg_config}
export PATH="$("$PG_CONFIG" --bindir):$PATH"
# shellcheck source=scripts/citus-cluster.sh
source scripts/citus-cluster.sh
rows=${BENCH_CITUS_ROWS:-200000}
bk_citus_start 2 "citus.shard_count = 8" "shared_buffers = 128MB" >/dev/null
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
# ms <sql>: wall time of one statement, in milliseconds.
ms() {
	local t0 t1
	t0=$(date +%s%N)
	q -c "$1" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
q <<SQL >/dev/null
CREATE EXTENSION backupkit;
SET client_min_messages = warning;
CREATE TABLE lines (order_id bigint, line int, sku text, qty int, price numeric(12,2), at timestamptz, PRIMARY KEY (order_id, line));
CREATE TABLE products (id int PRIMARY KEY, name text, price numeric(12,2));
SELECT create_distributed_table('lines', 'order_id');
SELECT create_reference_table('products');
INSERT INTO lines SELECT g / 4, g % 4, 'sku-' || g % 977, g % 13, (g % 1000) / 7.0, timestamptz '2026-01-01' + g * interval '1 second' FROM generate_series(1, $rows) g;
INSERT INTO products SELECT g, 'product ' || g, g / 3.0 FROM generate_series(1, $((rows / 4))) g;
CREATE TABLE writer_log (n serial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp());
SQL
echo "| case | ms |"
echo "|---|---:|"
row() { echo "| $1 | $2 |"; }
row "snapshot_tables(lines, $rows rows)" "$(ms "SELECT backupkit.snapshot_tables('{lines}')")"
row "snapshot_tables(products, $((rows / 4)) rows, reference)" "$(ms "SELECT backupkit.snapshot_tables('{products}')")"
row "COPY (SELECT * FROM lines) TO /dev/null (reference)" "$(ms "COPY (SELECT * FROM lines) TO '/dev/null'")"
q -c "TRUNCATE lines" >/dev/null
row "replace into the emptied distributed table" "$(ms "SELECT backupkit.restore_table_from_snapshot(1, 'lines', 'replace')")"
q -c "TRUNCATE lines" >/dev/null
row "naive INSERT ... SELECT from snapshot_rows into the emptied table" "$(ms "INSERT INTO lines SELECT (jsonb_populate_record(NULL::lines, r)).* FROM backupkit.snapshot_rows(1, 'lines') r")"
row "merge, nothing changed" "$(ms "SELECT backupkit.restore_table_from_snapshot(1, 'lines', 'merge')")"
q -c "UPDATE lines SET qty = qty + 1 WHERE order_id % 10 = 0" >/dev/null
row "merge after a 10% UPDATE" "$(ms "SELECT backupkit.restore_table_from_snapshot(1, 'lines', 'merge')")"
q -c "DELETE FROM lines WHERE order_id % 10 = 1" >/dev/null
row "missing after a 10% DELETE" "$(ms "SELECT backupkit.restore_table_from_snapshot(1, 'lines', 'missing')")"
q -c "DELETE FROM lines WHERE order_id % 10 = 2" -c "UPDATE lines SET qty = 0 WHERE order_id % 10 = 3" -c "INSERT INTO lines SELECT order_id, 9, sku, qty, price, at FROM lines WHERE order_id % 10 = 4 AND line = 0" >/dev/null
row "replace after 10% DELETE, 10% UPDATE, 2.5% INSERT" "$(ms "SELECT backupkit.restore_table_from_snapshot(1, 'lines', 'replace')")"
row "dry run of replace, nothing changed" "$(ms "SELECT backupkit.restore_table_from_snapshot(1, 'lines', 'replace', dry_run => true)")"
q -c "UPDATE products SET price = price + 1 WHERE id % 10 = 0" >/dev/null
row "merge of the reference table after a 10% UPDATE" "$(ms "SELECT backupkit.restore_table_from_snapshot(2, 'products', 'merge')")"
q -c "TRUNCATE products CASCADE" >/dev/null
row "replace into the emptied reference table" "$(ms "SELECT backupkit.restore_table_from_snapshot(2, 'products', 'replace')")"

# The writer's pause: single-row updates committed back to back while snapshots of lines run.
for ((i = 0; i < 4000; i++)); do
	echo "BEGIN; UPDATE lines SET qty = qty + 1 WHERE order_id = $((1 + RANDOM % (rows / 4))) AND line = 1; INSERT INTO writer_log DEFAULT VALUES; COMMIT;"
done >"$BK_CITUS_DIR/writer.sql"
psql -X -q -f "$BK_CITUS_DIR/writer.sql" >/dev/null 2>&1 &
writer=$!
sleep 2
for i in 1 2 3; do
	row "snapshot of lines under the writer ($i)" "$(ms "SELECT backupkit.snapshot_tables('{lines}')")"
	sleep 1
done
kill "$writer" 2>/dev/null || true
wait "$writer" 2>/dev/null || true
row "writer: median gap between commits" "$(q -c "SELECT round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)) * 1000) FROM (SELECT at - lag(at) OVER (ORDER BY n) gap FROM writer_log) g WHERE gap IS NOT NULL")"
row "writer: the three longest gaps between commits" "$(q -c "SELECT string_agg(g::text, ', ') FROM (SELECT round(extract(epoch FROM at - lag(at) OVER (ORDER BY n)) * 1000) g FROM writer_log ORDER BY 1 DESC NULLS LAST LIMIT 3) x")"
bk_citus_stop
