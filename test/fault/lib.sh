# Sourced by test/fault/*.sh: a throwaway cluster per script (scripts/cluster.sh: Unix socket only, stopped
# and removed on exit, even on failure), TAP helpers, the test tables and the checks every fault is
# followed by:
#   - the server accepts connections (after kill -9: once crash recovery is over);
#   - the tables are exactly as before (whole-table checksums);
#   - no half snapshot: the number of snapshots is as expected, every snapshot is complete and its
#     catalog rows agree with its chunks, validate_all_snapshots() finds nothing, backupkit.progress is empty.
# shellcheck shell=bash
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh
export PATH="$PG_BINDIR:$PATH"
export PGOPTIONS="-c client_min_messages=warning -c backupkit.progress_notices=off"
DB=fault
ROWS=${BK_FAULT_ROWS:-100000}
OUT=$(mktemp -d /tmp/bk_fault.XXXXXX)
chmod 755 "$OUT"
n=0
failures=0
# bk_cluster_start sets its own EXIT trap: fault_cluster_start puts this one back after it.
fault_cleanup() {
	bk_cluster_stop
	[ -z "${MNT:-}" ] || ! mountpoint -q "$MNT" || umount "$MNT"
	rm -rf "$OUT"
}
trap fault_cleanup EXIT

pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
	n=$((n + 1)); failures=$((failures + 1))
	echo "not ok $n - $1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/#   /'
}
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
is() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got: $1"$'\n'"want: $2"; fi; }
bail() { echo "Bail out! $*"; exit 1; }
note() { printf '%s\n' "$*" | sed 's/^/# /'; }

Q() { bk_psql -d "$DB" -At -c "$1"; }

fault_cluster_start() { # [postgresql.conf lines...]
	bk_cluster_start "fsync = off" "restart_after_crash = on" "log_min_messages = log" "$@" >/dev/null
	local rc=$?
	trap fault_cleanup EXIT
	[ $rc = 0 ] || bail "the cluster did not start"
	bk_psql -d postgres -c "CREATE DATABASE $DB" >/dev/null || bail "no database"
	Q "CREATE EXTENSION backupkit" >/dev/null || bail "CREATE EXTENSION failed"
}

# parent (keyed, mixed types, NULLs) and child (keyed, references parent): about 2 x ROWS rows.
make_tables() { # [tablespace clause]
	bk_psql -d "$DB" -q <<SQL || bail "could not create the test tables"
CREATE TABLE parent (id bigint PRIMARY KEY, v text, n numeric, ts timestamptz, j jsonb, b bytea, f float8, maybe text) $1;
CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint REFERENCES parent, payload text) $1;
INSERT INTO parent SELECT i, md5(i::text), i / 7.0, '2020-01-01'::timestamptz + i * interval '1 minute',
    jsonb_build_object('i', i, 'a', ARRAY[i, i + 1]), decode(md5(i::text), 'hex'), i / 3.0,
    CASE WHEN i % 5 = 0 THEN NULL WHEN i % 5 = 1 THEN '' ELSE 'x' || i END
FROM generate_series(1, $ROWS) i;
INSERT INTO child SELECT i, 1 + (i * 7) % $ROWS, repeat(md5(i::text), 2) FROM generate_series(1, $ROWS) i;
ANALYZE parent;
ANALYZE child;
SQL
}

# A deterministic damage: applied to the captured state it always gives the same tables.
damage() {
	Q "DELETE FROM child WHERE id % 10 = 0; UPDATE child SET payload = 'changed' WHERE id % 7 = 0;
	   DELETE FROM parent p WHERE id % 10 = 3 AND NOT EXISTS (SELECT FROM child c WHERE c.parent_id = p.id);
	   UPDATE parent SET v = 'changed', maybe = NULL WHERE id % 9 = 0;
	   INSERT INTO parent VALUES (-1, 'new'), (-2, 'new')" >/dev/null
}

checksum() { # table
	Q "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text COLLATE \"C\"), '')) FROM $1 t"
}
tables_state() { echo "parent=$(checksum parent) child=$(checksum child)"; }

