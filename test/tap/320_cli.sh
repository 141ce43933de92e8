#!/usr/bin/env bash
# The backupkit command-line client against a real cluster: every command and its --help, exit statuses
# (0/1/2), connection failures, plain and encrypted export/import round trips between two databases
# compared by whole-table fingerprints, wrong passphrase, truncated and tampered files (nothing imported),
# rotation with --keep-last, restore's refusal without a terminal, prune, --json and --quiet.
set -u
A=bk_tap_320_a
B=bk_tap_320_b
ROLE=bk_tap_320_user
WORK=$(mktemp -d)
chmod 777 "$WORK"
export PGOPTIONS="-c client_min_messages=warning"
unset BACKUPKIT_PASSPHRASE
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At)
BK=(backupkit -U $ROLE)
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3 (got '$1', want '$2')"; fi; }
# run CMD...: sets out, err, rc
run() { out=$("$@" 2>"$WORK/stderr" </dev/null); rc=$?; err=$(cat "$WORK/stderr"); }
cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $A WITH (FORCE)" -c "DROP DATABASE IF EXISTS $B WITH (FORCE)" \
        -c "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
fp() { "${PSQL[@]}" -U $ROLE -d "$1" -c "SELECT string_agg(table_name || ':' || n_rows || ':' || md5, ' ' ORDER BY table_name) FROM (
  SELECT 'orders' AS table_name, count(*) AS n_rows, md5(coalesce(string_agg(o::text, '|' ORDER BY id), '')) AS md5 FROM public.orders o
  UNION ALL SELECT 'lines', count(*), md5(coalesce(string_agg(l::text, '|' ORDER BY id), '')) FROM public.lines l) x"; }
snapcount() { "${PSQL[@]}" -d $B -c "SELECT (SELECT count(*) FROM backupkit.snapshot) || '/' || (SELECT count(*) FROM backupkit.snapshot_chunk)"; }
contents() { "${PSQL[@]}" -U $ROLE -d "$1" -c "SELECT string_agg(table_name || ':' || rows || ':' || checksum, ' ' ORDER BY table_name) FROM backupkit.snapshot_contents($2)"; }

echo "1..64"
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $A WITH (FORCE)" -c "DROP DATABASE IF EXISTS $B WITH (FORCE)" \
    -c "DROP ROLE IF EXISTS $ROLE" -c "CREATE ROLE $ROLE LOGIN" -c "CREATE DATABASE $A OWNER $ROLE" \
    -c "CREATE DATABASE $B OWNER $ROLE" >/dev/null
SCHEMA="CREATE TABLE public.orders (id bigint PRIMARY KEY, customer text, amount numeric(12,2), placed timestamptz, note text);
CREATE TABLE public.lines (id bigint PRIMARY KEY, order_id bigint REFERENCES public.orders, qty integer, payload bytea);"
for db in $A $B; do
    "${PSQL[@]}" -d $db -c "CREATE EXTENSION backupkit" >/dev/null
    "${PSQL[@]}" -U $ROLE -d $db -c "$SCHEMA" >/dev/null
done
"${PSQL[@]}" -U $ROLE -d $A >/dev/null <<'SQL'
INSERT INTO public.orders SELECT g, 'customer-' || (g % 97), g * 1.25, '2024-01-01'::timestamptz + g * interval '1 minute',
       CASE WHEN g % 7 = 0 THEN NULL ELSE 'secret-note-' || md5(g::text) END FROM generate_series(1, 40000) g;
INSERT INTO public.lines SELECT g, 1 + g % 40000, g % 13, decode(md5(g::text), 'hex') FROM generate_series(1, 60000) g;
SQL
export PGDATABASE=$A

# --help and usage errors.
helps=0
for c in "" snapshot list info check validate restore prune export import; do
    run backupkit $c --help
    [ $rc = 0 ] && [ -n "$out" ] && helps=$((helps + 1))
done
ok "$helps" "10" "--help works for the program and each of its 9 commands (exit 0)"
run backupkit frobnicate
ok "$rc|$(echo "$err" | head -1)" '2|backupkit: error: unrecognized command: "frobnicate" (try "backupkit --help")' "an unknown command is a usage error (exit 2)"
run backupkit list --bogus
ok "$rc" "2" "an unknown option is a usage error (exit 2)"
run backupkit restore
ok "$rc" "2" "restore without a snapshot id is a usage error (exit 2)"
run backupkit export 1
ok "$rc" "2" "export without -o or --dir is a usage error (exit 2)"
run backupkit snapshot
ok "$rc" "2" "snapshot without tables is a usage error (exit 2)"

