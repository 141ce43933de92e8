#!/usr/bin/env bash
# ALTER EXTENSION backupkit UPDATE from the first version (0.1, frozen in sql/backupkit--0.1.sql) to the
# current one, as on a user's server: version 0.1's own library (built from commit 3374c69, cached by
# scripts/old-backupkit.sh) and SQL take the snapshots; then the current library is installed, backupkit refuses
# to run (library/catalog version guard, 55000) until ALTER EXTENSION backupkit UPDATE, which the same session
# may run and then use backupkit. Snapshots taken under 0.1 (several table shapes, both compressions) still
# validate, keep their per-table checksums and restore identically (whole-table checksums) in replace, merge and
# missing modes, merge still proves rows in place from tuple ids recorded under 0.1; and the updated extension
# is object for object the same as a fresh install (test/upgrade/extension_objects.sql: functions with their
# search_path, comments, grants, columns, constraints, views, what pg_dump carries). A change to sql/install
# without the same change in sql/update/<from>--<to>/ makes that check fail and prints the difference.
# The installed library is swapped in PG_CONFIG's server (with sudo when needed) and always put back.
set -u
PG_CONFIG=${PG_CONFIG:-pg_config}
BIN=$("$PG_CONFIG" --bindir)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OLD_COMMIT=3374c69 # version 0.1
OLD=bk_update_old_$$
NEW=bk_update_new_$$
WORK=$(mktemp -d)
# shellcheck source=scripts/old-backupkit.sh
BK_ROOT=$ROOT source "$ROOT/scripts/old-backupkit.sh"
if ! OLD_LIB=$(BK_ROOT=$ROOT bk_old_build "$OLD_COMMIT" "$PG_CONFIG" 2>"$WORK/old.err"); then
	echo "1..0 # SKIP backupkit 0.1 (commit $OLD_COMMIT) could not be built: $(head -c 300 "$WORK/old.err" | tr '\n' ' ')"
	rm -rf "$WORK"
	exit 0
fi
bk_installed_save "$PG_CONFIG" "$WORK/current" || {
	echo "Bail out! could not copy the installed backupkit of $PG_CONFIG"
	exit 1
}
# The current build goes back in place whatever happens.
trap 'bk_installed_put "$PG_CONFIG" "$WORK/current"; "$BIN/dropdb" --if-exists "$OLD"; "$BIN/dropdb" --if-exists "$NEW"; rm -rf "$WORK"' EXIT
export PGOPTIONS="-c client_min_messages=warning"
P() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }
n=0
check() {
	n=$((n + 1))
	if [ "$1" = "$2" ]; then echo "ok $n - $3"; else
		echo "not ok $n - $3"
		echo "# got '$1', expected '$2'"
	fi
}
# Row counts and content hashes of the test's own tables (not backupkit's, whose logs grow).
fingerprint() { P -d "$1" -f "$ROOT/test/datasets/fingerprint.sql" | grep -v '^backupkit\.'; }
DEFAULT_VERSION=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$ROOT/backupkit.control")

echo "1..18"
bk_installed_put "$PG_CONFIG" "$OLD_LIB" || echo "Bail out! could not install backupkit 0.1 into $PG_CONFIG's server"
"$BIN/createdb" "$OLD"
"$BIN/createdb" "$NEW"
P -d "$OLD" -c "CREATE EXTENSION backupkit VERSION '0.1'"
check "$(P -d "$OLD" -c "SELECT extversion FROM pg_extension WHERE extname = 'backupkit'")" "0.1" "version 0.1 installs"

# Several table shapes (test/upgrade/shapes.sql), captured by the 0.1 library.
P -d "$OLD" -v data=1 -f "$ROOT/test/upgrade/shapes.sql"
tables="ARRAY['orders_1', 'orders_2', 'tagged', 'keyless', 'measures', 'shaped', '\"Odd Schema\".\"Odd Name\"', 'parent', 'child']::regclass[]"
s_zstd=$(P -d "$OLD" -c "SELECT backupkit.snapshot_tables($tables, 'under 0.1')")
s_none=$(P -d "$OLD" -c "SELECT backupkit.snapshot_tables(ARRAY['orders_1', 'tagged', 'keyless']::regclass[], 'under 0.1, none', 'none')")
check "$(P -d "$OLD" -c "SELECT count(*) FROM backupkit.snapshots WHERE id IN ($s_zstd, $s_none)")" "2" "the 0.1 library takes both snapshots"
fingerprint "$OLD" >"$WORK/captured"
contents="SELECT string_agg(table_name || ':' || rows || ':' || chunks || ':' || checksum, ' ' ORDER BY table_name)
            FROM backupkit.snapshot_contents"
contents_zstd=$(P -d "$OLD" -c "$contents($s_zstd)")
contents_none=$(P -d "$OLD" -c "$contents($s_none)")

