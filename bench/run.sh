#!/usr/bin/env bash
# Benchmark harness (issue 6): backupkit snapshot/restore against COPY, pg_dump/pg_restore and naive SQL,
# side by side in one run on a throwaway cluster. `make bench` runs it; results go to bench/results/.
#
# Knobs: BENCH_REPS (default 3) repetitions per case (median, min, max reported);
#        BENCH_QUICK=1 small tables (100k rows instead of 1M) for iterating on the harness;
#        BENCH_BIG=0 skips the 10M-row peak-memory case (on by default);
#        BENCH_ORDER_TABLES (default 10000) tables for the get_table_restoration_order case.
set -euo pipefail

BK_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$BK_ROOT"
source scripts/cluster.sh

START_S=$(date +%s)
REPS=${BENCH_REPS:-3}
QUICK=${BENCH_QUICK:-0}
BIG=${BENCH_BIG:-1}
ORDER_TABLES=${BENCH_ORDER_TABLES:-10000}
if [ "$QUICK" = 1 ]; then
    SCALE=1; MIXED_ROWS=100000; PC_ROWS=10000; MEM_SMALL=100000; MEM_BIG=1000000
else
    SCALE=10; MIXED_ROWS=1000000; PC_ROWS=100000; MEM_SMALL=1000000; MEM_BIG=10000000
fi

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

log "building and installing backupkit"
bk_build_install
bk_cluster_start "shared_buffers = 1GB" "max_wal_size = 4GB" "fsync = on"
export PGOPTIONS="-c client_min_messages=warning"
WORK=$BK_CLUSTER_DIR/bench   # server-writable files (COPY files, dumps)
mkdir -p "$WORK"
[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
chmod 777 "$WORK"

q() { bk_psql -tA -c "$1"; }

# Runs SQL in a fresh session with \timing on and prints the elapsed milliseconds of the LAST statement.
sql_ms() {
    bk_psql -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n1
}
# Elapsed milliseconds of a shell command.
cmd_ms() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    echo "scale=3; ($t1 - $t0) / 1000000" | bc
}

declare -A MED MIN MAX
# Waits (up to two minutes) until no autovacuum worker runs: the large scratch tables the naive cases write
# and the 10,000 tables of the ordering case wake autovacuum, which would otherwise share the two cores
# with whatever is measured next. Autovacuum itself stays on (the cluster keeps its defaults).
quiesce() {
    local i
    for ((i = 0; i < 240; i++)); do
        [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")" = 0 ] && return 0
        sleep 0.5
    done
    log "autovacuum still running after two minutes; measuring anyway"
}
# measure NAME SETUP_SQL OP_SQL: SETUP_SQL (may be empty) runs untimed before each repetition.
measure() {
    local name=$1 setup=$2 op=$3 i t times=()
    for ((i = 0; i < REPS; i++)); do
        [ -n "$setup" ] && bk_psql <<<"$setup" >/dev/null
        quiesce
        t=$(sql_ms "$op")
        [ -n "$t" ] || { log "no timing for $name"; exit 1; }
        times+=("$t")
    done
    record "$name" "${times[@]}"
}
# measure_cmd NAME SETUP_SQL COMMAND...: the same for an external command.
measure_cmd() {
    local name=$1 setup=$2 i t times=()
    shift 2
    for ((i = 0; i < REPS; i++)); do
        [ -n "$setup" ] && bk_psql <<<"$setup" >/dev/null
        quiesce
        t=$(cmd_ms "$@")
        times+=("$t")
    done
    record "$name" "${times[@]}"
}
record() {
    local name=$1 sorted n
    shift
    sorted=$(printf '%s\n' "$@" | sort -g)
    n=$#
    MED[$name]=$(echo "$sorted" | sed -n "$(((n + 1) / 2))p")
    MIN[$name]=$(echo "$sorted" | head -n1)
    MAX[$name]=$(echo "$sorted" | tail -n1)
    log "$(printf '%-40s median %10.1f ms  (min %.1f, max %.1f)' "$name" "${MED[$name]}" "${MIN[$name]}" "${MAX[$name]}")"
}

has_func() { [ "$(q "SELECT count(*) FROM pg_proc WHERE pronamespace = 'backupkit'::regnamespace AND proname = '$1'")" != 0 ]; }