# Connection failures: libpq's message, exit 1.
run backupkit -h "$WORK/nowhere" list
ok "$rc|$(echo "$err" | grep -c 'connection to server on socket .*nowhere.* failed')" "1|1" "a wrong socket directory: libpq's message, exit 1"
run backupkit -d bk_tap_320_nosuchdb list
ok "$rc|$(echo "$err" | grep -c 'database "bk_tap_320_nosuchdb" does not exist')" "1|1" "a missing database: the server's message, exit 1"
run backupkit -U bk_tap_320_nosuchrole list
ok "$rc|$(echo "$err" | grep -c 'role "bk_tap_320_nosuchrole" does not exist')" "1|1" "a missing role: the server's message, exit 1"
run backupkit -d "host=$PGHOST port=$PGPORT dbname=$A user=$ROLE" list --quiet
ok "$rc" "0" "a connection string in -d works"
run backupkit -d "postgresql:///$A?host=$PGHOST&port=$PGPORT&user=$ROLE" list --quiet
ok "$rc" "0" "a connection URI in -d works"

# snapshot, list, info.
run "${BK[@]}" snapshot -t public.orders -t public.lines --label nightly
sid=$out
ok "$rc|$([ -n "$sid" ] && [ "$sid" -gt 0 ] && echo id)" "0|id" "snapshot prints the new id ($sid)"
ok "$("${PSQL[@]}" -U $ROLE -c "SELECT label || ':' || tables FROM backupkit.snapshots WHERE id = $sid")" "nightly:2" "the snapshot has both tables and the label"
run "${BK[@]}" snapshot -t public.orders,public.lines --label plain --compression none
sid_none=$out
ok "$rc|$("${PSQL[@]}" -U $ROLE -c "SELECT compression FROM backupkit.snapshots WHERE id = ${sid_none:-0}")" "0|none" "snapshot --compression none, comma-separated tables"
run "${BK[@]}" snapshot -t public.no_such_table
ok "$rc|$(echo "$err" | head -1)" '1|backupkit: error: relation "public.no_such_table" does not exist' "a snapshot of a missing table fails with the server's message (exit 1)"
run "${BK[@]}" list --label nightly
ok "$rc|$(echo "$out" | awk 'NR > 2 {print $1 ":" $2}')" "0|$sid:nightly" "list --label shows the snapshot"
run "${BK[@]}" list --json --limit 1
ok "$rc|$(echo "$out" | perl -MJSON::PP -e 'my $d = decode_json(join "", <STDIN>); print scalar(@$d), ":", $d->[0]{id}')" "0|1:$sid_none" "list --json --limit 1 is a JSON array with the newest snapshot"
run "${BK[@]}" info --json
ok "$rc|$(echo "$out" | perl -MJSON::PP -e 'my $d = decode_json(join "", <STDIN>); print $d->{snapshots}, ":", (exists $d->{check_errors} ? "counts" : "none")')" "0|2:counts" "info --json has the snapshot count and the check counts"
run "${BK[@]}" info
ok "$rc|$(echo "$out" | grep -c '^snapshots ')" "0|1" "info prints one line per key"

# check: exit 0 with warnings only, 1 with an error row.
run "${BK[@]}" check
ok "$rc|$(echo "$out" | grep -c 'snapshot validation')" "0|1" "check lists the never-validated snapshots as a warning, exit 0"
run "${BK[@]}" check --json
ok "$(echo "$out" | perl -MJSON::PP -e 'my $d = decode_json(join "", <STDIN>); print scalar(grep { $_->{severity} eq "error" } @$d)')" "0" "check --json: no error row"

# validate ID, --all, and a damaged snapshot.
run "${BK[@]}" validate "$sid"
ok "$rc|$out" "0|snapshot $sid: valid" "validate ID: valid, exit 0"
run "${BK[@]}" validate --all --quiet
ok "$rc" "0" "validate --all: exit 0"
"${PSQL[@]}" -U $ROLE -c "SELECT backupkit.snapshot_tables(ARRAY['public.orders'::regclass], 'damaged')" >/dev/null
did=$("${PSQL[@]}" -U $ROLE -c "SELECT max(id) FROM backupkit.snapshots")
"${PSQL[@]}" -c "UPDATE backupkit.snapshot_chunk SET checksum = checksum # 1 WHERE snapshot_id = $did AND chunk_no = 0" >/dev/null
run "${BK[@]}" validate "$did"
ok "$rc|$(echo "$out" | grep -c INVALID)" "1|1" "validate of a damaged snapshot: INVALID, exit 1"
run "${BK[@]}" check
ok "$rc|$(echo "$out" | grep -c "^error .*snapshot validation .*snapshot $did")" "1|1" "check reports the failed validation as an error and exits 1"
"${PSQL[@]}" -U $ROLE -c "SELECT backupkit.drop_snapshot($did)" >/dev/null

