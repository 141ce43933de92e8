// The single-table restore engine (see restore_engine.hpp for the two paths).
extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/timestamp.h"
}

#include "chunk_reader.hpp"
#include "copy_loader.hpp"
#include "progress.hpp"
#include "restore_engine.hpp"
#include "table_list.hpp"
#include "table_metadata.hpp"

// How the snapshot's columns meet the live table's.
typedef struct ColumnMap
{
	bool *keep;      // per captured snapshot column
	List *attnames;  // kept columns, captured order
	List *types;     // their live type as SQL text
	int nkept;
	bool has_identity_always;
	List *warnings; // char *
} ColumnMap;

typedef struct UserTrigger
{
	Oid relid;
	char *name;
	char enabled;
} UserTrigger;

static int stage_counter = 0;

static void
build_column_map(const BkTableEntry *entry, const BkTableMetadata *live, ColumnMap *map)
{
	int ci = 0;
	memset(map, 0, sizeof(*map));
	map->keep = (bool *) palloc0(sizeof(bool) * Max(entry->ncaptured, 1));
	for (int i = 0; i < entry->ncolumns; i++)
	{
		const BkColumn *col = &entry->columns[i];
		const BkLiveColumn *match = NULL;
		if (!col->captured)
		{
			continue;
		}
		for (int j = 0; j < live->ncolumns; j++)
		{
			if (strcmp(live->column_list[j].name, col->name) == 0)
			{
				match = &live->column_list[j];
				break;
			}
		}
		if (match == NULL)
		{
			map->warnings = lappend(map->warnings,
			                        psprintf("column \"%s\" no longer exists; its captured values were skipped", col->name));
		}
		else if (!match->captured)
		{
			map->warnings = lappend(map->warnings,
			                        psprintf("column \"%s\" is now generated; its values were recomputed", col->name));
		}
		else
		{
			map->keep[ci] = true;
			map->attnames = lappend(map->attnames, makeString(pstrdup(col->name)));
			map->types = lappend(map->types, format_type_with_typemod(match->type_oid, match->typmod));
			map->nkept++;
			if (strcmp(match->type_oid == InvalidOid ? "" : format_type_with_typemod(match->type_oid, match->typmod),
			           col->type_name) != 0)
			{
				map->warnings = lappend(map->warnings, psprintf("column \"%s\" changed type from %s to %s", col->name,
				                                                col->type_name,
				                                                format_type_with_typemod(match->type_oid, match->typmod)));
			}
		}
		ci++;
	}
	for (int j = 0; j < live->ncolumns; j++)
	{
		bool found = false;
		if (!live->column_list[j].captured)
		{
			continue;
		}
		for (int i = 0; i < entry->ncolumns && !found; i++)
		{
			found = strcmp(entry->columns[i].name, live->column_list[j].name) == 0;
		}
		if (!found)
		{
			map->warnings = lappend(map->warnings, psprintf("column \"%s\" is not in the snapshot; restored rows get its default",
			                                                live->column_list[j].name));
		}
	}
}

static char *
column_list(const ColumnMap *map, const char *alias)
{
	StringInfoData s;
	ListCell *lc;
	bool first = true;
	initStringInfo(&s);
	foreach (lc, map->attnames)
	{
		if (!first)
		{
			appendStringInfoString(&s, ", ");
		}
		if (alias)
		{
			appendStringInfo(&s, "%s.", alias);
		}
		appendStringInfoString(&s, quote_identifier(strVal(lfirst(lc))));
		first = false;
	}
	return s.data;
}

static char *
key_match(const BkTableEntry *entry, const char *a, const char *b)
{
	StringInfoData s;
	initStringInfo(&s);
	for (int i = 0; i < entry->npk; i++)
	{
		const char *k = quote_identifier(entry->pk[i]);
		appendStringInfo(&s, "%s%s.%s OPERATOR(pg_catalog.=) %s.%s", i > 0 ? " AND " : "", a, k, b, k);
	}
	return s.data;
}

// Columns that may be assigned by UPDATE: kept and not part of the key.
static char *
update_set_clause(const BkTableEntry *entry, const ColumnMap *map, int *nset)
{
	StringInfoData lhs, rhs;
	ListCell *lc;
	initStringInfo(&lhs);
	initStringInfo(&rhs);
	*nset = 0;
	foreach (lc, map->attnames)
	{
		const char *name = strVal(lfirst(lc));
		bool is_key = false;
		for (int i = 0; i < entry->npk; i++)
		{
			is_key = is_key || strcmp(entry->pk[i], name) == 0;
		}
		if (is_key)
		{
			continue;
		}
		appendStringInfo(&lhs, "%s%s", *nset ? ", " : "", quote_identifier(name));
		appendStringInfo(&rhs, "%ss.%s", *nset ? ", " : "", quote_identifier(name));
		(*nset)++;
	}
	return psprintf("(%s) = ROW(%s)", lhs.data, rhs.data);
}

