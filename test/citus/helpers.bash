# Sourced by the Citus tests (test/citus/*.sh; this file is not one of them): TAP output, psql shortcuts and the
# checks every test makes on a Citus table, on the throwaway cluster of scripts/citus-cluster.sh.
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
PG_CONFIG=${PG_CONFIG:-pg_config}
export PATH="$("$PG_CONFIG" --bindir):$PATH"
# shellcheck source=scripts/citus-cluster.sh
source scripts/citus-cluster.sh

# shellcheck source=test/citus/lib/tap.sh
source test/citus/lib/tap.sh

# The rows of every shard placement added up (run_command_on_shards reads one placement per shard).
shard_rows() {
	q -c "SELECT sum(result::bigint) FROM run_command_on_shards('$1', 'SELECT count(*) FROM %s')"
}
# The number of shards whose placements differ (a reference table has one on every node): 0 when every copy
# is identical.
placement_mismatches() {
	q -c "SELECT count(*) FROM (SELECT shardid FROM run_command_on_placements('$1', \$\$SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\"), '')) FROM %s t\$\$) GROUP BY shardid HAVING count(DISTINCT result) > 1) x"
}
# check_citus_table <table> <expected checksum> <what>: the checksum through Citus, the shards' row count,
# every placement identical (reference tables), zero bytes in the coordinator's shell.
check_citus_table() {
	local t=$1 want=$2 what=$3
	is "$(checksum "$t")" "$want" "$what: $t has the expected rows (checksum through Citus)"
	is "$(shard_rows "$t")" "${want%%:*}" "$what: $t's shards hold every row"
	is "$(placement_mismatches "$t")" 0 "$what: every placement of each shard of $t is identical"
	is "$(shell_bytes "$t")" 0 "$what: $t's shell on the coordinator holds no bytes"
}
# start_citus_cluster [postgresql.conf lines...]: a coordinator and two workers; skips the test when they do
# not start.
start_citus_cluster() {
	if ! bk_citus_start 2 "$@"; then
		echo "1..0 # Skipped: the Citus cluster did not start"
		exit 1
	fi
	echo "# coordinator and workers in $BK_CITUS_DIR, ports ${BK_CITUS_PORTS[*]}"
}
# start_cluster [postgresql.conf lines...]: the same, 8 shards per distributed table.
start_cluster() { start_citus_cluster "citus.shard_count = 8" "$@"; }
finish() { tap_finish; }
