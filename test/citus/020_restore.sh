#!/usr/bin/env bash
# Restores and diffs of Citus hash-distributed and reference tables (issue 14, step 2), on a coordinator and
# two workers: each mode (replace, merge, missing), one table at a time and as a set, dry runs first. Every
# report's counts equal counts computed independently from the snapshot's rows and the live rows; after every
# restore each table equals the state computed independently for its mode (whole-table checksum through
# Citus), its shards hold every row (run_command_on_shards), every placement of a reference table is
# identical, and the coordinator's shell holds no bytes. A dry run changes nothing. What is still refused
# says so with 0A000; a restore that fails midway leaves every table as it was.
#
# Run by scripts/run-tests.sh (Citus suite) with PG_CONFIG naming a server Citus is installed into.
set -u
# shellcheck source=test/citus/helpers.bash
source "$(dirname "$0")/helpers.bash"

start_cluster

q <<'SQL' >/dev/null
CREATE EXTENSION backupkit;
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, since date);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2), placed timestamptz);
CREATE TABLE order_lines (order_id bigint, line int, sku text, qty int, note jsonb, PRIMARY KEY (order_id, line));
CREATE TABLE ledger (id bigint, entry text, amount numeric);
CREATE TABLE payments (id bigint PRIMARY KEY, customer_id int NOT NULL, paid numeric);
CREATE TABLE tags (id bigint PRIMARY KEY, tag text);
CREATE TABLE notes (id int PRIMARY KEY, body text);
-- snapshot_rows gives every value in its text form: json values are parsed back for jsonb_populate_record.
CREATE FUNCTION captured(sid bigint, t regclass) RETURNS SETOF jsonb LANGUAGE sql AS $$
  SELECT r || coalesce((SELECT jsonb_object_agg(a.attname, (r->>a.attname)::jsonb) FROM pg_attribute a
     WHERE a.attrelid = t AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid IN ('json'::regtype, 'jsonb'::regtype)
       AND r->>a.attname IS NOT NULL), '{}')
  FROM backupkit.snapshot_rows(sid, t) r $$;
INSERT INTO customers SELECT g, 'customer ' || g, date '2020-01-01' + g FROM generate_series(1, 200) g;
INSERT INTO orders SELECT g, 1 + g % 200, g * 1.25, timestamptz '2026-01-01 00:00+00' + g * interval '1 minute' FROM generate_series(1, 4000) g;
INSERT INTO order_lines SELECT o, l, 'sku-' || (o * l) % 97, l, jsonb_build_object('o', o, 'l', l) FROM generate_series(1, 4000) o, generate_series(1, 3) l;
INSERT INTO ledger SELECT g % 500, 'entry ' || g, g / 7.0 FROM generate_series(1, 1500) g;
INSERT INTO payments SELECT g, 1 + g % 200, g FROM generate_series(1, 300) g;
INSERT INTO tags SELECT g, 'tag ' || g FROM generate_series(1, 300) g;
INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 50) g;
SET client_min_messages = warning;
SELECT create_reference_table('customers');
SELECT create_distributed_table('orders', 'id');
SELECT create_distributed_table('order_lines', 'order_id', colocate_with => 'orders');
SELECT create_distributed_table('ledger', 'id');
SELECT create_distributed_table('tags', 'id');
SELECT citus_add_local_table_to_metadata('notes');
SELECT truncate_local_data_after_distributing_table(t) FROM unnest(ARRAY['customers', 'orders', 'order_lines', 'ledger', 'tags']::regclass[]) t;
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);
SQL
is "$(q -c "SELECT count(*) FROM run_command_on_placements('customers', 'SELECT 1')")" 3 \
	"the reference table has a placement on each of the three nodes"
is "$(q -c "SELECT count(DISTINCT nodeport) FROM run_command_on_placements('orders', 'SELECT 1')")" 2 \
	"the distributed table's shards are on both workers"

tables=(customers orders order_lines ledger)
declare -A keys=([customers]="id" [orders]="id" [order_lines]="order_id, line" [ledger]="")
declare -A captured
for t in "${tables[@]}"; do
	captured[$t]=$(checksum "$t")
