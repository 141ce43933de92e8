#!/usr/bin/env bash
# Distributed snapshots at cluster scale (issue 14, step 3): capture and restore of one hash-distributed
# table with backupkit running on the workers (snapshot_distributed / restore_distributed) against COPY
# through the coordinator, on a throwaway Citus cluster with one worker, then with two. Writes
# bench/results/citus.md.
#
#   PG_CONFIG=... bash bench/citus_scale.sh
#
# Knobs: BENCH_ROWS (default 1000000), BENCH_SHARDS (default 32), BENCH_REPS (default 3, median/min/max
# reported). Needs Citus installed into PG_CONFIG's server (scripts/build-citus.sh) and backupkit installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-pg_config}
export PATH="$("$PG_CONFIG" --bindir):$PATH"
ROWS=${BENCH_ROWS:-1000000}
SHARDS=${BENCH_SHARDS:-32}
REPS=${BENCH_REPS:-3}
OUT=bench/results/citus.md
# shellcheck source=scripts/citus-cluster.sh
source scripts/citus-cluster.sh

log() { printf '[citus bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
now_ms() { date +%s%3N; }
# ms <command...>: wall-clock milliseconds of one run of the command (its output discarded).
ms() {
	local t0
	t0=$(now_ms)
	"$@" >/dev/null
	echo $(($(now_ms) - t0))
}
# stats <values...>: "median (min–max)" in seconds.
stats() {
	printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {printf "%.2f s (%.2f–%.2f)", v[int((NR + 1) / 2)] / 1000, v[1] / 1000, v[NR] / 1000}'
}

declare -A result
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for workers in ${BENCH_WORKERS:-1 2}; do
	log "cluster with $workers worker(s), $SHARDS shards, $ROWS rows"
	bk_citus_start "$workers" "citus.shard_count = $SHARDS" "shared_buffers = 256MB" "max_wal_size = 2GB"
	copy_file=$BK_CITUS_DIR/bench.copy
	PGOPTIONS='-c client_min_messages=warning' q <<SQL >/dev/null
CREATE EXTENSION backupkit;
CREATE TABLE bench (id bigint PRIMARY KEY, tenant int NOT NULL, amount numeric(12,2), note text, at timestamptz);
SELECT create_distributed_table('bench', 'id');
INSERT INTO bench SELECT g, g % 1000, g * 0.01, 'note ' || md5(g::text), timestamptz '2026-01-01' + g * interval '1 second'
  FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE bench;
SQL
	checksum=$(q -c "SELECT count(*) || ':' || sum(hashtext(b::text)::bigint) FROM bench b")
	copy_out=() copy_in=() capture=() restore=() blocked=()
	for ((r = 1; r <= REPS; r++)); do
		copy_out+=("$(ms q -c "\\copy bench TO '$copy_file'")")
		copy_in+=("$(ms q -c "TRUNCATE bench" -c "\\copy bench FROM '$copy_file'")")
		sid=
		t0=$(now_ms)
		sid=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['bench']::regclass[])")
		capture+=($(($(now_ms) - t0)))
		blocked+=("$(q -c "SELECT round(commits_blocked_ms::numeric, 1) FROM backupkit.distributed_snapshot WHERE snapshot_id = $sid")")
		restore+=("$(ms q -c "SELECT backupkit.restore_distributed($sid, mode => 'replace')")")
		[ "$(q -c "SELECT count(*) || ':' || sum(hashtext(b::text)::bigint) FROM bench b")" = "$checksum" ] || {
			echo "citus_scale.sh: the restore of distributed snapshot $sid did not give back the table" >&2
			exit 1
		}
		[ "$(q -c "SELECT pg_relation_size('bench')")" = 0 ] || {
			echo "citus_scale.sh: the coordinator's shell holds bytes" >&2
			exit 1
		}
		q -c "SELECT backupkit.drop_distributed_snapshot($sid)" >/dev/null
	done
	result[$workers, copy_out]=$(stats "${copy_out[@]}")
	result[$workers, copy_in]=$(stats "${copy_in[@]}")
	result[$workers, capture]=$(stats "${capture[@]}")
	result[$workers, restore]=$(stats "${restore[@]}")
	result[$workers, blocked]=$(printf '%s\n' "${blocked[@]}" | sort -n | awk '{v[NR] = $1} END {printf "%s ms (%s–%s)", v[int((NR + 1) / 2)], v[1], v[NR]}')
	result[$workers, ratio_capture]=$(printf '%s\n' "${capture[@]}" | sort -n | sed -n "$(((REPS + 1) / 2))p")
	result[$workers, ratio_copy_out]=$(printf '%s\n' "${copy_out[@]}" | sort -n | sed -n "$(((REPS + 1) / 2))p")
	result[$workers, ratio_restore]=$(printf '%s\n' "${restore[@]}" | sort -n | sed -n "$(((REPS + 1) / 2))p")
	result[$workers, ratio_copy_in]=$(printf '%s\n' "${copy_in[@]}" | sort -n | sed -n "$(((REPS + 1) / 2))p")
	bk_citus_stop
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f×", a / b}'; }
{
	echo "# Distributed snapshots at cluster scale (Citus)"
	echo
	echo "Command: \`PG_CONFIG=\$PGC bash bench/citus_scale.sh\` (BENCH_ROWS=$ROWS, BENCH_SHARDS=$SHARDS, BENCH_REPS=$REPS)."
	echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPU cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)),"
	echo "shared with other work (load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end); every node"
	echo "of the cluster on this one machine, connected by Unix sockets. $("$PG_CONFIG" --version), Citus 13.2.2, fsync off."
	echo
	echo "One hash-distributed table (\`id bigint\` primary key, int, numeric, text, timestamptz), $ROWS rows in $SHARDS shards."
	echo "Median (min–max) of $REPS runs, wall clock seen by the client."
	echo
	echo "| case | 1 worker | 2 workers |"
	echo "|---|---|---|"
	echo "| COPY TO through the coordinator (reference for capture) | ${result[1, copy_out]} | ${result[2, copy_out]} |"
	echo "| \`snapshot_distributed\` (each worker captures its shards) | ${result[1, capture]} | ${result[2, capture]} |"
	echo "| capture ÷ COPY TO | $(ratio "${result[1, ratio_capture]}" "${result[1, ratio_copy_out]}") | $(ratio "${result[2, ratio_capture]}" "${result[2, ratio_copy_out]}") |"
	echo "| TRUNCATE + COPY FROM through the coordinator (reference for restore) | ${result[1, copy_in]} | ${result[2, copy_in]} |"
	echo "| \`restore_distributed\`, replace (each worker restores its shards) | ${result[1, restore]} | ${result[2, restore]} |"
	echo "| restore ÷ COPY FROM | $(ratio "${result[1, ratio_restore]}" "${result[1, ratio_copy_in]}") | $(ratio "${result[2, ratio_restore]}" "${result[2, ratio_copy_in]}") |"
	echo "| distributed commits blocked during the capture | ${result[1, blocked]} | ${result[2, blocked]} |"
	echo
	echo "Capture 1 → 2 workers: $(ratio "${result[2, ratio_capture]}" "${result[1, ratio_capture]}") of the time; restore: $(ratio "${result[2, ratio_restore]}" "${result[1, ratio_restore]}")."
	echo "Every restore is checked (row count and a hash of every row through Citus, zero bytes in the coordinator's shell)."
	# The writers' pause measured by bench/citus_mx_pause.sh, kept as it was.
	[ ! -f "$OUT" ] || sed -n '/^<!-- citus_mx_pause:begin -->$/,/^<!-- citus_mx_pause:end -->$/p' "$OUT"
} >"$OUT.new"
mv "$OUT.new" "$OUT"
cat "$OUT"
