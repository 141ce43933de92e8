#!/usr/bin/env bash
# A full disk: a 16 MB tmpfs (else a loop-mounted ext4 file system; skipped when neither can be mounted,
# which needs root) holds a tablespace, and in turn backupkit's chunk storage, the table being restored
# and the temporary files and tables of a restore and a validation run out of room there. After each: the
# server is up, the tables are exactly as before, no half snapshot; and once the space is freed the same
# operations work again.
# shellcheck source=test/fault/lib.sh
source "$(dirname "$0")/lib.sh"

MNT=$OUT/small
mkdir -p "$MNT"
how=""
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=16m bk_fault_tmpfs "$MNT" 2>/dev/null; then
	how="tmpfs"
elif [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null && dd if=/dev/zero of="$OUT/fs.img" bs=1M count=16 status=none &&
	mkfs.ext4 -q -F "$OUT/fs.img" >/dev/null 2>&1 && mount -o loop "$OUT/fs.img" "$MNT" 2>/dev/null; then
	how="loop-mounted ext4"
else
	echo "1..0 # SKIP cannot mount a small file system here (needs root and tmpfs or loop devices)"
	exit 0
fi
mkdir "$MNT/ts"
chown postgres: "$MNT/ts" 2>/dev/null || true
note "a $(df -h --output=size "$MNT" | tail -1 | tr -d ' ') $how at $MNT"

fault_cluster_start
make_tables ""
Q "CREATE TABLESPACE small LOCATION '$MNT/ts'" >/dev/null || bail "CREATE TABLESPACE failed"
# 40 MB of incompressible text: more than the file system holds.
Q "CREATE TABLE wide (id int PRIMARY KEY, v text); INSERT INTO wide SELECT i, repeat(md5(i::text), 4) FROM generate_series(1, 250000) i;
   CREATE TABLE wide_ref (id int REFERENCES wide)" >/dev/null

# Leaves only about N MB free on the small file system with a filler file ("none": fills it; "all": no
# filler).
leave_free() {
	rm -f "$MNT/filler"
	case $1 in
		all) return ;;
		none) dd if=/dev/zero of="$MNT/filler" bs=64k status=none 2>/dev/null; return ;;
	esac
	local kb
	kb=$(($(df --output=avail -k "$MNT" | tail -1) - $1 * 1024))
	[ "$kb" -le 0 ] || dd if=/dev/zero of="$MNT/filler" bs=1k count="$kb" status=none 2>/dev/null
}

expect_disk_full() { # what sql
	if Q "$2" >"$OUT/op.out" 2>"$OUT/op.err"; then
		fail "$1 fails for want of space" "it succeeded"
	elif grep -q -i 'no space left on device\|could not extend\|could not write' "$OUT/op.err"; then
		pass "$1 fails for want of space ($(grep -m1 -o 'ERROR: .*' "$OUT/op.err" | cut -c1-120))"
	else
		fail "$1 fails for want of space" "$(cat "$OUT/op.err")"
	fi
}
succeeds() { # what sql
	if Q "$2" >"$OUT/op.out" 2>"$OUT/op.err"; then pass "$1"; else fail "$1" "$(cat "$OUT/op.err")"; fi
}

# 1. The chunk storage lives on the small file system: a snapshot that does not fit.
Q "ALTER TABLE backupkit.snapshot_chunk SET TABLESPACE small; ALTER INDEX backupkit.snapshot_chunk_pkey SET TABLESPACE small" >/dev/null ||
	bail "could not move the chunk storage"
state=$(tables_state)
leave_free 3
expect_disk_full "a snapshot (compression none) larger than the chunk storage's file system" \
	"SELECT backupkit.snapshot_tables('{wide}', 'too big', 'none')"
check_after "disk full during a snapshot" "$state" 0
leave_free all
# The aborted insertions left the chunk table's file extended; VACUUM gives the space back.
Q "VACUUM backupkit.snapshot_chunk" >/dev/null
succeeds "after VACUUM, a snapshot that fits succeeds on the same file system" \
	"SELECT backupkit.snapshot_tables('{parent}', 'fits')"
