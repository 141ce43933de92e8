#!/usr/bin/env bash
# How long writers pause while snapshot_distributed holds off distributed commits, seen from the writers, with
# the writers connected to the workers (MX: each worker coordinates its own multi-shard transactions, and the
# capture holds them off on every metadata node). On a throwaway Citus cluster (coordinator and two workers),
# pgbench commits transfers between accounts (two shards, usually on two nodes) through both workers and logs
# every transaction's latency; meanwhile snapshot_distributed runs BENCH_SNAPSHOTS times. For each capture the
# slowest transaction in flight during it is compared with the latencies outside any capture. Writes its section
# of bench/results/citus.md (between the citus_mx_pause markers; bench/citus_scale.sh keeps it).
#
#   PG_CONFIG=... bash bench/citus_mx_pause.sh
#
# Knobs: BENCH_SNAPSHOTS (default 10), BENCH_CLIENTS (writers per worker, default 4), BENCH_ROWS (accounts, default
# 100000). Needs Citus installed into PG_CONFIG's server (scripts/build-citus.sh) and backupkit installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-pg_config}
export PATH="$("$PG_CONFIG" --bindir):$PATH"
SNAPSHOTS=${BENCH_SNAPSHOTS:-10}
CLIENTS=${BENCH_CLIENTS:-4}
ROWS=${BENCH_ROWS:-100000}
OUT=bench/results/citus.md
# shellcheck source=scripts/citus-cluster.sh
source scripts/citus-cluster.sh
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
log() { printf '[citus mx pause %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
bk_citus_start 2 "citus.shard_count = 32" "max_connections = 100" >/dev/null
q -c "CREATE EXTENSION backupkit" >/dev/null
q <<SQL >/dev/null
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, ops int NOT NULL DEFAULT 0);
SELECT create_distributed_table('accounts', 'id');
INSERT INTO accounts SELECT g, 1000, 0 FROM generate_series(1, $ROWS) g;
SQL
writer=$BK_CITUS_DIR/transfer.sql
cat >"$writer" <<SQL
\set a random(1, $ROWS)
\set b random(1, $ROWS)
\set x random(1, 100)
BEGIN;
UPDATE accounts SET balance = balance - :x, ops = ops + 1 WHERE id = :a;
UPDATE accounts SET balance = balance + :x, ops = ops + 1 WHERE id = :b;
END;
SQL
duration=$((SNAPSHOTS * 3 + 6))
log "writers: $CLIENTS per worker for $duration s; $SNAPSHOTS captures"
pids=()
for port in "${BK_CITUS_PORTS[@]:1}"; do
	(cd "$BK_CITUS_DIR" && pgbench -n -h "$BK_CITUS_DIR" -p "$port" -c "$CLIENTS" -j 2 -T "$duration" -l \
		--log-prefix="tx$port" -f "$writer" >"pgbench$port.out" 2>&1) &
	pids+=($!)
done
sleep 3
windows=$BK_CITUS_DIR/windows.txt
: >"$windows"
for i in $(seq 1 "$SNAPSHOTS"); do
	t0=$(date +%s%6N)
	sid=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['accounts']::regclass[], 'pause $i')")
	t1=$(date +%s%6N)
	echo "$t0 $t1 $(q -c "SELECT commits_blocked_ms FROM backupkit.distributed_snapshot WHERE snapshot_id = $sid")" >>"$windows"
	sleep 2
done
for pid in "${pids[@]}"; do wait "$pid"; done
total=$(q -c "SELECT sum(balance) FROM accounts")
[ "$total" = $((ROWS * 1000)) ] || { log "the transfers broke the total ($total)"; exit 1; }

