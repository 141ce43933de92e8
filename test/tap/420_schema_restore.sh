#!/bin/bash
# restore_snapshot(..., schema => 'missing') undoes migrations that removed things: take pg_dump --schema-only of
# the tables and whole-table checksums before the migration, migrate, restore, and find both identical (dumps
# without comments and SET lines). The issue's reproductions: DROP COLUMN (with a dependent view, mixed with bulk
# DELETE/UPDATE) and DROP TABLE (with a foreign key of an outside table onto it); a dry run changes nothing; a
# role without CREATE on the schema is refused with 42501 and nothing changes; Pagila with every table dropped
# with CASCADE comes back whole.
set -u
ROOT=${BK_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=$("${PG_CONFIG:-pg_config}" --bindir)
A=bk_schema_restore_$$
G=bk_schema_restore_pagila_$$
R=bk_sr_role_$$
WORK=$(mktemp -d /tmp/bk_schema_restore.XXXXXX)
trap '"$BIN/dropdb" --if-exists "$A"; "$BIN/dropdb" --if-exists "$G"; "$BIN/psql" -X -q -d postgres -c "DROP ROLE IF EXISTS $R" 2>/dev/null; rm -rf "$WORK"' EXIT
P() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }
n=0
check() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "# got '$1', expected '$2'"; fi; }
dump() { "$BIN/pg_dump" --schema-only "$@" | grep -v '^--' | grep -v '^SET \|^SELECT pg_catalog.set_config\|^\\restrict\|^\\unrestrict' | grep -v '^$'; }
fingerprint() { P -d "$1" -f "$ROOT/test/datasets/fingerprint.sql" | grep -v '^backupkit\.'; }
same() { # same <label> <file a> <file b>
	local d
	d=$(diff "$2" "$3"); check "$?" 0 "$1"
	if [ -n "$d" ]; then echo "$d" | head -30 | sed 's/^/# /'; fi
}
state() { # state <db> <name>: the dump of the application's tables and their checksums
	dump -d "$1" -N backupkit >"$WORK/$2.sql"
	fingerprint "$1" >"$WORK/$2.fp"
}

echo "1..22"
"$BIN/psql" -X -q -d postgres -c "DROP ROLE IF EXISTS $R" 2>/dev/null
"$BIN/createdb" "$A"
P -d "$A" >/dev/null <<'SQL'
CREATE EXTENSION backupkit;
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, vip boolean NOT NULL DEFAULT false);
COMMENT ON COLUMN customers.vip IS 'very important';
CREATE INDEX customers_vip ON customers (vip) WHERE vip;
CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer REFERENCES customers, amount numeric(10,2) CHECK (amount >= 0),
                     "Odd; name" text DEFAULT 'x');
CREATE INDEX orders_customer ON orders (customer_id);
COMMENT ON TABLE orders IS 'orders of customers';
CREATE TABLE payments (id integer PRIMARY KEY, order_id integer REFERENCES orders ON DELETE CASCADE);
COMMENT ON CONSTRAINT payments_order_id_fkey ON payments IS 'paid order';
CREATE VIEW vip_customers AS SELECT id, name FROM customers WHERE vip;
CREATE VIEW order_totals AS SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id;
INSERT INTO customers SELECT g, 'c' || g, g % 3 = 0 FROM generate_series(1, 200) g;
INSERT INTO orders (customer_id, amount) SELECT 1 + g % 200, g * 1.5 FROM generate_series(1, 1000) g;
INSERT INTO payments SELECT g, g FROM generate_series(1, 100) g;
SQL
sid=$(P -d "$A" -c "SELECT backupkit.snapshot_tables('{customers,orders}')")
state "$A" before

# 1. DROP COLUMN with its dependent view, and bulk changes in the same migration.
P -d "$A" -c "SET client_min_messages = warning" -c "ALTER TABLE customers DROP COLUMN vip CASCADE" \
	-c "DELETE FROM orders WHERE id % 3 = 0 AND id > 100" -c "UPDATE customers SET name = upper(name) WHERE id < 50" >/dev/null
state "$A" migrated
check "$(P -d "$A" -c "SELECT jsonb_array_length(backupkit.restore_snapshot($sid, schema => 'missing', dry_run => true)->'ddl')")" 5 \
	"DROP COLUMN: the dry run reports the statements (column, index, comment, view, owner)"
state "$A" dry
same "DROP COLUMN: the dry run changed no definition" "$WORK/migrated.sql" "$WORK/dry.sql"
same "DROP COLUMN: the dry run changed no row" "$WORK/migrated.fp" "$WORK/dry.fp"
out=$(P -d "$A" -c "SELECT backupkit.restore_snapshot($sid, schema => 'missing')->'tables'->0->'warnings'" 2>&1)
check "$out" "[]" "DROP COLUMN: restored with schema => 'missing', no column skipped"
state "$A" restored
same "DROP COLUMN: pg_dump --schema-only is as before the migration (column, NOT NULL, default, index, comment, view)" "$WORK/before.sql" "$WORK/restored.sql"
same "DROP COLUMN: whole-table checksums are as before the migration" "$WORK/before.fp" "$WORK/restored.fp"
check "$(P -d "$A" -c "SELECT count(*) FROM vip_customers")" 66 "DROP COLUMN: the dependent view reads the restored values"

