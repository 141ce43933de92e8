#!/usr/bin/env bash
# Privileges, row-level security and user triggers on Citus tables are handled as on plain tables: the same
# data in a local table and a hash-distributed one, the same grants, policies and triggers, the same calls.
# - a role without INSERT cannot restore (42501 on both) and changes nothing;
# - under a policy that shows it one tenant, a role's snapshot holds that tenant's rows only, and its
#   restores put back that tenant and leave every other tenant's rows alone (per-tenant checksums);
# - a policy's WITH CHECK rejects a restored row the role may not write, on both (42501);
# - user triggers do not fire unless fire_triggers => true, and are enabled again afterwards on every shard.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"

# Citus creates triggers on distributed tables only with citus.enable_unsafe_triggers.
start_citus_cluster "citus.shard_count = 4" "citus.enable_unsafe_triggers = on"

PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE ROLE clerk LOGIN;
GRANT USAGE ON SCHEMA backupkit TO clerk;
CREATE TABLE loc (tenant int, id int, v text, PRIMARY KEY (tenant, id));
CREATE TABLE dist (LIKE loc INCLUDING ALL);
SELECT create_distributed_table('dist', 'tenant');
INSERT INTO loc SELECT g % 4, g, 'v' || g FROM generate_series(1, 200) g;
INSERT INTO dist SELECT * FROM loc;
-- clerk sees and writes tenant 1 only.
ALTER TABLE loc ENABLE ROW LEVEL SECURITY;
ALTER TABLE dist ENABLE ROW LEVEL SECURITY;
CREATE POLICY one_tenant ON loc TO clerk USING (tenant = 1);
CREATE POLICY one_tenant ON dist TO clerk USING (tenant = 1);
-- UPDATE for the SHARE lock a snapshot of a Citus table takes (README: Citus), as on both.
GRANT SELECT, UPDATE ON loc, dist TO clerk;
SQL
as_clerk() { PGUSER=clerk q "$@"; }
tenants() { # tenants <table>: the checksum of each tenant's rows
	q -c "SELECT string_agg(tenant || '=' || c, ' ' ORDER BY tenant) FROM (SELECT tenant, count(*) || ':' || md5(string_agg(x::text, ',' ORDER BY x::text COLLATE \"C\")) AS c FROM $1 x GROUP BY tenant) s"
}
is "$(tenants dist)" "$(tenants loc)" "both tables hold the same rows"
is "$(as_clerk -c "SELECT count(*) FROM dist")" 50 "clerk sees tenant 1 only through Citus (the policy reached the shards)"

# --- Snapshots under row-level security -----------------------------------------------------------------
sid=$(as_clerk -c "SELECT backupkit.snapshot_tables(ARRAY['loc', 'dist']::regclass[], 'clerk')")
[ -n "$sid" ]
ok $? "clerk's snapshot $sid of both tables"
is "$(q -c "SELECT string_agg(table_name || '=' || row_count, ' ' ORDER BY table_name) FROM backupkit.snapshot_table WHERE snapshot_id = $sid")" \
	"dist=50 loc=50" "it holds the 50 rows of tenant 1 of each table, no row clerk cannot see"
is "$(as_clerk -c "SELECT count(*) FROM backupkit.snapshot_rows($sid, 'dist') r WHERE (r ->> 'tenant')::int <> 1")" 0 \
	"no row of another tenant in the distributed table's part"

# Changes to every tenant, the same on both.
mutate() {
	local t
	for t in loc dist; do
		q -c "DELETE FROM $t WHERE id % 5 = 0" -c "UPDATE $t SET v = 'changed' WHERE id % 7 = 0" \
			-c "INSERT INTO $t SELECT t, 1000 + t, 'added' FROM generate_series(0, 3) t ON CONFLICT DO NOTHING" >/dev/null
	done
}
captured_one=$(tenants dist | tr ' ' '\n' | grep '^1=')
mutate

# --- Privileges ----------------------------------------------------------------------------------------
# sqlstate_of <sql>: the SQLSTATE of the error clerk's statement raises.
sqlstate_of() { PGUSER=clerk error_of "$1" | sed -n '1s/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p'; }
before_loc=$(tenants loc)
before_dist=$(tenants dist)
for mode in merge missing replace; do
	is "$(sqlstate_of "SELECT backupkit.restore_table_from_snapshot($sid, 'loc', '$mode')")" 42501 \
		"$mode by a role without INSERT: refused on the plain table (42501)"
	is "$(sqlstate_of "SELECT backupkit.restore_table_from_snapshot($sid, 'dist', '$mode')")" 42501 \
		"$mode by a role without INSERT: refused on the distributed table (42501)"
done
is "$(tenants loc) / $(tenants dist)" "$before_loc / $before_dist" "nothing changed"
q -c "GRANT INSERT, DELETE ON loc, dist TO clerk" >/dev/null