# Plain export -> import into B -> restore: same data.
run "${BK[@]}" export "$sid" -o "$WORK/plain.bkx"
ok "$rc|$out|$(head -c 4 "$WORK/plain.bkx")" "0|$WORK/plain.bkx|BKX1" "export -o writes a binary file of frames"
ok "$(stat -c %a "$WORK/plain.bkx")|$(ls "$WORK" | grep -c partial)" "600|0" "the file is private (0600) and no .partial file remains"
run "${BK[@]}" validate "$WORK/plain.bkx"
ok "$rc|$(echo "$out" | grep -c 'valid export file')" "0|1" "validate FILE accepts the plain file"
before=$(snapcount)
run "${BK[@]}" -d $B import "$WORK/plain.bkx"
pid_b=$out
ok "$rc|$(contents $B "${pid_b:-0}")" "0|$(contents $A $sid)" "import prints the new id; per-table rows and checksums equal the original's"
run "${BK[@]}" -d $B restore "$pid_b" --force --quiet
ok "$rc|$(fp $B)" "0|$(fp $A)" "restore --force in B gives tables equal to A (fingerprints)"

# Encrypted round trip.
run env BACKUPKIT_PASSPHRASE='correct horse' "${BK[@]}" export "$sid_none" -o "$WORK/enc.bkx" --encrypt
ok "$rc|$(head -c 4 "$WORK/enc.bkx")" "0|BKXE" "export --encrypt writes an encrypted file"
"${BK[@]}" export "$sid_none" -o "$WORK/plain_none.bkx" >/dev/null
ok "$(grep -qa secret-note- "$WORK/plain_none.bkx" && echo shown)|$(grep -qa secret-note- "$WORK/enc.bkx" && echo shown)" "shown|" "the plain file shows the rows' text, the encrypted one does not"
"${PSQL[@]}" -U $ROLE -d $B -c "TRUNCATE public.lines, public.orders" >/dev/null
run env BACKUPKIT_PASSPHRASE='correct horse' "${BK[@]}" validate "$WORK/enc.bkx"
ok "$rc|$(echo "$out" | grep -c 'valid encrypted export file')" "0|1" "validate FILE decrypts and checks the encrypted file"
printf 'correct horse\n' >"$WORK/pass"
run "${BK[@]}" -d $B import "$WORK/enc.bkx" --passphrase-file "$WORK/pass" --json
eid=$(echo "$out" | perl -MJSON::PP -e 'my $d = decode_json(join "", <STDIN>); print $d->{snapshot_id}, ":", ($d->{encrypted} ? "enc" : "plain")')
ok "$rc|${eid#*:}|$(contents $B "${eid%%:*}")" "0|enc|$(contents $A $sid_none)" "import of the encrypted file (--passphrase-file, --json): same checksums"
run "${BK[@]}" -d $B restore "${eid%%:*}" --force --quiet
ok "$rc|$(fp $B)" "0|$(fp $A)" "restore of the encrypted copy gives tables equal to A (fingerprints)"
ok "$(grep -c 'correct horse' "$BK_CLUSTER_DIR/server.log")" "0" "the passphrase never reaches the server (not in its log)"