static bool
key_is_kept(const BkTableEntry *entry, const ColumnMap *map)
{
	if (entry->npk == 0)
	{
		return false;
	}
	for (int i = 0; i < entry->npk; i++)
	{
		ListCell *lc;
		bool found = false;
		foreach (lc, map->attnames)
		{
			found = found || strcmp(strVal(lfirst(lc)), entry->pk[i]) == 0;
		}
		if (!found)
		{
			return false;
		}
	}
	return true;
}

static int64
count_query(const char *sql)
{
	bool isnull;
	bk_spi_exec(sql, 0, NULL, NULL, NULL, false, 1);
	return DatumGetInt64(bk_spi_get(0, 1, &isnull));
}

static int64
exec_count(const char *sql)
{
	bk_spi_exec(sql, 0, NULL, NULL, NULL, false, 0);
	return (int64) SPI_processed;
}

// Foreign keys of tables outside the restored set that reference relid.
static void
outside_references(Oid relid, const BkRestoreOptions *opts, List **children, List **constraints)
{
	Oid argtypes[2] = {OIDOID, OIDARRAYOID};
	Datum values[2];
	Datum *elems = (Datum *) palloc(sizeof(Datum) * Max(opts->set_count, 1));
	for (int i = 0; i < opts->set_count; i++)
	{
		elems[i] = ObjectIdGetDatum(opts->set_relids[i]);
	}
	values[0] = ObjectIdGetDatum(relid);
	values[1] = PointerGetDatum(construct_array(elems, opts->set_count, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	bk_spi_exec("SELECT c.conrelid::regclass::text, c.conname::text FROM pg_constraint c"
	            " WHERE c.contype = 'f' AND c.confrelid = $1 AND c.conparentid = 0"
	            "   AND c.conrelid <> ALL ($2) AND c.conrelid <> $1"
	            "   AND NOT EXISTS (SELECT FROM pg_partition_ancestors(c.conrelid) a WHERE a.relid = ANY ($2))"
	            " ORDER BY 1, 2",
	            2, argtypes, values, NULL, true, 0);
	*children = NIL;
	*constraints = NIL;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		*children = lappend(*children, bk_spi_get_text((int) i, 1));
		*constraints = lappend(*constraints, bk_spi_get_text((int) i, 2));
	}
}

// Rows a keyed replace deletes must not be referenced from outside the restored set: their foreign-key
// action (CASCADE, SET NULL, RESTRICT) would change or block a table nobody asked to restore.
static void
check_outside_child(const char *target, const char *only, const char *stage, const char *child, const char *conname)
{
	Oid argtypes[2] = {TEXTOID, TEXTOID};
	Datum values[2] = {CStringGetTextDatum(child), CStringGetTextDatum(conname)};
	StringInfoData fk_match, stage_match, shown;
	SPITupleTable *tt;

	bk_spi_exec("SELECT a.attname::text, r.attname::text FROM pg_constraint c,"
	            " unnest(c.conkey, c.confkey) AS k(child_att, parent_att)"
	            " JOIN pg_attribute a ON a.attrelid = $1::regclass AND a.attnum = k.child_att"
	            " JOIN pg_attribute r ON r.attrelid = (SELECT confrelid FROM pg_constraint"
	            "   WHERE conrelid = $1::regclass AND conname = $2) AND r.attnum = k.parent_att"
	            " WHERE c.conrelid = $1::regclass AND c.conname = $2",
	            2, argtypes, values, NULL, true, 0);
	tt = SPI_tuptable;
	initStringInfo(&fk_match);
	initStringInfo(&stage_match);
	initStringInfo(&shown);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		const char *c = quote_identifier(SPI_getvalue(tt->vals[i], tt->tupdesc, 1));
		const char *p = quote_identifier(SPI_getvalue(tt->vals[i], tt->tupdesc, 2));
		appendStringInfo(&fk_match, "%st.%s OPERATOR(pg_catalog.=) c.%s", i ? " AND " : "", p, c);
		appendStringInfo(&stage_match, "%ss.%s OPERATOR(pg_catalog.=) c.%s", i ? " AND " : "", p, c);
		appendStringInfo(&shown, "%sc.%s", i ? " || ', ' || " : "", c);
	}
	bk_spi_exec(psprintf("SELECT (%s)::text FROM %s c WHERE EXISTS (SELECT FROM %s%s t WHERE %s)"
	                     " AND NOT EXISTS (SELECT FROM %s s WHERE %s) LIMIT 1",
	                     shown.data, child, only, target, fk_match.data, stage, stage_match.data),
	            // read-write: a read-only query would not see the staging rows this call just copied
	            0, NULL, NULL, NULL, false, 1);
	if (SPI_processed > 0)
	{
		ereport(ERROR, (errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
		                errmsg("restoring table %s would remove rows referenced from table %s", target, child),
		                errdetail("Key (%s) of a row absent from the snapshot is still referenced through foreign key \"%s\".",
		                          bk_spi_get_text(0, 1), conname),
		                errhint("Restore %s in the same call, or use mode => 'merge'.", child)));
	}
}