# 2. DROP TABLE: the outside foreign key of payments goes with it (CASCADE) and comes back.
P -d "$A" -c "SET client_min_messages = warning" -c "DROP TABLE orders CASCADE" >/dev/null
state "$A" migrated
# A role that may use the snapshot and alter the tables (a member of their owner) but lacks CREATE on the
# schema: refused with 42501, nothing changes.
P -d "$A" -c "CREATE ROLE $R LOGIN" -c "GRANT postgres TO $R" -c "REVOKE CREATE ON SCHEMA public FROM pg_database_owner" >/dev/null
err=$(P -d "$A" -U "$R" -c "SELECT backupkit.restore_snapshot($sid, schema => 'missing')" 2>&1)
check "$(echo "$err" | grep -c 'permission denied for schema public')" 1 "DROP TABLE: a role without CREATE on the schema is refused"
echo "$err" | sed 's/^/# /'
P -d "$A" -c "GRANT CREATE ON SCHEMA public TO pg_database_owner" >/dev/null
state "$A" refused
same "DROP TABLE: the refusal changed no definition" "$WORK/migrated.sql" "$WORK/refused.sql"
same "DROP TABLE: the refusal changed no row" "$WORK/migrated.fp" "$WORK/refused.fp"
check "$(P -d "$A" -c "SELECT (r->'tables'->1->>'inserted') || '/' || (r->'tables'->1->>'deleted') FROM backupkit.restore_snapshot($sid, schema => 'missing', dry_run => true) r")" \
	"1000/0" "DROP TABLE: the dry run counts the captured rows of the dropped table as inserted"
check "$(P -d "$A" -c "SELECT to_regclass('orders') IS NULL")" t "DROP TABLE: the dry run left the table dropped"
out=$(P -d "$A" -c "SELECT backupkit.restore_snapshot($sid, schema => 'missing')->>'schema'" 2>&1)
check "$out" "missing" "DROP TABLE: restored with schema => 'missing' (tables NULL includes the dropped table)"
state "$A" restored
same "DROP TABLE: pg_dump --schema-only is as before (table, sequence, keys, outside foreign key, view, comment)" "$WORK/before.sql" "$WORK/restored.sql"
same "DROP TABLE: whole-table checksums are as before" "$WORK/before.fp" "$WORK/restored.fp"

# 2b. ALTER COLUMN TYPE (keep mode): the failed conversion names the column and both types.
P -d "$A" -c "DROP VIEW order_totals" -c "ALTER TABLE orders ALTER COLUMN amount TYPE integer USING amount::integer" >/dev/null
err=$(P -d "$A" -c "SELECT backupkit.restore_snapshot($sid)" 2>&1)
check "$(echo "$err" | grep -c 'column "amount" changed type from numeric(10,2) at capture to integer now')" 1 \
	"ALTER COLUMN TYPE: the failed type input names the column, its captured and its current type"
echo "$err" | sed 's/^/# /'

# 2c. A partitioned table: a partition dropped and a column dropped from the parent (so from every partition).
P -d "$A" >/dev/null <<'SQL'
CREATE TABLE m (id integer, at date NOT NULL, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE m1 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE m2 PARTITION OF m FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
CREATE INDEX m_v ON m (v);
INSERT INTO m SELECT g, '2024-01-01'::date + (g % 59), 'v' || g FROM generate_series(1, 500) g;
SQL
msid=$(P -d "$A" -c "SELECT backupkit.snapshot_tables('{m}')")
state "$A" mbefore
P -d "$A" -c "DROP TABLE m2" -c "ALTER TABLE m DROP COLUMN v" >/dev/null
out=$(P -d "$A" -c "SELECT backupkit.restore_snapshot($msid, schema => 'missing')->>'schema'" 2>&1)
check "$out" "missing" "partitioned: a dropped partition and a dropped column restored with schema => 'missing'"
state "$A" mrestored
same "partitioned: pg_dump --schema-only is as before (partition attached, column, partition indexes)" "$WORK/mbefore.sql" "$WORK/mrestored.sql"
same "partitioned: whole-table checksums are as before" "$WORK/mbefore.fp" "$WORK/mrestored.fp"

# 3. Pagila: every table dropped with CASCADE, one restore brings back every table, view and row.
"$BIN/createdb" "$G"
P -d "$G" -f "$ROOT/test/datasets/pagila/pagila-schema.sql" >/dev/null 2>&1
P -d "$G" -f "$ROOT/test/datasets/pagila/pagila-data.sql" >/dev/null 2>&1
P -d "$G" -c "CREATE EXTENSION backupkit" >/dev/null
gsid=$(P -d "$G" -c "SELECT backupkit.snapshot_tables(array_agg(c.oid::regclass)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = 'public'")
state "$G" before
P -d "$G" -c "SET client_min_messages = warning" -c "DO \$\$ BEGIN EXECUTE (SELECT 'DROP TABLE ' || string_agg(format('%I.%I', schema_name, table_name), ', ') || ' CASCADE' FROM backupkit.snapshot_table WHERE snapshot_id = $gsid); END \$\$" >/dev/null
out=$(P -d "$G" -c "SELECT backupkit.restore_snapshot($gsid, schema => 'missing')->>'schema'" 2>&1)
check "$out" "missing" "Pagila: every table dropped with CASCADE and restored with schema => 'missing'"
state "$G" restored
same "Pagila: pg_dump --schema-only is identical (tables, partitions, views, triggers, keys)" "$WORK/before.sql" "$WORK/restored.sql"
same "Pagila: whole-table checksums are identical" "$WORK/before.fp" "$WORK/restored.fp"