# Wrong passphrase, truncated and tampered files: exit 1, clear message, nothing imported.
before=$(snapcount)
run env BACKUPKIT_PASSPHRASE='wrong horse' "${BK[@]}" -d $B import "$WORK/enc.bkx"
ok "$rc|$(echo "$err" | head -1)" "1|backupkit: error: wrong passphrase for \"$WORK/enc.bkx\"" "a wrong passphrase: clear message, exit 1"
size=$(stat -c %s "$WORK/enc.bkx")
head -c $((size - 100)) "$WORK/enc.bkx" >"$WORK/enc_cut.bkx"
run env BACKUPKIT_PASSPHRASE='correct horse' "${BK[@]}" -d $B import "$WORK/enc_cut.bkx"
ok "$rc|$(echo "$err" | grep -c 'is truncated')" "1|1" "a truncated encrypted file is refused (exit 1)"
# Cut exactly after the first encrypted frame (a message boundary: only the FINAL tag or the trailer tells).
len1=$(od -An -tu4 -j80 -N4 "$WORK/enc.bkx" | tr -d ' ')
head -c $((80 + 4 + len1)) "$WORK/enc.bkx" >"$WORK/enc_cut1.bkx"
run env BACKUPKIT_PASSPHRASE='correct horse' "${BK[@]}" -d $B import "$WORK/enc_cut1.bkx"
ok "$rc|$(echo "$err" | grep -c 'truncated')" "1|1" "an encrypted file cut at a frame boundary is refused (exit 1)"
cp "$WORK/enc.bkx" "$WORK/enc_bad.bkx"
printf '\x5a' | dd of="$WORK/enc_bad.bkx" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
run env BACKUPKIT_PASSPHRASE='correct horse' "${BK[@]}" -d $B import "$WORK/enc_bad.bkx"
ok "$rc|$(echo "$err" | grep -c 'authentication failed')" "1|1" "a changed byte in an encrypted file is refused (exit 1)"
cp "$WORK/enc.bkx" "$WORK/enc_hdr.bkx"
printf '\x01' | dd of="$WORK/enc_hdr.bkx" bs=1 seek=30 conv=notrunc 2>/dev/null
run env BACKUPKIT_PASSPHRASE='correct horse' "${BK[@]}" -d $B import "$WORK/enc_hdr.bkx"
ok "$rc" "1" "a changed byte in the encrypted file's header (salt) is refused (exit 1)"
{ cat "$WORK/enc.bkx"; printf 'x'; } >"$WORK/enc_tail.bkx"
run env BACKUPKIT_PASSPHRASE='correct horse' "${BK[@]}" -d $B import "$WORK/enc_tail.bkx"
ok "$rc|$(echo "$err" | grep -c 'after its final frame')" "1|1" "bytes appended to an encrypted file are refused (exit 1)"
psize=$(stat -c %s "$WORK/plain.bkx")
head -c $((psize - 10)) "$WORK/plain.bkx" >"$WORK/plain_cut.bkx"
run "${BK[@]}" -d $B import "$WORK/plain_cut.bkx"
ok "$rc|$(echo "$err" | grep -c 'truncated')" "1|1" "a truncated plain file is refused (exit 1)"
head -c $((psize - 24 - 10)) "$WORK/plain.bkx" >/dev/null
cp "$WORK/plain.bkx" "$WORK/plain_bad.bkx"
printf '\x5a' | dd of="$WORK/plain_bad.bkx" bs=1 seek=$((psize / 2)) conv=notrunc 2>/dev/null
run "${BK[@]}" -d $B import "$WORK/plain_bad.bkx"
ok "$rc|$(echo "$err" | grep -c 'checksum mismatch in export frame')" "1|1" "a changed byte in a plain file: the server's checksum error (exit 1)"
run "${BK[@]}" validate "$WORK/plain_bad.bkx"
ok "$rc|$(echo "$err" | grep -c 'checksum mismatch in export frame')" "1|1" "validate FILE finds the changed byte without a server (exit 1)"
run "${BK[@]}" validate "$WORK/plain_cut.bkx"
ok "$rc" "1" "validate FILE finds the truncation (exit 1)"
printf 'not a backup' >"$WORK/junk.bkx"
run "${BK[@]}" validate "$WORK/junk.bkx"
ok "$rc|$(echo "$err" | head -1)" "1|backupkit: error: \"$WORK/junk.bkx\" is not a backupkit export file" "another file is refused with a clear message"
ok "$(snapcount)" "$before" "none of the refused imports left a snapshot or chunk behind"

# Rotation: --dir with --keep-last keeps the newest N files of this database and label.
mkdir -p "$WORK/dir"
touch "$WORK/dir/${A}_other_20000101T000000Z_1.bkx" "$WORK/dir/unrelated.txt"
for i in 1 2 3; do
    "${PSQL[@]}" -U $ROLE -c "SELECT backupkit.snapshot_tables(ARRAY['public.orders'::regclass], 'rot')" >/dev/null
    rid=$("${PSQL[@]}" -U $ROLE -c "SELECT max(id) FROM backupkit.snapshots")
    run "${BK[@]}" export "$rid" --dir "$WORK/dir" --keep-last 2
    [ $i -lt 3 ] && sleep 1.1
