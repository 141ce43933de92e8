#!/usr/bin/env bash
# Restores of a Citus table behave as restores of the same plain table: the same data in a local table and in a
# hash-distributed one, changed the same way, restored from one snapshot. merge and missing set aside the same
# conflicting rows (a CHECK constraint added since, another unique constraint held by a row added since, two
# captured rows colliding on a unique index added since) and report the same counts and conflicting rows (dry
# runs too), and both tables end with the same checksum. A replace that a shard rejects fails with the shard's
# own SQLSTATE (23514, 23505, as the plain table's does) and changes nothing; so does a restore_distributed
# that a worker rejects, whose error names the node.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"
start_citus_cluster "citus.shard_count = 4"

PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE TABLE loc (tenant int, id int, code text, grp text, qty int, PRIMARY KEY (tenant, id), UNIQUE (tenant, code));
CREATE TABLE dist (LIKE loc INCLUDING ALL);
SELECT create_distributed_table('dist', 'tenant');
INSERT INTO loc SELECT g % 10, g, 'c' || g, 'g' || g, g FROM generate_series(1, 300) g;
-- Two rows of one tenant sharing a value that a unique index added later rejects.
UPDATE loc SET grp = 'dup' WHERE id IN (17, 27);
INSERT INTO dist SELECT * FROM loc;
SQL
sid=$(q -c "SELECT backupkit.snapshot_tables(ARRAY['loc', 'dist']::regclass[], 'conflicts')")
[ -n "$sid" ]
ok $? "snapshot $sid of the local and the distributed table"
captured=$(checksum loc)
is "$(checksum dist)" "$captured" "both tables hold the same rows"

# The same changes to both: rows 5, 6, 17 and 27 deleted, row 9 changed, row 1000 added holding row 5's code.
mutate() {
	local t
	for t in loc dist; do
		q -c "DELETE FROM $t WHERE id IN (5, 6, 17, 27)" -c "UPDATE $t SET qty = -1 WHERE id = 9" \
			-c "INSERT INTO $t VALUES (5, 1000, 'c5', 'g1000', 0) ON CONFLICT DO NOTHING" >/dev/null
	done
}
mutate
for t in loc dist; do
	q -c "ALTER TABLE $t ADD CONSTRAINT no_six CHECK (id <> 6) NOT VALID" \
		-c "CREATE UNIQUE INDEX ${t}_grp ON $t (tenant, grp)" >/dev/null
done
# What a report says, without what differs by design between the two tables (name, path, timing, the
# in-place shortcut the plain table may take); conflicting rows sorted.
summary() {
	q -c "SELECT (r - 'table' - 'snapshot_table' - 'path' - 'duration_ms' - 'unchanged_in_place' - 'matched_by' - 'conflicting_rows') || jsonb_build_object('conflicting_rows', (SELECT jsonb_agg(e ORDER BY e::text) FROM jsonb_array_elements(r -> 'conflicting_rows') e)) FROM (SELECT \$\$$1\$\$::jsonb r) x"
}
restore() { # restore <table> <mode> <dry_run>
	q -c "SELECT backupkit.restore_table_from_snapshot($sid, '$1', '$2', dry_run => $3)"
}
for mode in merge missing; do
	before_loc=$(checksum loc)
	before_dist=$(checksum dist)
	is "$before_dist" "$before_loc" "$mode: both tables start the same"
	local_dry=$(summary "$(restore loc $mode true)")
	dist_dry=$(summary "$(restore dist $mode true)")
	is "$dist_dry" "$local_dry" "$mode dry run: the distributed table's report is the plain table's"
	is "$(checksum dist)" "$before_dist" "$mode dry run: nothing changed"
	local_run=$(summary "$(restore loc $mode false)")
	dist_run=$(summary "$(restore dist $mode false)")
	is "$dist_run" "$local_run" "$mode: the distributed table's report is the plain table's"
	is "$(q -c "SELECT (\$\$$dist_run\$\$::jsonb ->> 'conflicts')")" 3 \
		"$mode: three rows set aside (the CHECK, the other unique constraint, the captured pair)"
	is "$(q -c "SELECT \$\$$dist_run\$\$::jsonb - 'dry_run'")" "$(q -c "SELECT \$\$$dist_dry\$\$::jsonb - 'dry_run'")" \
		"$mode: the dry run reported what the restore did"
	is "$(checksum dist)" "$(checksum loc)" "$mode: both tables end the same (checksums)"
	isnt "$(checksum dist)" "$before_dist" "$mode: the restore changed the table"
	mutate
done
is "$(shell_bytes dist)" 0 "no byte in the coordinator's shell"

# --- A replace that a shard rejects fails with the shard's SQLSTATE, as on the plain table ----------------
# sqlstate_of <sql>: the SQLSTATE of the error the statement raises.
sqlstate_of() { error_of "$1" | sed -n '1s/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p'; }
# One violation at a time (which one a restore meets first depends on the order the shards are written in).
q -c "DROP INDEX loc_grp" -c "DROP INDEX dist_grp" >/dev/null
before=$(checksum dist)
is "$(sqlstate_of "SELECT backupkit.restore_table_from_snapshot($sid, 'loc', 'replace')")" 23514 \
	"replace of the plain table: a CHECK violation (23514)"