check_after "after the snapshot that fits" "$state" 1
Q "SELECT backupkit.drop_snapshot(snapshot_id) FROM backupkit.snapshot WHERE label = 'fits'" >/dev/null
Q "ALTER TABLE backupkit.snapshot_chunk SET TABLESPACE pg_default; ALTER INDEX backupkit.snapshot_chunk_pkey SET TABLESPACE pg_default" >/dev/null

# 2. The restored table lives there: replace by TRUNCATE + COPY needs room for a second copy of it.
Q "CREATE TABLE roomy (id int PRIMARY KEY USING INDEX TABLESPACE small, v text) TABLESPACE small;
   INSERT INTO roomy SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, 45000) i" >/dev/null ||
	bail "could not create a table on the small file system"
rsid=$(Q "SELECT backupkit.snapshot_tables('{roomy}', 'roomy')")
Q "DELETE FROM roomy WHERE id % 10 = 0" >/dev/null
leave_free 2
roomy=$(checksum roomy)
state=$(tables_state)
expect_disk_full "replace of a table on a full file system (copy path)" \
	"SELECT backupkit.restore_table_from_snapshot($rsid, 'roomy', 'replace')"
is "$(checksum roomy)" "$roomy" "disk full during replace: the table is exactly as before"
check_after "disk full during replace" "$state" 1

# 3. Temporary tables and files go there: the stage of a merge or of a staged replace, the sorts of a
#    validation.
wsid=$(Q "SELECT backupkit.snapshot_tables('{wide}', 'wide')")
Q "UPDATE wide SET v = 'changed' WHERE id % 3 = 0" >/dev/null
leave_free 1
state=$(tables_state)
wide=$(checksum wide)
expect_disk_full "merge with temp_tablespaces on the full file system" \
	"SET temp_tablespaces = small; SELECT backupkit.restore_table_from_snapshot($wsid, 'wide', 'merge')"
is "$(checksum wide)" "$wide" "disk full during a merge: the table is exactly as before"
expect_disk_full "replace of a referenced table (staged path) with temp_tablespaces on the full file system" \
	"SET temp_tablespaces = small; SELECT backupkit.restore_table_from_snapshot($wsid, 'wide')"
is "$(checksum wide)" "$wide" "disk full during a staged replace: the table is exactly as before"
leave_free none
# Validation sorts key hashes in maintenance_work_mem; when it needs no temporary file it succeeds.
if Q "SET work_mem = '64kB'; SET maintenance_work_mem = '1MB'; SET temp_tablespaces = small;
      SELECT (backupkit.validate_snapshot_integrity($wsid))->>'valid'" >"$OUT/op.out" 2>"$OUT/op.err"; then
	is "$(cat "$OUT/op.out")" "true" "validation with the temporary file system full: valid (no temporary file needed)"
elif grep -q -i 'no space left on device' "$OUT/op.err"; then
	pass "validation with the temporary file system full: fails for want of space"
else
	fail "validation with the temporary file system full" "$(cat "$OUT/op.err")"
fi
check_after "disk full during merge, staged replace and validation" "$state" 2

# 4. Space freed: everything works again (a smaller change, so that the merge's stage fits in 16 MB).
leave_free all
Q "DROP TABLE roomy" >/dev/null
Q "SELECT backupkit.restore_table_from_snapshot($wsid, 'wide')" >/dev/null
wsid2=$(Q "SELECT backupkit.snapshot_tables('{wide}', 'wide again')")
wide=$(checksum wide)
Q "UPDATE wide SET v = 'changed again' WHERE id % 50 = 0" >/dev/null
succeeds "with the space freed, a merge with temp_tablespaces there succeeds" \
	"SET temp_tablespaces = small; SELECT backupkit.restore_table_from_snapshot($wsid2, 'wide', 'merge')"
is "$(checksum wide)" "$wide" "and restores the table exactly"
is "$(Q "SET work_mem = '64kB'; SET temp_tablespaces = small; SELECT (backupkit.validate_snapshot_integrity($wsid))->>'valid'")" \
	"true" "and so does a validation with work_mem = 64kB"
finish
