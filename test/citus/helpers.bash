# Sourced by the Citus tests (test/citus/*.sh; this file is not one of them): TAP output, psql shortcuts and the
# checks every test makes on a Citus table, on the throwaway cluster of scripts/citus-cluster.sh.
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
PG_CONFIG=${PG_CONFIG:-pg_config}
export PATH="$("$PG_CONFIG" --bindir):$PATH"
# shellcheck source=scripts/citus-cluster.sh
source scripts/citus-cluster.sh

n=0
fails=0
ok() { # ok <status> <description>
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}
is() { # is <got> <expected> <description>
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf 'got:      %s\nexpected: %s\n' "$1" "$2" | sed 's/^/#   /' >&2
	fi
}
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
# The error a statement raises, as psql prints it in verbose mode (SQLSTATE, detail, hint), without the
# source location; the exit status of psql is kept apart so a statement that succeeds cannot pass.
error_of() {
	psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -v SHOW_CONTEXT=never -c "$1" 2>&1 >/dev/null |
		grep -v '^LOCATION:'
}
# Whole-table checksum through Citus: row count and md5 of the rows' text in a fixed order (as
# test/datasets/fingerprint.sql computes it).
checksum_sql() {
	echo "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\"), '')) FROM $1 t"
}
checksum() { q -c "$(checksum_sql "$1")"; }
# The rows of every shard placement added up (run_command_on_shards reads one placement per shard).
shard_rows() {
	q -c "SELECT sum(result::bigint) FROM run_command_on_shards('$1', 'SELECT count(*) FROM %s')"
}
# The number of shards whose placements differ (a reference table has one on every node): 0 when every copy
# is identical.
placement_mismatches() {
	q -c "SELECT count(*) FROM (SELECT shardid FROM run_command_on_placements('$1', \$\$SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\"), '')) FROM %s t\$\$) GROUP BY shardid HAVING count(DISTINCT result) > 1) x"
}
# Bytes of the table's shell on the coordinator (Citus never reads it: rows there are lost rows).
shell_bytes() { q -c "SELECT pg_relation_size('$1')"; }
# check_citus_table <table> <expected checksum> <what>: the checksum through Citus, the shards' row count,
# every placement identical (reference tables), zero bytes in the coordinator's shell.
check_citus_table() {
	local t=$1 want=$2 what=$3
	is "$(checksum "$t")" "$want" "$what: $t has the expected rows (checksum through Citus)"
	is "$(shard_rows "$t")" "${want%%:*}" "$what: $t's shards hold every row"
	is "$(placement_mismatches "$t")" 0 "$what: every placement of each shard of $t is identical"
	is "$(shell_bytes "$t")" 0 "$what: $t's shell on the coordinator holds no bytes"
}
# start_cluster [postgresql.conf lines...]: a coordinator and two workers, 8 shards per distributed table.
start_cluster() {
	if ! bk_citus_start 2 "citus.shard_count = 8" "$@"; then
		echo "1..0 # Skipped: the Citus cluster did not start"
		exit 1
	fi
	echo "# coordinator and workers in $BK_CITUS_DIR, ports ${BK_CITUS_PORTS[*]}"
}
finish() {
	echo "1..$n"
	[ $fails = 0 ] || bk_citus_log_tail >&2
	[ $fails = 0 ]
}