q "CREATE EXTENSION backupkit" >/dev/null

# ---------------------------------------------------------------- data
log "creating pgbench_accounts (scale $SCALE)"
"$PG_BINDIR/pgbench" -i -q -s "$SCALE" postgres >/dev/null 2>&1
q "ALTER TABLE pgbench_accounts RENAME TO accounts" >/dev/null

log "creating mixed ($MIXED_ROWS rows)"
bk_psql <<SQL
CREATE TABLE mixed (
    id bigint PRIMARY KEY, name text NOT NULL, amount numeric(14, 2), created_at timestamptz,
    attrs jsonb, active boolean, uid uuid, tags int4[], digest bytea);
INSERT INTO mixed
SELECT g, md5(g::text) || ' ' || substr(md5((g * 7)::text), 1, 17),
       round((random() * 100000)::numeric, 2),
       timestamptz '2024-01-01' + g * interval '17 seconds',
       jsonb_build_object('k', g % 100, 'tag', 'v' || (g % 7), 'ok', g % 2 = 0),
       g % 3 = 0, gen_random_uuid(), ARRAY[g % 10, g % 100, g % 1000]::int4[],
       decode(md5(g::text) || md5((g + 1)::text), 'hex')
  FROM generate_series(1, $MIXED_ROWS) g;
CREATE TABLE parent (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint NOT NULL REFERENCES parent, note text);
INSERT INTO parent SELECT g, 'parent ' || g FROM generate_series(1, $PC_ROWS) g;
INSERT INTO child SELECT g, 1 + (g * 7919) % $PC_ROWS, md5(g::text) FROM generate_series(1, $PC_ROWS) g;
CREATE INDEX ON child (parent_id);
VACUUM (FREEZE, ANALYZE);
SQL

# key column and column list of a table
pk_of() { q "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = '$1'::regclass AND i.indisprimary"; }
cols_of() { q "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '$1'::regclass AND attnum > 0 AND NOT attisdropped"; }

# The state every repetition starts from: the original rows, frozen, analysed, checkpointed.
reset_sql() { echo "TRUNCATE $1; COPY $1 FROM '$WORK/$1.copy'; VACUUM (FREEZE, ANALYZE) $1; CHECKPOINT;"; }
# Drops every snapshot but the reference one (and the space it used).
clean_sql() { echo "SELECT backupkit.drop_snapshot(id) FROM backupkit.snapshots WHERE coalesce(label, '') <> 'ref'; VACUUM backupkit.snapshot_chunk; CHECKPOINT;"; }

