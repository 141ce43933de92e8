# Sourced by the test, demo and benchmark scripts: a throwaway PostgreSQL cluster in a temporary
# directory, listening only on a Unix socket in that directory, stopped and removed on exit (even on
# failure). As root the server runs as the unprivileged "postgres" user; otherwise as the caller.
#
#   bk_cluster_start [postgresql.conf lines...]   exports PGHOST, PGPORT, PGUSER, BK_CLUSTER_DIR
#   bk_psql <args>                                psql with -X -v ON_ERROR_STOP=1

PG_CONFIG=${PG_CONFIG:-pg_config}
PG_BINDIR=$("$PG_CONFIG" --bindir)

bk_as_server_user() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

bk_cluster_stop() {
    if [ -n "${BK_CLUSTER_DIR:-}" ] && [ -d "$BK_CLUSTER_DIR" ]; then
        if [ -f "$BK_CLUSTER_DIR/data/postmaster.pid" ]; then
            bk_as_server_user "$PG_BINDIR/pg_ctl" -D "$BK_CLUSTER_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
        fi
        if [ "${BK_KEEP_CLUSTER:-0}" = 1 ]; then
            echo "cluster kept in $BK_CLUSTER_DIR" >&2
        else
            rm -rf "$BK_CLUSTER_DIR"
        fi
    fi
}

# The postgresql.conf lines of a throwaway server: listening only on a Unix socket in <socket dir> (no TCP),
# quiet logs, then the extra lines given.
bk_server_conf() { # bk_server_conf <socket dir> <port> [lines...]
    local socket_dir=$1 port=$2 line
    shift 2
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$socket_dir'"
    echo "port = $port"
    echo "logging_collector = off"
    echo "log_min_messages = warning"
    for line in "$@"; do echo "$line"; done
}

bk_cluster_start() {
    BK_CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/backupkit-cluster.XXXXXX")
    trap bk_cluster_stop EXIT
    chmod 755 "$BK_CLUSTER_DIR"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$BK_CLUSTER_DIR"
    fi
    bk_as_server_user "$PG_BINDIR/initdb" -D "$BK_CLUSTER_DIR/data" -U postgres -A trust -E UTF8 \
        --locale=C.UTF-8 >"$BK_CLUSTER_DIR/initdb.log" 2>&1 || { cat "$BK_CLUSTER_DIR/initdb.log"; return 1; }
    # The port only names the socket file; with no TCP listener, any number is free.
    PGPORT=$((20000 + RANDOM % 20000))
    bk_server_conf "$BK_CLUSTER_DIR" "$PGPORT" "$@" |
        bk_as_server_user tee -a "$BK_CLUSTER_DIR/data/postgresql.conf" >/dev/null
    bk_as_server_user "$PG_BINDIR/pg_ctl" -D "$BK_CLUSTER_DIR/data" -l "$BK_CLUSTER_DIR/server.log" -w -t 60 start \
        >/dev/null || { cat "$BK_CLUSTER_DIR/server.log"; return 1; }
    export PGHOST=$BK_CLUSTER_DIR PGPORT PGUSER=postgres PGDATABASE=postgres BK_CLUSTER_DIR
}

bk_psql() {
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

# Builds and installs the extension into the server's directories (with sudo when not root).
bk_build_install() {
    make -s PG_CONFIG="$PG_CONFIG" >/dev/null
    if [ -w "$("$PG_CONFIG" --pkglibdir)" ]; then
        make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
    else
        sudo make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
    fi
}
