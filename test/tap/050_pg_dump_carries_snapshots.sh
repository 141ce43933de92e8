#!/usr/bin/env bash
# The storage tables are extension configuration tables (pg_extension_config_dump): pg_dump of a database
# carries its snapshots, and after pg_restore into another database they validate and restore there.
set -u
BIN=$("${PG_CONFIG:-pg_config}" --bindir)
A=bk_dump_src_$$
B=bk_dump_dst_$$
DUMP=$(mktemp /tmp/bk_dump.XXXXXX)
trap '"$BIN/dropdb" --if-exists "$A"; "$BIN/dropdb" --if-exists "$B"; rm -f "$DUMP"' EXIT
P() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }
n=0
check() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "# got '$1', expected '$2'"; fi; }
echo "1..5"
"$BIN/createdb" "$A"
P -d "$A" <<'SQL'
CREATE EXTENSION backupkit;
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric);
INSERT INTO items SELECT i, 'item ' || i, i * 1.25 FROM generate_series(1, 5000) i;
SQL
sid=$(P -d "$A" -c "SELECT backupkit.snapshot_tables('{items}', 'dumped')")
sum_a=$(P -d "$A" -c "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM items t")
"$BIN/pg_dump" -Fc -d "$A" -f "$DUMP"
"$BIN/createdb" "$B"
"$BIN/pg_restore" -d "$B" "$DUMP" 2>"$DUMP.err"
check "$?" 0 "pg_restore of the dump succeeds"
check "$(P -d "$B" -c "SELECT label FROM backupkit.snapshots WHERE id = $sid")" "dumped" "the snapshot came along"
check "$(P -d "$B" -c "SELECT (backupkit.validate_snapshot_integrity($sid)->>'valid')")" "true" "it validates in the new database"
P -d "$B" -c "DELETE FROM items WHERE id % 2 = 0; SELECT backupkit.restore_snapshot($sid)" >/dev/null
check "$(P -d "$B" -c "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM items t")" "$sum_a" "and restores the table identically"
next=$(P -d "$B" -c "SELECT backupkit.snapshot_tables('{items}')")
check "$([ "$next" -gt "$sid" ] && echo yes)" "yes" "new snapshot ids continue after the restored ones"
rm -f "$DUMP.err"