done
sid=$(q -c "SELECT backupkit.snapshot_tables(ARRAY['customers', 'orders', 'order_lines', 'ledger']::regclass[], 'through citus')")
[ -n "$sid" ]
ok $? "snapshot_tables of reference and distributed tables through the coordinator (snapshot $sid)"
for t in "${tables[@]}"; do
	is "$(q -c "SELECT count(*) || ':' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text COLLATE \"C\"), '')) FROM captured($sid, '$t') r, jsonb_populate_record(NULL::$t, r) x")" \
		"${captured[$t]}" "the snapshot holds exactly the rows of $t"
done
is "$(q -c "SELECT string_agg(table_name || '=' || (definition->'capture_citus'->>'table_type') || '/' || coalesce(definition->'capture_citus'->>'distribution_column', '-'), ' ' ORDER BY table_name) FROM backupkit.snapshot_table WHERE snapshot_id = $sid")" \
	"customers=reference/- ledger=distributed/id order_lines=distributed/order_id orders=distributed/id" \
	"the capture records each table's Citus type and distribution column in its definition"
is "$(q -c "SELECT count(*) FROM backupkit.snapshot_table WHERE snapshot_id = $sid AND (capture_xmin IS NOT NULL OR capture_relfilenode IS NOT NULL)")" \
	0 "no capture position is recorded for a Citus table (its shell's tuple ids and xids mean nothing)"
is "$(q -c "SELECT count(*) FROM backupkit.snapshot_chunk WHERE snapshot_id = $sid AND row_tids IS NOT NULL")" \
	0 "no chunk of a Citus table records tuple ids"
is "$(q -c "SELECT backupkit.validate_snapshot_integrity($sid)->>'valid'")" true "the snapshot validates"

# damage <table>: deletes, changes and adds rows (keeping the foreign keys satisfied); a failure is a failed
# test (what follows would compare against a state nobody meant).
next_id=50001
next_line=10
damage() {
	change "$1" || ok 1 "the changes to $1 applied"
}
change() {
	case $1 in
	customers) q -c "UPDATE customers SET name = upper(name) WHERE id % 9 = 0" -c "INSERT INTO customers SELECT g, 'new ' || g, NULL FROM generate_series($next_id, $((next_id + 3))) g" >/dev/null
		next_id=$((next_id + 4)) ;;
	orders) q -c "UPDATE orders SET amount = amount + 1 WHERE id % 11 = 0" -c "DELETE FROM order_lines WHERE order_id % 97 = 0" \
		-c "DELETE FROM orders WHERE id % 97 = 0" -c "INSERT INTO orders VALUES ($((next_id++)), 3, 2.5, now())" >/dev/null ;;
	order_lines) q -c "DELETE FROM order_lines WHERE order_id % 10 = 3" -c "UPDATE order_lines SET qty = qty * 2, note = note || '{\"changed\": true}' WHERE order_id % 7 = 0" \
		-c "INSERT INTO order_lines SELECT o, $((next_line++)), 'extra', 1, NULL FROM generate_series(1, 4000, 13) o" >/dev/null ;;
	ledger) q -c "DELETE FROM ledger WHERE id % 5 = 0" -c "INSERT INTO ledger VALUES (7, 'late', 1)" >/dev/null ;;
	esac
}

# expected <mode> <table> [snapshot]: "inserted updated deleted unchanged checksum" computed from the
# snapshot's rows (snapshot_rows) and the live rows, without backupkit's restore code.
expected() {
	local mode=$1 t=$2 k=${keys[$2]} sid=${3:-$sid} state match
	match="(s.${k//, /, s.}) = (l.${k//, /, l.})"
	case $mode in
	replace) state="SELECT * FROM e_snap" ;;
	merge) state="SELECT * FROM e_snap UNION ALL SELECT * FROM e_live l WHERE NOT EXISTS (SELECT FROM e_snap s WHERE $match)" ;;
	missing) state="SELECT * FROM e_live UNION ALL SELECT * FROM e_snap s WHERE NOT EXISTS (SELECT FROM e_live l WHERE $match)" ;;
	esac
	if [ -z "$k" ]; then # no key: every row goes and every captured row comes back
		echo "$(q -c "SELECT (SELECT count(*) FROM backupkit.snapshot_rows($sid, '$t')) || ' 0 ' || (SELECT count(*) FROM $t) || ' 0'") ${captured[$t]}"
		return
	fi
	q <<SQL | tr '\n' ' ' | sed 's/ $//'
