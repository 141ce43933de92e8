#!/usr/bin/env bash
# Export/import throughput of the backupkit client against pg_dump -Fc / pg_restore, side by side on the same
# tables of a throwaway cluster: pgbench_accounts (scale 10: 1M rows) and a mixed-types table of 1M rows.
#   BENCH_REPS (default 3) repetitions per case, median reported;  BENCH_ROWS (default 1000000) mixed rows
# Cases (wall-clock time of the client command, file size):
#   backupkit snapshot + export -o FILE    vs  pg_dump -Fc -t TABLE -f FILE (both read the live table)
#   backupkit export ID -o FILE            vs  pg_dump -Fc -t TABLE -f FILE (the snapshot already taken)
#   backupkit export ID -o FILE --encrypt  (Argon2id + XChaCha20-Poly1305)
#   backupkit import FILE                  vs  pg_restore -a (data only, into an empty copy of the table)
#   backupkit import + restore (replace)   vs  the same pg_restore (the data back in the table)
# Prints a Markdown table; bench/results/cli_export.md holds the last recorded run.
set -euo pipefail
BK_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$BK_ROOT"
source scripts/cluster.sh
export PATH="$PG_BINDIR:$PATH"
REPS=${BENCH_REPS:-3}
ROWS=${BENCH_ROWS:-1000000}
bk_cluster_start "shared_buffers = 1GB" "max_wal_size = 4GB" "fsync = on" >/dev/null
export PGOPTIONS="-c client_min_messages=warning"
export BACKUPKIT_PASSPHRASE=bench-passphrase
WORK=$BK_CLUSTER_DIR/cli_bench
mkdir -p "$WORK"
chmod 777 "$WORK"
q() { bk_psql -tA "$@"; }

q -c "CREATE DATABASE src" -c "CREATE DATABASE dst" >/dev/null
for db in src dst; do q -d $db -c "CREATE EXTENSION backupkit" >/dev/null; done
pgbench -i -s $((ROWS / 100000)) -q src >/dev/null 2>&1
MIXED="CREATE TABLE public.mixed (id bigint PRIMARY KEY, name text, amount numeric(12,2), at timestamptz, flag boolean, tags text[], doc jsonb, u uuid, b bytea)"
q -d src -c "$MIXED" -c "INSERT INTO public.mixed SELECT g, md5(g::text), g * 0.01, '2024-01-01'::timestamptz + g * interval '1 s', g % 2 = 0, ARRAY['a' || g % 10, 'b'], jsonb_build_object('k', g, 'v', md5(g::text)), md5(g::text)::uuid, decode(md5(g::text), 'hex') FROM generate_series(1, $ROWS) g" -c "VACUUM ANALYZE" >/dev/null
q -d dst -c "$MIXED" -c "CREATE TABLE public.pgbench_accounts (aid integer PRIMARY KEY, bid integer, abalance integer, filler character(84))" >/dev/null

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); awk -v a="$e" -v b="$s" 'BEGIN {printf "%.2f", a - b}'; }

echo "| table (rows) | case | backupkit s | pg_dump/pg_restore s | ratio | backupkit file | pg_dump file |"
echo "|---|---|---:|---:|---:|---:|---:|"
for t in pgbench_accounts mixed; do
    sid=$(q -d src -c "SELECT backupkit.snapshot_tables(ARRAY['public.$t'::regclass], 'bench')")
    ex=(); exe=(); dump=(); imp=(); impr=(); rest=(); snapex=()
    for _ in $(seq 1 "$REPS"); do
        s=$(date +%s.%N)
        xid=$(backupkit -d src snapshot -t "public.$t" --label benchx --quiet)
        backupkit -d src export "$xid" -o "$WORK/$t.x.bkx" --quiet >/dev/null
        e=$(date +%s.%N)
        snapex+=("$(awk -v a="$e" -v b="$s" 'BEGIN {printf "%.2f", a - b}')")
        q -d src -c "SELECT backupkit.drop_snapshot($xid)" >/dev/null
        ex+=("$(secs backupkit -d src export "$sid" -o "$WORK/$t.bkx" --quiet)")
        exe+=("$(secs backupkit -d src export "$sid" -o "$WORK/$t.enc.bkx" --encrypt --quiet)")
        dump+=("$(secs pg_dump -d src -Fc -t "public.$t" -f "$WORK/$t.dump")")
        imp+=("$(secs backupkit -d dst import "$WORK/$t.bkx" --quiet)")
        nid=$(q -d dst -c "SELECT max(id) FROM backupkit.snapshots")
        q -d dst -c "TRUNCATE public.$t" >/dev/null
        s=$(date +%s.%N)
        backupkit -d dst import "$WORK/$t.bkx" --quiet >/dev/null
        rid=$(q -d dst -c "SELECT max(id) FROM backupkit.snapshots")
        backupkit -d dst restore "$rid" --force --quiet >/dev/null
        e=$(date +%s.%N)
        impr+=("$(awk -v a="$e" -v b="$s" 'BEGIN {printf "%.2f", a - b}')")
        q -d dst -c "SELECT backupkit.drop_snapshot($nid)" -c "SELECT backupkit.drop_snapshot($rid)" -c "TRUNCATE public.$t" >/dev/null
        rest+=("$(secs pg_restore -d dst -a "$WORK/$t.dump")")
        q -d dst -c "TRUNCATE public.$t" -c "VACUUM" >/dev/null
    done
    m_ex=$(printf '%s\n' "${ex[@]}" | median); m_exe=$(printf '%s\n' "${exe[@]}" | median)
    m_dump=$(printf '%s\n' "${dump[@]}" | median); m_imp=$(printf '%s\n' "${imp[@]}" | median)
    m_impr=$(printf '%s\n' "${impr[@]}" | median); m_rest=$(printf '%s\n' "${rest[@]}" | median)
    m_snapex=$(printf '%s\n' "${snapex[@]}" | median)
    fb=$(stat -c %s "$WORK/$t.bkx"); fe=$(stat -c %s "$WORK/$t.enc.bkx"); fd=$(stat -c %s "$WORK/$t.dump")
    rows=$(q -d src -c "SELECT count(*) FROM public.$t")
    r() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
    mb() { awk -v a="$1" 'BEGIN {printf "%.1f", a / 1048576}'; }
    echo "| $t ($rows) | snapshot + export to a file | $m_snapex | $m_dump | $(r $m_snapex $m_dump)× | $(mb $fb) MB | $(mb $fd) MB |"
    echo "| $t ($rows) | export to a file | $m_ex | $m_dump | $(r $m_ex $m_dump)× | $(mb $fb) MB | $(mb $fd) MB |"
    echo "| $t ($rows) | export --encrypt | $m_exe | $m_dump | $(r $m_exe $m_dump)× | $(mb $fe) MB | $(mb $fd) MB |"
    echo "| $t ($rows) | import (into snapshot storage) | $m_imp | $m_rest | $(r $m_imp $m_rest)× | | |"
    echo "| $t ($rows) | import + restore into the table | $m_impr | $m_rest | $(r $m_impr $m_rest)× | | |"
done
echo
echo "backupkit: 'export' rows export a snapshot taken beforehand (not timed); 'snapshot + export' times both, as pg_dump reads the live table. pg_restore -a loads"
echo "data only into an empty table with its primary key; REPS=$REPS, medians; $(nproc) CPUs, $(postgres --version 2>/dev/null || "$PG_BINDIR/postgres" --version)."
