#!/usr/bin/env bash
# backupkit.hold_distributed_commits(max_ms) is callable by any role that may capture: the hold it takes on a
# worker is bounded whatever the caller does. A role that calls it directly, then keeps its transaction busy
# (pg_sleep) past max_ms, has its session ended (FATAL, saying why) and the locks released within max_ms plus
# a margin, measured by a second session waiting for them; a hold whose transaction ended in time leaves its
# connection alive past max_ms; a capture (which holds on every worker) still works.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"

start_cluster
worker=${BK_CITUS_PORTS[1]}
PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE ROLE holder LOGIN;
GRANT USAGE ON SCHEMA backupkit TO holder;
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
SELECT create_distributed_table('accounts', 'id');
INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 1000) g;
SQL
is "$(q -c "SELECT count(*) FROM pg_dist_node WHERE groupid > 0 AND hasmetadata AND metadatasynced")" 2 \
	"both workers hold Citus's metadata (MX)"
as_holder() { "$PG_BINDIR/psql" -X -q -At -h "$BK_CITUS_DIR" -p "$worker" -U holder -d "${PGDATABASE:-postgres}" "$@"; }
ms() { echo $(($(date +%s%N) / 1000000)); }

# 1. A busy holder: hold for 2000 ms, then sleep 30 s in the same transaction.
out=$BK_CITUS_DIR/holder.out
start=$(ms)
as_holder -c "BEGIN" -c "SELECT backupkit.hold_distributed_commits(2000)" -c "SELECT pg_sleep(30)" >"$out" 2>&1 &
holder_pid=$!
# A second session waits for the lock the hold takes on pg_dist_transaction.
for ((i = 0; i < 50; i++)); do
	held=$(bk_citus_psql "$worker" -At -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'pg_dist_transaction' AND l.mode = 'ExclusiveLock' AND l.granted")
	[ "$held" = 1 ] && break
	sleep 0.1
done
is "$held" 1 "the holder took the lock on the worker's pg_dist_transaction"
bk_citus_psql "$worker" -At -c "BEGIN" -c "LOCK TABLE pg_catalog.pg_dist_transaction IN EXCLUSIVE MODE" -c "ROLLBACK"
waited=$(($(ms) - start))
[ "$waited" -ge 1500 ] && [ "$waited" -lt 7000 ]
ok $? "the lock was released 2000 ms after it was taken, give or take a margin (${waited} ms; the sleep asked 30 s)"
wait "$holder_pid"
is "$?" 2 "the holder's psql lost its connection"
grep -q 'FATAL:  terminating connection because it held distributed commits for longer than 2000 ms' "$out"
ok $? "the holder was told why its session ended (FATAL, naming max_ms)"
grep -q 'DETAIL:  backupkit.hold_distributed_commits() holds them until its transaction ends, at most max_ms after it took its locks.' "$out"
ok $? "with a detail saying what bounds the hold"
[ $(($(ms) - start)) -lt 10000 ]
ok $? "the session did not sleep its 30 s"

# 2. A second call in the same transaction does not move the deadline.
start=$(ms)
as_holder -c "BEGIN" -c "SELECT backupkit.hold_distributed_commits(1500)" -c "SELECT pg_sleep(1)" \
	-c "SELECT backupkit.hold_distributed_commits(10000)" -c "SELECT pg_sleep(30)" >"$out" 2>&1
took=$(($(ms) - start))
[ "$took" -lt 6000 ]
ok $? "a second call cannot extend the hold (${took} ms)"
grep -q 'longer than 1500 ms' "$out"
ok $? "the first max_ms is the one reported"

# 3. A hold released in time: the connection lives on past max_ms.
got=$(as_holder -c "BEGIN" -c "SELECT backupkit.hold_distributed_commits(500)" -c "COMMIT" -c "SELECT pg_sleep(1.5)" \
	-c "SELECT 'alive'" 2>&1 | tail -1)
is "$got" "alive" "a hold whose transaction ended in time does not end the session later"
got=$(as_holder -c "BEGIN" -c "SELECT backupkit.hold_distributed_commits(500)" -c "ROLLBACK" -c "SELECT pg_sleep(1.5)" \
	-c "SELECT 'alive'" 2>&1 | tail -1)
is "$got" "alive" "nor one whose transaction rolled back"
is "$(bk_citus_psql "$worker" -At -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname IN ('pg_dist_transaction', 'pg_dist_node', 'pg_dist_partition') AND l.mode = 'ExclusiveLock'")" 0 \
	"no hold is left on the worker"

# 4. A capture (which holds commits on every worker) still works, and so does the next.
sid=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['accounts']::regclass[], 'after')")
is "$(q -c "SELECT r->>'valid' FROM backupkit.validate_distributed($sid) r")" true "a capture after the holds validates"
sid2=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['accounts']::regclass[], 'again')")
isnt "$sid2" "" "and the next capture works too"

finish
