#!/usr/bin/env bash
# pg_upgrade of a cluster holding backupkit snapshots, and snapshots moved between major versions (TAP output).
#
# Two chains, each from a PostgreSQL 15 cluster with snapshots of several table shapes (zstd and uncompressed):
#   chain 1: 15 --copy--> 17 --link--> 19        chain 2: 15 --link--> 17 --copy--> 19
# Chain 2's cluster has backupkit 0.1, its snapshots taken by 0.1's own library (built from commit 3374c69 by
# scripts/old-backupkit.sh, cached, installed into the 15 server for that while and then swapped back), and
# is updated by ALTER EXTENSION UPDATE after its first pg_upgrade (before which backupkit refuses to run).
# After every hop: the extension equals a fresh install on the new server object for object
# (test/upgrade/extension_objects.sql), every snapshot validates with unchanged per-table checksums, the
# tables are unchanged, and restores from the snapshots taken on 15 give back identical tables (whole-table
# checksums): merge after an UPDATE on the upgraded cluster (its report's unchanged_in_place tells whether the
# tuple-id shortcut was used: pg_upgrade keeps relfilenodes, tuple ids, xids and their epoch, so it should be,
# and the checksum proves it sound), missing after a DELETE, replace after damage.
# Then a snapshot exported on 15 is imported and restored on 19, and one taken on 19 on 15, identically.
#
#   test/upgrade/pg_upgrade.sh
#   BK_UPGRADE_FROM    pg_config of the 15 server, with backupkit installed (default $PG_CONFIG, else the
#                      packaged /usr/lib/postgresql/15/bin/pg_config)
#   BK_UPGRADE_TO      the newer servers' installation prefixes, space-separated, in upgrade order (default:
#                      pg-17 and pg-19 of scripts/build-postgres.sh's cache, or pg-18 when neither is built);
#                      a missing one is skipped with a message
#   BK_UPGRADE_INSTALL 1 (default): build backupkit from a copy of this tree and install it into each newer
#                      prefix (pg_upgrade needs it there); 0: use what is installed
#   BK_KEEP_CLUSTER=1  keep the work directory (data directories and logs)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FROM_CONFIG=${BK_UPGRADE_FROM:-${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}}
[ -x "$FROM_CONFIG" ] || FROM_CONFIG=$(command -v pg_config || echo /usr/lib/postgresql/15/bin/pg_config)
CACHE=${BK_PG_CACHE:-/var/cache/backupkit}
if [ -n "${BK_UPGRADE_TO:-}" ]; then
	TO_PREFIXES=$BK_UPGRADE_TO
else
	# 15 -> 17 -> 19 as built by scripts/build-postgres.sh; when neither is there (the registry may not serve
	# their sources), 15 -> 18.
	TO_PREFIXES=""
	for m in 17 19; do [ -x "$CACHE/pg-$m/bin/pg_config" ] && TO_PREFIXES="$TO_PREFIXES $CACHE/pg-$m"; done
	if [ -z "$TO_PREFIXES" ]; then
		echo "# PostgreSQL 17 and 19 are not built in $CACHE (scripts/build-postgres.sh 17 19): trying 18"
		TO_PREFIXES=$CACHE/pg-18
	fi
fi
unset PGHOST PGPORT PGDATABASE PGUSER
export PGOPTIONS="-c client_min_messages=warning"

n=0
failures=0
ok() {
	n=$((n + 1))
	if [ "$1" = "$2" ]; then echo "ok $n - $3"; else
		failures=$((failures + 1))
		echo "not ok $n - $3"
		echo "# got '$1', expected '$2'" | head -c 2000
		echo
	fi
}
skip_all() { # nothing (more) to run: a skip when nothing ran, else the plan of what did
	if [ $n = 0 ]; then
		echo "1..0 # SKIP $*"
		exit 0
	fi
	echo "# $*"
	echo "1..$n"
	[ $failures = 0 ]
	exit
}
note() { echo "# $*"; }