CREATE TEMP TABLE e_live AS SELECT * FROM $t;
CREATE TEMP TABLE e_snap AS SELECT x.* FROM captured($sid, '$t') r, jsonb_populate_record(NULL::$t, r) x;
CREATE TEMP TABLE e_state AS $state;
SELECT (SELECT count(*) FROM e_snap s WHERE NOT EXISTS (SELECT FROM e_live l WHERE $match))
	|| ' ' || CASE WHEN '$mode' = 'missing' THEN 0 ELSE (SELECT count(*) FROM e_snap s JOIN e_live l ON $match WHERE s::text <> l::text) END
	|| ' ' || CASE WHEN '$mode' = 'replace' THEN (SELECT count(*) FROM e_live l WHERE NOT EXISTS (SELECT FROM e_snap s WHERE $match)) ELSE 0 END
	|| ' ' || CASE WHEN '$mode' = 'missing' THEN (SELECT count(*) FROM e_snap s WHERE EXISTS (SELECT FROM e_live l WHERE $match))
	   ELSE (SELECT count(*) FROM e_snap s JOIN e_live l ON $match WHERE s::text = l::text) END;
$(checksum_sql e_state)
SQL
}
# counts <restore call>: per table of the report, "table inserted updated deleted unchanged path".
counts() {
	q -c "SELECT string_agg(x->>'table' || ' ' || concat_ws(' ', x->>'inserted', x->>'updated', x->>'deleted', x->>'unchanged', x->>'path'), ',' ORDER BY x->>'table') FROM (SELECT $1 AS r) y, jsonb_array_elements(CASE WHEN r ? 'tables' THEN r->'tables' ELSE jsonb_build_array(r) END) x"
}

# Everything a restore could touch, to prove that dry runs and failures change nothing.
state() {
	local t out=""
	for t in "${tables[@]}" payments tags; do
		out+="$t=$(checksum "$t")/$(shard_rows "$t")/$(shell_bytes "$t") "
	done
	echo "$out$(q -c "SELECT string_agg(result, ',' ORDER BY nodeport) FROM run_command_on_placements('customers', 'SELECT md5(string_agg(t::text, '','' ORDER BY id)) FROM %s t')")"
}

# One table at a time, each mode.
for t in customers orders order_lines ledger; do
	for mode in replace merge missing; do
		[ -z "${keys[$t]}" ] && [ "$mode" != replace ] && continue
		damage "$t"
		want=$(expected "$mode" "$t")
		before=$(state)
		is "$(counts "backupkit.restore_table_from_snapshot($sid, '$t', '$mode', dry_run => true)")" \
			"public.$t ${want% *} citus" "$t $mode dry run: exact counts (inserted updated deleted unchanged), Citus path"
		is "$(state)" "$before" "$t $mode dry run: nothing changed"
		is "$(counts "backupkit.restore_table_from_snapshot($sid, '$t', '$mode')")" "public.$t ${want% *} citus" \
			"$t $mode: the report's counts"
		check_citus_table "$t" "${want##* }" "restore_table_from_snapshot $mode"
	done
done

# diff: rows added, removed and changed since the snapshot, as computed from both sides.
diff_expected() { # <table> <key match>
	q <<SQL
CREATE TEMP TABLE e_live AS SELECT * FROM $1;
CREATE TEMP TABLE e_snap AS SELECT x.* FROM captured($sid, '$1') r, jsonb_populate_record(NULL::$1, r) x;
SELECT 'added=' || (SELECT count(*) FROM e_live l WHERE NOT EXISTS (SELECT FROM e_snap s WHERE $2))
	|| ' changed=' || (SELECT count(*) FROM e_snap s JOIN e_live l ON $2 WHERE s::text <> l::text)
	|| ' removed=' || (SELECT count(*) FROM e_snap s WHERE NOT EXISTS (SELECT FROM e_live l WHERE $2));
SQL
}
diff_rows_wrong() { # <table>: diff rows whose snapshot_row or current_row is not a captured or live row
	q <<SQL
CREATE TEMP TABLE e_live AS SELECT * FROM $1;
CREATE TEMP TABLE e_snap AS SELECT x.* FROM captured($sid, '$1') r, jsonb_populate_record(NULL::$1, r) x;
SELECT count(*) FROM backupkit.diff($sid, '$1') d
 WHERE (d.change <> 'added' AND NOT EXISTS (SELECT FROM e_snap x WHERE to_jsonb(x) = d.snapshot_row))
    OR (d.change <> 'removed' AND NOT EXISTS (SELECT FROM e_live x WHERE to_jsonb(x) = d.current_row));
SQL
}
for t in customers order_lines; do
	damage "$t"
	k=${keys[$t]}
	match="(s.${k//, /, s.}) = (l.${k//, /, l.})"
	is "$(q -c "SELECT 'added=' || count(*) FILTER (WHERE change = 'added') || ' changed=' || count(*) FILTER (WHERE change = 'changed') || ' removed=' || count(*) FILTER (WHERE change = 'removed') FROM backupkit.diff($sid, '$t')")" \
		"$(diff_expected "$t" "$match")" "diff of $t lists the rows added, changed and removed"
	is "$(diff_rows_wrong "$t")" 0 "diff of $t: each row's snapshot_row and current_row are the captured and the live row"
	is "$(shell_bytes "$t")" 0 "diff of $t wrote nothing into its shell"
