#!/usr/bin/env bash
# One-tenant restores from a distributed snapshot, on a coordinator and two workers: restore_distributed(...,
# tenant => v) puts back the rows of distribution column value v in the co-located orders and order_lines
# and nothing else. Proven per tenant by checksums through Citus: the tenant equals its snapshot after
# replace, merge and missing (each with its own semantics), every other tenant keeps its changed rows, even
# the tenants stored in the same shards; a dry run changes nothing and reports what the restore then does;
# only the node holding the tenant's shard group takes part.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"
start_citus_cluster "citus.shard_count = 4"

PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE TABLE orders (tenant int, id bigint, amount numeric(12,2), note text, PRIMARY KEY (tenant, id));
CREATE TABLE order_lines (tenant int, order_id bigint, line int, sku text, qty int, PRIMARY KEY (tenant, order_id, line));
SELECT create_distributed_table('orders', 'tenant');
SELECT create_distributed_table('order_lines', 'tenant', colocate_with => 'orders');
ALTER TABLE order_lines ADD FOREIGN KEY (tenant, order_id) REFERENCES orders;
INSERT INTO orders SELECT g % 20, g, g * 1.25, 'note ' || g FROM generate_series(1, 2000) g;
INSERT INTO order_lines SELECT o.tenant, o.id, l, 'sku-' || (o.id * l) % 97, l FROM orders o, generate_series(1, 3) l;
SQL
tenant=3
# Another tenant stored in the same shards as tenant 3 (4 shards, 20 tenants: there is one).
neighbour=$(q -c "SELECT t FROM generate_series(0, 19) t WHERE t <> $tenant AND get_shard_id_for_distribution_column('orders', t) = get_shard_id_for_distribution_column('orders', $tenant) ORDER BY t LIMIT 1")
[ -n "$neighbour" ]
ok $? "tenant $neighbour shares tenant $tenant's shards"
sid=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['orders', 'order_lines']::regclass[], 'tenants')")
[ -n "$sid" ]
ok $? "distributed snapshot $sid"

# tenant_state: the checksum of every tenant's rows, one word per tenant and table (o<t>= orders, l<t>= lines).
tenant_state() {
	local t
	for t in orders:o order_lines:l; do
		q -c "SELECT string_agg('${t#*:}' || tenant || '=' || c, ' ' ORDER BY tenant) FROM (SELECT tenant, count(*) || ':' || md5(string_agg(x::text, ',' ORDER BY x::text COLLATE \"C\")) AS c FROM ${t%:*} x GROUP BY tenant) s"
	done | tr '\n' ' '
}
# tenant_of <state> <tenant>: that tenant's part of a state.
tenant_of() { tr ' ' '\n' <<<"$1" | grep -E "^[ol]$2="; }
# others_of <state> <tenant>: every other tenant's part.
others_of() { tr ' ' '\n' <<<"$1" | grep -vE "^[ol]$2="; }
captured=$(tenant_state)
captured_orders=$(checksum orders "tenant = $tenant")
captured_orders_n=${captured_orders%%:*}
captured_lines_n=$(q -c "SELECT count(*) FROM order_lines WHERE tenant = $tenant")

# Changes to every tenant, tenant 3 and its neighbour included: deleted, changed and added rows.
mutate() {
	q <<'SQL' >/dev/null
DELETE FROM order_lines WHERE line = 2 AND order_id % 3 = 0;
DELETE FROM order_lines WHERE order_id % 5 = 0;
DELETE FROM orders WHERE id % 5 = 0;
UPDATE orders SET amount = amount * 2, note = 'changed' WHERE id % 4 = 1;
UPDATE order_lines SET qty = qty + 10 WHERE order_id % 6 = 1;
INSERT INTO orders SELECT t, 100000 + t, 1, 'added' FROM generate_series(0, 20) t ON CONFLICT DO NOTHING;
INSERT INTO order_lines SELECT t, 100000 + t, 1, 'added', 1 FROM generate_series(0, 20) t ON CONFLICT DO NOTHING;
SQL
}
mutate
changed=$(tenant_state)
isnt "$(tenant_of "$changed" $tenant)" "$(tenant_of "$captured" $tenant)" "tenant $tenant differs from its snapshot"
isnt "$(tenant_of "$changed" "$neighbour")" "$(tenant_of "$captured" "$neighbour")" "so does its neighbour $neighbour"
shards_before=$(shard_counts orders)
tenant_shard=$(q -c "SELECT get_shard_id_for_distribution_column('orders', $tenant)")
live_orders=$(q -c "SELECT count(*) FROM orders WHERE tenant = $tenant")
live_lines=$(q -c "SELECT count(*) FROM order_lines WHERE tenant = $tenant")

dry=$(q -c "SELECT backupkit.restore_distributed($sid, mode => 'replace', dry_run => true, tenant => '$tenant')")
is "$(tenant_state)" "$changed" "a tenant dry run changes nothing"
report=$(q -c "SELECT backupkit.restore_distributed($sid, mode => 'replace', tenant => '$tenant')")
is "$(tenant_of "$(tenant_state)" $tenant)" "$(tenant_of "$captured" $tenant)" "replace: tenant $tenant equals its snapshot"
is "$(others_of "$(tenant_state)" $tenant)" "$(others_of "$changed" $tenant)" \
	"replace: every other tenant keeps its changed rows, the neighbour in the same shards too"