declare -A SNAP_REF SIZE
bench_table() {
    local t=$1 pk cols set_list
    pk=$(pk_of "$t")
    cols=$(cols_of "$t")
    set_list=$(q "SELECT string_agg(format('%1\$I = EXCLUDED.%1\$I', attname), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '$t'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> '$pk'")
    local n
    n=$(q "SELECT count(*) FROM $t")
    local mutate
    # The 10%/10% table changes a non-key column so that merge has real updates to apply.
    local chg_col
    chg_col=$(q "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = '$t'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> '$pk' AND atttypid IN ('int4'::regtype, 'int8'::regtype, 'numeric'::regtype) ORDER BY attnum LIMIT 1")
    mutate="DELETE FROM $t WHERE $pk % 10 = 1; UPDATE $t SET $chg_col = $chg_col + 1 WHERE $pk % 10 = 2;"
    log "== $t ($n rows, key $pk)"
    q "COPY $t TO '$WORK/$t.copy'" >/dev/null
    q "CREATE TABLE snap_$t (j jsonb)" >/dev/null

    # references
    measure "$t/copy_to" "" "COPY $t TO '/dev/null'"
    measure "$t/copy_from" "TRUNCATE $t; CHECKPOINT;" "COPY $t FROM '$WORK/$t.copy'"
    bk_psql <<<"$(reset_sql "$t")" >/dev/null
    measure_cmd "$t/pg_dump" "CHECKPOINT" "$PG_BINDIR/pg_dump" -Fc -t "$t" -f "$WORK/$t.dump" postgres
    SIZE[$t/pg_dump]=$(stat -c %s "$WORK/$t.dump")
    measure_cmd "$t/pg_restore" "TRUNCATE $t; CHECKPOINT;" "$PG_BINDIR/pg_restore" --data-only -d postgres "$WORK/$t.dump"
    bk_psql <<<"$(reset_sql "$t")" >/dev/null
    measure "$t/naive_snapshot" "TRUNCATE snap_$t; CHECKPOINT;" "INSERT INTO snap_$t SELECT to_jsonb(x) FROM $t x"
    measure "$t/naive_restore" "TRUNCATE $t; CHECKPOINT;" \
        "INSERT INTO $t SELECT (jsonb_populate_record(NULL::$t, j)).* FROM snap_$t"
    measure "$t/naive_merge_unchanged" "$(reset_sql "$t")" \
        "INSERT INTO $t AS t SELECT (jsonb_populate_record(NULL::$t, j)).* FROM snap_$t ON CONFLICT ($pk) DO UPDATE SET $set_list WHERE (t.*) IS DISTINCT FROM (EXCLUDED.*)"
    # The scratch table is done with; dropping it spares the measurements below its autovacuum.
    q "DROP TABLE snap_$t" >/dev/null

    # sizes: heap, rows as JSON lines through zstd -3
    SIZE[$t/heap]=$(q "SELECT pg_table_size('$t')")
    q "COPY (SELECT to_jsonb(x) FROM $t x) TO '$WORK/$t.jsonl'" >/dev/null
    zstd -q -f -3 "$WORK/$t.jsonl" -o "$WORK/$t.jsonl.zst"
    SIZE[$t/jsonl_zstd]=$(stat -c %s "$WORK/$t.jsonl.zst")
    rm -f "$WORK/$t.jsonl" "$WORK/$t.jsonl.zst"

    # backupkit snapshots
    bk_psql <<<"$(reset_sql "$t")" >/dev/null
    measure "$t/bk_snapshot_zstd" "$(clean_sql)" "SELECT backupkit.snapshot_tables(ARRAY['$t']::regclass[], 'bench', 'zstd')"
    SIZE[$t/bk_zstd]=$(q "SELECT stored_bytes FROM backupkit.snapshots WHERE label = 'bench' ORDER BY id DESC LIMIT 1")
    measure "$t/bk_snapshot_none" "$(clean_sql)" "SELECT backupkit.snapshot_tables(ARRAY['$t']::regclass[], 'bench', 'none')"
    SIZE[$t/bk_none]=$(q "SELECT stored_bytes FROM backupkit.snapshots WHERE label = 'bench' ORDER BY id DESC LIMIT 1")
    measure "$t/bk_snapshot_zstd_level3" "$(clean_sql)" "SET backupkit.zstd_level = 3; SELECT backupkit.snapshot_tables(ARRAY['$t']::regclass[], 'bench', 'zstd')"
    bk_psql <<<"$(clean_sql)" >/dev/null
    local sid
    sid=$(q "SELECT backupkit.snapshot_tables(ARRAY['$t']::regclass[], 'ref', 'zstd')")
    SNAP_REF[$t]=$sid
    local restore="SELECT backupkit.restore_table_from_snapshot($sid, '$t'"

    # backupkit restores, each from the same prepared state. The reference snapshot was taken before the
    # table was reloaded (a new heap), so these compare rows by content.
    measure "$t/bk_replace_truncated" "TRUNCATE $t; CHECKPOINT;" "$restore, 'replace')"
    measure "$t/bk_replace_10_10" "$(reset_sql "$t") $mutate CHECKPOINT;" "$restore, 'replace')"
    measure "$t/bk_merge_unchanged" "$(reset_sql "$t")" "$restore, 'merge')"
    measure "$t/bk_merge_10_10" "$(reset_sql "$t") $mutate CHECKPOINT;" "$restore, 'merge')"
    # The E-Maj-like undo cases: take a snapshot (untimed), make the bad change, restore from that snapshot,
    # as rollback-to-mark does; the heap is the one captured, so unchanged rows are skipped by tuple id.
    local undo_setup undo
    undo_setup="$(reset_sql "$t") $(clean_sql) SELECT backupkit.snapshot_tables(ARRAY['$t']::regclass[], 'undo', 'zstd');"
    undo="SELECT backupkit.restore_table_from_snapshot((SELECT max(id) FROM backupkit.snapshots WHERE label = 'undo'), '$t'"
    measure "$t/bk_merge_same_heap" "$undo_setup CHECKPOINT;" "$undo, 'merge')"
    measure "$t/bk_merge_after_update10" "$undo_setup UPDATE $t SET $chg_col = $chg_col + 1 WHERE $pk % 10 = 3; CHECKPOINT;" "$undo, 'merge')"
    measure "$t/bk_replace_after_update100" "$undo_setup UPDATE $t SET $chg_col = $chg_col + 1; CHECKPOINT;" "$undo, 'replace')"
    # What undoing it with a dump costs: TRUNCATE of the same bloated table, then COPY.
    measure "$t/copy_from_after_update100" "$(reset_sql "$t") UPDATE $t SET $chg_col = $chg_col + 1; CHECKPOINT;" \
        "BEGIN; TRUNCATE $t; COPY $t FROM '$WORK/$t.copy'; COMMIT;"
    measure "$t/bk_missing_after_delete10" "$undo_setup DELETE FROM $t WHERE $pk % 10 = 4; CHECKPOINT;" "$undo, 'missing')"
    bk_psql <<<"$(clean_sql)" >/dev/null
    bk_psql <<<"$(reset_sql "$t")" >/dev/null
    # which path the restore takes (report field "path")
    PATHS[$t]=$(q "BEGIN; SELECT coalesce(r->>'path', r::text) FROM backupkit.restore_table_from_snapshot($sid, '$t', 'replace') r; ROLLBACK;" | head -n1 | cut -c1-60)

    if has_func validate_snapshot_integrity; then
        measure "$t/bk_validate" "" "SELECT backupkit.validate_snapshot_integrity($sid)"
    fi
    if has_func diff; then
        measure "$t/bk_diff_unchanged" "" "SELECT count(*) FROM backupkit.diff($sid, '$t')"
        measure "$t/bk_diff_10_10" "$(reset_sql "$t") $mutate CHECKPOINT;" "SELECT count(*) FROM backupkit.diff($sid, '$t')"
        bk_psql <<<"$(reset_sql "$t")" >/dev/null
    fi
    rm -f "$WORK/$t.dump"
}
declare -A PATHS