done
ok "$rc|$(basename "$out")" "0|$(ls "$WORK/dir" | grep "^${A}_rot_" | sort | tail -1)" "export --dir names the file <database>_<label>_<UTC time>_<id>.bkx"
ok "$(ls "$WORK/dir" | grep -c "^${A}_rot_.*_[0-9]*\.bkx$")|$(ls "$WORK/dir" | grep -c "_${rid}\.bkx$")" "2|1" "--keep-last 2 keeps the two newest files, the newest among them"
ok "$(ls "$WORK/dir" | grep -c -e other -e unrelated)" "2" "files of other labels and other files are left alone"

# restore: refuses without a terminal; --dry-run and --force work; modes.
run "${BK[@]}" -d $B restore "$pid_b"
ok "$rc|$(echo "$err" | head -1)" "1|backupkit: error: refusing to restore without a terminal to confirm on" "restore without a terminal refuses (exit 1)"
# On a terminal (a pseudo-terminal from script(1)) restore asks; "n" cancels, "y" restores.
"${PSQL[@]}" -U $ROLE -d $B -c "UPDATE public.orders SET customer = 'changed' WHERE id <= 10" >/dev/null
out=$(printf 'n\n' | script -qec "backupkit -U $ROLE -d $B restore $pid_b -t public.orders" /dev/null 2>&1); rc=$?
ok "$rc|$(echo "$out" | grep -c 'Restore .* into database \"'$B'\" in replace mode?')|$(echo "$out" | grep -c 'restore cancelled')|$("${PSQL[@]}" -U $ROLE -d $B -c "SELECT count(*) FROM public.orders WHERE customer = 'changed'")" \
    "1|1|1|10" "on a terminal restore asks; answering n cancels (exit 1) and changes nothing"
out=$(printf 'y\n' | script -qec "backupkit -U $ROLE -d $B restore $pid_b -t public.orders --quiet" /dev/null 2>&1); rc=$?
ok "$rc|$(fp $B)" "0|$(fp $A)" "answering y restores"
"${PSQL[@]}" -U $ROLE -d $B -c "DELETE FROM public.lines WHERE id % 10 = 0" >/dev/null
run "${BK[@]}" -d $B restore "$pid_b" -t public.lines --mode missing --dry-run
ok "$rc|$(echo "$out" | awk '$1 == "public.lines" {print $3}')" "0|6000" "restore --dry-run --mode missing predicts 6000 inserts"
ok "$("${PSQL[@]}" -U $ROLE -d $B -c "SELECT count(*) FROM public.lines")" "54000" "the dry run changed nothing"
run "${BK[@]}" -d $B restore "$pid_b" -t public.lines --mode missing --force --json
ok "$rc|$(echo "$out" | perl -MJSON::PP -e 'my $d = decode_json(join "", <STDIN>); print $d->{tables}[0]{inserted}')|$(fp $B)" "0|6000|$(fp $A)" "restore --mode missing --force --json puts the rows back"
run "${BK[@]}" -d $B restore "$pid_b" --mode bogus --force
ok "$rc" "2" "an unknown restore mode is a usage error"
run "${BK[@]}" -d $B restore 999999 --force
ok "$rc|$(echo "$err" | grep -c 'snapshot 999999')" "1|1" "restoring a missing snapshot fails with the server's message"

# prune.
run "${BK[@]}" prune --keep-last 1 --label rot --dry-run
ok "$rc|$(echo "$out" | grep -c ' drop ')|$("${PSQL[@]}" -U $ROLE -c "SELECT count(*) FROM backupkit.snapshots WHERE label = 'rot'")" "0|2|3" "prune --dry-run lists two drops and drops nothing"
run "${BK[@]}" prune --keep-last 1 --label rot --quiet
ok "$rc|$out|$("${PSQL[@]}" -U $ROLE -c "SELECT count(*) FROM backupkit.snapshots WHERE label = 'rot'")" "0||1" "prune --keep-last 1 --quiet drops the others silently"
run "${BK[@]}" prune --label rot
ok "$rc|$(echo "$err" | grep -c 'retention policy has no rule')" "1|1" "prune without a rule: the server refuses (exit 1)"

# --json of export and import; --quiet.
run "${BK[@]}" export "$sid" -o "$WORK/j.bkx" --json
ok "$rc|$(echo "$out" | perl -MJSON::PP -e 'my $d = decode_json(join "", <STDIN>); print $d->{snapshot_id}, ":", ($d->{bytes} == -s $d->{file} ? "size" : "?")')" "0|$sid:size" "export --json gives the id, the file and its size"
run "${BK[@]}" export 999999 -o "$WORK/none.bkx"
ok "$rc|$(ls "$WORK" | grep -c -x -e none.bkx -e none.bkx.partial)" "1|0" "exporting a missing snapshot fails and leaves no file"