# pgbench's log lines: client tx latency_us script epoch_s epoch_us; a transaction ran from end - latency to end.
# Latencies outside every capture go to outside.txt; the slowest transaction overlapping each capture to worst.txt.
cat "$BK_CITUS_DIR"/tx[0-9]* | awk -v wf="$windows" -v od="$BK_CITUS_DIR" '
	BEGIN { while ((getline line < wf) > 0) { split(line, w, " "); n++; ws[n] = w[1]; we[n] = w[2] } }
	{
		lat = $3; e = $5 * 1000000 + $6; s = e - lat; inside = 0
		for (i = 1; i <= n; i++) if (s < we[i] && e > ws[i]) { inside = 1; if (lat > worst[i]) worst[i] = lat }
		if (!inside) print lat > (od "/outside.txt")
		all++
	}
	END { for (i = 1; i <= n; i++) print worst[i] + 0 > (od "/worst.txt"); print all > (od "/count.txt") }'
# pick <file> <fraction>: the value at that fraction of the sorted values (1 = the largest), in ms.
pick() { sort -n "$1" | awk -v f="$2" '{v[NR] = $1} END {i = int(NR * f); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.1f", v[i] / 1000}'; }
txs=$(cat "$BK_CITUS_DIR/count.txt")
caps=$SNAPSHOTS
p50=$(pick "$BK_CITUS_DIR/outside.txt" 0.5)
p99=$(pick "$BK_CITUS_DIR/outside.txt" 0.99)
maxout=$(pick "$BK_CITUS_DIR/outside.txt" 1)
worst_med=$(pick "$BK_CITUS_DIR/worst.txt" 0.5)
worst_min=$(sort -n "$BK_CITUS_DIR/worst.txt" | head -1 | awk '{printf "%.1f", $1 / 1000}')
worst_max=$(pick "$BK_CITUS_DIR/worst.txt" 1)
cut -d' ' -f3 "$windows" | awk '{print $1 * 1000}' >"$BK_CITUS_DIR/blocked.txt"
blocked_med=$(pick "$BK_CITUS_DIR/blocked.txt" 0.5)
blocked_max=$(pick "$BK_CITUS_DIR/blocked.txt" 1)
section=$(
	echo "<!-- citus_mx_pause:begin -->"
	echo "## Writers' pause during a capture, writers connected to the workers (MX)"
	echo
	echo "Command: \`PG_CONFIG=\$PGC bash bench/citus_mx_pause.sh\` (BENCH_SNAPSHOTS=$SNAPSHOTS, BENCH_CLIENTS=$CLIENTS per worker, BENCH_ROWS=$ROWS)."
	echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPU cores, load average $load_start at the start,"
	echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end; coordinator and two workers on this machine (Unix sockets), 32 shards."
	echo "pgbench commits transfers between two random accounts (a multi-shard transaction coordinated by the worker"
	echo "it runs on) through both workers while \`snapshot_distributed\` runs $caps times; $txs transactions logged."
	echo
	echo "| | ms |"
	echo "|---|---|"
	echo "| transaction latency outside captures: median / p99 / max | $p50 / $p99 / $maxout |"
	echo "| slowest transaction in flight during a capture: median over captures (min–max) | $worst_med ($worst_min–$worst_max) |"
	echo "| distributed commits held off (\`commits_blocked_ms\`): median / max | $blocked_med / $blocked_max |"
	echo
	echo "Every transfer kept the total balance (checked after the run). The hold covers the coordinator's and each"
	echo "worker's \`pg_dist_transaction\`; a writer waits at most for the hold plus its own commit."
	echo "<!-- citus_mx_pause:end -->"
)
if [ -f "$OUT" ] && grep -q '^<!-- citus_mx_pause:begin -->$' "$OUT"; then
	awk -v s="$section" '
		/^<!-- citus_mx_pause:begin -->$/ { print s; skip = 1; next }
		/^<!-- citus_mx_pause:end -->$/ { skip = 0; next }
		!skip { print }' "$OUT" >"$OUT.new"
	mv "$OUT.new" "$OUT"
else
	printf '\n%s\n' "$section" >>"$OUT"
fi
echo "$section"