# The current library replaces it (each psql below is a new backend, which loads it).
bk_installed_put "$PG_CONFIG" "$WORK/current" || echo "Bail out! could not put the current backupkit back"
# Until the update, backupkit refuses; ALTER EXTENSION UPDATE in the same session lifts that.
guarded=$(P -d "$OLD" -c "DO \$\$
	DECLARE hint text;
	BEGIN
		PERFORM backupkit.snapshot_contents($s_zstd);
		RAISE WARNING 'no error';
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
		RAISE WARNING '%|%|%', SQLSTATE, SQLERRM, hint;
	END \$\$" -c "ALTER EXTENSION backupkit UPDATE" -c "SELECT count(*) FROM backupkit.snapshot_contents($s_zstd)" 2>&1)
check "$(echo "$guarded" | sed -n 's/^WARNING: *//p')" \
	"55000|backupkit library version $DEFAULT_VERSION does not match the installed extension version 0.1|Run ALTER EXTENSION backupkit UPDATE." \
	"before the update the new library refuses with the version guard's error"
check "$(echo "$guarded" | grep -v '^WARNING')" "9" "after ALTER EXTENSION UPDATE the same session uses backupkit"
check "$(P -d "$OLD" -c "SELECT e.extversion = a.default_version FROM pg_extension e
                          JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = 'backupkit'")" "t" \
	"ALTER EXTENSION backupkit UPDATE reaches the default version"

P -d "$NEW" -c "CREATE EXTENSION backupkit"
P -d "$OLD" -f "$ROOT/test/upgrade/extension_objects.sql" >"$WORK/updated.objects"
P -d "$NEW" -f "$ROOT/test/upgrade/extension_objects.sql" >"$WORK/fresh.objects"
objects=$(wc -l <"$WORK/fresh.objects")
if diff "$WORK/fresh.objects" "$WORK/updated.objects" >"$WORK/objects.diff" && [ "$objects" -gt 100 ]; then
	check same same "the updated extension equals a fresh install ($objects properties compared)"
else
	check different same "the updated extension equals a fresh install ($objects properties compared)"
	echo "# < fresh install, > updated from 0.1 (add the missing DDL to sql/update/<from>--<to>/):"
	sed 's/^/# /' "$WORK/objects.diff"
fi

check "$(P -d "$OLD" -c "SELECT (backupkit.validate_snapshot_integrity($s_zstd)->>'valid')::text || '/' ||
                               (backupkit.validate_snapshot_integrity($s_none)->>'valid')::text")" "true/true" \
	"snapshots taken under 0.1 validate after the update"
check "$(P -d "$OLD" -c "SELECT count(*) FILTER (WHERE valid) || '/' || count(*) FROM backupkit.validate_all_snapshots()")" "2/2" \
	"validate_all_snapshots finds both valid"
check "$(P -d "$OLD" -c "$contents($s_zstd)")" "$contents_zstd" "per-table rows, chunks and checksums are unchanged (zstd)"
check "$(P -d "$OLD" -c "$contents($s_none)")" "$contents_none" "per-table rows, chunks and checksums are unchanged (none)"

# merge after an UPDATE (first, while the heaps are the ones captured): rows captured under 0.1 and untouched
# are still proven in place by tuple id.
P -d "$OLD" -c "UPDATE orders_1 SET customer = 'merged' WHERE id % 10 = 1" >/dev/null
report=$(P -d "$OLD" -c "SELECT backupkit.restore_table_from_snapshot($s_zstd, 'orders_1', 'merge')")
check "$(fingerprint "$OLD")" "$(cat "$WORK/captured")" "merge of a 0.1 snapshot restores orders_1 identically (checksums)"
in_place=$(P -d "$OLD" -c "SELECT ('$report'::jsonb->>'unchanged_in_place')::bigint")
updated=$(P -d "$OLD" -c "SELECT ('$report'::jsonb->>'updated')::bigint")
check "$updated" "2000" "merge updated exactly the 2000 rows changed"
check "${in_place:-none}" "$(($(P -d "$OLD" -c "SELECT count(*) FROM orders_1") - 2000))" \
	"merge proved every other row in place from tuple ids recorded under 0.1 (unchanged_in_place ${in_place:-absent})"

# missing after a DELETE, from the uncompressed snapshot.
P -d "$OLD" -c "DELETE FROM tagged WHERE code LIKE 'k2%'" -c "DELETE FROM keyless WHERE a = 7" >/dev/null
P -d "$OLD" -c "SELECT backupkit.restore_table_from_snapshot($s_none, 'tagged', 'missing')" >/dev/null
P -d "$OLD" -c "SELECT backupkit.restore_table_from_snapshot($s_none, 'keyless')" >/dev/null
check "$(fingerprint "$OLD")" "$(cat "$WORK/captured")" "missing and replace from the uncompressed 0.1 snapshot restore identically"

# replace: damage every table, restore the whole snapshot.
P -d "$OLD" -f "$ROOT/test/upgrade/shapes_damage.sql" -c "UPDATE orders_1 SET amount = -amount WHERE id % 10 = 0" \
	-c "DELETE FROM orders_2 WHERE id % 13 = 0" -c "INSERT INTO orders_2 VALUES (100001, 'new', 1, now(), 'new')" >/dev/null
[ "$(fingerprint "$OLD")" != "$(cat "$WORK/captured")" ] || echo "# the damage changed nothing: the next checks prove nothing"
P -d "$OLD" -c "SELECT backupkit.restore_snapshot($s_zstd)" >/dev/null
check "$(fingerprint "$OLD")" "$(cat "$WORK/captured")" "replace of a 0.1 snapshot restores every table identically (checksums)"

# A snapshot taken after the update round-trips too, and pg_dump still carries the old ones.
s_after=$(P -d "$OLD" -c "SELECT backupkit.snapshot_tables($tables, 'after update')")
P -d "$OLD" -c "TRUNCATE child, parent" -c "DELETE FROM orders_1" -c "SELECT backupkit.restore_snapshot($s_after)" >/dev/null
check "$(fingerprint "$OLD")" "$(cat "$WORK/captured")" "a snapshot taken after the update round-trips"
"$BIN/pg_dump" -Fc -d "$OLD" -f "$WORK/dump"
"$BIN/dropdb" "$NEW"
"$BIN/createdb" "$NEW"
"$BIN/pg_restore" -d "$NEW" "$WORK/dump" 2>"$WORK/restore.err"
check "$?" 0 "pg_restore of the updated database succeeds"
check "$(P -d "$NEW" -c "SELECT count(*) FILTER (WHERE valid) || '/' || count(*) FROM backupkit.validate_all_snapshots()")" "3/3" \
	"every snapshot validates in the restored copy"