bench_table accounts
bench_table mixed

# ---------------------------------------------------------------- parent/child
log "== parent/child ($PC_ROWS rows each)"
q "COPY parent TO '$WORK/parent.copy'; COPY child TO '$WORK/child.copy'" >/dev/null
PC_RESET="TRUNCATE parent, child; COPY parent FROM '$WORK/parent.copy'; COPY child FROM '$WORK/child.copy'; VACUUM (FREEZE, ANALYZE) parent, child; CHECKPOINT;"
measure "pc/copy_to" "" "COPY parent TO '/dev/null'; COPY child TO '/dev/null'"
measure "pc/copy_from" "TRUNCATE parent, child; CHECKPOINT;" "COPY parent FROM '$WORK/parent.copy'; COPY child FROM '$WORK/child.copy'"
bk_psql <<<"$PC_RESET" >/dev/null
measure "pc/bk_snapshot_zstd" "$(clean_sql)" "SELECT backupkit.snapshot_tables(ARRAY['parent', 'child']::regclass[], 'bench', 'zstd')"
PC_SID=$(q "SELECT backupkit.snapshot_tables(ARRAY['parent', 'child']::regclass[], 'ref', 'zstd')")
SIZE[pc/bk_zstd]=$(q "SELECT stored_bytes FROM backupkit.snapshots WHERE id = $PC_SID")
SIZE[pc/heap]=$(q "SELECT pg_table_size('parent') + pg_table_size('child')")
if has_func restore_snapshot; then
    measure "pc/bk_restore_replace_truncated" "TRUNCATE parent, child; CHECKPOINT;" "SELECT backupkit.restore_snapshot($PC_SID)"
else
    # one call per table, parents first, in one transaction
    measure "pc/bk_restore_replace_truncated" "TRUNCATE parent, child; CHECKPOINT;" \
        "BEGIN; SELECT backupkit.restore_table_from_snapshot($PC_SID, 'parent', 'replace'); SELECT backupkit.restore_table_from_snapshot($PC_SID, 'child', 'replace'); COMMIT"
