#!/usr/bin/env bash
# Export a snapshot from database A to a client file with \copy, import it into database B as an ordinary
# role, and prove it is the same snapshot: equal per-table checksums, a restore in B gives the same table md5
# as A; damaged, truncated and reordered input is rejected and leaves nothing behind.
set -u
A=bk_tap_300_a
B=bk_tap_300_b
ROLE=bk_tap_300_user
WORK=$(mktemp -d)
export PGOPTIONS="-c client_min_messages=warning"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At)
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3 (got '$1', want '$2')"; fi; }
cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $A WITH (FORCE)" -c "DROP DATABASE IF EXISTS $B WITH (FORCE)" \
        -c "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "1..13"
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $A WITH (FORCE)" -c "DROP DATABASE IF EXISTS $B WITH (FORCE)" \
    -c "DROP ROLE IF EXISTS $ROLE" -c "CREATE ROLE $ROLE LOGIN" -c "CREATE DATABASE $A OWNER $ROLE" \
    -c "CREATE DATABASE $B OWNER $ROLE" >/dev/null
for db in $A $B; do
    "${PSQL[@]}" -d $db -c "CREATE EXTENSION backupkit" -c "GRANT USAGE ON SCHEMA backupkit TO $ROLE" >/dev/null
done

SCHEMA="CREATE TABLE public.orders (id bigint PRIMARY KEY, customer text, amount numeric(12,2), placed timestamptz, note text);
CREATE TABLE public.\"Odd Name\" (k text PRIMARY KEY, v jsonb);"
"${PSQL[@]}" -U $ROLE -d $A >/dev/null <<SQL
$SCHEMA
INSERT INTO public.orders SELECT g, 'c' || (g % 97), g * 1.25, '2024-01-01'::timestamptz + g * interval '1 minute',
       CASE WHEN g % 5000 = 0 THEN repeat(md5(g::text), 40000) WHEN g % 7 = 0 THEN NULL ELSE md5(g::text) END
  FROM generate_series(1, 60000) g;
INSERT INTO public."Odd Name" SELECT 'k' || g, jsonb_build_object('g', g, 'q', 'it''s') FROM generate_series(1, 500) g;
SQL
sid=$("${PSQL[@]}" -U $ROLE -d $A -c "SELECT backupkit.snapshot_tables(ARRAY['public.orders', 'public.\"Odd Name\"']::regclass[], 'to-move')")

# The round trip of doc/export-format.md.
"${PSQL[@]}" -U $ROLE -d $A -c "\\copy (SELECT n, f FROM backupkit.export_snapshot($sid) WITH ORDINALITY AS e(f, n)) TO '$WORK/frames.tsv'"
frames=$(wc -l < "$WORK/frames.tsv")
ok "$([ "$frames" -ge 5 ] && echo yes)" "yes" "export wrote $frames frames"
maxlen=$("${PSQL[@]}" -U $ROLE -d $A -c "SELECT max(length(f)) <= 4 * 1024 * 1024 FROM backupkit.export_snapshot($sid) f")
ok "$maxlen" "t" "no frame is larger than 4 MB"

"${PSQL[@]}" -U $ROLE -d $B -c "CREATE TABLE staged_frames (n bigint, f bytea)" \
    -c "\\copy staged_frames FROM '$WORK/frames.tsv'" >/dev/null
newid=$("${PSQL[@]}" -U $ROLE -d $B -c "SELECT backupkit.import_snapshot(f ORDER BY n) FROM staged_frames")
ok "$([ -n "$newid" ] && echo yes)" "yes" "import returned snapshot id $newid"
ok "$("${PSQL[@]}" -d $B -c "SELECT created_by_name || '/' || status || '/' || label FROM backupkit.snapshot WHERE snapshot_id = $newid")" \
    "$ROLE/complete/to-move" "the imported snapshot is owned by the importing role and complete"

contents="SELECT string_agg(table_name || ':' || rows || ':' || chunks || ':' || checksum, ' ' ORDER BY table_name) FROM backupkit.snapshot_contents"
ca=$("${PSQL[@]}" -U $ROLE -d $A -c "$contents($sid)")
cb=$("${PSQL[@]}" -U $ROLE -d $B -c "$contents($newid)")
ok "$cb" "$([ -n "$ca" ] && echo "$ca")" "per-table rows, chunks and checksums are equal"

