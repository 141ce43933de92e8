// backupkit.diff's query: the snapshot's rows that differ from the live table, staged as merge stages them
// (only absent or differing rows when the key stage applies), joined with the table by key.
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/citus_restore.hpp"
#include "pg/restore/restore_engine_internal.hpp"
#include "pg/support/message_names.hpp"

char *
bk_restore_diff_query(BkTablePlan *p)
{
	StringInfoData key_obj, snap_obj, live_obj;
	ListCell *lc;
	bool first = true;
	char *match = bk_sql_key_match(p->entry, "s", "t");
	char *scols = bk_sql_column_list(&p->map, "s");
	char *tcols = bk_sql_column_list(&p->map, "t");
	const char *target = p->target;
	const char *only = p->only;

	if (!p->keyed)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("cannot diff table \"%s\": it has no key in snapshot " INT64_FORMAT,
		                       bk_display_name_of(p->target), p->snapshot->snapshot_id),
		                errdetail("Rows are matched by the primary key (or a unique index on not-null columns) "
		                          "recorded at capture time."),
		                errhint("Compare the rows with backupkit.snapshot_rows() instead.")));
	}
	// Only rows absent from the table or differing from it are staged; rows added since are those whose key
	// is not in the key stage. A Citus table is compared through a local copy of its rows.
	if (p->citus != NULL)
	{
		target = bk_citus_diff_stage(p->citus, &p->stage);
		only = "";
	}
	else if (!bk_restore_stage_differing_rows(p, true))
	{
		BkChunkReader *reader = bk_restore_open_chunks(p);
		Oid stage_oid = bk_restore_create_stage(p->relid, &p->map, &p->stage);
		(void) bk_copy_chunks_into(stage_oid, p->map.attnames, reader, p->map.keep, false, p->target,
		                           bk_restore_key_names(p));
		CommandCounterIncrement();
	}
	initStringInfo(&key_obj);
	initStringInfo(&snap_obj);
	initStringInfo(&live_obj);
	for (int i = 0; i < p->entry->npk; i++)
	{
		const char *k = quote_identifier(p->entry->pk[i]);
		appendStringInfo(&key_obj, "%s%s, CASE WHEN s.%s IS NULL THEN to_jsonb(t.%s) ELSE to_jsonb(s.%s) END",
		                 i ? ", " : "", quote_literal_cstr(p->entry->pk[i]), k, k, k);
	}
	// A function takes at most 100 arguments: the objects are built 50 columns at a time and concatenated, so
	// a table of 1,600 columns diffs too.
	appendStringInfoString(&snap_obj, "(jsonb_build_object(");
	appendStringInfoString(&live_obj, "(jsonb_build_object(");
	foreach (lc, p->map.attnames)
	{
		const char *name = strVal(lfirst(lc));
		const char *sep = first ? "" : foreach_current_index(lc) % 50 == 0 ? ") || jsonb_build_object(" : ", ";
		appendStringInfo(&snap_obj, "%s%s, s.%s", sep, quote_literal_cstr(name), quote_identifier(name));
		appendStringInfo(&live_obj, "%s%s, t.%s", sep, quote_literal_cstr(name), quote_identifier(name));
		first = false;
	}
	appendStringInfoString(&snap_obj, "))");
	appendStringInfoString(&live_obj, "))");
	// The first key column is NOT NULL on both sides, so its NULL marks the missing side of the join.
	if (p->keys_stage != NULL)
	{
		const char *k0 = quote_identifier(p->entry->pk[0]);
		char *select_list =
		    psprintf("SELECT CASE WHEN s.%s IS NULL THEN 'added' WHEN t.%s IS NULL THEN 'removed' ELSE 'changed' END,"
		             " jsonb_build_object(%s),"
		             " CASE WHEN s.%s IS NULL THEN NULL ELSE %s END,"
		             " CASE WHEN t.%s IS NULL THEN NULL ELSE %s END",
		             k0, k0, key_obj.data, k0, snap_obj.data, k0, live_obj.data);
		return psprintf("%s FROM %s s LEFT JOIN %s%s t ON %s"
		                " WHERE t.%s IS NULL OR pg_catalog.record_image_ne(ROW(%s), ROW(%s))"
		                " UNION ALL "
		                "%s FROM %s%s t LEFT JOIN %s s ON false"
		                " WHERE NOT EXISTS (SELECT FROM %s k WHERE %s)",
		                select_list, p->stage, p->only, p->target, match, k0, scols, tcols, select_list, p->only,
		                p->target, p->stage, p->keys_stage, bk_sql_key_match(p->entry, "k", "t"));
	}
	{
		const char *k0 = quote_identifier(p->entry->pk[0]);
		return psprintf(
		    "SELECT CASE WHEN s.%s IS NULL THEN 'added' WHEN t.%s IS NULL THEN 'removed' ELSE 'changed' END,"
		    " jsonb_build_object(%s),"
		    " CASE WHEN s.%s IS NULL THEN NULL ELSE %s END,"
		    " CASE WHEN t.%s IS NULL THEN NULL ELSE %s END"
		    " FROM %s s FULL JOIN %s%s t ON %s"
		    " WHERE s.%s IS NULL OR t.%s IS NULL OR pg_catalog.record_image_ne(ROW(%s), ROW(%s))",
		    k0, k0, key_obj.data, k0, snap_obj.data, k0, live_obj.data, p->stage, only, target, match, k0, k0, scols,
		    tcols);
	}
}
