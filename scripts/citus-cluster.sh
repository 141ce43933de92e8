# Sourced by the Citus tests (test/citus): a throwaway Citus cluster, a coordinator and workers on this
# machine, in one temporary directory that is also their Unix socket directory (no TCP listener: the nodes
# reach each other through the socket files, so no port can clash with another server). Stopped and removed
# on exit, even on failure. As root the servers run as the unprivileged "postgres" user. Needs Citus
# installed into PG_CONFIG's server (scripts/build-citus.sh).
#
#   bk_citus_start <workers> [postgresql.conf lines...]
#       exports PGHOST, PGPORT (the coordinator), PGUSER, PGDATABASE, BK_CITUS_DIR and BK_CITUS_PORTS (all
#       nodes, coordinator first); citus is created in PGDATABASE on every node and the workers are added
#   bk_citus_stop    stops every node started so far and removes the directory (BK_KEEP_CLUSTER=1 keeps it)

# PG_CONFIG, PG_BINDIR, bk_as_server_user and bk_server_conf come from the single-server helper.
# shellcheck source=scripts/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
BK_CITUS_STARTED=()

bk_citus_stop() {
	local data
	for data in "${BK_CITUS_STARTED[@]}"; do
		if [ -f "$data/postmaster.pid" ]; then
			bk_as_server_user "$PG_BINDIR/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
		fi
	done
	BK_CITUS_STARTED=()
	if [ -n "${BK_CITUS_DIR:-}" ] && [ -d "$BK_CITUS_DIR" ]; then
		if [ "${BK_KEEP_CLUSTER:-0}" = 1 ]; then
			echo "Citus cluster kept in $BK_CITUS_DIR" >&2
		else
			rm -rf "$BK_CITUS_DIR"
		fi
	fi
}

# bk_citus_log_tail [lines]: the end of every node's server log (for failing tests).
bk_citus_log_tail() {
	local log
	for log in "$BK_CITUS_DIR"/node*.log; do
		[ -f "$log" ] || continue
		echo "---- last ${1:-40} lines of $log ----"
		tail -n "${1:-40}" "$log"
	done
}

# bk_citus_psql <port> <args>: psql on one node.
bk_citus_psql() {
	local port=$1
	shift
	"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$BK_CITUS_DIR" -p "$port" -U postgres -d "${PGDATABASE:-postgres}" "$@"
}

bk_citus_start() {
	local workers=$1 base i port data line
	shift
	BK_CITUS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/backupkit-citus.XXXXXX")
	trap bk_citus_stop EXIT
	trap 'bk_citus_stop; exit 130' INT TERM
	chmod 755 "$BK_CITUS_DIR"
	[ "$(id -u)" = 0 ] && chown postgres: "$BK_CITUS_DIR"
	# Ports only name the socket files in this fresh directory: any numbers are free.
	base=$((20000 + RANDOM % 20000))
	BK_CITUS_PORTS=()
	for ((i = 0; i <= workers; i++)); do
		port=$((base + i))
		data=$BK_CITUS_DIR/node$i
		bk_as_server_user "$PG_BINDIR/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
			>"$BK_CITUS_DIR/initdb$i.log" 2>&1 || { cat "$BK_CITUS_DIR/initdb$i.log"; return 1; }
		# citus first in shared_preload_libraries; prepared transactions for its two-phase commits.
		bk_server_conf "$BK_CITUS_DIR" "$port" "shared_preload_libraries = 'citus'" "shared_buffers = 32MB" \
			"max_prepared_transactions = 50" "fsync = off" "$@" |
			bk_as_server_user tee -a "$data/postgresql.conf" >/dev/null
		BK_CITUS_STARTED+=("$data")
		bk_as_server_user "$PG_BINDIR/pg_ctl" -D "$data" -l "$BK_CITUS_DIR/node$i.log" -w -t 60 start \
			>/dev/null || { cat "$BK_CITUS_DIR/node$i.log"; return 1; }
		BK_CITUS_PORTS+=("$port")
	done
	export PGHOST=$BK_CITUS_DIR PGPORT=${BK_CITUS_PORTS[0]} PGUSER=postgres PGDATABASE=${PGDATABASE:-postgres}
	export BK_CITUS_DIR
	for port in "${BK_CITUS_PORTS[@]}"; do
		bk_citus_psql "$port" -c 'CREATE EXTENSION citus' || return 1
	done
	# The socket directory is the node name: libpq reads a host starting with / as one.
	bk_citus_psql "$PGPORT" -c "SELECT citus_set_coordinator_host('$BK_CITUS_DIR', $PGPORT)" >/dev/null || return 1
	for port in "${BK_CITUS_PORTS[@]:1}"; do
		bk_citus_psql "$PGPORT" -c "SELECT citus_add_node('$BK_CITUS_DIR', $port)" >/dev/null || return 1
	done
}
