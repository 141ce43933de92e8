#!/bin/bash
# restore_snapshot(..., schema => 'exact') makes the captured tables' definitions exactly the captured ones, then
# restores their contents: pg_dump --schema-only of the tables before the migration and after the restore are
# identical (without comments and SET lines), and so are the whole-table checksums. Migrations that ALTER TABLE
# can undo (renames of tables, columns, constraints, indexes and triggers; types; defaults; NOT NULL; storage,
# statistics, options, replica identity, row-level security, owner, privileges, comments; columns, constraints,
# indexes, triggers and policies added since) and those it cannot (a column dropped and added again lands at the
# end: the column order is rebuilt), mixed with bulk DELETE/UPDATE, on plain tables, a partitioned table and
# Pagila; a dry run changes nothing; refusals (values that cannot convert back while rows are kept, no CREATE
# privilege, an outside row that blocks the restore) leave the post-migration state unchanged. Also 'missing' on
# a table that exists (privileges revoked and row-level security switched off since come back) and event
# triggers, which see backupkit's DDL.
set -u
ROOT=${BK_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=$("${PG_CONFIG:-pg_config}" --bindir)
A=bk_schema_exact_$$
G=bk_schema_exact_pagila_$$
R1=bk_se_r1_$$
R2=bk_se_r2_$$
R3=bk_se_r3_$$
WORK=$(mktemp -d /tmp/bk_schema_exact.XXXXXX)
cleanup() {
	"$BIN/dropdb" --if-exists "$A" 2>/dev/null
	"$BIN/dropdb" --if-exists "$G"
	for r in $R1 $R2 $R3; do "$BIN/psql" -X -q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
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
state() { # state <db> <name> [pg_dump options]: the dump of the application's tables and their checksums
	local db=$1 name=$2
	shift 2
	dump -d "$db" -N backupkit "$@" >"$WORK/$name.sql"
	fingerprint "$db" >"$WORK/$name.fp"
}
fresh() { # fresh: an empty database with the extension
	"$BIN/dropdb" --if-exists "$A" 2>/dev/null
	"$BIN/createdb" "$A"
	P -d "$A" -c "CREATE EXTENSION backupkit" >/dev/null
}

echo "1..48"
for r in $R1 $R2 $R3; do "$BIN/psql" -X -q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null; done
P -d postgres -c "CREATE ROLE $R1" -c "CREATE ROLE $R2" -c "CREATE ROLE $R3 LOGIN" >/dev/null

# 1. Column order, renames, types, defaults, additions, mixed with bulk changes.
fresh
P -d "$A" >/dev/null <<'SQL'
CREATE ACCESS METHOD heap_copy TYPE TABLE HANDLER heap_tableam_handler;
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, vip boolean NOT NULL DEFAULT false, note text);
COMMENT ON COLUMN customers.vip IS 'very important';
CREATE INDEX customers_vip ON customers (vip) WHERE vip;
CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer REFERENCES customers, amount numeric(10,2) CHECK (amount >= 0),
                     "Odd; name" text DEFAULT 'x');
