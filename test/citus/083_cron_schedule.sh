#!/usr/bin/env bash
# Distributed snapshots taken and pruned by pg_cron, on a coordinator and two workers with pg_cron preloaded
# (background workers: the nodes listen on Unix sockets only): a job running snapshot_distributed and one
# running prune_distributed_snapshots(keep_last => 1), every minute (pg_cron 1.4's granularity: the test takes
# about three minutes), both succeed run after run (each is one statement, so pg_cron's transaction is not a
# transaction block); afterwards each node holds exactly the
# parts of the distributed snapshots the map lists, every one of which validates; info() counts them.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus and pg_cron are installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"

if [ ! -f "$("$PG_CONFIG" --pkglibdir)/pg_cron.so" ]; then
	echo "1..0 # Skipped: pg_cron is not installed into this server"
	exit 0
fi
start_citus_cluster "citus.shard_count = 4" "shared_preload_libraries = 'citus,pg_cron'" \
	"cron.database_name = 'postgres'" "cron.use_background_workers = on" "max_worker_processes = 40"

PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE EXTENSION pg_cron;
CREATE TABLE regions (id int PRIMARY KEY, name text);
SELECT create_reference_table('regions');
CREATE TABLE orders (tenant int, id bigint, region int REFERENCES regions, amount numeric(12,2), PRIMARY KEY (tenant, id));
SELECT create_distributed_table('orders', 'tenant');
INSERT INTO regions SELECT g, 'region ' || g FROM generate_series(1, 10) g;
INSERT INTO orders SELECT g % 20, g, 1 + g % 10, g * 1.25 FROM generate_series(1, 1000) g;
SELECT cron.schedule('bk-distributed', '* * * * *', $$SELECT backupkit.snapshot_distributed(ARRAY['regions', 'orders']::regclass[], 'cron')$$);
SELECT cron.schedule('bk-distributed-prune', '* * * * *', $$SELECT count(*) FROM backupkit.prune_distributed_snapshots(keep_last => 1, label => 'cron')$$);
SQL
# The jobs' ids, to count their runs after they are unscheduled.
declare -A jobid
for job in bk-distributed bk-distributed-prune; do jobid[$job]=$(q -c "SELECT jobid FROM cron.job WHERE jobname = '$job'"); done
runs() { # runs <job> <status>: how many runs of the job ended with that status
	q -c "SELECT count(*) FROM cron.job_run_details WHERE jobid = ${jobid[$1]} AND status = '$2'"
}
for _ in $(seq 1 240); do
	[ "$(runs bk-distributed succeeded)" -ge 3 ] && [ "$(runs bk-distributed-prune succeeded)" -ge 3 ] && break
	[ "$(q -c "SELECT count(*) FROM cron.job_run_details WHERE status = 'failed'")" = 0 ] || break
	sleep 1
done
q -c "SELECT cron.unschedule('bk-distributed')" -c "SELECT cron.unschedule('bk-distributed-prune')" >/dev/null
sleep 3 # a run under way finishes
ok $([ "$(runs bk-distributed succeeded)" -ge 3 ] && echo 0 || echo 1) "pg_cron took distributed snapshots ($(runs bk-distributed succeeded) runs)"
ok $([ "$(runs bk-distributed-prune succeeded)" -ge 3 ] && echo 0 || echo 1) "pg_cron pruned them ($(runs bk-distributed-prune succeeded) runs)"
failed=$(q -c "SELECT count(*) FROM cron.job_run_details WHERE status <> 'succeeded'")
is "$failed" 0 "no run failed"
[ "$failed" = 0 ] || q -c "SELECT jobid, status, return_message FROM cron.job_run_details ORDER BY runid" | sed 's/^/#   /' >&2
kept=$(q -c "SELECT count(*) FROM backupkit.distributed_snapshot")
total=$(runs bk-distributed succeeded)
# keep_last => 1 after three snapshots: the newest, and one more when the last prune ran before the last capture.
[ "$kept" -ge 1 ] && [ "$kept" -le 2 ] && [ "$kept" -lt "$total" ]
ok $? "the prune dropped distributed snapshots ($kept of $total kept)"
for port in "${BK_CITUS_PORTS[@]}"; do
	is "$(bk_citus_psql "$port" -At -c "SELECT count(*) FROM backupkit.snapshot")" "$kept" \
		"the node on socket port $port holds one part per distributed snapshot kept, no more"
done
is "$(q -c "SELECT count(*) FROM backupkit.distributed_snapshot d WHERE (backupkit.validate_distributed(d.snapshot_id)->>'valid')::boolean")" \
	"$kept" "every distributed snapshot kept validates"
is "$(q -c "SELECT backupkit.info()->>'distributed_snapshots'")" "$kept" "info() counts the distributed snapshots"
is "$(prepared_left)" 0 "no prepared transaction is left on any node"

tap_finish
