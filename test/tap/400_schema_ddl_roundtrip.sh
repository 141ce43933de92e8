#!/bin/bash
# snapshot_ddl reproduces what it captured: take a snapshot, pg_dump --schema-only, drop the captured tables
# with CASCADE (dependent views and outside foreign keys go with them), run snapshot_ddl's statements in one
# transaction, pg_dump again and compare (comments and SET lines removed). On a rich hand-written set
# (test/tap/schema_rich.sql: identity, serial, generated, every constraint kind, partial/expression/INCLUDE/
# NULLS NOT DISTINCT indexes, sub-partitions and default partitions, RLS and policies, a trigger, comments,
# column privileges, views, awkward names) and on Pagila.
set -u
ROOT=${BK_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=$("${PG_CONFIG:-pg_config}" --bindir)
A=bk_schema_rich_$$
G=bk_schema_pagila_$$
WORK=${BK_SCHEMA_WORK:-$(mktemp -d /tmp/bk_schema.XXXXXX)}
trap '"$BIN/dropdb" --if-exists "$A"; "$BIN/dropdb" --if-exists "$G"; "$BIN/psql" -X -q -d postgres -c "DROP ROLE IF EXISTS bk_rich_reader" 2>/dev/null; [ -n "${BK_SCHEMA_WORK:-}" ] || rm -rf "$WORK"' EXIT
P() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }
n=0
check() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "# got '$1', expected '$2'"; fi; }
dump() { "$BIN/pg_dump" --schema-only "$@" | grep -v '^--' | grep -v '^SET \|^SELECT pg_catalog.set_config\|^\\restrict\|^\\unrestrict' | grep -v '^$'; }

# Runs every statement of snapshot_ddl($2) in one transaction after dropping the tables of the snapshot.
drop_and_recreate() {
    P -d "$1" <<SQL
BEGIN;
CREATE TEMP TABLE ddl AS SELECT row_number() OVER () AS n, s FROM backupkit.snapshot_ddl($2) s;
DO \$\$
DECLARE
    t text;
BEGIN
    SELECT string_agg(format('%I.%I', schema_name, table_name), ', ') INTO t FROM backupkit.snapshot_table_names;
    SET LOCAL client_min_messages = warning;
    EXECUTE 'DROP TABLE ' || t || ' CASCADE';
    FOR t IN SELECT s FROM ddl ORDER BY n LOOP
        EXECUTE t;
    END LOOP;
END
\$\$;
COMMIT;
SQL
}

echo "1..10"
"$BIN/psql" -X -q -d postgres -c "DROP ROLE IF EXISTS bk_rich_reader" 2>/dev/null
"$BIN/createdb" "$A"
P -d "$A" -c "CREATE EXTENSION backupkit" -f "$ROOT/test/tap/schema_rich.sql" >/dev/null
sid=$(P -d "$A" -c "SELECT backupkit.snapshot_tables(ARRAY['\"sch ema;x\".\"Cust\"\"omers; x\"', '\"sch ema;x\".orders', '\"sch ema;x\".measure']::regclass[])")
# The names the DO block drops, read from the snapshot itself.
P -d "$A" -c "CREATE VIEW backupkit.snapshot_table_names AS SELECT schema_name, table_name FROM backupkit.snapshot_table WHERE snapshot_id = $sid" >/dev/null
dump -d "$A" -n '"sch ema;x"' >"$WORK/rich_before.sql"
seqs_before=$(P -d "$A" -c "SELECT string_agg(c.relname || '=' || coalesce(pg_sequence_last_value(c.oid)::text, 'null'), ',' ORDER BY c.relname) FROM pg_class c WHERE c.relkind = 'S' AND c.relnamespace = '\"sch ema;x\"'::regnamespace")
check "$(P -d "$A" -c "SELECT count(*) > 40 FROM backupkit.snapshot_ddl($sid)")" "t" "snapshot_ddl returns the statements of the rich set"
out=$(drop_and_recreate "$A" "$sid" 2>&1); check "$?" 0 "the statements run after the tables are dropped with CASCADE"; [ -n "$out" ] && echo "$out" | sed 's/^/# /'
dump -d "$A" -n '"sch ema;x"' >"$WORK/rich_after.sql"
check "$(grep -c '^CREATE TABLE' "$WORK/rich_before.sql")" 9 "the rich set's dump has its nine tables"
d=$(diff "$WORK/rich_before.sql" "$WORK/rich_after.sql"); check "$?" 0 "pg_dump --schema-only is identical after the re-creation"; [ -n "$d" ] && echo "$d" | head -40 | sed 's/^/# /'
check "$(P -d "$A" -c "SELECT string_agg(c.relname || '=' || coalesce(pg_sequence_last_value(c.oid)::text, 'null'), ',' ORDER BY c.relname) FROM pg_class c WHERE c.relkind = 'S' AND c.relnamespace = '\"sch ema;x\"'::regnamespace")" "$seqs_before" "owned sequences are back at their captured positions"
check "$(P -d "$A" -c "SELECT count(*) FROM backupkit.snapshot_ddl($sid, '\"sch ema;x\".orders') s WHERE s LIKE 'CREATE TABLE %'")" "1" "snapshot_ddl of one table, named as captured, creates that table only"
# A definition changed by one byte is refused before any DDL is produced.
P -d "$A" -c "UPDATE backupkit.snapshot_table SET definition = jsonb_set(definition, '{relations,0,name}', '\"orders2\"') WHERE snapshot_id = $sid AND table_name = 'orders'" >/dev/null
err=$(P -d "$A" -c "SELECT count(*) FROM backupkit.snapshot_ddl($sid)" 2>&1); check "$(echo "$err" | grep -c 'does not match its checksum')" 1 "a tampered definition is refused"

"$BIN/createdb" "$G"
P -d "$G" -f "$ROOT/test/datasets/pagila/pagila-schema.sql" >/dev/null 2>&1
P -d "$G" -f "$ROOT/test/datasets/pagila/pagila-data.sql" >/dev/null 2>&1
P -d "$G" -c "CREATE EXTENSION backupkit" >/dev/null
gsid=$(P -d "$G" -c "SELECT backupkit.snapshot_tables(array_agg(c.oid::regclass)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = 'public'")
P -d "$G" -c "CREATE VIEW backupkit.snapshot_table_names AS SELECT schema_name, table_name FROM backupkit.snapshot_table WHERE snapshot_id = $gsid" >/dev/null
dump -d "$G" -N backupkit >"$WORK/pagila_before.sql"
out=$(drop_and_recreate "$G" "$gsid" 2>&1); check "$?" 0 "Pagila: every table dropped with CASCADE and re-created from snapshot_ddl"; [ -n "$out" ] && echo "$out" | sed 's/^/# /'
dump -d "$G" -N backupkit >"$WORK/pagila_after.sql"
d=$(diff "$WORK/pagila_before.sql" "$WORK/pagila_after.sql"); check "$?" 0 "Pagila: pg_dump --schema-only is identical (tables, partitions, views, triggers, keys)"; [ -n "$d" ] && echo "$d" | head -40 | sed 's/^/# /'
check "$(P -d "$G" -c "SELECT count(*) FROM pg_views WHERE schemaname = 'public'")" "$(grep -c '^CREATE VIEW' "$WORK/pagila_before.sql")" "Pagila: every dependent view is back"