got=$(error_of "SELECT backupkit.restore_table_from_snapshot($sid, 'dist', 'replace')")
[[ "$got" == "ERROR:  23514: new row for relation \"dist_"*"\" violates check constraint \"no_six_"*"DETAIL:  Failing row contains (6, 6, "* ]]
status=$?
ok $status "replace of the distributed table: the shard's CHECK violation, 23514 with its detail (not XX000)"
[ $status = 0 ] || echo "$got" | sed 's/^/#   /' >&2
is "$(checksum dist)" "$before" "and nothing changed"
q -c "ALTER TABLE loc DROP CONSTRAINT no_six" -c "ALTER TABLE dist DROP CONSTRAINT no_six" \
	-c "CREATE UNIQUE INDEX loc_grp ON loc (tenant, grp)" -c "CREATE UNIQUE INDEX dist_grp ON dist (tenant, grp)" >/dev/null
is "$(sqlstate_of "SELECT backupkit.restore_table_from_snapshot($sid, 'loc', 'replace')")" 23505 \
	"replace of the plain table: the captured pair violates the unique index added since (23505)"
got=$(error_of "SELECT backupkit.restore_table_from_snapshot($sid, 'dist', 'replace')")
[[ "$got" == "ERROR:  23505: duplicate key value violates unique constraint \"dist_grp_"*"DETAIL:  Key (tenant, grp)=(7, dup) already exists."* ]]
status=$?
ok $status "replace of the distributed table: the shard's unique violation, 23505 with its detail"
[ $status = 0 ] || echo "$got" | sed 's/^/#   /' >&2
is "$(checksum dist)" "$before" "and nothing changed"

# The same through restore_distributed: the worker's own error (SQLSTATE, message, detail), then the node.
q -c "DROP INDEX dist_grp" -c "UPDATE dist SET grp = 'dup2' WHERE id IN (37, 47)" >/dev/null
dsid=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['dist']::regclass[])")
q -c "UPDATE dist SET grp = 'g47' WHERE id = 47" -c "CREATE UNIQUE INDEX dist_grp ON dist (tenant, grp)" >/dev/null
before=$(checksum dist)
node=$(q -c "SELECT n.node_name || ':' || n.node_port FROM backupkit.distributed_snapshot_node n JOIN backupkit.distributed_snapshot_shard s USING (snapshot_id, group_id) WHERE s.snapshot_id = $dsid AND s.shard_id = get_shard_id_for_distribution_column('dist', 7)")
got=$(psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -v SHOW_CONTEXT=errors -c "SELECT backupkit.restore_distributed($dsid)" 2>&1 >/dev/null | grep -v '^LOCATION:')
[[ "$got" == "ERROR:  23505: duplicate key value violates unique constraint \"dist_grp_"*"DETAIL:  Key (tenant, grp)=(7, dup2) already exists."*"CONTEXT:  "*"on Citus node \"$node\""* ]]
status=$?
ok $status "restore_distributed: the worker's unique violation, 23505 with its detail, naming the node"
[ $status = 0 ] || echo "$got" | sed 's/^/#   /' >&2
is "$(checksum dist)" "$before" "and nothing changed on any node"
is "$(prepared_left)" 0 "no prepared transaction left on any node"

# A replace without a key: the captured rows collide on a unique index added since, on both tables (23505).
PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE TABLE loc_nokey (tenant int, v int);
CREATE TABLE dist_nokey (tenant int, v int);
SELECT create_distributed_table('dist_nokey', 'tenant');
INSERT INTO loc_nokey VALUES (1, 1), (1, 1), (2, 2);
INSERT INTO dist_nokey VALUES (1, 1), (1, 1), (2, 2);
SQL
nsid=$(q -c "SELECT backupkit.snapshot_tables(ARRAY['loc_nokey', 'dist_nokey']::regclass[])")
for t in loc_nokey dist_nokey; do
	q -c "DELETE FROM $t WHERE ctid = (SELECT min(ctid) FROM $t WHERE v = 1)" -c "CREATE UNIQUE INDEX ON $t (tenant, v)" >/dev/null 2>&1 ||
		q -c "DELETE FROM $t WHERE v = 1" -c "INSERT INTO $t VALUES (1, 1)" -c "CREATE UNIQUE INDEX ON $t (tenant, v)" >/dev/null
done
before=$(checksum dist_nokey)
is "$(sqlstate_of "SELECT backupkit.restore_table_from_snapshot($nsid, 'loc_nokey', 'replace')")" 23505 \
	"replace without a key of the plain table: 23505"
is "$(error_of "SELECT backupkit.restore_table_from_snapshot($nsid, 'dist_nokey', 'replace')")" \
	"ERROR:  23505: could not restore table \"public.dist_nokey\": a unique index rejects 1 captured rows
DETAIL:  Snapshot $nsid has no key for the table, and a unique index of the table rejects rows it holds." \
	"replace without a key of the distributed table: 23505, not a row skipped in silence"
is "$(checksum dist_nokey)" "$before" "and nothing changed"
tap_finish