static List *
enabled_user_triggers(Oid relid)
{
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(relid)};
	List *result = NIL;
	bk_spi_exec("SELECT t.tgrelid, t.tgname::text, t.tgenabled::text FROM pg_trigger t"
	            " WHERE t.tgrelid IN (SELECT relid FROM pg_partition_tree($1))"
	            "   AND NOT t.tgisinternal AND t.tgenabled <> 'D' ORDER BY t.tgrelid, t.tgname",
	            1, argtypes, values, NULL, true, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		UserTrigger *t = (UserTrigger *) palloc(sizeof(UserTrigger));
		bool isnull;
		t->relid = DatumGetObjectId(bk_spi_get((int) i, 1, &isnull));
		t->name = bk_spi_get_text((int) i, 2);
		t->enabled = bk_spi_get_text((int) i, 3)[0];
		result = lappend(result, t);
	}
	return result;
}

static void
set_triggers(List *triggers, bool enable)
{
	ListCell *lc;
	foreach (lc, triggers)
	{
		UserTrigger *t = (UserTrigger *) lfirst(lc);
		const char *how = !enable ? "DISABLE" : t->enabled == 'A' ? "ENABLE ALWAYS" : t->enabled == 'R' ? "ENABLE REPLICA" : "ENABLE";
		bk_spi_exec(psprintf("ALTER TABLE ONLY %s %s TRIGGER %s", bk_rel_qualified_name(t->relid), how,
		                     quote_identifier(t->name)),
		            0, NULL, NULL, NULL, false, 0);
	}
}

static void
restore_sequences(const BkTableEntry *entry, Oid relid, const ColumnMap *map, bool replace)
{
	Oid argtypes[1] = {JSONBOID};
	Datum values[1] = {PointerGetDatum(entry->sequences)};
	SPITupleTable *tt;
	uint64 n;

	if (entry->sequences == NULL)
	{
		return;
	}
	bk_spi_exec("SELECT s->>'column', to_regclass(quote_ident(s->>'schema') || '.' || quote_ident(s->>'name')),"
	            " s->>'last_value' FROM jsonb_array_elements($1) s",
	            1, argtypes, values, NULL, true, 0);
	tt = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		bool isnull;
		char *column = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
		Datum seq = SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull);
		char *captured = SPI_getvalue(tt->vals[i], tt->tupdesc, 3);
		const char *max_expr = "NULL::bigint";
		ListCell *lc;
		Oid seq_args[2] = {OIDOID, INT8OID};
		Datum seq_vals[2];
		char seq_nulls[2] = {' ', ' '};

		if (isnull)
		{
			continue;
		}
		foreach (lc, map->attnames)
		{
			if (strcmp(strVal(lfirst(lc)), column) == 0)
			{
				Oid typ = get_atttype(relid, get_attnum(relid, column));
				if (typ == INT2OID || typ == INT4OID || typ == INT8OID)
				{
					max_expr = psprintf("(SELECT max(%s)::bigint FROM %s)", quote_identifier(column),
					                    bk_rel_qualified_name(relid));
				}
			}
		}
		seq_vals[0] = seq;
		seq_vals[1] = captured ? DirectFunctionCall1(int8in, CStringGetDatum(captured)) : (Datum) 0;
		seq_nulls[1] = captured ? ' ' : 'n';
		// replace: back to the captured value unless rows need more; other modes: never move backwards.
		bk_spi_exec(psprintf("SELECT pg_catalog.setval($1, v, true) FROM (SELECT greatest(%s, %s) AS v) x"
		                     " WHERE v IS NOT NULL",
		                     replace ? "$2" : "pg_catalog.pg_sequence_last_value($1)", max_expr),
		            2, seq_args, seq_vals, seq_nulls, false, 0);
	}
}

