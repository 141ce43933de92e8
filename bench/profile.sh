#!/usr/bin/env bash
# Where the time of snapshot and restore goes: perf record of the backend during one operation on
# pgbench_accounts (scale ${BENCH_SCALE:-10}), the top symbols written to bench/results/profile.md.
# Needs perf (Debian: linux-perf). Not part of `make bench`; run `bash bench/profile.sh`.
set -euo pipefail
BK_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$BK_ROOT"
source scripts/cluster.sh
SCALE=${BENCH_SCALE:-10}
TOP=${BENCH_PROFILE_TOP:-25}

bk_build_install
bk_cluster_start "shared_buffers = 1GB" "max_wal_size = 4GB" "fsync = on"
export PGOPTIONS="-c client_min_messages=warning"
q() { bk_psql -tA -c "$1"; }
q "CREATE EXTENSION backupkit" >/dev/null
"$PG_BINDIR/pgbench" -i -q -s "$SCALE" postgres >/dev/null 2>&1
WORK=$BK_CLUSTER_DIR/profile
mkdir -p "$WORK"
chmod 777 "$WORK"
q "COPY pgbench_accounts TO '$WORK/a.copy'" >/dev/null
RESET="TRUNCATE pgbench_accounts; COPY pgbench_accounts FROM '$WORK/a.copy'; VACUUM (FREEZE, ANALYZE) pgbench_accounts; CHECKPOINT;"
bk_psql <<<"$RESET" >/dev/null
SID=$(q "SELECT backupkit.snapshot_tables(ARRAY['pgbench_accounts']::regclass[], 'ref', 'zstd')")

# profile NAME SETUP SQL: perf record (call graphs) of a fresh backend running SQL after SETUP.
OUT=bench/results/profile.md
profile() {
    local name=$1 setup=$2 sql=$3 pidfile=$WORK/pid
    [ -n "$setup" ] && bk_psql <<<"$setup" >/dev/null
    rm -f "$pidfile"
    bk_psql -tA -c "\\o $pidfile" -c "SELECT pg_backend_pid()" -c "\\o" -c "SELECT pg_sleep(0.5)" -c '\timing on' \
        -c "$sql" >"$WORK/$name.out" &
    local psql_pid=$!
    while [ ! -s "$pidfile" ]; do sleep 0.02; done
    perf record -F 999 -g -o "$WORK/$name.data" -p "$(cat "$pidfile")" >/dev/null 2>&1 &
    local perf_pid=$!
    wait "$psql_pid"
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    {
        echo "## $name"
        echo
        echo "\`$sql\` — $(sed -n 's/^Time: //p' "$WORK/$name.out" | tail -n1)"
        echo
        echo '```'
        perf report -i "$WORK/$name.data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.7 2>/dev/null |
            grep -v '^#' | grep -v '^$' | sed 's/[[:space:]]*-[[:space:]]*-[[:space:]]*$//' | head -n "$TOP"
        echo '```'
        echo
        echo "Inclusive (children) for the main stages:"
        echo
        echo '```'
        perf report -i "$WORK/$name.data" --children --sort symbol --stdio -g none 2>/dev/null | grep -v '^#' | sed 's/[[:space:]]*-[[:space:]]*-[[:space:]]*$//' |
            grep -E 'bk_|Copy|ZSTD_compress|ZSTD_decompress|OutputFunctionCall|InputFunctionCall|heap_multi_insert|ExecInsertIndexTuples|XLogInsert|toast_|chunk_to_copy|json_escape|checksum64|ExecHashJoin|ExecUpdate|ExecInsert|hash_|standard_ExecutorRun|CopyOneRowTo|CopyFrom' |
            head -n 30
        echo '```'
        echo
    } >>"$OUT"
}

{
    echo "# Profile of snapshot and restore (perf, pgbench_accounts scale $SCALE)"
    echo
    echo "Made by \`bash bench/profile.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)," \
        "$(nproc) × $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1). Self time per symbol, then inclusive time."
    echo
} >"$OUT"
profile copy_to "" "COPY pgbench_accounts TO '/dev/null'"
profile snapshot_zstd "CHECKPOINT" "SELECT backupkit.snapshot_tables(ARRAY['pgbench_accounts']::regclass[], 'p', 'zstd')"
profile snapshot_none "CHECKPOINT" "SELECT backupkit.snapshot_tables(ARRAY['pgbench_accounts']::regclass[], 'p', 'none')"
profile copy_from "TRUNCATE pgbench_accounts; CHECKPOINT;" "COPY pgbench_accounts FROM '$WORK/a.copy'"
profile replace_truncated "TRUNCATE pgbench_accounts; CHECKPOINT;" "SELECT backupkit.restore_table_from_snapshot($SID, 'pgbench_accounts', 'replace')"
# The undo cases restore from a snapshot of the same heap, taken just before the bad change (as make bench).
UNDO_SNAP="SELECT backupkit.snapshot_tables(ARRAY['pgbench_accounts']::regclass[], 'undo', 'zstd');"
UNDO="SELECT backupkit.restore_table_from_snapshot((SELECT max(id) FROM backupkit.snapshots WHERE label = 'undo'), 'pgbench_accounts'"
profile replace_after_update100 "$RESET $UNDO_SNAP UPDATE pgbench_accounts SET bid = bid + 1; CHECKPOINT;" \
    "$UNDO, 'replace')"
profile merge_after_update10 "$RESET $UNDO_SNAP UPDATE pgbench_accounts SET bid = bid + 1 WHERE aid % 10 = 3; CHECKPOINT;" \
    "$UNDO, 'merge')"
profile missing_after_delete10 "$RESET $UNDO_SNAP DELETE FROM pgbench_accounts WHERE aid % 10 = 4; CHECKPOINT;" \
    "$UNDO, 'missing')"
echo "wrote $OUT" >&2