CREATE INDEX orders_customer ON orders (customer_id);
CREATE VIEW vip_customers AS SELECT id, name FROM customers WHERE vip;
CREATE VIEW order_totals AS SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id;
CREATE VIEW first_customers AS SELECT id FROM customers WHERE id < 10;
CREATE MATERIALIZED VIEW customer_count AS SELECT count(*) AS n FROM customers;
INSERT INTO customers SELECT g, 'c' || g, g % 3 = 0, 'n' || g FROM generate_series(1, 200) g;
INSERT INTO orders (customer_id, amount) SELECT 1 + g % 200, g * 1.5 FROM generate_series(1, 1000) g;
SQL
sid=$(P -d "$A" -c "SELECT backupkit.snapshot_tables('{customers,orders}')")
state "$A" before
P -d "$A" >/dev/null <<'SQL'
SET client_min_messages = warning;
ALTER TABLE customers DROP COLUMN vip CASCADE;
ALTER TABLE customers ADD COLUMN vip boolean;
ALTER TABLE customers RENAME COLUMN name TO full_name;
ALTER TABLE customers ADD COLUMN added integer DEFAULT 5;
DROP VIEW order_totals;
ALTER TABLE orders ALTER COLUMN amount TYPE integer USING amount::integer;
ALTER SEQUENCE orders_id_seq INCREMENT BY 5 CACHE 3 MAXVALUE 99999;
ALTER TABLE orders SET ACCESS METHOD heap_copy;
DROP MATERIALIZED VIEW customer_count;
CREATE MATERIALIZED VIEW customer_count AS SELECT count(*) AS n, 1 AS extra FROM customers;
ALTER TABLE orders RENAME TO orders2;
ALTER INDEX orders_customer RENAME TO oc;
CREATE INDEX extra ON orders2 (amount);
ALTER TABLE orders2 ALTER COLUMN "Odd; name" SET DEFAULT 'y';
COMMENT ON TABLE customers IS 'added comment';
GRANT SELECT ON customers TO PUBLIC;
ALTER VIEW first_customers RENAME TO firsts;
CREATE OR REPLACE VIEW firsts AS SELECT id FROM customers WHERE id < 20;
DELETE FROM orders2 WHERE id % 3 = 0;
UPDATE customers SET full_name = upper(full_name), vip = true WHERE id < 50;
SQL
state "$A" migrated
check "$(P -d "$A" -c "SELECT captured || ' -> ' || current FROM backupkit.schema_diff($sid) WHERE object_name = 'vip' AND change = 'dropped and added again'")" \
	"position 3 -> position 4" "order and renames: schema_diff shows the column dropped and added again at another position"