is "$(q -c "SELECT jsonb_array_length(r->'nodes') || ' ' || (r->>'shards') || ' ' || (r->>'commit') FROM (SELECT '$report'::jsonb r) x")" \
	"1 2 two-phase" "only the node of the tenant's shard group takes part, with its two shards"
is "$(q -c "SELECT '$dry'::jsonb #> '{nodes,0,report}'")" "$(q -c "SELECT '$report'::jsonb #> '{nodes,0,report}'")" \
	"the dry run reported the rows the restore then deleted and wrote"
is "$(q -c "SELECT string_agg(e->>'deleted' || '/' || (e->>'written'), ' ') FROM jsonb_array_elements('$report'::jsonb #> '{nodes,0,report}') e")" \
	"$live_orders/$captured_orders_n $live_lines/$captured_lines_n" \
	"replace reports the tenant's live rows deleted and its captured rows written, orders then order lines"
is "$(shard_counts orders | tr ' ' '\n' | grep -v "^$tenant_shard=")" "$(tr ' ' '\n' <<<"$shards_before" | grep -v "^$tenant_shard=")" \
	"the other shards hold the same rows"

# merge: the tenant's captured rows come back as captured, its added row stays.
mutate
changed=$(tenant_state)
q -c "SELECT backupkit.restore_distributed($sid, mode => 'merge', tenant => '$tenant')" >/dev/null
ok $? "merge of tenant $tenant"
is "$(checksum orders "tenant = $tenant AND id < 100000")" "$captured_orders" \
	"merge: tenant $tenant's captured orders are back as captured"
is "$(q -c "SELECT count(*) FROM orders WHERE tenant = $tenant AND id >= 100000")" 1 "merge: its added order stays"
is "$(others_of "$(tenant_state)" $tenant)" "$(others_of "$changed" $tenant)" "merge: every other tenant unchanged"

# missing: the tenant's deleted rows come back; its changed rows keep their changes.
q -c "SELECT backupkit.restore_distributed($sid, tenant => '$tenant')" >/dev/null
mutate
changed=$(tenant_state)
changed_rows=$(checksum orders "tenant = $tenant AND id % 4 = 1")
q -c "SELECT backupkit.restore_distributed($sid, mode => 'missing', tenant => '$tenant')" >/dev/null
ok $? "missing of tenant $tenant"
is "$(q -c "SELECT count(*) FROM orders WHERE tenant = $tenant AND id < 100000")" \
	"$captured_orders_n" "missing: every captured order of tenant $tenant is there again"
is "$(checksum orders "tenant = $tenant AND id % 4 = 1")" "$changed_rows" "missing: changed orders keep their changes"
is "$(others_of "$(tenant_state)" $tenant)" "$(others_of "$changed" $tenant)" "missing: every other tenant unchanged"

# A tenant with no captured rows: replace removes its live rows and writes none.
q -c "SELECT backupkit.restore_distributed($sid, tenant => '20')" >/dev/null
is "$(tenant_of "$(tenant_state)" 20)" "" \
	"replace of a tenant absent from the snapshot empties it"
is "$(shell_bytes orders order_lines)" 0 "no byte in the coordinator's shells"
is "$(prepared_left)" 0 "no prepared transaction left on any node"

# merge matches a tenant's rows by primary key: a co-located table without one is refused, nothing changed.
PGOPTIONS='-c client_min_messages=warning' q <<'SQL' >/dev/null
CREATE TABLE events (tenant int, what text);
SELECT create_distributed_table('events', 'tenant', colocate_with => 'orders');
INSERT INTO events SELECT g % 20, 'event ' || g FROM generate_series(1, 200) g;
SQL
sid2=$(q -c "SELECT backupkit.snapshot_distributed(ARRAY['orders', 'events']::regclass[])")
q -c "DELETE FROM events WHERE tenant = $tenant" >/dev/null
before=$(tenant_state)
got=$(error_of "SELECT backupkit.restore_distributed($sid2, mode => 'merge', tenant => '$tenant')")
[[ "$got" == "ERROR:  0A000: table \"public.events_"*"\" has no primary key"*"DETAIL:  A tenant merge matches captured rows with live rows by primary key."*"HINT:  Restore the tenant with mode 'replace' or 'missing'." ]]
status=$?
ok $status "a tenant merge of a table without a primary key is refused"
[ $status = 0 ] || echo "$got" | sed 's/^/#   /' >&2
is "$(tenant_state)" "$before" "and nothing changed"
q -c "SELECT backupkit.restore_distributed($sid2, mode => 'missing', tenant => '$tenant')" >/dev/null
is "$(q -c "SELECT count(*) FROM events WHERE tenant = $tenant")" 10 "missing puts the tenant's events back"

# A node that cannot be reached: the restore fails before anything changes.
bk_as_server_user "$PG_BINDIR/pg_ctl" -D "$BK_CITUS_DIR/node2" -m fast -w stop >/dev/null
got=$(error_of "SELECT backupkit.restore_distributed($sid)")
is "$(echo "$got" | head -1)" "ERROR:  08001: could not connect to Citus node \"$BK_CITUS_DIR:${BK_CITUS_PORTS[2]}\"" \
	"an unreachable node is named in the error"
bk_as_server_user "$PG_BINDIR/pg_ctl" -D "$BK_CITUS_DIR/node2" -l "$BK_CITUS_DIR/node2.log" -w start >/dev/null
is "$(tenant_state)" "$before" "nothing changed on the reachable node"

tap_finish