static Oid
create_stage(Oid relid, const ColumnMap *map, char **stage_name)
{
	StringInfoData sql;
	ListCell *ln, *lt;
	bool first = true;
	char *name = psprintf("backupkit_stage_%u_%d", relid, ++stage_counter);

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TEMPORARY TABLE %s (", quote_identifier(name));
	forboth (ln, map->attnames, lt, map->types)
	{
		appendStringInfo(&sql, "%s%s %s", first ? "" : ", ", quote_identifier(strVal(lfirst(ln))), (char *) lfirst(lt));
		first = false;
	}
	appendStringInfoString(&sql, ") ON COMMIT DROP");
	bk_spi_exec(sql.data, 0, NULL, NULL, NULL, false, 0);
	*stage_name = psprintf("pg_temp.%s", quote_identifier(name));
	return RelnameGetRelid(name);
}

void
bk_restore_table(const BkSnapshot *snapshot, const BkTableEntry *entry, Oid relid, bool matched_by_oid,
                 const BkRestoreOptions *opts, BkJson *report, BkRestoreCounts *counts)
{
	TimestampTz started = GetCurrentTimestamp();
	BkTableMetadata live;
	ColumnMap map;
	List *children, *constraints;
	List *triggers = NIL;
	bool rls, may_truncate, keyed, fast;
	const char *target = bk_rel_qualified_name(relid);
	const char *only = get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ";
	const char *path;
	BkChunkReader *reader;
	bool replace = opts->mode == bk::RestoreMode::replace;

	memset(counts, 0, sizeof(*counts));
	bk_check_table_kind(relid, "restore");
	bk_read_table_metadata(relid, &live);
	build_column_map(entry, &live, &map);
	keyed = key_is_kept(entry, &map);
	if (!replace && !keyed)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("mode \"%s\" needs a key, but table %s has none in snapshot " INT64_FORMAT,
		                       bk::restore_mode_name(opts->mode), target, snapshot->snapshot_id),
		                errdetail("Rows are matched by the primary key (or a unique index on not-null columns) "
		                          "recorded at capture time."),
		                errhint("Use mode => 'replace', or add a primary key before taking the snapshot.")));
	}
	outside_references(relid, opts, &children, &constraints);
	rls = check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED;
	may_truncate = pg_class_aclcheck(relid, GetUserId(), ACL_TRUNCATE) == ACLCHECK_OK;
	fast = replace && !rls && may_truncate && children == NIL;

	if (replace && children != NIL && !keyed)
	{
		ereport(ERROR, (errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
		                errmsg("cannot replace table %s: it is referenced by %s through foreign key \"%s\"", target,
		                       (char *) linitial(children), (char *) linitial(constraints)),
		                errdetail("The table has no key to match rows by, so replacing it would delete every row "
		                          "that table references."),
		                errhint("Restore %s in the same call, or add a primary key.", (char *) linitial(children))));
	}

	LockRelationOid(relid, fast && !opts->dry_run ? AccessExclusiveLock : ExclusiveLock);

	if (!opts->fire_triggers && !opts->dry_run)
	{
		triggers = enabled_user_triggers(relid);
		if (triggers != NIL && !pg_class_ownercheck(relid, GetUserId()))
		{
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("permission denied to disable triggers of table %s", target),
			                errdetail("A restore does not fire user triggers unless asked to, and only the table's "
			                          "owner may disable them."),
			                errhint("Restore as the owner of the table, or pass fire_triggers => true.")));
		}
		set_triggers(triggers, false);
	}

	bk_progress_table(0, target, entry->row_count);
	reader = bk_chunk_reader_open(entry, strcmp(snapshot->compression, "zstd") == 0);
	if (fast)
	{
		path = "copy";
		counts->deleted = count_query(psprintf("SELECT count(*) FROM %s%s", only, target));
		if (!opts->dry_run)
		{
			bk_spi_exec(psprintf("TRUNCATE %s%s", only, target), 0, NULL, NULL, NULL, false, 0);
			counts->inserted = (int64) bk_copy_chunks_into(relid, map.attnames, reader, map.keep, true);
		}
		else
		{
			while (bk_chunk_reader_next(reader))
			{
			}
			counts->inserted = entry->row_count;
		}
	}
	else
	{
		char *stage;
		Oid stage_oid;
		char *cols = column_list(&map, NULL);
		char *scols = column_list(&map, "s");
		char *tcols = column_list(&map, "t");
		const char *overriding = "OVERRIDING SYSTEM VALUE ";

		path = "staged";
		stage_oid = create_stage(relid, &map, &stage);
		(void) bk_copy_chunks_into(stage_oid, map.attnames, reader, map.keep, false);
		CommandCounterIncrement();

		if (!keyed)
		{
			// replace without a key: every visible row goes, every captured row comes back.
			if (opts->dry_run)
			{
				counts->deleted = count_query(psprintf("SELECT count(*) FROM %s%s", only, target));
				counts->inserted = count_query(psprintf("SELECT count(*) FROM %s", stage));
			}
			else
			{
				counts->deleted = exec_count(psprintf("DELETE FROM %s%s", only, target));
				counts->inserted = exec_count(
					psprintf("INSERT INTO %s (%s) %sSELECT %s FROM %s s", target, cols, overriding, scols, stage));
			}
		}
		else
		{
			char *match = key_match(entry, "s", "t");
			int nset;
			char *set = update_set_clause(entry, &map, &nset);
			char *absent_in_stage =
				psprintf("NOT EXISTS (SELECT FROM %s s WHERE %s)", stage, match);
			char *changed = psprintf("%s AND pg_catalog.record_image_ne(ROW(%s), ROW(%s))", match, tcols, scols);
			char *absent_in_target = psprintf("NOT EXISTS (SELECT FROM %s%s t WHERE %s)", only, target, match);

			if (replace && children != NIL)
			{
				ListCell *lc1, *lc2;
				forboth (lc1, children, lc2, constraints)
				{
					check_outside_child(target, only, stage, (char *) lfirst(lc1), (char *) lfirst(lc2));
				}
			}
			if (opts->dry_run)
			{
				if (replace)
				{
					counts->deleted = count_query(
						psprintf("SELECT count(*) FROM %s%s t WHERE %s", only, target, absent_in_stage));
				}
				if (opts->mode != bk::RestoreMode::missing && nset > 0)
				{
					counts->updated = count_query(
						psprintf("SELECT count(*) FROM %s%s t JOIN %s s ON %s", only, target, stage, changed));
				}
				counts->inserted =
					count_query(psprintf("SELECT count(*) FROM %s s WHERE %s", stage, absent_in_target));
			}
			else
			{
				if (replace)
				{
					counts->deleted =
						exec_count(psprintf("DELETE FROM %s%s t WHERE %s", only, target, absent_in_stage));
				}
				if (opts->mode != bk::RestoreMode::missing && nset > 0)
				{
					counts->updated = exec_count(
						psprintf("UPDATE %s%s t SET %s FROM %s s WHERE %s", only, target, set, stage, changed));
				}
				counts->inserted = exec_count(psprintf("INSERT INTO %s (%s) %sSELECT %s FROM %s s WHERE %s", target,
				                                       cols, overriding, scols, stage, absent_in_target));
			}
			counts->unchanged = entry->row_count - counts->inserted - counts->updated;
		}
		bk_spi_exec(psprintf("DROP TABLE %s", stage), 0, NULL, NULL, NULL, false, 0);
	}

	if (!opts->dry_run)
	{
		restore_sequences(entry, relid, &map, replace);
		set_triggers(triggers, true);
	}

	bk_json_str(report, "table", target);
	bk_json_str(report, "snapshot_table", bk_entry_qualified_name(entry));
	bk_json_str(report, "matched_by", matched_by_oid ? "oid" : "name");
	bk_json_str(report, "mode", bk::restore_mode_name(opts->mode));
	bk_json_bool(report, "dry_run", opts->dry_run);
	bk_json_str(report, "path", path);
	bk_json_int(report, "rows_in_snapshot", entry->row_count);
	bk_json_int(report, "inserted", counts->inserted);
	bk_json_int(report, "updated", counts->updated);
	bk_json_int(report, "deleted", counts->deleted);
	bk_json_int(report, "unchanged", counts->unchanged);
	bk_json_bool(report, "triggers_fired", opts->fire_triggers);
	bk_json_begin_array(report, "warnings");
	{
		ListCell *lc;
		foreach (lc, map.warnings)
		{
			bk_json_str(report, NULL, (char *) lfirst(lc));
		}
		if (!matched_by_oid)
		{
		}
		else if (strcmp(bk_entry_qualified_name(entry), target) != 0)
		{
			bk_json_str(report, NULL,
			            psprintf("table %s was captured as %s and found by its oid", target, bk_entry_qualified_name(entry)));
		}
	}
	bk_json_end_array(report);
	bk_json_num(report, "duration_ms", (double) (GetCurrentTimestamp() - started) / 1000.0);
}