out=$(P -d "$A" -c "SELECT r->'ddl' @> '[\"ALTER TABLE public.orders2 RENAME TO orders\"]' AND r->'tables'->0->'ddl' @> '[\"ALTER TABLE public.customers ADD COLUMN vip boolean\"]'
                       AND NOT r->'tables'->0->'ddl' @> '[\"ALTER TABLE public.orders2 RENAME TO orders\"]'
                   FROM backupkit.restore_snapshot($sid, schema => 'exact', dry_run => true) r")
check "$out" t "order and renames: the dry run reports the statements, per table too"
state "$A" dry
same "order and renames: the dry run changed no definition" "$WORK/migrated.sql" "$WORK/dry.sql"
same "order and renames: the dry run changed no row" "$WORK/migrated.fp" "$WORK/dry.fp"
check "$(P -d "$A" -c "SELECT backupkit.restore_snapshot($sid, schema => 'exact')->>'schema'")" exact \
	"order and renames: restored with schema => 'exact'"
state "$A" restored
same "order and renames: pg_dump --schema-only is as before (column order, names, types, defaults, indexes, views renamed, changed or dropped, comment, grant)" "$WORK/before.sql" "$WORK/restored.sql"
same "order and renames: whole-table checksums are as before" "$WORK/before.fp" "$WORK/restored.fp"
check "$(P -d "$A" -c "SELECT count(*) FROM vip_customers")" 66 "order and renames: the re-created view reads the restored values"
check "$(P -d "$A" -c "SELECT count(*) FROM backupkit.schema_diff($sid)")" 0 "order and renames: schema_diff finds no difference left"
check "$(P -d "$A" -c "SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'orders'::regclass")" heap \
	"order and renames: the table's access method is the captured one again"

# 2. Constraints, NOT NULL, options, replica identity, row-level security, policies, triggers, privileges,
#    owner, identity, sequences, storage, statistics, comments.
fresh
P -d "$A" >/dev/null <<SQL
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN NEW.updated := now(); RETURN NEW; END \$\$;
CREATE TABLE items (id serial PRIMARY KEY, code text NOT NULL UNIQUE, qty integer DEFAULT 1 CHECK (qty >= 0),
                    ident bigint GENERATED BY DEFAULT AS IDENTITY, label varchar(20), updated timestamptz,
                    owner_name name DEFAULT current_user, amount numeric(8,2) DEFAULT 0) WITH (fillfactor = 80);
ALTER TABLE items ALTER COLUMN label SET STORAGE MAIN;
ALTER TABLE items ALTER COLUMN qty SET STATISTICS 500;
COMMENT ON CONSTRAINT items_qty_check ON items IS 'no negative';
CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
CREATE POLICY items_own ON items USING (owner_name = current_user);
GRANT SELECT (code, qty) ON items TO $R1;
GRANT SELECT, INSERT ON items TO $R2;
CREATE TABLE lines (id integer PRIMARY KEY, item_id integer REFERENCES items ON DELETE CASCADE, n integer);
INSERT INTO items (code, qty, label) SELECT 'c' || g, g, 'l' || g FROM generate_series(1, 300) g;
INSERT INTO lines SELECT g, 1 + g % 300, g FROM generate_series(1, 600) g;
SQL
sid=$(P -d "$A" -c "SELECT backupkit.snapshot_tables('{items,lines}')")
state "$A" before
P -d "$A" >/dev/null <<SQL
SET client_min_messages = warning;
ALTER TABLE items RENAME CONSTRAINT items_qty_check TO qty_positive;
ALTER TABLE items DROP COLUMN label;
ALTER TABLE items ADD COLUMN label text;
ALTER TABLE items ALTER COLUMN qty TYPE bigint;
ALTER TABLE items ALTER COLUMN amount TYPE text;
UPDATE items SET amount = 'many' WHERE id = 5;
ALTER TABLE items ALTER COLUMN code DROP NOT NULL;
UPDATE items SET updated = now();
ALTER TABLE items ALTER COLUMN updated SET NOT NULL;
ALTER TABLE items RESET (fillfactor);
ALTER TABLE items SET (autovacuum_enabled = false);
ALTER TABLE items REPLICA IDENTITY FULL;
ALTER TABLE items DISABLE ROW LEVEL SECURITY;
ALTER TABLE items FORCE ROW LEVEL SECURITY;
DROP POLICY items_own ON items;
CREATE POLICY other ON items USING (true);
ALTER TRIGGER items_touch ON items RENAME TO t2;
ALTER TABLE items DISABLE TRIGGER t2;
REVOKE SELECT (code) ON items FROM $R1;
REVOKE INSERT ON items FROM $R2;
ALTER TABLE items OWNER TO $R1;
ALTER TABLE items ALTER COLUMN ident DROP IDENTITY;
ALTER TABLE items ALTER COLUMN id DROP DEFAULT;
DROP SEQUENCE items_id_seq;
ALTER TABLE items ADD CONSTRAINT newcheck CHECK (id > 0);
ALTER TABLE items ALTER COLUMN label SET STORAGE EXTERNAL;
COMMENT ON CONSTRAINT qty_positive ON items IS 'changed';
DELETE FROM lines WHERE id > 500;
INSERT INTO items (id, code, qty, updated, ident) VALUES (1000, 'new', 3, now(), 1000);
SQL
state "$A" migrated
err=$(P -d "$A" -c "SELECT backupkit.restore_snapshot($sid, mode => 'merge', schema => 'exact')" 2>&1)
check "$(echo "$err" | grep -c 'column "amount" of table "public.items" cannot be converted back to its captured type numeric(8,2)')" 1 \
	"attributes: values that do not convert back are refused while merge keeps rows"
echo "$err" | sed 's/^/# /'
state "$A" refused
same "attributes: the refusal changed no definition" "$WORK/migrated.sql" "$WORK/refused.sql"
same "attributes: the refusal changed no row" "$WORK/migrated.fp" "$WORK/refused.fp"
check "$(P -d "$A" -c "SELECT jsonb_array_length(backupkit.restore_snapshot($sid, schema => 'exact')->'ddl_after_contents')")" 3 \
	"attributes: restored with schema => 'exact' and mode => 'replace' (NOT NULL and identity after the contents)"
state "$A" restored
same "attributes: pg_dump --schema-only is as before (constraints, NOT NULL, options, RLS, policies, triggers, privileges, owner, identity, sequence)" "$WORK/before.sql" "$WORK/restored.sql"
same "attributes: whole-table checksums are as before" "$WORK/before.fp" "$WORK/restored.fp"
check "$(P -d "$A" -c "SELECT count(*) FROM backupkit.schema_diff($sid)")" 0 "attributes: schema_diff finds no difference left"

# 3. merge keeps rows added since, and their values in moved and retyped columns.
P -d "$A" >/dev/null <<SQL
SET client_min_messages = warning;
ALTER TABLE items DROP COLUMN label;
ALTER TABLE items ADD COLUMN label text;
ALTER TABLE items ALTER COLUMN qty TYPE bigint;
UPDATE items SET qty = qty + 1, label = 'changed' WHERE id <= 10;
INSERT INTO items (id, code, qty, label) VALUES (1000, 'new', 3, 'kept');
SQL
out=$(P -d "$A" -c "SELECT (r->'tables'->0->>'inserted') || '/' || (r->'tables'->0->>'updated') FROM backupkit.restore_snapshot($sid, mode => 'merge', schema => 'exact') r")
check "$out" 0/300 "merge: every captured row updated (the dropped column's values come back)"
state "$A" merged
same "merge: pg_dump --schema-only is as before" "$WORK/before.sql" "$WORK/merged.sql"
check "$(P -d "$A" -c "SELECT qty || ':' || label FROM items WHERE id = 1000")" "3:kept" "merge: a row added since keeps its moved and retyped values"

# 4. A partitioned table: a partition dropped, one detached, one added; a column dropped and added again, one
#    retyped and renamed; an index added, a partition's index renamed.
fresh
P -d "$A" >/dev/null <<'SQL'
CREATE TABLE m (id integer, at date NOT NULL, v text, w integer DEFAULT 0, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE m1 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE m2 PARTITION OF m FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
CREATE TABLE m3 PARTITION OF m FOR VALUES FROM ('2024-03-01') TO ('2024-04-01');
CREATE INDEX m_v ON m (v);
INSERT INTO m SELECT g, '2024-01-01'::date + (g % 80), 'v' || g, g FROM generate_series(1, 500) g;
SQL
sid=$(P -d "$A" -c "SELECT backupkit.snapshot_tables('{m}')")
state "$A" before -T m4
P -d "$A" >/dev/null <<'SQL'
ALTER TABLE m DROP COLUMN v;
ALTER TABLE m ADD COLUMN v text;
ALTER TABLE m ALTER COLUMN w TYPE bigint;
ALTER TABLE m RENAME COLUMN w TO ww;
DROP TABLE m2;
ALTER TABLE m DETACH PARTITION m3;
CREATE TABLE m4 PARTITION OF m FOR VALUES FROM ('2024-05-01') TO ('2024-06-01');
INSERT INTO m4 VALUES (1, '2024-05-05', 1, 'new');
CREATE INDEX m_extra ON m (ww);
ALTER INDEX m1_pkey RENAME TO m1_key_renamed;
DELETE FROM m WHERE id % 7 = 0;
SQL
out=$(P -d "$A" -c "SELECT r->>'schema_warnings' FROM backupkit.restore_snapshot($sid, schema => 'exact') r")
check "$out" '["partition public.m4 was attached to public.m since the capture; schema => '"'exact'"' detached it (its rows stay in it)"]' \
	"partitioned: the partition added since is detached, with a warning"
state "$A" restored -T m4
same "partitioned: pg_dump --schema-only is as before (partitions re-created and re-attached, columns, indexes)" "$WORK/before.sql" "$WORK/restored.sql"
grep -v '^public\.m4|' "$WORK/restored.fp" >"$WORK/restored_wo_m4.fp"
same "partitioned: whole-table checksums are as before" "$WORK/before.fp" "$WORK/restored_wo_m4.fp"
check "$(P -d "$A" -c "SELECT count(*) FROM m4")" 1 "partitioned: the detached partition keeps its rows"

# 4b. The first column dropped and added again (every column moves): extended statistics on the moved columns
#     (no part of a captured definition) are kept; identity, serial and generated columns, mode => 'merge'.
fresh
P -d "$A" >/dev/null <<'SQL'
CREATE TABLE st (id integer PRIMARY KEY, a integer, s serial, i bigint GENERATED ALWAYS AS IDENTITY, g integer GENERATED ALWAYS AS (a * 2) STORED);
CREATE STATISTICS st_ai (ndistinct, dependencies) ON a, i FROM st;
INSERT INTO st (id, a) SELECT x, x % 10 FROM generate_series(1, 100) x;
SQL
sid=$(P -d "$A" -c "SELECT backupkit.snapshot_tables('{st}')")
state "$A" before
P -d "$A" -c "ALTER TABLE st DROP COLUMN id" -c "ALTER TABLE st ADD COLUMN id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY" \
	-c "UPDATE st SET a = a + 1 WHERE id <= 10" >/dev/null
check "$(P -d "$A" -c "SELECT (r->'tables'->0->>'updated') FROM backupkit.restore_snapshot($sid, schema => 'exact', mode => 'merge') r")" 10 \
	"every column moved: restored with mode => 'merge' (the ten changed rows updated)"
state "$A" restored
same "every column moved: pg_dump --schema-only is as before (statistics, identity, serial, generated)" "$WORK/before.sql" "$WORK/restored.sql"
same "every column moved: whole-table checksums are as before" "$WORK/before.fp" "$WORK/restored.fp"

# 5. Refusals: an outside row that blocks the restore; a role without CREATE on the schema.
fresh
P -d "$A" >/dev/null <<SQL
CREATE TABLE orders (id integer PRIMARY KEY, amount numeric(10,2));
INSERT INTO orders SELECT g, g FROM generate_series(1, 100) g;
GRANT postgres TO $R3;
SQL
sid=$(P -d "$A" -c "SELECT backupkit.snapshot_tables('{orders}')")
P -d "$A" >/dev/null <<'SQL'
ALTER TABLE orders ADD COLUMN note text;
ALTER TABLE orders ALTER COLUMN amount TYPE integer;
INSERT INTO orders VALUES (101, 1, 'new');
CREATE TABLE refunds (order_id integer REFERENCES orders ON DELETE RESTRICT);
INSERT INTO refunds VALUES (101);
SQL
state "$A" migrated
err=$(P -d "$A" -c "SELECT backupkit.restore_snapshot($sid, schema => 'exact')" 2>&1)
check "$(echo "$err" | grep -c 'would remove rows referenced from table "public.refunds"')" 1 "refusal: an outside row referencing a row added since blocks the restore, named"
echo "$err" | head -5 | sed 's/^/# /'
state "$A" refused
same "refusal (outside row): no definition changed" "$WORK/migrated.sql" "$WORK/refused.sql"
same "refusal (outside row): no row changed" "$WORK/migrated.fp" "$WORK/refused.fp"
P -d "$A" -c "DROP TABLE refunds" -c "DROP TABLE orders" -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC" \
	-c "REVOKE CREATE ON SCHEMA public FROM pg_database_owner" >/dev/null
state "$A" migrated
err=$(P -d "$A" -U "$R3" -c "SELECT backupkit.restore_snapshot($sid, schema => 'exact')" 2>&1)
check "$(echo "$err" | grep -c 'permission denied for schema public')" 1 "refusal: a role without CREATE on the schema is refused"
echo "$err" | head -3 | sed 's/^/# /'
state "$A" refused
same "refusal (no CREATE): no definition changed" "$WORK/migrated.sql" "$WORK/refused.sql"
same "refusal (no CREATE): no row changed" "$WORK/migrated.fp" "$WORK/refused.fp"

# 6. schema => 'missing' on a table that still exists: privileges revoked and row-level security switched off
#    since the capture count as removed and come back; what was granted since stays. Event triggers fire for
#    backupkit's DDL as for any DDL (under backupkit's search_path, pg_catalog, pg_temp).
fresh
P -d "$A" >/dev/null <<SQL
CREATE TABLE acc (id integer PRIMARY KEY, owner_name name, secret text);
ALTER TABLE acc ENABLE ROW LEVEL SECURITY;
ALTER TABLE acc FORCE ROW LEVEL SECURITY;
CREATE POLICY acc_own ON acc USING (owner_name = current_user);
GRANT SELECT, UPDATE ON acc TO $R1 WITH GRANT OPTION;
GRANT SELECT (id, owner_name) ON acc TO $R2;
SET ROLE $R1;
GRANT SELECT ON acc TO $R2;
RESET ROLE;
INSERT INTO acc SELECT g, 'u' || g, 's' || g FROM generate_series(1, 20) g;
CREATE TABLE ddl_log (tag text, object text);
GRANT INSERT ON ddl_log TO PUBLIC;
CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
BEGIN INSERT INTO public.ddl_log SELECT command_tag, object_identity FROM pg_event_trigger_ddl_commands(); END \$\$;
SQL
sid=$(P -d "$A" -c "SELECT backupkit.snapshot_tables('{acc}')")
state "$A" before -T ddl_log
P -d "$A" >/dev/null <<SQL
ALTER TABLE acc DISABLE ROW LEVEL SECURITY;
ALTER TABLE acc NO FORCE ROW LEVEL SECURITY;
DROP POLICY acc_own ON acc;
REVOKE UPDATE ON acc FROM $R1 CASCADE;
REVOKE GRANT OPTION FOR SELECT ON acc FROM $R1 CASCADE;
REVOKE SELECT (owner_name) ON acc FROM $R2;
GRANT INSERT ON acc TO $R2;
CREATE EVENT TRIGGER bk_se_log ON ddl_command_end EXECUTE FUNCTION log_ddl();
SQL
check "$(P -d "$A" -c "SELECT backupkit.restore_snapshot($sid, schema => 'missing')->>'schema'")" missing \
	"missing: restored a table that exists with schema => 'missing'"
P -d "$A" -c "DROP EVENT TRIGGER bk_se_log" >/dev/null
state "$A" restored -T ddl_log
grep -v "GRANT INSERT ON TABLE public.acc TO $R2;" "$WORK/restored.sql" >"$WORK/restored_wo_insert.sql"
same "missing: revoked privileges (one granted by a role other than the owner, still by that role), row-level security and the policy are back (pg_dump --schema-only, apart from the grant added since)" "$WORK/before.sql" "$WORK/restored_wo_insert.sql"
check "$(grep -c "GRANT INSERT ON TABLE public.acc TO $R2;" "$WORK/restored.sql")" 1 "missing: a privilege granted since stays"
check "$(P -d "$A" -c "SELECT string_agg(DISTINCT tag, ',' ORDER BY tag) FROM ddl_log")" \
	"ALTER TABLE,CREATE POLICY,GRANT" "missing: event triggers saw backupkit's DDL (run under its search_path: the function names its table)"

# 7. Legacy inheritance: a child dropped, and another that stopped inheriting, come back with 'missing'.
fresh
P -d "$A" >/dev/null <<'SQL'
CREATE TABLE vehicle (id integer PRIMARY KEY, name text NOT NULL, CHECK (id > 0));
CREATE TABLE car (seats integer DEFAULT 4, CHECK (seats > 0)) INHERITS (vehicle);
CREATE TABLE boat (length numeric) INHERITS (vehicle);
INSERT INTO car SELECT g, 'car' || g, 2 + g % 5 FROM generate_series(1, 30) g;
INSERT INTO boat SELECT g, 'boat' || g, g * 1.5 FROM generate_series(100, 110) g;
SQL
sid=$(P -d "$A" -c "SELECT backupkit.snapshot_tables('{car,boat}')")
state "$A" before -T boat
P -d "$A" -c "DROP TABLE car" -c "ALTER TABLE boat NO INHERIT vehicle" -c "DELETE FROM boat WHERE id > 105" >/dev/null
check "$(P -d "$A" -c "SELECT backupkit.restore_snapshot($sid, schema => 'missing')->'ddl' @> '[\"ALTER TABLE public.boat INHERIT public.vehicle\"]'")" t \
	"inheritance: restored with schema => 'missing' (the child re-created INHERITS its parent, the other inherits again)"
state "$A" restored -T boat
same "inheritance: pg_dump --schema-only is as before (boat left out: NO INHERIT made its columns local, which INHERIT keeps)" "$WORK/before.sql" "$WORK/restored.sql"
same "inheritance: whole-table checksums are as before" "$WORK/before.fp" "$WORK/restored.fp"
check "$(P -d "$A" -c "SELECT count(*) FROM vehicle")" 41 "inheritance: the parent sees both children's rows again"

# 7b. A table that started inheriting since (its parent's column added to it first): 'exact' leaves that parent
#     and drops the column, as captured.
fresh
P -d "$A" >/dev/null <<'SQL'
CREATE TABLE plain (id integer PRIMARY KEY, name text);
INSERT INTO plain SELECT g, 'p' || g FROM generate_series(1, 20) g;
SQL
sid=$(P -d "$A" -c "SELECT backupkit.snapshot_tables('{plain}')")
state "$A" before
P -d "$A" -c "CREATE TABLE tagged (tag text)" -c "ALTER TABLE plain ADD COLUMN tag text" -c "ALTER TABLE plain INHERIT tagged" \
	-c "UPDATE plain SET tag = 'x', name = upper(name) WHERE id < 5" >/dev/null
check "$(P -d "$A" -c "SELECT backupkit.restore_snapshot($sid, schema => 'exact')->'ddl' @> '[\"ALTER TABLE public.plain NO INHERIT public.tagged\"]'")" t \
	"inheritance: 'exact' leaves a parent added since (NO INHERIT)"
P -d "$A" -c "DROP TABLE tagged" >/dev/null
state "$A" restored
same "inheritance: after 'exact', pg_dump --schema-only is as before (the parent's column gone)" "$WORK/before.sql" "$WORK/restored.sql"
same "inheritance: after 'exact', whole-table checksums are as before" "$WORK/before.fp" "$WORK/restored.fp"

# 8. Pagila: a migration of many kinds at once (table and column renamed, column dropped and added again, types,
#    a table dropped with CASCADE, index and column added, constraint renamed, default dropped, bulk changes).
"$BIN/createdb" "$G"
P -d "$G" -f "$ROOT/test/datasets/pagila/pagila-schema.sql" >/dev/null 2>&1
P -d "$G" -f "$ROOT/test/datasets/pagila/pagila-data.sql" >/dev/null 2>&1
P -d "$G" -c "CREATE EXTENSION backupkit" >/dev/null
gsid=$(P -d "$G" -c "SELECT backupkit.snapshot_tables(array_agg(c.oid::regclass)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = 'public'")
state "$G" before
P -d "$G" >/dev/null <<'SQL'
SET client_min_messages = warning;
ALTER TABLE film RENAME TO movie;
ALTER TABLE movie RENAME COLUMN title TO name;
DROP VIEW customer_list, staff_list;
ALTER TABLE address ALTER COLUMN phone TYPE varchar(40);
ALTER TABLE customer DROP COLUMN email CASCADE;
ALTER TABLE customer ADD COLUMN email varchar(100);
ALTER TABLE actor ADD COLUMN nickname text;
CREATE INDEX actor_nick ON actor (nickname);
DROP TABLE film_actor CASCADE;
DROP MATERIALIZED VIEW rental_by_category;
DROP VIEW sales_by_film_category, sales_by_store;
ALTER TABLE payment ALTER COLUMN amount TYPE numeric(7,2);
ALTER TABLE rental RENAME CONSTRAINT rental_staff_id_fkey TO rental_staff_fk;
ALTER TABLE staff ALTER COLUMN active DROP DEFAULT;
DELETE FROM payment WHERE payment_id % 5 = 0;
UPDATE customer SET active = 0 WHERE customer_id < 100;
SQL
check "$(P -d "$G" -c "SELECT backupkit.restore_snapshot($gsid, schema => 'exact')->>'schema'")" exact "Pagila: restored with schema => 'exact'"
state "$G" restored
same "Pagila: pg_dump --schema-only is identical (tables, partitions, views, materialized view, triggers, keys)" "$WORK/before.sql" "$WORK/restored.sql"
same "Pagila: whole-table checksums are identical" "$WORK/before.fp" "$WORK/restored.fp"
check "$(P -d "$G" -c "SELECT count(*) FROM backupkit.schema_diff($gsid)")" 0 "Pagila: schema_diff finds no difference left"