# The catalog of snapshots agrees with itself and with the chunks; prints what does not.
storage_problems() {
	Q "SELECT 'snapshot ' || snapshot_id || ' is ' || status FROM backupkit.snapshot WHERE status <> 'complete'
	   UNION ALL
	   SELECT 'snapshot ' || s.snapshot_id || ' lists ' || s.table_count || ' tables, has ' || count(t.table_no)
	   FROM backupkit.snapshot s LEFT JOIN backupkit.snapshot_table t USING (snapshot_id)
	   GROUP BY s.snapshot_id, s.table_count, s.row_count
	   HAVING s.table_count <> count(t.table_no) OR s.row_count <> coalesce(sum(t.row_count), 0)
	   UNION ALL
	   SELECT 'table ' || t.snapshot_id || '/' || t.table_no || ' lists ' || t.chunk_count || ' chunks, has ' || count(c.chunk_no)
	   FROM backupkit.snapshot_table t LEFT JOIN backupkit.snapshot_chunk c USING (snapshot_id, table_no)
	   GROUP BY t.snapshot_id, t.table_no, t.chunk_count, t.row_count
	   HAVING t.chunk_count <> count(c.chunk_no) OR t.row_count <> coalesce(sum(c.row_count), 0)
	   UNION ALL
	   SELECT 'chunk ' || c.snapshot_id || '/' || c.table_no || '/' || c.chunk_no || ' has no table entry'
	   FROM backupkit.snapshot_chunk c
	   WHERE NOT EXISTS (SELECT FROM backupkit.snapshot_table t WHERE t.snapshot_id = c.snapshot_id AND t.table_no = c.table_no)
	   UNION ALL
	   SELECT 'validate: snapshot ' || snapshot_id || ': ' || coalesce(first_error, '?')
	   FROM backupkit.validate_all_snapshots() WHERE NOT valid
	   UNION ALL
	   SELECT 'still in backupkit.progress: ' || operation || ' of snapshot ' || snapshot_id FROM backupkit.progress" 2>&1
}
snapshot_count() { Q "SELECT count(*) FROM backupkit.snapshot"; }

# Waits until the server accepts connections again (crash recovery after kill -9); 0 when it does.
wait_server_up() {
	for _ in $(seq 1 240); do
		if pg_isready -q -d "$DB" && Q "SELECT 1" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.5
	done
	return 1
}

# check_after <what> <tables state wanted> <snapshot count wanted>: three TAP lines.
check_after() {
	if wait_server_up; then pass "$1: the server accepts connections"; else
		fail "$1: the server accepts connections" "$(tail -n 20 "$BK_CLUSTER_DIR/server.log")"
		bail "the server is down"
	fi
	is "$(tables_state)" "$2" "$1: the tables are exactly ${BK_FAULT_WANT:-as before}"
	local problems count
	problems=$(storage_problems)
	count=$(snapshot_count)
	if [ -z "$problems" ] && [ "$count" = "$3" ]; then
		pass "$1: no half snapshot ($count snapshots, all complete, consistent and valid)"
	else
		fail "$1: no half snapshot" "snapshots: $count (want $3)"$'\n'"$problems"
	fi
}

# run_bg <sql>: runs the statement in the background as application "bk_fault_op"; $bg is its psql.
run_bg() {
	PGAPPNAME=bk_fault_op bk_psql -d "$DB" -At -c "$1" >"$OUT/op.out" 2>"$OUT/op.err" &
	bg=$!
}
# The backend running it, once backupkit.progress shows the condition (e.g. "rows_done > 0"); empty
# when the operation ended first.
wait_progress() {
	local pid
	for _ in $(seq 1 3000); do
		kill -0 "$bg" 2>/dev/null || return 1
		pid=$(Q "SELECT p.pid FROM backupkit.progress p JOIN pg_stat_activity a USING (pid)
		         WHERE a.application_name = 'bk_fault_op' AND ($1) LIMIT 1" 2>/dev/null)
		if [ -n "$pid" ]; then
			echo "$pid"
			return 0
		fi
		sleep 0.02
	done
	return 1
}
op_backend() {
	Q "SELECT pid FROM pg_stat_activity WHERE application_name = 'bk_fault_op' AND state = 'active' LIMIT 1"
}

# fault <cancel|terminate|kill9> <pid>
fault() {
	case $1 in
		cancel) Q "SELECT pg_cancel_backend($2)" >/dev/null 2>&1 ;;
		terminate) Q "SELECT pg_terminate_backend($2)" >/dev/null 2>&1 ;;
		kill9) kill -9 "$2" ;;
	esac
}

finish() {
	echo "1..$n"
	[ "$failures" = 0 ]
}