fi
measure "pc/bk_merge_unchanged" "$PC_RESET" \
    "BEGIN; SELECT backupkit.restore_table_from_snapshot($PC_SID, 'parent', 'merge'); SELECT backupkit.restore_table_from_snapshot($PC_SID, 'child', 'merge'); COMMIT"
bk_psql <<<"$PC_RESET" >/dev/null

# ---------------------------------------------------------------- peak memory
# Peak memory of a fresh backend during one operation: VmHWM (includes shared buffers it touched) read by
# the backend itself at the end, and the peak of RssAnon (private memory) sampled from outside every 20 ms.
declare -A MEM_HWM MEM_ANON
# VmHWM is read by the backend itself at the end and comes back through a file.
mem_case() {
    local name=$1 sql=$2 pidfile=$WORK/mem.pid hwmfile=$WORK/mem.hwm peak=0 pid v
    rm -f "$pidfile" "$hwmfile"
    bk_psql -tA -c "\\o $pidfile" -c "SELECT pg_backend_pid()" -c "\\o" -c "SELECT pg_sleep(0.3)" \
        -c "$sql" -c "\\o $hwmfile" \
        -c "SELECT substring(pg_read_file('/proc/self/status') FROM 'VmHWM:\\s*(\\d+)')" >/dev/null &
    local psql_pid=$!
    while [ ! -s "$pidfile" ] && kill -0 "$psql_pid" 2>/dev/null; do sleep 0.02; done
    pid=$(head -n1 "$pidfile" 2>/dev/null || true)
    while [ -n "$pid" ] && kill -0 "$psql_pid" 2>/dev/null; do
        v=$(sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status" 2>/dev/null || true)
        if [ -n "$v" ] && [ "$v" -gt "$peak" ]; then peak=$v; fi
        sleep 0.02
    done
    wait "$psql_pid"
    MEM_ANON[$name]=$peak
    MEM_HWM[$name]=$(head -n1 "$hwmfile")
    log "$(printf '%-40s VmHWM %s kB, peak RssAnon %s kB' "$name" "${MEM_HWM[$name]}" "$peak")"
}
mem_table() {
    local label=$1 rows=$2
    log "== memory: $rows-row table"
    bk_psql <<<"DROP TABLE IF EXISTS mem_t; CREATE TABLE mem_t (id bigint PRIMARY KEY, v int4 NOT NULL, note text NOT NULL);
        INSERT INTO mem_t SELECT g, g % 1000, md5(g::text) FROM generate_series(1, $rows) g; VACUUM (FREEZE, ANALYZE) mem_t; CHECKPOINT;" >/dev/null
    bk_psql <<<"$(clean_sql)" >/dev/null
    mem_case "snapshot_$label" "SELECT backupkit.snapshot_tables(ARRAY['mem_t']::regclass[], 'bench', 'zstd')"
    local sid
    sid=$(q "SELECT max(id) FROM backupkit.snapshots WHERE label = 'bench'")
    bk_psql -c "TRUNCATE mem_t; CHECKPOINT;" >/dev/null
    mem_case "restore_$label" "SELECT backupkit.restore_table_from_snapshot($sid, 'mem_t', 'replace')"
    bk_psql <<<"DROP TABLE mem_t; $(clean_sql)" >/dev/null
}
mem_table small "$MEM_SMALL"
if [ "$BIG" = 1 ]; then mem_table big "$MEM_BIG"; fi

# ---------------------------------------------------------------- ordering of 10,000 tables
ORDER_MS=n/a
if has_func get_table_restoration_order; then
    log "== get_table_restoration_order on $ORDER_TABLES tables"
    # Table i references table i-1 (a chain) and table i/2 (cross links): a deep, branching graph.
    bk_psql -c "CREATE SCHEMA ord;" >/dev/null
    # One statement per table (\gexec, autocommit), so no transaction holds ten thousand locks.
    bk_psql >/dev/null <<SQL
SELECT format('CREATE TABLE ord.t%s (id int PRIMARY KEY, prev int, half int)', i) FROM generate_series(1, $ORDER_TABLES) i \gexec
SELECT format('ALTER TABLE ord.t%s ADD FOREIGN KEY (prev) REFERENCES ord.t%s, ADD FOREIGN KEY (half) REFERENCES ord.t%s', i, i - 1, greatest(i / 2, 1)) FROM generate_series(2, $ORDER_TABLES) i \gexec
SQL
    measure "order_${ORDER_TABLES}_tables" "" \
        "SELECT cardinality(backupkit.get_table_restoration_order(array_agg(c.oid::regclass))) FROM pg_class c WHERE c.relnamespace = 'ord'::regnamespace AND c.relkind = 'r'"
    ORDER_MS=${MED[order_${ORDER_TABLES}_tables]}
fi

# ---------------------------------------------------------------- report
ratio() { # ratio A B -> A/B with 2 decimals, or n/a
    if [ -n "${1:-}" ] && [ -n "${2:-}" ] && [ "$1" != n/a ] && [ "$2" != n/a ]; then
        echo "scale=4; $1 / $2" | bc | awk '{printf "%.2f", $1}'
    else echo n/a; fi
}
ms() { if [ -n "${MED[$1]:-}" ]; then printf '%.0f (%.0f–%.0f)' "${MED[$1]}" "${MIN[$1]}" "${MAX[$1]}"; else echo n/a; fi; }
mb() { if [ -n "${1:-}" ]; then echo "scale=2; $1 / 1048576" | bc | awk '{printf "%.1f MB", $1}'; else echo n/a; fi; }
target_mark() { # value op limit
    [ "$1" = n/a ] && { echo ""; return; }
    if [ "$(echo "$1 $2 $3" | bc)" = 1 ]; then echo "met"; else echo "**missed**"; fi
}

OUT=$(mktemp)
{
    echo "# backupkit benchmark"
    echo
    echo "Made by \`make bench\` (bash bench/run.sh) with BENCH_REPS=$REPS BENCH_QUICK=$QUICK BENCH_BIG=$BIG."
    echo "Times are medians of $REPS repetitions in ms, (min–max); every repetition starts from the same state"
    echo "(table reloaded, frozen, analysed, checkpointed) and only the operation is timed (psql \\timing)."
    echo
    echo "## Machine"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- commit: $(git rev-parse --short HEAD) ($(git log -1 --format=%s | cut -c1-60))"
    echo "- CPU: $(nproc) × $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)"
    echo "- RAM: $(free -g | awk '/^Mem:/ {print $2}') GB"
    echo "- PostgreSQL: $(q 'SHOW server_version'), shared_buffers 1GB, max_wal_size 4GB, fsync on"
    echo "- load average at the end (other work on the machine adds noise): $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- run time: $(( $(date +%s) - START_S )) s"
    echo
    for t in accounts mixed; do
        case $t in accounts) title="pgbench_accounts, scale $SCALE";; mixed) title="mixed-type table";; esac
        echo "## $title ($(q "SELECT count(*) FROM $t") rows)"
        echo
        echo "| operation | ms median (min–max) | × COPY | × pg_dump/pg_restore | × naive SQL | target |"
        echo "|---|---:|---:|---:|---:|---|"
        echo "| \`COPY t TO '/dev/null'\` | $(ms $t/copy_to) | 1.00 | | | |"
        echo "| \`pg_dump -Fc -t t\` | $(ms $t/pg_dump) | $(ratio "${MED[$t/pg_dump]}" "${MED[$t/copy_to]}") | 1.00 | | |"
        echo "| naive snapshot \`INSERT INTO snap SELECT to_jsonb(t)\` | $(ms $t/naive_snapshot) | $(ratio "${MED[$t/naive_snapshot]}" "${MED[$t/copy_to]}") | | 1.00 | |"
        for c in zstd zstd_level3 none; do
            r=$(ratio "${MED[$t/bk_snapshot_$c]}" "${MED[$t/copy_to]}")
            mark=""; [ "$c" = zstd ] && mark="≤ 2.0× COPY: $(target_mark "$r" '<=' 2.0)"
            echo "| backupkit snapshot ($c) | $(ms $t/bk_snapshot_$c) | $r | $(ratio "${MED[$t/bk_snapshot_$c]}" "${MED[$t/pg_dump]}") | $(ratio "${MED[$t/bk_snapshot_$c]}" "${MED[$t/naive_snapshot]}") | $mark |"
        done
        echo "| \`TRUNCATE; COPY t FROM file\` (PK present) | $(ms $t/copy_from) | 1.00 | | | |"
        echo "| \`pg_restore --data-only\` (truncated) | $(ms $t/pg_restore) | $(ratio "${MED[$t/pg_restore]}" "${MED[$t/copy_from]}") | 1.00 | | |"
        echo "| naive restore \`jsonb_populate_record\` (truncated) | $(ms $t/naive_restore) | $(ratio "${MED[$t/naive_restore]}" "${MED[$t/copy_from]}") | | 1.00 | |"
        echo "| naive merge \`ON CONFLICT ... IS DISTINCT FROM\`, unchanged | $(ms $t/naive_merge_unchanged) | $(ratio "${MED[$t/naive_merge_unchanged]}" "${MED[$t/copy_from]}") | | 1.00 | |"
        row() { # name label naive-reference target-op target-limit target-text
            local r
            r=$(ratio "${MED[$t/$1]:-}" "${MED[$t/copy_from]}")
            local mark=""
            [ -n "${4:-}" ] && mark="$6: $(target_mark "$r" "$4" "$5")"
            echo "| $2 | $(ms $t/$1) | $r | $(ratio "${MED[$t/$1]:-}" "${MED[$t/pg_restore]}") | $( [ -n "$3" ] && ratio "${MED[$t/$1]:-}" "${MED[$t/$3]}") | $mark |"
        }
        row bk_replace_truncated "backupkit replace, truncated table (path: ${PATHS[$t]})" naive_restore '<=' 1.2 "≤ 1.2× COPY FROM"
        row bk_replace_10_10 "backupkit replace, 10% deleted + 10% updated (reloaded table)" naive_restore
        row bk_merge_unchanged "backupkit merge, unchanged rows of a reloaded table (compared by content)" naive_merge_unchanged '<=' 1.5 "≤ 1.5× COPY FROM"
        row bk_merge_same_heap "backupkit merge, unchanged table (the heap captured)" naive_merge_unchanged '<=' 1.5 "≤ 1.5× COPY FROM"
        row bk_merge_10_10 "backupkit merge, 10% deleted + 10% updated (reloaded table)" naive_merge_unchanged
        row bk_merge_after_update10 "undo: merge after UPDATE of 10%" "" '<=' 0.8 "≤ 0.8× COPY FROM"
        row bk_replace_after_update100 "undo: replace after UPDATE of 100%" "" '<=' 1.2 "≤ 1.2× COPY FROM"
        echo "| (reference: \`BEGIN; TRUNCATE; COPY t FROM file; COMMIT\` after the same UPDATE) | $(ms $t/copy_from_after_update100) | $(ratio "${MED[$t/copy_from_after_update100]}" "${MED[$t/copy_from]}") | | | replace after 100% / this: $(ratio "${MED[$t/bk_replace_after_update100]}" "${MED[$t/copy_from_after_update100]}")× |"
        row bk_missing_after_delete10 "undo: missing after DELETE of 10%" "" '<=' 0.5 "≤ 0.5× COPY FROM"
        if [ -n "${MED[$t/bk_validate]:-}" ]; then
            r=$(ratio "${MED[$t/bk_validate]}" "${MED[$t/bk_snapshot_zstd]}")
            echo "| validate_snapshot_integrity (× snapshot zstd in last column) | $(ms $t/bk_validate) | $(ratio "${MED[$t/bk_validate]}" "${MED[$t/copy_to]}") | | $r | ≤ 1× snapshot: $(target_mark "$r" '<=' 1.0) |"
        else
            echo "| validate_snapshot_integrity | n/a (not in this build) | | | | |"
        fi
        if [ -n "${MED[$t/bk_diff_unchanged]:-}" ]; then
            echo "| diff, unchanged table (× COPY TO) | $(ms $t/bk_diff_unchanged) | $(ratio "${MED[$t/bk_diff_unchanged]}" "${MED[$t/copy_to]}") | | | |"
            echo "| diff, 10% deleted + 10% updated (× COPY TO) | $(ms $t/bk_diff_10_10) | $(ratio "${MED[$t/bk_diff_10_10]}" "${MED[$t/copy_to]}") | | | |"
        else
            echo "| diff | n/a (not in this build) | | | | |"
        fi
        echo
        r=$(ratio "${SIZE[$t/bk_zstd]}" "${SIZE[$t/pg_dump]}")
        echo "Storage: heap (pg_table_size) $(mb "${SIZE[$t/heap]}"); backupkit zstd $(mb "${SIZE[$t/bk_zstd]}")" \
            "($(ratio "${SIZE[$t/bk_zstd]}" "${SIZE[$t/heap]}")× heap, **$r× pg_dump -Fc**, target ≤ 0.8: $(target_mark "$r" '<=' 0.8);" \
            "$(ratio "${SIZE[$t/bk_zstd]}" "${SIZE[$t/jsonl_zstd]}")× JSON lines + zstd -3);" \
            "backupkit none $(mb "${SIZE[$t/bk_none]}"); pg_dump -Fc $(mb "${SIZE[$t/pg_dump]}");" \
            "JSON lines + zstd -3 $(mb "${SIZE[$t/jsonl_zstd]}")."
        echo
    done
    echo "## parent/child ($PC_ROWS rows each, child references parent)"
    echo
    echo "| operation | ms median (min–max) | × COPY |"
    echo "|---|---:|---:|"
    echo "| COPY both TO '/dev/null' | $(ms pc/copy_to) | 1.00 |"
    echo "| backupkit snapshot (zstd), both tables | $(ms pc/bk_snapshot_zstd) | $(ratio "${MED[pc/bk_snapshot_zstd]}" "${MED[pc/copy_to]}") |"
    echo "| TRUNCATE; COPY both FROM files | $(ms pc/copy_from) | 1.00 |"
    echo "| backupkit replace both, truncated | $(ms pc/bk_restore_replace_truncated) | $(ratio "${MED[pc/bk_restore_replace_truncated]}" "${MED[pc/copy_from]}") |"
    echo "| backupkit merge both, unchanged | $(ms pc/bk_merge_unchanged) | $(ratio "${MED[pc/bk_merge_unchanged]}" "${MED[pc/copy_from]}") |"
    echo
    echo "Storage: heap $(mb "${SIZE[pc/heap]}"), backupkit zstd $(mb "${SIZE[pc/bk_zstd]}")."
    echo
    echo "## Backend peak memory (3-column table: bigint key, int, 32-char text; fresh connection per operation)"
    echo
    echo "VmHWM counts the shared buffers the backend touched; peak RssAnon (sampled every 20 ms) is its private memory."
    echo
    echo "| operation | rows | VmHWM | peak RssAnon |"
    echo "|---|---:|---:|---:|"
    for op in snapshot restore; do
        echo "| $op | $MEM_SMALL | ${MEM_HWM[${op}_small]} kB | ${MEM_ANON[${op}_small]} kB |"
        if [ "$BIG" = 1 ]; then
            echo "| $op | $MEM_BIG | ${MEM_HWM[${op}_big]} kB | ${MEM_ANON[${op}_big]} kB |"
        fi
    done
    if [ "$BIG" = 1 ]; then
        echo
        for op in snapshot restore; do
            r=$(ratio "${MEM_ANON[${op}_big]}" "${MEM_ANON[${op}_small]}")
            echo "- $op: peak RssAnon big/small = $r (target ≤ 1.10: $(target_mark "$r" '<=' 1.10)); VmHWM big/small = $(ratio "${MEM_HWM[${op}_big]}" "${MEM_HWM[${op}_small]}")"
        done
    fi
    echo
    echo "## get_table_restoration_order"
    echo
    if [ "$ORDER_MS" = n/a ]; then
        echo "n/a (not in this build)"
    else
        echo "$ORDER_TABLES tables chained and cross-linked by foreign keys: $(ms order_${ORDER_TABLES}_tables) ms (target < 100 ms: $(target_mark "$ORDER_MS" '<' 100))"
    fi
} >"$OUT"

mkdir -p bench/results
if [ "$QUICK" = 1 ]; then
    cp "$OUT" bench/results/quick.md
    log "wrote bench/results/quick.md"
else
    cp "$OUT" bench/results/latest.md
    cp "$OUT" "bench/results/$(date -u +%Y-%m-%d).md"
    log "wrote bench/results/latest.md"
fi
cat "$OUT"
rm -f "$OUT"