# ---- the servers ----
declare -A BIN # major -> bindir
major_of() { "$1" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/'; }
has_backupkit() { [ -f "$("$1" --sharedir)/extension/backupkit.control" ] && [ -f "$("$1" --pkglibdir)/backupkit.so" ]; }

[ -x "$FROM_CONFIG" ] || skip_all "no PostgreSQL 15 pg_config ($FROM_CONFIG)"
from_major=$(major_of "$FROM_CONFIG")
[ "$from_major" = 15 ] || skip_all "the source server must be PostgreSQL 15 ($FROM_CONFIG is $from_major)"
has_backupkit "$FROM_CONFIG" || skip_all "backupkit is not installed in $("$FROM_CONFIG" --sharedir) (make install PG_CONFIG=$FROM_CONFIG)"
BIN[15]=$("$FROM_CONFIG" --bindir)
[ -x "${BIN[15]}/pg_upgrade" ] || skip_all "pg_upgrade is missing from ${BIN[15]}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/backupkit-upgrade.XXXXXX")
chmod 755 "$WORK"
[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
STARTED=() # "major data" of every cluster started, stopped on exit
# shellcheck source=scripts/old-backupkit.sh
BK_ROOT=$ROOT source "$ROOT/scripts/old-backupkit.sh"
SAVED_15= # the 15 server's own backupkit while 0.1's library is installed there
cleanup() {
	local m d
	[ -n "$SAVED_15" ] && bk_installed_put "$FROM_CONFIG" "$SAVED_15"
	for c in "${STARTED[@]}"; do
		read -r m d <<<"$c"
		[ -f "$d/postmaster.pid" ] && as_server "${BIN[$m]}/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
	done
	if [ "${BK_KEEP_CLUSTER:-0}" = 1 ]; then echo "# work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

targets=()
for prefix in $TO_PREFIXES; do
	cfg=$prefix/bin/pg_config
	if [ ! -x "$cfg" ]; then
		note "no server in $prefix (scripts/build-postgres.sh builds it): its hops are skipped"
		continue
	fi
	major=$(major_of "$cfg")
	if [ "${BK_UPGRADE_INSTALL:-1}" = 1 ]; then
		# A copy of the tree (committed and uncommitted files), so this tree's objects stay built for its server.
		src=$WORK/src-$major
		mkdir -p "$src"
		(cd "$ROOT" && git ls-files -co --exclude-standard -z 2>/dev/null | xargs -0 cp --parents -t "$src" 2>/dev/null) ||
			(cd "$ROOT" && tar --exclude='*.o' --exclude='*.so' --exclude=./build -cf - . | tar -xf - -C "$src")
		start=$(date +%s)
		if ! make -s -C "$src" -j"$(nproc)" PG_CONFIG="$cfg" >"$WORK/build-$major.log" 2>&1 ||
			! make -s -C "$src" PG_CONFIG="$cfg" install >>"$WORK/build-$major.log" 2>&1; then
			note "backupkit does not build or install for PostgreSQL $major; last lines of the log:"
			tail -n 15 "$WORK/build-$major.log" | sed 's/^/#   /'
			ok "no" "yes" "backupkit builds and installs into $prefix"
			continue
		fi
		note "backupkit built and installed into $prefix in $(($(date +%s) - start)) s"
	fi
	if ! has_backupkit "$cfg"; then
		note "backupkit is not installed in $prefix: its hops are skipped"
		continue
	fi
	BIN[$major]=$(cd "$prefix/bin" && pwd)
	targets+=("$major")
done
[ ${#targets[@]} -gt 0 ] || skip_all "no newer server with backupkit (looked in: $TO_PREFIXES)"
note "servers: 15 (${BIN[15]}) ${targets[*]/#/and }"

# ---- clusters ----
port_of() { cat "$1.port"; }
init_cluster() { # init_cluster MAJOR DATA
	# Data checksums on every version (18's initdb turns them on by default; pg_upgrade wants them equal).
	as_server "${BIN[$1]}/initdb" -D "$2" -U postgres -A trust -E UTF8 --locale=C.UTF-8 -k >"$2.initdb.log" 2>&1 ||
		{ cat "$2.initdb.log"; return 1; }
	echo $((20000 + RANDOM % 20000)) >"$2.port"
}
start_cluster() { # start_cluster MAJOR DATA
	as_server "${BIN[$1]}/pg_ctl" -D "$2" -l "$2.log" -w -t 120 \
		-o "-c listen_addresses='' -k $WORK -p $(port_of "$2") -c fsync=off" start >/dev/null || { tail -20 "$2.log"; return 1; }
	STARTED+=("$1 $2")
}
stop_cluster() { as_server "${BIN[$1]}/pg_ctl" -D "$2" -m fast -w stop >/dev/null; }
# S MAJOR DATA [psql args]: psql of that version against that cluster
S() {
	local m=$1 d=$2
	shift 2
	"${BIN[$m]}/psql" -X -q -v ON_ERROR_STOP=1 -At -h "$WORK" -p "$(port_of "$d")" -U postgres "$@"
}
fingerprint() { S "$1" "$2" -d "$3" -f "$ROOT/test/datasets/fingerprint.sql" | grep -v '^backupkit\.'; }

# The tables: test/upgrade/shapes.sql (orders_1 and orders_2 stay untouched until the merge after hop 1 and hop 2).
ALL="ARRAY['orders_1', 'orders_2', 'tagged', 'keyless', 'measures', 'shaped', '\"Odd Schema\".\"Odd Name\"', 'parent', 'child']::regclass[]"
REST="ARRAY['tagged', 'keyless', 'measures', 'shaped', '\"Odd Schema\".\"Odd Name\"', 'parent', 'child']::regclass[]"
CONTENTS="SELECT string_agg(s.id || '/' || c.table_name || ':' || c.rows || ':' || c.chunks || ':' || c.checksum, ' '
                          ORDER BY s.id, c.table_name)
            FROM backupkit.snapshots s, backupkit.snapshot_contents(s.id) c"
DB=bk_upgrade

# ---- one hop: pg_upgrade, then the checks ----
hop() { # hop CHAIN FROM_MAJOR FROM_DATA TO_MAJOR TO_DATA MODE ORDERS_TABLE
	local chain=$1 fm=$2 fd=$3 tm=$4 td=$5 mode=$6 orders=$7
	local what="chain $chain, $fm -> $tm $mode"
	init_cluster "$tm" "$td" || {
		ok no yes "$what: initdb of the new cluster"
		return 1
	}
	mkdir -p "$td.run"
	[ "$(id -u)" = 0 ] && chown postgres: "$td.run"
	local start status secs
	# Debian's PostgreSQL 15.20 package stamps every column it creates or alters with an attribute option
	# pg_attver=<n> (RESET does not remove it); pg_upgrade's dump carries it and newer servers reject it
	# ('unrecognized parameter "pg_attver"'), whatever the tables hold. Not backupkit's: it is cleared from the
	# user tables' columns (catalog UPDATE as superuser) so that pg_upgrade can run at all.
	local stamped=0 db
	start_cluster "$fm" "$fd" || return 1
	for db in $(S "$fm" "$fd" -d postgres -c "SELECT datname FROM pg_database WHERE datallowconn"); do
		stamped=$((stamped + $(S "$fm" "$fd" -d "$db" -c "WITH cleared AS (
			UPDATE pg_catalog.pg_attribute
			   SET attoptions = NULLIF(ARRAY(SELECT o FROM unnest(attoptions) o WHERE o NOT LIKE 'pg\_attver=%'), '{}')
			 WHERE attrelid >= 16384 AND attoptions::text LIKE '%pg\_attver=%' RETURNING 1)
			SELECT count(*) FROM cleared")))
	done
	stop_cluster "$fm" "$fd"
	if [ "$stamped" -gt 0 ]; then
		note "$what: the $fm server had stamped pg_attver on $stamped user columns; cleared before pg_upgrade (see README)"
		echo "$what: cleared pg_attver from $stamped columns first" >>"$WORK/attver"
	fi

	# pg_upgrade copies by default; --copy exists as an option from 16 on.
	[ "$mode" = --copy ] && [ "$tm" -lt 16 ] && mode=
	start=$(date +%s%N)
	(cd "$td.run" && as_server "${BIN[$tm]}/pg_upgrade" -b "${BIN[$fm]}" -B "${BIN[$tm]}" -d "$fd" -D "$td" \
		-p "$(port_of "$fd")" -P "$(port_of "$td")" -U postgres -s "$WORK" $mode >"$td.pg_upgrade.log" 2>&1)
	status=$?
	secs=$((($(date +%s%N) - start) / 1000000))
	secs="$((secs / 1000)).$((secs % 1000 / 100))"
	ok "$status" 0 "$what: pg_upgrade succeeds ($secs s)"
	if [ $status != 0 ]; then
		tail -n 25 "$td.pg_upgrade.log" | sed 's/^/#   /'
		# pg_upgrade's reports (*.txt) and the end of each database's restore log
		find "$td/pg_upgrade_output.d" -name '*.txt' -exec sh -c 'echo "# $1:"; head -20 "$1" | sed "s/^/#   /"' _ {} \; 2>/dev/null
		find "$td/pg_upgrade_output.d" -name 'pg_upgrade_dump_*.log' -exec sh -c 'grep -B2 -A6 -m3 "ERROR\|FATAL" "$1" | sed "s/^/#   /"' _ {} \; 2>/dev/null | head -40
		return 1
	fi
	echo "$what: $secs s" >>"$WORK/times"
	start_cluster "$tm" "$td" || return 1

	ok "$(S "$tm" "$td" -d $DB -c "SELECT extversion FROM pg_extension WHERE extname = 'backupkit'")" "$EXT_VERSION" \
		"$what: the extension keeps its version ($EXT_VERSION)"
	if [ "$EXT_VERSION" != "$DEFAULT_VERSION" ]; then
		# pg_upgrade and backupkit's update at once: the new server has the newer backupkit installed, which
		# refuses to run until the update.
		ok "$(S "$tm" "$td" -d $DB -c "SELECT backupkit.snapshot_contents($S_ZSTD)" 2>&1 | sed -n 's/^ERROR: *//p')" \
			"backupkit library version $DEFAULT_VERSION does not match the installed extension version $EXT_VERSION" \
			"$what: before ALTER EXTENSION UPDATE the new library refuses"
		S "$tm" "$td" -d $DB -c "ALTER EXTENSION backupkit UPDATE"
		EXT_VERSION=$(S "$tm" "$td" -d $DB -c "SELECT extversion FROM pg_extension WHERE extname = 'backupkit'")
		ok "$EXT_VERSION" "$DEFAULT_VERSION" "$what: ALTER EXTENSION backupkit UPDATE after pg_upgrade reaches $DEFAULT_VERSION"
	fi
	S "$tm" "$td" -d postgres -c "DROP DATABASE IF EXISTS bk_fresh" -c "CREATE DATABASE bk_fresh"
	S "$tm" "$td" -d bk_fresh -c "CREATE EXTENSION backupkit"
	S "$tm" "$td" -d $DB -f "$ROOT/test/upgrade/extension_objects.sql" >"$WORK/objects-upgraded"
	S "$tm" "$td" -d bk_fresh -f "$ROOT/test/upgrade/extension_objects.sql" >"$WORK/objects-fresh"
	ok "$(diff "$WORK/objects-fresh" "$WORK/objects-upgraded" | head -20)" "" \
		"$what: the extension equals a fresh install on $tm ($(wc -l <"$WORK/objects-fresh") properties)"
	ok "$(S "$tm" "$td" -d $DB -c "SELECT count(*) FILTER (WHERE valid) || '/' || count(*) FROM backupkit.validate_all_snapshots()")" \
		"2/2" "$what: every snapshot validates"
	ok "$(S "$tm" "$td" -d $DB -c "$CONTENTS")" "$CONTENTS_15" "$what: per-table rows, chunks and checksums are unchanged"
	ok "$(fingerprint "$tm" "$td" $DB)" "$CAPTURED" "$what: the tables are unchanged (checksums)"

	# merge after an UPDATE on the upgraded cluster, from the snapshot taken on 15
	local report in_place updated rows
	S "$tm" "$td" -d $DB -c "UPDATE $orders SET customer = 'changed on $tm' WHERE id % 10 = 1"
	report=$(S "$tm" "$td" -d $DB -c "SELECT backupkit.restore_table_from_snapshot($S_ZSTD, '$orders', 'merge')")
	ok "$(fingerprint "$tm" "$td" $DB)" "$CAPTURED" "$what: merge after an UPDATE restores $orders identically (checksums)"
	updated=$(echo "$report" | sed -E 's/.*"updated": ([0-9]+).*/\1/')
	in_place=$(echo "$report" | sed -nE 's/.*"unchanged_in_place": ([0-9]+).*/\1/p')
	rows=$(S "$tm" "$td" -d $DB -c "SELECT count(*) FROM $orders")
	ok "$updated" 2000 "$what: merge updated the 2000 rows changed"
	ok "${in_place:-none}" "$((rows - 2000))" \
		"$what: the tuple-id shortcut is used after pg_upgrade (unchanged_in_place ${in_place:-absent} of $rows rows, the rest proven unchanged by the checksum)"
	echo "$what unchanged_in_place=${in_place:-absent}/$rows" >>"$WORK/shortcut"

	# missing after a DELETE (uncompressed snapshot), replace after damage (zstd snapshot)
	S "$tm" "$td" -d $DB -c "DELETE FROM tagged WHERE code LIKE 'k2%'"
	S "$tm" "$td" -d $DB -c "SELECT backupkit.restore_table_from_snapshot($S_NONE, 'tagged', 'missing')" >/dev/null
	ok "$(fingerprint "$tm" "$td" $DB)" "$CAPTURED" "$what: missing after a DELETE restores identically (checksums)"
	S "$tm" "$td" -d $DB -f "$ROOT/test/upgrade/shapes_damage.sql" >/dev/null
	S "$tm" "$td" -d $DB -c "SELECT backupkit.restore_snapshot($S_ZSTD, $REST)" >/dev/null
	ok "$(fingerprint "$tm" "$td" $DB)" "$CAPTURED" "$what: replace after damage restores every table identically (checksums)"
	stop_cluster "$tm" "$td"
}

# ---- the source cluster on 15 ----
source_cluster() { # source_cluster DATA VERSION: a 15 cluster with backupkit VERSION and the tables
	init_cluster 15 "$1" && start_cluster 15 "$1" || return 1
	S 15 "$1" -d postgres -c "CREATE DATABASE $DB" &&
		S 15 "$1" -d $DB -v data=1 -c "CREATE EXTENSION backupkit VERSION '$2'" -f "$ROOT/test/upgrade/shapes.sql" >/dev/null
}
DEFAULT_VERSION=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$ROOT/backupkit.control")

for chain in 1 2; do
	if [ $chain = 1 ]; then modes=(--copy --link); else modes=(--link --copy); fi
	d15=$WORK/c$chain-15
	# chain 2 starts from the first version, 0.1, and updates backupkit after its first pg_upgrade
	if [ $chain = 1 ]; then EXT_VERSION=$DEFAULT_VERSION; else EXT_VERSION=0.1; fi
	if [ $chain = 2 ]; then
		if ! old_lib=$(BK_ROOT=$ROOT bk_old_build 3374c69 "$FROM_CONFIG" 2>"$WORK/old-build.err"); then
			note "chain 2 skipped: backupkit 0.1 (commit 3374c69) could not be built: $(head -c 300 "$WORK/old-build.err" | tr '\n' ' ')"
			continue
		fi
		bk_installed_save "$FROM_CONFIG" "$WORK/saved-15" && SAVED_15=$WORK/saved-15 &&
			bk_installed_put "$FROM_CONFIG" "$old_lib" || {
			ok no yes "chain 2: backupkit 0.1 installs into the 15 server"
			continue
		}
	fi
	source_cluster "$d15" "$EXT_VERSION" || {
		ok no yes "chain $chain: the 15 cluster starts"
		continue
	}
	S_ZSTD=$(S 15 "$d15" -d $DB -c "SELECT backupkit.snapshot_tables($ALL, 'on 15')")
	S_NONE=$(S 15 "$d15" -d $DB -c "SELECT backupkit.snapshot_tables(ARRAY['orders_1', 'tagged', 'keyless']::regclass[], 'on 15, none', 'none')")
	if [ $chain = 2 ]; then
		ok "$(S 15 "$d15" -d $DB -c "SELECT count(*) FROM backupkit.snapshots WHERE id IN ($S_ZSTD, $S_NONE)")" 2 \
			"chain 2: the 0.1 library takes both snapshots on 15"
	fi
	CAPTURED=$(fingerprint 15 "$d15" $DB)
	CONTENTS_15=$(S 15 "$d15" -d $DB -c "$CONTENTS")
	if [ $chain = 1 ]; then
		# kept for the cross-version import below
		S 15 "$d15" -d $DB -c "\\copy (SELECT n, f FROM backupkit.export_snapshot($S_ZSTD) WITH ORDINALITY AS e(f, n)) TO '$WORK/export-15.tsv'"
		cp "$d15.port" "$WORK/port-15"
	fi
	stop_cluster 15 "$d15"
	if [ -n "$SAVED_15" ]; then
		bk_installed_put "$FROM_CONFIG" "$SAVED_15" || ok no yes "the 15 server's backupkit is put back"
		SAVED_15=
	fi
	fm=15
	fd=$d15
	i=0
	for tm in "${targets[@]}"; do
		hop $chain $fm "$fd" "$tm" "$WORK/c$chain-hop$((i + 1))-$tm" "${modes[$i]:---copy}" "orders_$((i + 1))" || break
		fm=$tm
		fd=$WORK/c$chain-hop$((i + 1))-$tm
		i=$((i + 1))
	done
	[ $chain = 1 ] && LAST_MAJOR=$fm && LAST_DATA=$fd
done

# ---- snapshots between versions: export on 15, import on the newest; and back ----
newest=${LAST_MAJOR:-15}
if [ "$newest" != 15 ] && [ -f "$WORK/export-15.tsv" ]; then
	start_cluster "$newest" "$LAST_DATA"
	S "$newest" "$LAST_DATA" -d postgres -c "CREATE DATABASE bk_import"
	S "$newest" "$LAST_DATA" -d bk_import -c "CREATE EXTENSION backupkit" -f "$ROOT/test/upgrade/shapes.sql" -c "CREATE TABLE frames (n bigint, f bytea)" \
		-c "\\copy frames FROM '$WORK/export-15.tsv'" >/dev/null
	id=$(S "$newest" "$LAST_DATA" -d bk_import -c "SELECT backupkit.import_snapshot(f ORDER BY n) FROM frames" -c "DROP TABLE frames")
	S "$newest" "$LAST_DATA" -d bk_import -c "SELECT backupkit.restore_snapshot($id)" >/dev/null
	ok "$(fingerprint "$newest" "$LAST_DATA" bk_import)" "$CAPTURED" "a snapshot exported on 15 imports and restores identically on $newest (checksums)"

	# the other way: a snapshot taken on the newest server, restored on 15
	id=$(S "$newest" "$LAST_DATA" -d bk_import -c "SELECT backupkit.snapshot_tables($ALL, 'on $newest')")
	S "$newest" "$LAST_DATA" -d bk_import -c "\\copy (SELECT n, f FROM backupkit.export_snapshot($id) WITH ORDINALITY AS e(f, n)) TO '$WORK/export-$newest.tsv'"
	stop_cluster "$newest" "$LAST_DATA"
	back=$WORK/back-15
	init_cluster 15 "$back" && start_cluster 15 "$back"
	S 15 "$back" -d postgres -c "CREATE DATABASE bk_import"
	S 15 "$back" -d bk_import -c "CREATE EXTENSION backupkit" -f "$ROOT/test/upgrade/shapes.sql" -c "CREATE TABLE frames (n bigint, f bytea)" \
		-c "\\copy frames FROM '$WORK/export-$newest.tsv'" >/dev/null
	id=$(S 15 "$back" -d bk_import -c "SELECT backupkit.import_snapshot(f ORDER BY n) FROM frames" -c "DROP TABLE frames")
	S 15 "$back" -d bk_import -c "SELECT backupkit.restore_snapshot($id)" >/dev/null
	ok "$(fingerprint 15 "$back" bk_import)" "$CAPTURED" "a snapshot taken on $newest imports and restores identically on 15 (checksums)"
	stop_cluster 15 "$back"
fi

if [ -f "$WORK/times" ]; then
	note "pg_upgrade wall times (s):"
	sed 's/^/#   /' "$WORK/times"
	sed 's/^/#   /' "$WORK/shortcut"
	[ -f "$WORK/attver" ] && sed 's/^/#   /' "$WORK/attver"
fi
echo "1..$n"
[ $failures = 0 ]