# --- Restores under row-level security: the same outcome on both -----------------------------------------
# other_tenants <table>: every tenant but 1.
other_tenants() { tenants "$1" | tr ' ' '\n' | grep -v '^1='; }
tenant_one() { tenants "$1" | tr ' ' '\n' | grep '^1='; }
for mode in missing merge replace; do
	others_loc=$(other_tenants loc)
	others_dist=$(other_tenants dist)
	for t in loc dist; do
		as_clerk -c "SELECT backupkit.restore_table_from_snapshot($sid, '$t', '$mode')" >/dev/null
		ok $? "$mode of $t by clerk"
	done
	is "$(tenants dist)" "$(tenants loc)" "$mode: both tables end the same (per-tenant checksums)"
	is "$(other_tenants dist)" "$others_dist" "$mode: the tenants clerk cannot see keep their rows"
	is "$(other_tenants loc)" "$others_loc" "$mode: so do they on the plain table"
	if [ $mode = replace ]; then
		is "$(tenant_one dist)" "$captured_one" "replace by clerk: tenant 1 equals clerk's snapshot again"
	fi
	mutate
done
# A policy whose WITH CHECK refuses a restored row: the restore fails on both, and nothing changes.
q -c "CREATE POLICY no_added ON loc AS RESTRICTIVE FOR INSERT TO clerk WITH CHECK (id < 150)" \
	-c "CREATE POLICY no_added ON dist AS RESTRICTIVE FOR INSERT TO clerk WITH CHECK (id < 150)" >/dev/null
q -c "DELETE FROM loc WHERE id IN (5, 197)" -c "DELETE FROM dist WHERE id IN (5, 197)" >/dev/null
before_loc=$(tenants loc)
before_dist=$(tenants dist)
is "$(sqlstate_of "SELECT backupkit.restore_table_from_snapshot($sid, 'loc', 'missing')")" 42501 \
	"a row the policy does not let clerk insert: the plain table's restore fails (42501)"
is "$(sqlstate_of "SELECT backupkit.restore_table_from_snapshot($sid, 'dist', 'missing')")" 42501 \
	"and the distributed table's restore fails the same way (42501)"
is "$(tenants loc) / $(tenants dist)" "$before_loc / $before_dist" "nothing changed"

# --- User triggers ------------------------------------------------------------------------------------------
PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE TABLE loc_log (tenant int, id int, op text);
CREATE TABLE dist_log (LIKE loc_log);
SELECT create_distributed_table('dist_log', 'tenant', colocate_with => 'dist');
CREATE FUNCTION log_loc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.loc_log VALUES (NEW.tenant, NEW.id, TG_OP); RETURN NEW; END $$;
CREATE FUNCTION log_dist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.dist_log VALUES (NEW.tenant, NEW.id, TG_OP); RETURN NEW; END $$;
CREATE TRIGGER logged AFTER INSERT OR UPDATE ON loc FOR EACH ROW EXECUTE FUNCTION log_loc();
CREATE TRIGGER logged AFTER INSERT OR UPDATE ON dist FOR EACH ROW EXECUTE FUNCTION log_dist();
SQL
sid2=$(q -c "SELECT backupkit.snapshot_tables(ARRAY['loc', 'dist']::regclass[], 'triggers')")
logs() { echo "loc: $(q -c "SELECT coalesce(string_agg(op || '=' || n, ' ' ORDER BY op), 'none') FROM (SELECT op, count(*) n FROM loc_log GROUP BY op) x") dist: $(q -c "SELECT coalesce(string_agg(op || '=' || n, ' ' ORDER BY op), 'none') FROM (SELECT op, count(*) n FROM dist_log GROUP BY op) x")"; }
# shard_triggers: the trigger's state on every shard of dist (O: enabled), as the workers see it.
shard_triggers() {
	q -c "SELECT string_agg(result, '' ORDER BY shardid) FROM run_command_on_shards('dist', \$\$SELECT tgenabled FROM pg_trigger WHERE tgrelid = '%s'::regclass AND tgname LIKE 'logged%%'\$\$)"
}
# Rows deleted and changed since sid2, the same on both tables.
change() {
	local t
	for t in loc dist; do
		q -c "DELETE FROM $t WHERE id % 3 = 0" -c "UPDATE $t SET v = v || '+' WHERE id % 11 = 0" >/dev/null
	done
}
enabled=$(shard_triggers)
is "$enabled" "OOOO" "the trigger is enabled on the four shards"
change
q -c "TRUNCATE loc_log" -c "TRUNCATE dist_log" >/dev/null
for t in loc dist; do
	q -c "SELECT backupkit.restore_table_from_snapshot($sid2, '$t', 'merge')" >/dev/null
done
is "$(logs)" "loc: none dist: none" "merge: user triggers do not fire, on either table"
is "$(tenants dist)" "$(tenants loc)" "merge: both tables end the same"
is "$(shard_triggers)" "$enabled" "the trigger is enabled again on every shard"
change
q -c "TRUNCATE loc_log" -c "TRUNCATE dist_log" >/dev/null
for t in loc dist; do
	q -c "SELECT backupkit.restore_table_from_snapshot($sid2, '$t', 'merge', fire_triggers => true)" >/dev/null
done
got=$(logs)
[[ "$got" == "loc: INSERT="[1-9]*" UPDATE="[1-9]*" dist: "* ]]
status=$?; [ $status = 0 ] || echo "#   $got" >&2
ok $status "fire_triggers => true: the plain table's trigger fired for inserted and updated rows"
is "${got#* dist: }" "$(sed 's/^loc: \(.*\) dist: .*/\1/' <<<"$got")" "fire_triggers => true: the distributed table's fired as often"
is "$(shell_bytes dist dist_log)" 0 "no byte in the coordinator's shells"
tap_finish
