# Sourced by every test in test/citus (directly, or through test/citus/helpers.bash): TAP output helpers
# and the checks they share (whole-table checksums through Citus, per-shard row counts, the coordinator's
# shell sizes). Not a test itself (prove runs test/citus/*.sh only).
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
isnt() { # isnt <got> <unexpected> <description>
	if [ "$1" != "$2" ]; then ok 0 "$3"; else ok 1 "$3"; echo "#   both: $1" >&2; fi
}
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
# The error a statement raises (SQLSTATE, message, detail, hint) without the source location.
error_of() {
	psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -v SHOW_CONTEXT=never -c "$1" 2>&1 >/dev/null |
		grep -v '^LOCATION:'
}
# Whole-table checksum through Citus, of the rows matching an optional condition: count and md5 of the
# rows' text in a fixed order (as test/datasets/fingerprint.sql computes it).
checksum_sql() { # checksum_sql <table> [where]
	echo "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\"), '')) FROM $1 t ${2:+WHERE $2}"
}
checksum() { q -c "$(checksum_sql "$@")"; } # checksum <table> [where]
# Row count of every shard, as the nodes storing them see it.
shard_counts() { # shard_counts <table>
	q -c "SELECT string_agg(shardid || '=' || result, ' ' ORDER BY shardid) FROM run_command_on_shards('$1', 'SELECT count(*) FROM %s')"
}
# Row count of every shard as distributed snapshot <sid> recorded it.
map_counts() { # map_counts <sid> <table>
	q -c "SELECT string_agg(s.shard_id || '=' || s.row_count, ' ' ORDER BY s.shard_id) FROM backupkit.distributed_snapshot_shard s JOIN backupkit.distributed_snapshot_table t USING (snapshot_id, table_no) WHERE s.snapshot_id = $1 AND t.relid = '$2'::regclass"
}
# Bytes in the coordinator's shell tables of the given distributed tables (Citus reads the shards only).
shell_bytes() { # shell_bytes <table>...
	local t sql="SELECT 0"
	for t in "$@"; do sql+=" + pg_relation_size('$t')"; done
	q -c "$sql"
}
# Prepared transactions left on any node.
prepared_left() {
	q -c "SELECT (SELECT count(*) FROM pg_prepared_xacts) + (SELECT coalesce(sum(result::int), 0) FROM run_command_on_workers('SELECT count(*) FROM pg_prepared_xacts'))"
}
tap_finish() {
	echo "1..$n"
	[ $fails = 0 ] || bk_citus_log_tail >&2
	[ $fails = 0 ]
}