done

# Sets: the whole snapshot in foreign-key order, each mode, dry run first.
for mode in merge missing replace; do
	for t in order_lines customers ledger; do damage "$t"; done
	declare -A want=()
	for t in "${tables[@]}"; do
		[ -z "${keys[$t]}" ] && [ "$mode" != replace ] && continue
		want[$t]=$(expected "$mode" "$t")
	done
	list=$(for t in "${tables[@]}"; do [ -n "${want[$t]:-}" ] && printf "'%s'," "$t"; done | sed 's/,$//')
	all=$(for t in $(printf '%s\n' "${!want[@]}" | sort); do printf 'public.%s %s citus,' "$t" "${want[$t]% *}"; done | sed 's/,$//')
	before=$(state)
	is "$(counts "backupkit.restore_snapshot($sid, ARRAY[$list]::regclass[], '$mode', dry_run => true)")" "$all" \
		"restore_snapshot $mode dry run: exact counts for every table"
	is "$(state)" "$before" "restore_snapshot $mode dry run: nothing changed"
	is "$(counts "backupkit.restore_snapshot($sid, ARRAY[$list]::regclass[], '$mode')")" "$all" \
		"restore_snapshot $mode: the report's counts for every table"
	for t in "${!want[@]}"; do
		check_citus_table "$t" "${want[$t]##* }" "restore_snapshot $mode"
	done
	unset want
done
is "$(q -c "SELECT current_setting('citus.multi_shard_modify_mode')")" parallel \
	"a restore's switch to Citus's sequential mode ends with it"

# What is refused, with the exact message, and changes nothing.
refused() { # refused <description> <statement> <expected error>
	local before got
	before=$(state)
	got=$(error_of "$2")
	is "$got" "$3" "$1: refused with the exact message"
	is "$(state)" "$before" "$1: nothing changed"
}
refused "schema => 'missing' on Citus tables" "SELECT backupkit.restore_snapshot($sid, schema => 'missing')" \
	"ERROR:  0A000: cannot restore the definition of Citus table \"public.customers\"
DETAIL:  Definitions are re-created with plain DDL, which Citus would not distribute as they were; the table's Citus type is \"reference\".
HINT:  Restore the contents of Citus tables with schema => 'keep'."
q -c "DELETE FROM order_lines WHERE order_id = 5" -c "DELETE FROM orders WHERE id = 5" >/dev/null
q -c "INSERT INTO orders VALUES (90001, 1, 1, now())" -c "INSERT INTO order_lines VALUES (90001, 1, 'x', 1, NULL)" >/dev/null
refused "replace of orders that would delete a row order_lines references" \
	"SELECT backupkit.restore_table_from_snapshot($sid, 'orders', 'replace')" \
	"ERROR:  23503: restoring table \"public.orders\" would remove rows referenced from table \"public.order_lines\"
DETAIL:  Key (90001) of a row absent from the snapshot is still referenced through foreign key \"order_lines_order_fk\".
HINT:  Restore table \"public.order_lines\" in the same call, or use mode => 'merge'."
refused "... in a dry run too" "SELECT backupkit.restore_table_from_snapshot($sid, 'orders', 'replace', dry_run => true)" \
	"ERROR:  23503: restoring table \"public.orders\" would remove rows referenced from table \"public.order_lines\"
