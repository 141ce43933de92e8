#!/usr/bin/env bash
# backupkit.check() on its own cluster (logging_collector = on, autovacuum off):
# - the last failed operation from the server log when the caller may read it (a superuser here): a restore
#   that fails and rolls back leaves no trace in the operation log, only the "backupkit operation failed:"
#   line; a role without pg_read_file sees only the operation-log row;
# - dead space in backupkit's storage after dropping a snapshot, gone after VACUUM.
set -u
cd "$(dirname "$0")/../.."
PG_CONFIG=${PG_CONFIG:-pg_config}
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh
export PGOPTIONS="-c client_min_messages=warning"
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3 (got '$1', want '$2')"; fi; }
echo "1..7"
bk_cluster_start "logging_collector = on" "log_directory = 'log'" "autovacuum = off" "fsync = off" >/dev/null || exit 1
PSQL=("$PG_BINDIR/psql" -X -q -At -d postgres)
"${PSQL[@]}" -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION backupkit;
CREATE ROLE bk330_reader LOGIN;
CREATE TABLE public.t (id integer PRIMARY KEY, v text);
INSERT INTO public.t VALUES (1, 'one'), (2, 'two');
SQL
row="SELECT severity || ': ' || detail FROM backupkit.check() WHERE check_name = 'failed operation' AND object = 'server log'"
ok "$("${PSQL[@]}" -c "$row")" "ok: No failed operation in the recent server log." "no failure yet: an ok row for the server log"
sid=$("${PSQL[@]}" -c "SELECT backupkit.snapshot_tables('{t}')")
"${PSQL[@]}" -c "ALTER TABLE t ADD CONSTRAINT t_not_two CHECK (v <> 'two') NOT VALID" >/dev/null
"${PSQL[@]}" -c "SELECT backupkit.restore_table_from_snapshot($sid, 't')" >/dev/null 2>&1
got=""
for _ in $(seq 1 20); do
    got=$("${PSQL[@]}" -c "$row")
    case "$got" in warning:*) break ;; esac
    sleep 0.25
done
ok "$(echo "$got" | grep -c "^warning: The last failed operation in the server log: .*backupkit operation failed: restore snapshot $sid by role postgres")" "1" \
    "the failed restore is reported from the server log"
ok "$("${PSQL[@]}" -c "SELECT count(*) FROM backupkit.operations WHERE operation = 'restore'")" "0" "while the operation log has nothing for it"
ok "$("${PSQL[@]}" -U bk330_reader -c "SELECT count(*) FROM backupkit.check() WHERE object = 'server log'")" "0" \
    "a role that may not read the server log gets no server-log row"

# Dead space: a 4 MB uncompressed snapshot dropped leaves its chunk rows dead until VACUUM.
dead="SELECT severity FROM backupkit.check() WHERE check_name = 'storage dead space'"
"${PSQL[@]}" -c "CREATE TABLE public.big AS SELECT g AS id, repeat(md5(g::text), 6) AS v FROM generate_series(1, 20000) g" >/dev/null
bid=$("${PSQL[@]}" -c "SELECT backupkit.snapshot_tables('{big}', 'big', 'none')")
ok "$("${PSQL[@]}" -c "$dead")" "ok" "no dead space while the snapshot exists"
"${PSQL[@]}" -c "SELECT backupkit.drop_snapshot($bid)" >/dev/null
got=""
for _ in $(seq 1 40); do
    got=$("${PSQL[@]}" -c "$dead")
    [ "$got" = warning ] && break
    sleep 0.25
done
ok "$got" "warning" "after dropping it, the dead rows are a warning (statistics collector's counts)"
"${PSQL[@]}" -c "VACUUM backupkit.snapshot_chunk" >/dev/null
for _ in $(seq 1 40); do
    got=$("${PSQL[@]}" -c "$dead")
    [ "$got" = ok ] && break
    sleep 0.25
done
ok "$got" "ok" "after VACUUM the warning is gone"