"${PSQL[@]}" -U $ROLE -d $B >/dev/null <<SQL
$SCHEMA
SELECT backupkit.restore_table_from_snapshot($newid, 'public.orders');
SELECT backupkit.restore_table_from_snapshot($newid, 'public."Odd Name"');
SQL
md5q="SELECT md5(string_agg(o::text, '|' ORDER BY id)) FROM public.orders o"
ok "$("${PSQL[@]}" -U $ROLE -d $B -c "$md5q")" "$("${PSQL[@]}" -U $ROLE -d $A -c "$md5q")" "restored orders in B equal A (md5)"
md5q="SELECT md5(string_agg(o::text, '|' ORDER BY k)) FROM public.\"Odd Name\" o"
ok "$("${PSQL[@]}" -U $ROLE -d $B -c "$md5q")" "$("${PSQL[@]}" -U $ROLE -d $A -c "$md5q")" "restored \"Odd Name\" in B equal A (md5)"

# Damaged input: nothing is left behind.
count="SELECT (SELECT count(*) FROM backupkit.snapshot) || '/' || (SELECT count(*) FROM backupkit.snapshot_chunk) || '/' || (SELECT count(*) FROM backupkit.snapshot_table)"
before=$("${PSQL[@]}" -d $B -c "$count")
try() { "${PSQL[@]}" -U $ROLE -d $B -c "$1" 2>&1 | sed -n 's/^ERROR:  //p' | head -1; }
e1=$(try "SELECT backupkit.import_snapshot(f ORDER BY n) FROM staged_frames WHERE n < (SELECT max(n) FROM staged_frames)")
e2=$(try "SELECT backupkit.import_snapshot(CASE WHEN n = 3 THEN set_byte(f, 40, get_byte(f, 40) # 4) ELSE f END ORDER BY n) FROM staged_frames")
e3=$(try "SELECT backupkit.import_snapshot(f ORDER BY CASE WHEN n = 3 THEN 4 WHEN n = 4 THEN 3 ELSE n END) FROM staged_frames")
ok "$e1|$e2|$e3" "export stream is truncated|checksum mismatch in export frame 2|export frame 3 is out of order" \
    "truncated, corrupted and reordered input is rejected"
ok "$("${PSQL[@]}" -d $B -c "$count")" "$([ "$before" = 1/2/2 ] || [ "${before%%/*}" = 1 ] && echo "$before")" "rejected imports leave no snapshot, table entry or chunk behind"

# An import by another, unrelated role is not visible to the first one's peers and vice versa.
ok "$("${PSQL[@]}" -d $B -c "SELECT count(*) FROM backupkit.operations WHERE operation = 'import' AND outcome = 'success'")" "1" \
    "the import is in the operation log"
ok "$("${PSQL[@]}" -d $A -c "SELECT count(*) FROM backupkit.operations WHERE operation = 'export' AND snapshot_id = $sid")" "2" \
    "the exports are in the operation log"

# A chunk larger than a frame (uncompressed, one 6 MB row) travels in chunk_part frames.
"${PSQL[@]}" -U $ROLE -d $A >/dev/null <<'SQL'
CREATE TABLE public.wide (id integer PRIMARY KEY, t text);
INSERT INTO public.wide VALUES (1, repeat('0123456789abcdef', 6 * 65536)), (2, 'small');
SQL
wid=$("${PSQL[@]}" -U $ROLE -d $A -c "SELECT backupkit.snapshot_tables(ARRAY['public.wide'::regclass], 'wide', 'none')")
"${PSQL[@]}" -U $ROLE -d $A -c "\\copy (SELECT n, f FROM backupkit.export_snapshot($wid) WITH ORDINALITY AS e(f, n)) TO '$WORK/wide.tsv'"
ok "$("${PSQL[@]}" -U $ROLE -d $A -c "SELECT count(*) FILTER (WHERE get_byte(f, 6) = 4) > 0 AND max(length(f)) <= 4194304 FROM backupkit.export_snapshot($wid) f")" \
    "t" "a chunk larger than a frame is split into chunk_part frames"
wnew=$("${PSQL[@]}" -U $ROLE -d $B -c "CREATE TABLE public.wide (id integer PRIMARY KEY, t text)" -c "TRUNCATE staged_frames" \
    -c "\\copy staged_frames FROM '$WORK/wide.tsv'" -c "SELECT backupkit.import_snapshot(f ORDER BY n) FROM staged_frames")
"${PSQL[@]}" -U $ROLE -d $B -c "SELECT backupkit.restore_table_from_snapshot($wnew, 'public.wide')" >/dev/null
md5q="SELECT md5(string_agg(w::text, '|' ORDER BY id)) FROM public.wide w"
ok "$("${PSQL[@]}" -U $ROLE -d $B -c "$md5q")" "$("${PSQL[@]}" -U $ROLE -d $A -c "$md5q")" "the split chunk is reassembled (md5)"