DETAIL:  Key (90001) of a row absent from the snapshot is still referenced through foreign key \"order_lines_order_fk\".
HINT:  Restore table \"public.order_lines\" in the same call, or use mode => 'merge'."
# A row the table now rejects (a CHECK constraint added since the capture) fails the set after other tables
# were written: everything rolls back.
q -c "ALTER TABLE order_lines ADD CONSTRAINT small_qty CHECK (qty < 3) NOT VALID" >/dev/null
q -c "UPDATE customers SET name = 'changed' WHERE id = 1" >/dev/null
before=$(state)
got=$(error_of "SELECT backupkit.restore_snapshot($sid, ARRAY['customers', 'orders', 'order_lines']::regclass[])" | head -1)
# The shard's own SQLSTATE (the rows go through INSERT ... ON CONFLICT, whose shard errors Citus relays whole;
# its COPY path would report XX000).
[[ "$got" == "ERROR:  23514: new row for relation \"order_lines_"*"\" violates check constraint \"small_qty_"* ]]
ok $? "a restore failing on order_lines after customers and orders were written raises the shard's error"
is "$(state)" "$before" "... and every table is as it was (checksums, shards, shells, every customers placement)"
q -c "ALTER TABLE order_lines DROP CONSTRAINT small_qty" >/dev/null
q -c "SELECT backupkit.restore_snapshot($sid, ARRAY['customers', 'orders', 'order_lines']::regclass[])" >/dev/null
ok $? "the set restores once the constraint is gone"
for t in customers orders order_lines; do
	check_citus_table "$t" "${captured[$t]}" "restore_snapshot replace after the failure"
done

# Keys that Citus cannot upsert by: payments captured under its key (id), then distributed by customer_id
# (dropping the key, as Citus needs the distribution column in every unique constraint); tags keeps its
# distribution column as key but loses the unique index.
psid=$(q -c "SELECT backupkit.snapshot_tables(ARRAY['payments']::regclass[])")
q <<'SQL' >/dev/null
SET client_min_messages = warning;
ALTER TABLE payments DROP CONSTRAINT payments_pkey;
SELECT create_distributed_table('payments', 'customer_id');
SELECT truncate_local_data_after_distributing_table('payments');
DELETE FROM payments WHERE id % 3 = 0;
UPDATE payments SET paid = -paid WHERE id % 5 = 0;
SQL
tsid=$(q -c "SELECT backupkit.snapshot_tables(ARRAY['tags']::regclass[])")
q -c "ALTER TABLE tags DROP CONSTRAINT tags_pkey" -c "DELETE FROM tags WHERE id % 4 = 0" >/dev/null
refused "merge of payments, whose captured key lacks the distribution column" \
	"SELECT backupkit.restore_table_from_snapshot($psid, 'payments', 'merge')" \
	"ERROR:  0A000: cannot restore Citus table \"public.payments\" in mode \"merge\": its key in snapshot $psid does not include the distribution column \"customer_id\"
DETAIL:  Rows are matched by the key recorded at capture time, and Citus cannot change a row's distribution column in place.
HINT:  Use mode => 'missing', or take a snapshot under a key that includes the distribution column."
refused "merge of tags, which has no unique index on its key any more" \
	"SELECT backupkit.restore_table_from_snapshot($tsid, 'tags', 'merge')" \
	"ERROR:  0A000: cannot restore Citus table \"public.tags\" in mode \"merge\": no unique index of the table matches its key in snapshot $tsid
DETAIL:  Changed rows of a Citus table are written with INSERT ... ON CONFLICT on the key recorded at capture time (id).
HINT:  Use mode => 'missing', or add a unique index on the key."
keys[payments]=id
keys[tags]=id
for x in "payments $psid" "tags $tsid"; do
	set -- $x
	want=$(expected missing "$1" "$2")
	is "$(counts "backupkit.restore_table_from_snapshot($2, '$1', 'missing')")" "public.$1 ${want% *} citus" \
		"missing on $1 inserts the rows whose key is absent"
	check_citus_table "$1" "${want##* }" "missing on $1"
done
refused "restore of a Citus local table" "SELECT backupkit.restore_table_from_snapshot($sid, 'notes')" \
	"ERROR:  0A000: cannot restore Citus table \"public.notes\"
DETAIL:  The table's Citus type is \"local\"; backupkit restores hash-distributed and reference tables only.
HINT:  Leave this table out of the restore; to put its rows back, insert them through Citus with INSERT ... SELECT from backupkit.snapshot_rows()."

finish
