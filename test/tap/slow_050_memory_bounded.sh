#!/bin/bash
# Memory is bounded by the chunk size, not the table size: the backend's peak memory while snapshotting and
# restoring a 1M-row and a 5M-row table (work_mem = 1MB, i.e. far below the table sizes) must not grow
# with the table. Each step runs in a fresh backend; its /proc/<pid>/status is read at the end.
# VmHWM (peak RSS) also counts the shared buffers the backend touched, which grow with the table up to
# shared_buffers whatever the extension does; so the bound is asserted on the private peak,
# VmHWM - RssShmem (shared pages stay mapped once touched, so RssShmem at the end is their peak), and the
# raw numbers are printed as diagnostics.
set -u
DB=bk_memory_$$
P="psql -X -q -v ON_ERROR_STOP=1 -d $DB"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/# /'; done; }
check() { if [ "$1" = 0 ]; then ok "$2"; else shift; nok "$@"; fi; }
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
trap 'dropdb --if-exists "$DB" >/dev/null 2>&1' EXIT

# Runs SQL in a fresh backend with work_mem = 1MB; prints "<VmHWM kB> <RssShmem kB>".
measure() {
    $P -At <<SQL
SET work_mem = '1MB';
SET client_min_messages = warning;
SELECT pg_backend_pid() AS pid \gset
\setenv BK_BACKEND_PID :pid
$1
\! awk '/^VmHWM/ {h = \$2} /^RssShmem/ {s = \$2} END {print h, s}' /proc/\$BK_BACKEND_PID/status
SQL
}

echo "1..8"
out=$(createdb "$DB" 2>&1 && $P -c "CREATE EXTENSION backupkit" 2>&1); check $? "database created" "$out"
declare -A priv hwm
for rows in 1000000 5000000; do
    out=$($P 2>&1 <<SQL
DROP TABLE IF EXISTS big;
CREATE TABLE big (id bigint PRIMARY KEY, v text, n numeric, t timestamptz);
INSERT INTO big SELECT i, md5(i::text), i / 7.0, '2020-01-01'::timestamptz + i * interval '1 second' FROM generate_series(1, $rows) i;
VACUUM ANALYZE big;
SQL
)
    size=$($P -At -c "SELECT pg_size_pretty(pg_total_relation_size('big'))")
    s=$(measure "SELECT backupkit.snapshot_tables(ARRAY['big'::regclass], 'memory $rows') AS sid \gset" 2>&1)
    read -r shwm sshm <<<"$s"
    sid=$($P -At -c "SELECT snapshot_id FROM backupkit.snapshot WHERE label = 'memory $rows'")
    $P -c "DELETE FROM big WHERE id % 10 = 0" 2>&1
    r=$(measure "SELECT backupkit.restore_table_from_snapshot($sid, 'big') IS NOT NULL;" 2>&1 | tail -1)
    read -r rhwm rshm <<<"$r"
    restored=$($P -At -c "SELECT count(*) FROM big")
    [ "$restored" = "$rows" ] && [[ $shwm =~ ^[0-9]+$ ]] && [[ $rhwm =~ ^[0-9]+$ ]]
    check $? "$rows rows ($size): snapshot and restore ran with work_mem = 1MB" "$out" "snapshot: $s" "restore: $r" "rows after restore: $restored"
    echo "# $rows rows ($size): snapshot VmHWM ${shwm:-?} kB (RssShmem ${sshm:-?} kB, private peak $((${shwm:-0} - ${sshm:-0})) kB)"
    echo "# $rows rows ($size): restore  VmHWM ${rhwm:-?} kB (RssShmem ${rshm:-?} kB, private peak $((${rhwm:-0} - ${rshm:-0})) kB)"
    priv[snap$rows]=$((${shwm:-0} - ${sshm:-0}))
    priv[rest$rows]=$((${rhwm:-0} - ${rshm:-0}))
    hwm[snap$rows]=${shwm:-0}
    hwm[rest$rows]=${rhwm:-0}
    $P -c "SELECT backupkit.drop_snapshot($sid)" >/dev/null
done
for op in snap rest; do
    small=${priv[${op}1000000]}; large=${priv[${op}5000000]}
    name=$([ $op = snap ] && echo snapshot || echo restore)
    [ "$small" -gt 0 ] && [ $((large * 2)) -lt $((small * 3)) ]
    check $? "$name: private peak for 5M rows (${large} kB) < 1.5 x that for 1M rows (${small} kB)"
    small=${hwm[${op}1000000]}; large=${hwm[${op}5000000]}
    [ "$small" -gt 0 ] && [ $((large * 2)) -lt $((small * 3)) ]
    check $? "$name: VmHWM for 5M rows (${large} kB) < 1.5 x that for 1M rows (${small} kB)"
done
$P -c "DROP TABLE big" >/dev/null 2>&1; ok "cleaned up"
