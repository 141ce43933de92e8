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
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/timestamp.h"
}

#include "../core/row_fingerprint.hpp"
#include "boundary.hpp"
#include "compat.hpp"
#include "chunk_reader.hpp"
#include "citus_restore.hpp"
#include "citus_tables.hpp"
#include "copy_loader.hpp"
#include "lock_order.hpp"
#include "metadata_checksum.hpp"
#include "progress.hpp"
#include "restore_engine.hpp"
#include "restore_rules.hpp"
#include "table_list.hpp"
#include "table_metadata.hpp"
#include "unchanged_rows.hpp"

// How the snapshot's columns meet the live table's.
typedef struct ColumnMap
{
	bool *keep;     // per captured snapshot column
	List *attnames; // kept columns, captured order
	List *types;    // their live type as SQL text
	int nkept;
	bool has_identity_always;
	List *warnings; // char *
	char *retyped;  // kept columns whose type changed since the capture, for error contexts (NULL: none)
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
			map->warnings =
			    lappend(map->warnings, psprintf("column \"%s\" (%s at capture) no longer exists; its captured values "
			                                    "were skipped (schema => 'missing' re-creates it)",
			                                    col->name, col->type_name));
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
				char *change = psprintf("column \"%s\" changed type from %s at capture to %s now", col->name,
				                        col->type_name, format_type_with_typemod(match->type_oid, match->typmod));
				map->warnings = lappend(map->warnings, change);
				map->retyped = map->retyped == NULL ? change : psprintf("%s; %s", map->retyped, change);
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
			map->warnings =
			    lappend(map->warnings, psprintf("column \"%s\" is not in the snapshot; restored rows get its default",
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
	return bk_spi_count(sql);
}

static int64
exec_count(const char *sql)
{
	return bk_spi_run(sql);
}

// Enforced foreign keys of tables outside the restored set that reference relid; *any is set when there is
// any foreign key at all, NOT ENFORCED ones (18+) included: those have no action and no check, so rows may go
// from under them, but TRUNCATE still refuses a table they reference once it has triggers. A foreign key to a
// partitioned table has a clone per referenced partition (same referencing table, conparentid set), which is
// what makes TRUNCATE of that partition fail; clones on the referencing side's partitions are covered by
// their root's constraint.
static void
outside_references(Oid relid, const BkRestoreOptions *opts, List **children, List **constraints, bool *any)
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
	bk_spi_exec("SELECT c.conrelid::regclass::text, c.conname::text, " BK_SQL_FK_ENFORCED " FROM pg_constraint c"
	            " WHERE c.contype = 'f' AND c.confrelid = $1 AND (c.conparentid = 0 OR EXISTS (SELECT FROM"
	            "   pg_constraint p WHERE p.oid = c.conparentid AND p.conrelid = c.conrelid))"
	            "   AND c.conrelid <> ALL ($2) AND c.conrelid <> $1"
	            "   AND NOT EXISTS (SELECT FROM pg_partition_ancestors(c.conrelid) a WHERE a.relid = ANY ($2))"
	            " ORDER BY 1, 2",
	            2, argtypes, values, NULL, true, 0);
	*children = NIL;
	*constraints = NIL;
	*any = SPI_processed > 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool isnull;
		if (DatumGetBool(bk_spi_get((int) i, 3, &isnull)))
		{
			*children = lappend(*children, bk_spi_get_text((int) i, 1));
			*constraints = lappend(*constraints, bk_spi_get_text((int) i, 2));
		}
	}
}

// Rows a keyed replace deletes must not be referenced from outside the restored set: their foreign-key
// action (CASCADE, SET NULL, RESTRICT) would change or block a table nobody asked to restore.
static void
check_outside_child(const char *target, const char *only, const char *stage, const char *child, const char *conname)
{
	StringInfoData fk_match, stage_match, shown;
	SPITupleTable *tt;

	(void) bk_foreign_key_column_pairs(child, conname);
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
	// Not read-only: a read-only query runs under the statement's snapshot, which cannot see the rows just
	// copied into the stage, so every referenced key would look absent from the snapshot. No LIMIT: it would
	// make the planner bet on finding an offender early and pick a nested-loop anti-join, quadratic in the
	// usual case where there is none (150,000 referenced rows took over 10 minutes); SPI stops at one row.
	bk_spi_exec(psprintf("SELECT (%s)::text FROM %s c WHERE EXISTS (SELECT FROM %s%s t WHERE %s)"
	                     " AND NOT EXISTS (SELECT FROM %s s WHERE %s)",
	                     shown.data, child, only, target, fk_match.data, stage, stage_match.data),
	            0, NULL, NULL, NULL, false, 1);
	if (SPI_processed > 0)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
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
	// pg_partition_tree() returns no row for a table that is neither partitioned nor a partition.
	bk_spi_exec("SELECT t.tgrelid, t.tgname::text, t.tgenabled::text FROM pg_trigger t"
	            " WHERE (t.tgrelid = $1 OR t.tgrelid IN (SELECT relid FROM pg_partition_tree($1)))"
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
		const char *how = !enable             ? "DISABLE"
		                  : t->enabled == 'A' ? "ENABLE ALWAYS"
		                  : t->enabled == 'R' ? "ENABLE REPLICA"
		                                      : "ENABLE";
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
	forboth(ln, map->attnames, lt, map->types)
	{
		appendStringInfo(&sql, "%s%s %s", first ? "" : ", ", quote_identifier(strVal(lfirst(ln))), (char *) lfirst(lt));
		first = false;
	}
	appendStringInfoString(&sql, ") ON COMMIT DROP");
	bk_spi_exec(sql.data, 0, NULL, NULL, NULL, false, 0);
	*stage_name = psprintf("pg_temp.%s", quote_identifier(name));
	return RelnameGetRelid(name);
}

struct BkTablePlan
{
	const BkSnapshot *snapshot;
	const BkTableEntry *entry;
	const BkRestoreOptions *opts;
	Oid relid;
	bool matched_by_oid;
	const char *target;
	const char *only;
	ColumnMap map;
	bool keyed;
	bool replace;
	bool copy_path;
	List *children;           // outside tables referencing this one through an enforced foreign key
	List *constraints;        // their foreign keys
	bool referenced;          // by any foreign key from outside, NOT ENFORCED ones included
	List *triggers;           // user triggers disabled for the restore
	List *rules;              // rules disabled for the restore (restore_rules.hpp)
	char *stage;              // staging table (staged path)
	bool stage_differs_only;  // the stage holds only rows absent from the target or (merge) differing from it
	bool stage_not_in_place;  // the stage holds only rows not proven unchanged in place (stage_rows_not_in_place)
	int64 staged;             // rows in the stage when stage_differs_only or stage_not_in_place
	int64 unchanged_in_place; // rows left out because they are still the tuple captured (unchanged_rows.hpp)
	bool probe_joins;         // few rows staged and a key index: join through it (bk_index_probe_joins_push)
	bool direct_missing;      // missing copies absent rows straight in (direct_missing_eligible)
	bool in_place_complete;   // the key stage left out every row still in place (bk_unchanged_rows_end)
	char *keys_stage;         // the key stage, when kept for diff or for the direct copy of missing rows
	TimestampTz started;
	BkRestoreCounts counts;
	int64 conflicts;     // rows skipped because they violate a CHECK or a unique constraint other than the key
	List *conflict_rows; // up to conflict_report_limit of them, as JSON text {"key": ..., "reason": ...}
	// A Citus table: its own path (citus_restore.hpp), never copy, staged or in place.
	BkCitusRestore *citus;
};

static const int conflict_report_limit = 100;

static List *key_names(const BkTablePlan *p);

// jsonb_build_object(...) of the key columns of stage row s.
static char *
stage_key_json(const BkTablePlan *p)
{
	StringInfoData key;
	initStringInfo(&key);
	for (int i = 0; i < p->entry->npk; i++)
	{
		appendStringInfo(&key, "%s%s, s.%s", i ? ", " : "", quote_literal_cstr(p->entry->pk[i]),
		                 quote_identifier(p->entry->pk[i]));
	}
	return psprintf("jsonb_build_object(%s)", key.data);
}

// Records the rows of the last SPI result (key json text, total count) as conflicts with reason.
static void
record_conflicts(BkTablePlan *p, const char *reason, int64 total)
{
	for (uint64 i = 0; i < SPI_processed && list_length(p->conflict_rows) < conflict_report_limit; i++)
	{
		p->conflict_rows =
		    lappend(p->conflict_rows, psprintf("{\"key\": %s, \"reason\": %s}", bk_spi_get_text((int) i, 1), reason));
	}
	p->conflicts += total;
}

static char *
json_string(const char *text)
{
	StringInfoData s;
	initStringInfo(&s);
	escape_json(&s, text);
	return s.data;
}

// Staged rows still absent from the target after the INSERT collided with a unique constraint.
static void
collect_unique_conflicts(BkTablePlan *p, const char *absent_in_target)
{
	int64 total = 0;
	bool isnull;
	bk_spi_exec(psprintf("SELECT %s::text, count(*) OVER () FROM %s s WHERE %s LIMIT %d", stage_key_json(p), p->stage,
	                     absent_in_target, conflict_report_limit),
	            0, NULL, NULL, NULL, false, 0);
	if (SPI_processed > 0)
	{
		total = DatumGetInt64(bk_spi_get(0, 2, &isnull));
	}
	record_conflicts(p, json_string("unique constraint other than the key"), total);
}

// The condition under which staged row s would collide, on a unique index other than the key, with an existing
// row of another key (merge and missing may not change that row), or NULL when no such index applies.
// Collisions between two staged rows are left to ON CONFLICT DO NOTHING (see collect_unique_conflicts): the
// snapshot held them together, so they only arise from a unique constraint added since the capture. Where
// ON CONFLICT is refused (restore_rules.hpp), among_staged gives the condition of colliding with an earlier
// staged row instead, the one ON CONFLICT DO NOTHING would have kept (INSERT ... SELECT reads the stage in order).
static char *
unique_collision_condition(const BkTablePlan *p, bool among_staged)
{
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(p->relid)};
	SPITupleTable *tt;
	uint64 n;
	StringInfoData cond;

	bk_spi_exec("SELECT ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) k"
	            "       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k)"
	            " FROM pg_index i WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid"
	            "   AND i.indexprs IS NULL AND i.indpred IS NULL",
	            1, argtypes, values, NULL, true, 0);
	tt = SPI_tuptable;
	n = SPI_processed;
	initStringInfo(&cond);
	for (uint64 r = 0; r < n; r++)
	{
		bool isnull;
		Datum *elems;
		bool *nulls;
		int ncols;
		bool usable = true;
		bool is_key;
		StringInfoData match;

		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &isnull)), TEXTOID, -1, false,
		                  TYPALIGN_INT, &elems, &nulls, &ncols);
		is_key = ncols == p->entry->npk;
		initStringInfo(&match);
		for (int c = 0; c < ncols && usable; c++)
		{
			char *name = TextDatumGetCString(elems[c]);
			ListCell *lc;
			bool staged = false;
			bool in_key = false;
			foreach (lc, p->map.attnames)
			{
				staged = staged || strcmp(strVal(lfirst(lc)), name) == 0;
			}
			for (int k = 0; k < p->entry->npk; k++)
			{
				in_key = in_key || strcmp(p->entry->pk[k], name) == 0;
			}
			is_key = is_key && in_key;
			usable = staged;
			appendStringInfo(&match, "%st.%s OPERATOR(pg_catalog.=) s.%s", c ? " AND " : "", quote_identifier(name),
			                 quote_identifier(name));
		}
		if (!usable || is_key)
		{
			continue;
		}
		if (among_staged)
		{
			appendStringInfo(&cond, "%sEXISTS (SELECT FROM %s t WHERE %s AND t.ctid OPERATOR(pg_catalog.<) s.ctid)",
			                 cond.len ? " OR " : "", p->stage, match.data);
		}
		else
		{
			appendStringInfo(&cond, "%sEXISTS (SELECT FROM %s%s t WHERE %s AND NOT (%s))", cond.len ? " OR " : "",
			                 p->only, p->target, match.data, key_match(p->entry, "s", "t"));
		}
	}
	return cond.len ? cond.data : NULL;
}

// merge and missing set aside staged rows whose unique values belong to another existing row (for missing,
// only rows it would insert), dry run or not, so both count the same; they are listed like CHECK conflicts.
static void
skip_unique_conflicts(BkTablePlan *p, const char *absent_in_target, bool among_staged)
{
	char *collides = unique_collision_condition(p, among_staged);
	bool isnull;
	int64 total = 0;

	if (collides == NULL)
	{
		return;
	}
	bk_spi_exec(psprintf("WITH gone AS (DELETE FROM %s s WHERE (%s)%s%s RETURNING %s AS k)"
	                     " SELECT k::text, count(*) OVER () FROM gone LIMIT %d",
	                     p->stage, collides, p->opts->mode == bk::RestoreMode::missing ? " AND " : "",
	                     p->opts->mode == bk::RestoreMode::missing ? absent_in_target : "", stage_key_json(p),
	                     conflict_report_limit),
	            0, NULL, NULL, NULL, false, 0);
	if (SPI_processed > 0)
	{
		total = DatumGetInt64(bk_spi_get(0, 2, &isnull));
	}
	record_conflicts(p, json_string("unique constraint other than the key"), total);
}

// merge and missing may not change rows to values a CHECK constraint rejects: such staged rows are set aside
// (removed from the stage, dry run or not, so both count the same) and listed. Constraints on columns the
// snapshot does not hold are left to the INSERT itself.
static void
skip_check_conflicts(BkTablePlan *p)
{
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(p->relid)};
	SPITupleTable *checks;
	uint64 nchecks;

	bk_spi_exec("SELECT c.conname::text, pg_get_expr(c.conbin, c.conrelid),"
	            " ARRAY(SELECT a.attname::text FROM unnest(c.conkey) k JOIN pg_attribute a"
	            "       ON a.attrelid = c.conrelid AND a.attnum = k)"
	            " FROM pg_constraint c WHERE c.conrelid = $1 AND c.contype = 'c' ORDER BY c.conname",
	            1, argtypes, values, NULL, true, 0);
	checks = SPI_tuptable;
	nchecks = SPI_processed;
	for (uint64 i = 0; i < nchecks; i++)
	{
		char *conname = SPI_getvalue(checks->vals[i], checks->tupdesc, 1);
		char *expr = SPI_getvalue(checks->vals[i], checks->tupdesc, 2);
		bool isnull;
		Datum cols = SPI_getbinval(checks->vals[i], checks->tupdesc, 3, &isnull);
		Datum *elems;
		bool *nulls;
		int ncols;
		bool staged = true;
		int64 total = 0;

		deconstruct_array(DatumGetArrayTypeP(cols), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &ncols);
		for (int c = 0; c < ncols && staged; c++)
		{
			ListCell *lc;
			bool found = false;
			char *name = TextDatumGetCString(elems[c]);
			foreach (lc, p->map.attnames)
			{
				found = found || strcmp(strVal(lfirst(lc)), name) == 0;
			}
			staged = found;
		}
		if (!staged)
		{
			continue;
		}
		// The stage has the target's column names and types, so the constraint's expression reads it as is.
		bk_spi_exec(psprintf("WITH gone AS (DELETE FROM %s s WHERE (%s) IS FALSE RETURNING %s AS k)"
		                     " SELECT k::text, count(*) OVER () FROM gone LIMIT %d",
		                     p->stage, expr, stage_key_json(p), conflict_report_limit),
		            0, NULL, NULL, NULL, false, 0);
		if (SPI_processed > 0)
		{
			total = DatumGetInt64(bk_spi_get(0, 2, &isnull));
		}
		record_conflicts(p, json_string(psprintf("check constraint \"%s\"", conname)), total);
	}
}

BkTablePlan *
bk_restore_plan(const BkSnapshot *snapshot, const BkTableEntry *entry, Oid relid, bool matched_by_oid,
                const BkRestoreOptions *opts)
{
	BkTablePlan *p = (BkTablePlan *) palloc0(sizeof(BkTablePlan));
	BkTableMetadata live;
	bool rls, may_truncate;

	p->snapshot = snapshot;
	p->entry = entry;
	p->opts = opts;
	p->relid = relid;
	p->matched_by_oid = matched_by_oid;
	p->target = bk_rel_qualified_name(relid);
	p->only = get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ";
	p->replace = opts->mode == bk::RestoreMode::replace;
	p->started = GetCurrentTimestamp();

	bk_check_table_kind(relid, "restore");
	// Every restore, dry run and diff (and so every in-place shortcut) builds its plan here: no path but the
	// Citus one reaches a Citus table, and none a kind it cannot handle, even if an entry point forgot to refuse.
	bk_refuse_citus_tables(&relid, 1, BK_CITUS_RESTORE);
	bk_read_table_metadata(relid, &live);
	build_column_map(entry, &live, &p->map);
	// Before anything relies on the entry: refuse one whose stored metadata changed (metadata_checksum.hpp).
	bk_metadata_verify(snapshot, entry, &p->map.warnings);
	p->keyed = key_is_kept(entry, &p->map);
	if (!p->replace && !p->keyed)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("mode \"%s\" needs a key, but table %s has none in snapshot " INT64_FORMAT,
		                       bk::restore_mode_name(opts->mode), p->target, snapshot->snapshot_id),
		                errdetail("Rows are matched by the primary key (or a unique index on not-null columns) "
		                          "recorded at capture time."),
		                errhint("Use mode => 'replace', or add a primary key before taking the snapshot.")));
	}
	outside_references(relid, opts, &p->children, &p->constraints, &p->referenced);
	if (p->replace && p->children != NIL && !p->keyed)
	{
		ereport(ERROR, (errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
		                errmsg("cannot replace table %s: it is referenced by %s through foreign key \"%s\"", p->target,
		                       (char *) linitial(p->children), (char *) linitial(p->constraints)),
		                errdetail("The table has no key to match rows by, so replacing it would delete every row "
		                          "that table references."),
		                errhint("Restore %s in the same call, or add a primary key.", (char *) linitial(p->children))));
	}
	if (bk_citus_table(relid, NULL))
	{
		BkCitusRestoreInput in = {
		    snapshot, entry,      relid,         p->target,   p->map.attnames, p->map.types,     p->map.keep,
		    p->keyed, opts->mode, opts->dry_run, p->children, p->constraints,  opts->set_relids, opts->set_count};
		p->citus = bk_citus_restore_plan(&in);
		return p;
	}
	rls = check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED;
	may_truncate = pg_class_aclcheck(relid, GetUserId(), ACL_TRUNCATE) == ACLCHECK_OK;
	// Rules play no part: COPY ignores them, and the other paths disable them (restore_rules.hpp).
	p->copy_path = p->replace && !rls && may_truncate && !p->referenced;
	return p;
}

// A reader over the captured table's chunks.
static BkChunkReader *
open_chunks(const BkTablePlan *p)
{
	return bk_chunk_reader_open(p->entry, strcmp(p->snapshot->compression, "zstd") == 0);
}

static List *
key_names(const BkTablePlan *p)
{
	List *names = NIL;
	if (p->keyed)
	{
		for (int i = 0; i < p->entry->npk; i++)
		{
			names = lappend(names, makeString(p->entry->pk[i]));
		}
	}
	return names;
}

bool
bk_restore_plan_uses_copy(const BkTablePlan *p)
{
	return p->copy_path;
}

void
bk_restore_plan_force_staged(BkTablePlan *p)
{
	p->copy_path = false;
}

// Stage only what merge and missing need. A first pass loads every captured row's key, fingerprint and
// ordinal into a narrow key stage; one join with the live table lists the ordinals of rows that are absent
// (or, for merge, whose live fingerprint differs); a second pass loads just those rows into the full stage.
// An unchanged table thus costs a scan of each side and no write, where staging every row cost a full COPY.
static const char *const fingerprint_column = "backupkit fingerprint";
static const char *const ordinal_column = "backupkit ordinal";
static const int ordinal_batch = 10000;

typedef struct WantedRows
{
	Portal cursor;
	int64 *batch; // ordinals fetched but not yet used, ascending
	int nbatch;
	int next;
	bool exhausted;
} WantedRows;

static bool
wanted_refill(WantedRows *w)
{
	bool isnull;
	if (w->exhausted)
	{
		return false;
	}
	SPI_cursor_fetch(w->cursor, true, ordinal_batch);
	w->nbatch = (int) SPI_processed;
	w->next = 0;
	for (int i = 0; i < w->nbatch; i++)
	{
		w->batch[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	if (w->nbatch == 0)
	{
		w->exhausted = true;
		return false;
	}
	return true;
}

static int64
wanted_filter(void *arg, int64 first_ordinal, int rows, bool *row_keep)
{
	WantedRows *w = (WantedRows *) arg;
	int64 kept = 0;
	for (;;)
	{
		if (w->next >= w->nbatch && !wanted_refill(w))
		{
			return kept > 0 ? kept : -1;
		}
		int64 ord = w->batch[w->next];
		if (ord >= first_ordinal + rows)
		{
			return kept;
		}
		if (ord >= first_ordinal)
		{
			row_keep[ord - first_ordinal] = true;
			kept++;
		}
		w->next++;
	}
}

// Index of each key column among the captured columns, or false when the key stage cannot be used.
static bool
key_stage_columns(const BkTablePlan *p, int *key_cols, List **key_types)
{
	if (p->entry->npk > bk::max_key_columns)
	{
		return false;
	}
	for (int k = 0; k < p->entry->npk; k++)
	{
		int ci = 0;
		ListCell *ln, *lt;
		key_cols[k] = -1;
		for (int i = 0; i < p->entry->ncolumns; i++)
		{
			if (!p->entry->columns[i].captured)
			{
				continue;
			}
			if (strcmp(p->entry->columns[i].name, p->entry->pk[k]) == 0)
			{
				key_cols[k] = ci;
			}
			ci++;
		}
		if (key_cols[k] < 0 || strcmp(p->entry->pk[k], fingerprint_column) == 0 ||
		    strcmp(p->entry->pk[k], ordinal_column) == 0)
		{
			return false;
		}
		forboth(ln, p->map.attnames, lt, p->map.types)
		{
			if (strcmp(strVal(lfirst(ln)), p->entry->pk[k]) == 0)
			{
				*key_types = lappend(*key_types, lfirst(lt));
			}
		}
	}
	return list_length(*key_types) == p->entry->npk;
}

// Whether a valid, non-partial index of the live table leads with exactly the key columns, so that a join on
// the key can probe it row by row (with unique: a unique index on exactly the key columns).
static bool
key_index_exists(const BkTablePlan *p, bool unique)
{
	Oid argtypes[3] = {OIDOID, TEXTARRAYOID, INT4OID};
	Datum values[3];
	Datum *names = (Datum *) palloc(sizeof(Datum) * p->entry->npk);
	bool isnull;
	for (int i = 0; i < p->entry->npk; i++)
	{
		names[i] = CStringGetTextDatum(p->entry->pk[i]);
	}
	values[0] = ObjectIdGetDatum(p->relid);
	values[1] = PointerGetDatum(construct_array(names, p->entry->npk, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = Int32GetDatum(p->entry->npk);
	bk_spi_exec(
	    psprintf("SELECT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = $1 AND i.indisvalid "
	             " AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts %s $3 %s"
	             " AND (SELECT pg_catalog.array_agg(a.attname::pg_catalog.text ORDER BY a.attname) "
	             "      FROM pg_catalog.unnest((i.indkey::pg_catalog.int2[])[0:$3 - 1]) k(attnum) "
	             "      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) "
	             "   OPERATOR(pg_catalog.=) (SELECT pg_catalog.array_agg(x ORDER BY x) FROM pg_catalog.unnest($2) x))",
	             unique ? "=" : ">=", unique ? "AND i.indisunique" : ""),
	    3, argtypes, values, NULL, true, 1);
	return DatumGetBool(bk_spi_get(0, 1, &isnull));
}

// Whether n staged rows are few enough to join through the key index (bk_index_probe_joins_push): a fifth of
// the table is about where probing the index once per staged row stops beating one scan of the table.
static bool
few_staged(const BkTablePlan *p, int64 n)
{
	return n * 5 <= p->entry->row_count && key_index_exists(p, false);
}

// The first pass: loads the key stage and returns its name, or NULL when the key cannot be staged. With
// every_key (diff), rows proven unchanged in place are staged too.
static char *
load_key_stage(BkTablePlan *p, bool every_key)
{
	int key_cols[bk::max_key_columns];
	List *key_types = NIL;
	List *stage_cols = NIL;
	StringInfoData sql;
	char *keys_name, *keys_table;
	Oid keys_oid;
	ListCell *lt;
	int k = 0;

	if (!key_stage_columns(p, key_cols, &key_types))
	{
		return NULL;
	}
	keys_name = psprintf("backupkit_keys_%u_%d", p->relid, ++stage_counter);
	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TEMPORARY TABLE %s (", quote_identifier(keys_name));
	foreach (lt, key_types)
	{
		appendStringInfo(&sql, "%s %s, ", quote_identifier(p->entry->pk[k]), (char *) lfirst(lt));
		stage_cols = lappend(stage_cols, makeString(p->entry->pk[k]));
		k++;
	}
	appendStringInfo(&sql, "%s bigint, %s bigint) ON COMMIT DROP", quote_identifier(fingerprint_column),
	                 quote_identifier(ordinal_column));
	stage_cols = lappend(stage_cols, makeString(pstrdup(fingerprint_column)));
	stage_cols = lappend(stage_cols, makeString(pstrdup(ordinal_column)));
	bk_spi_exec(sql.data, 0, NULL, NULL, NULL, false, 0);
	keys_oid = RelnameGetRelid(keys_name);
	keys_table = psprintf("pg_temp.%s", quote_identifier(keys_name));

	bk_progress_table(0, p->target, p->entry->row_count);
	{
		// Rows still stored in the tuple they were captured from need no key, no comparison and no write. diff
		// (every_key) lists rows added since the capture through the key stage, so it needs every key.
		BkChunkReader *reader = open_chunks(p);
		BkUnchangedRows *unchanged = every_key ? NULL : bk_unchanged_rows_begin(p->entry, p->relid, reader);
		uint64 keys =
		    bk_copy_chunk_keys_into(keys_oid, stage_cols, reader, p->map.keep, key_cols, p->entry->npk, p->target,
		                            unchanged != NULL ? bk_unchanged_rows_filter : NULL, unchanged);
		if (unchanged != NULL)
		{
			p->unchanged_in_place = bk_unchanged_rows_end(unchanged, &p->in_place_complete);
		}
		p->probe_joins = few_staged(p, (int64) keys);
	}
	CommandCounterIncrement();
	// Row counts and key statistics, so that the join with the live table is planned for their real number.
	bk_spi_exec(psprintf("ANALYZE %s", keys_table), 0, NULL, NULL, NULL, false, 0);
	return keys_table;
}

// The condition, on a live tuple, of having been written since the capture: its xmin is no older than the
// capture's horizon (age() counts back from the current xid; only meaningful when bk_unchanged_rows_apply).
static char *
written_since_capture(const BkTablePlan *p)
{
	return psprintf("pg_catalog.age(xmin) OPERATOR(pg_catalog.<=) pg_catalog.age('%u'::pg_catalog.xid)",
	                (TransactionId) p->entry->capture_xmin);
}

// Opens a cursor over the ordinals (ascending) of the key stage's rows that are absent from the live table or
// (merge) whose live row's fingerprint differs.
static Portal
open_wanted_cursor(const BkTablePlan *p, const char *keys_table)
{
	char *query;
	Portal cursor;
	bool scan_recent = p->opts->mode == bk::RestoreMode::missing && p->in_place_complete;
	{
		char *match = key_match(p->entry, "k", "t");
		const char *ord = quote_identifier(ordinal_column);
		if (scan_recent)
		{
			// Only tuples written since the capture can hold a staged row's key (bk_unchanged_rows_end): one
			// scan keeps those, whose xmin is no older than the capture's horizon, and a hash anti-join
			// replaces a probe of the key index per staged row (which, after a DELETE, visits every dead tuple).
			StringInfoData keys;
			initStringInfo(&keys);
			for (int i = 0; i < p->entry->npk; i++)
			{
				appendStringInfo(&keys, "%s%s", i > 0 ? ", " : "", quote_identifier(p->entry->pk[i]));
			}
			query = psprintf("SELECT k.%s FROM %s k WHERE NOT EXISTS (SELECT FROM (SELECT %s FROM %s%s WHERE %s"
			                 " OFFSET 0) t WHERE %s) ORDER BY 1",
			                 ord, keys_table, keys.data, p->only, p->target, written_since_capture(p), match);
		}
		else if (p->opts->mode == bk::RestoreMode::missing)
		{
			query = psprintf("SELECT k.%s FROM %s k WHERE NOT EXISTS (SELECT FROM %s%s t WHERE %s) ORDER BY 1", ord,
			                 keys_table, p->only, p->target, match);
		}
		else
		{
			query = psprintf("SELECT k.%s FROM %s k LEFT JOIN %s%s t ON %s WHERE t.%s IS NULL"
			                 " OR backupkit.row_fingerprint(ROW(%s)) OPERATOR(pg_catalog.<>) k.%s ORDER BY 1",
			                 ord, keys_table, p->only, p->target, match, quote_identifier(p->entry->pk[0]),
			                 column_list(&p->map, "t"), quote_identifier(fingerprint_column));
		}
	}
	{
		SPIPlanPtr plan = bk_spi_prepare(query, 0, NULL);
		int level = p->probe_joins && !scan_recent ? bk_index_probe_joins_push() : -1;
		cursor = SPI_cursor_open(NULL, plan, NULL, NULL, false); // planned here
		if (level >= 0)
		{
			bk_stable_settings_pop(level);
		}
	}
	return cursor;
}

static void
wanted_open(WantedRows *w, const BkTablePlan *p, const char *keys_table)
{
	memset(w, 0, sizeof(*w));
	w->batch = (int64 *) palloc(sizeof(int64) * ordinal_batch);
	w->cursor = open_wanted_cursor(p, keys_table);
}

// With keep_keys (diff), the key stage stays for the caller's query and is named in p->keys_stage.
static bool
stage_differing_rows(BkTablePlan *p, bool keep_keys)
{
	char *keys_table = load_key_stage(p, keep_keys);
	WantedRows wanted;

	if (keys_table == NULL)
	{
		return false;
	}
	wanted_open(&wanted, p, keys_table);
	{
		Oid stage_oid = create_stage(p->relid, &p->map, &p->stage);
		p->staged = (int64) bk_copy_chunk_rows_into(stage_oid, p->map.attnames, open_chunks(p), p->map.keep,
		                                            wanted_filter, &wanted, false, false, p->target, key_names(p));
		p->stage_differs_only = true;
	}
	SPI_cursor_close(wanted.cursor);
	if (keep_keys)
	{
		p->keys_stage = keys_table;
	}
	else
	{
		bk_spi_exec(psprintf("DROP TABLE %s", keys_table), 0, NULL, NULL, NULL, false, 0);
	}
	CommandCounterIncrement();
	return true;
}

// merge after a bulk change: when rows still in place can be told apart (unchanged_rows.hpp), the others are
// few and mostly changed, so they are staged whole in one pass and compared by the UPDATE itself; the key
// pass and its join with the live table would cost more than they save. False when the shortcut does not
// apply.
static bool
stage_rows_not_in_place(BkTablePlan *p)
{
	BkChunkReader *reader = open_chunks(p);
	BkUnchangedRows *unchanged = bk_unchanged_rows_begin(p->entry, p->relid, reader);
	Oid stage_oid;

	if (unchanged == NULL)
	{
		return false;
	}
	stage_oid = create_stage(p->relid, &p->map, &p->stage);
	bk_progress_table(0, p->target, p->entry->row_count);
	p->staged =
	    (int64) bk_copy_chunk_rows_into(stage_oid, p->map.attnames, reader, p->map.keep, bk_unchanged_rows_filter,
	                                    unchanged, true, false, p->target, key_names(p));
	p->unchanged_in_place = bk_unchanged_rows_end(unchanged, NULL);
	p->stage_not_in_place = true;
	CommandCounterIncrement();
	p->probe_joins = few_staged(p, p->staged);
	return true;
}

// Whether the live table holds no tuple written since the capture. Not read-only: the scan must see what
// the restore's own statements will see.
static bool
nothing_written_since_capture(const BkTablePlan *p)
{
	bool isnull;
	bk_spi_exec(psprintf("SELECT NOT EXISTS (SELECT FROM %s%s WHERE %s)", p->only, p->target, written_since_capture(p)),
	            0, NULL, NULL, NULL, false, 0);
	return DatumGetBool(bk_spi_get(0, 1, &isnull));
}

// missing may COPY the absent rows straight into the table, skipping the stage and the INSERT ... SELECT,
// when nothing could make a row fail that INSERT ... ON CONFLICT DO NOTHING would skip or that the staged
// path sets aside: no CHECK or exclusion constraint, no unique index but the key's, no row-level security
// (COPY FROM refuses it), a plain table, and no user trigger that could insert into it between the two passes.
static bool
direct_missing_eligible(const BkTablePlan *p)
{
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(p->relid)};
	bool isnull;

	if (p->opts->mode != bk::RestoreMode::missing || p->opts->dry_run || p->opts->fire_triggers ||
	    get_rel_relkind(p->relid) != RELKIND_RELATION || check_enable_rls(p->relid, InvalidOid, true) == RLS_ENABLED)
	{
		return false;
	}
	bk_spi_exec("SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype IN ('c', 'x'))"
	            " AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_index WHERE indrelid = $1 AND indisunique) = 1",
	            1, argtypes, values, NULL, true, 1);
	return DatumGetBool(bk_spi_get(0, 1, &isnull)) && key_index_exists(p, true);
}

// A captured value the live type does not accept: say which columns changed type since the capture.
static void
retyped_context(void *arg)
{
	errcontext("%s (the captured values are converted to the current types)", (const char *) arg);
}

static void
with_retyped_context(BkTablePlan *p, void (*step)(BkTablePlan *))
{
	ErrorContextCallback cb;
	if (p->map.retyped == NULL)
	{
		step(p);
		return;
	}
	cb.callback = retyped_context;
	cb.arg = p->map.retyped;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	step(p);
	error_context_stack = cb.previous;
}

static void clear_rows(BkTablePlan *p);
static void load_rows(BkTablePlan *p);

void
bk_restore_clear(BkTablePlan *p)
{
	with_retyped_context(p, clear_rows);
}

void
bk_restore_load(BkTablePlan *p)
{
	with_retyped_context(p, load_rows);
}

static void
clear_rows(BkTablePlan *p)
{
	const BkRestoreOptions *opts = p->opts;

	// Disabling a rule takes ACCESS EXCLUSIVE: take it now (in the global order) rather than upgrade later. The
	// rules are read again under the lock.
	p->rules = p->copy_path ? NIL : bk_rules_that_fire(p->relid);
	bk_lock_in_order(&p->relid, 1,
	                 (p->copy_path || p->rules != NIL) && !opts->dry_run ? AccessExclusiveLock : ExclusiveLock);
	if (!p->copy_path)
	{
		p->rules = bk_rules_that_fire(p->relid);
		if (!opts->dry_run)
		{
			bk_rules_disable(p->relid, p->target, p->rules);
		}
	}
	if (!opts->fire_triggers && !opts->dry_run)
	{
		p->triggers = enabled_user_triggers(p->relid);
		if (p->triggers != NIL && !bk_relation_ownercheck(p->relid, GetUserId()))
		{
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("permission denied to disable triggers of table %s", p->target),
			                errdetail("A restore does not fire user triggers unless asked to, and only the table's "
			                          "owner may disable them."),
			                errhint("Restore as the owner of the table, or pass fire_triggers => true.")));
		}
		set_triggers(p->triggers, false);
	}
	if (p->citus != NULL)
	{
		bk_citus_restore_clear(p->citus, &p->counts);
		return;
	}

	if (p->copy_path)
	{
		// The caller truncates every copy-path table in one TRUNCATE after this. count(ctid) forces a heap
		// scan: right after a mass UPDATE the planner still believes the visibility map (VACUUM last set it)
		// and picks an index-only scan that fetches every heap tuple through the index, twice as slow.
		p->counts.deleted = count_query(psprintf("SELECT count(ctid) FROM %s%s", p->only, p->target));
		return;
	}

	if (!p->replace && p->keyed && direct_missing_eligible(p))
	{
		// After a DELETE, typically: every row still in place is known and no tuple was written since the
		// capture, so every other row is absent (open_wanted_cursor explains why): the load copies them in one
		// pass, without a key stage.
		if (bk_unchanged_rows_apply(p->entry, p->relid) && bk_unchanged_rows_all_listed(p->entry) &&
		    nothing_written_since_capture(p))
		{
			p->direct_missing = true;
			return;
		}
		// The first pass now; the absent rows are found again and copied straight in when the table loads.
		p->keys_stage = load_key_stage(p, false);
		if (p->keys_stage != NULL)
		{
			p->direct_missing = true;
			return;
		}
	}
	if (!p->replace && p->keyed && opts->mode == bk::RestoreMode::merge && stage_rows_not_in_place(p))
	{
		return;
	}
	if (!p->replace && p->keyed && stage_differing_rows(p, false))
	{
		return;
	}
	{
		BkChunkReader *reader = open_chunks(p);
		Oid stage_oid = create_stage(p->relid, &p->map, &p->stage);
		bk_progress_table(0, p->target, p->entry->row_count);
		(void) bk_copy_chunks_into(stage_oid, p->map.attnames, reader, p->map.keep, false, p->target, key_names(p));
		CommandCounterIncrement();
	}
	if (!p->replace)
	{
		return;
	}
	if (!p->keyed)
	{
		// replace without a key: every visible row goes, every captured row comes back.
		if (opts->dry_run)
		{
			p->counts.deleted = count_query(psprintf("SELECT count(*) FROM %s%s", p->only, p->target));
		}
		else
		{
			p->counts.deleted = exec_count(psprintf("DELETE FROM %s%s", p->only, p->target));
		}
		return;
	}
	{
		char *match = key_match(p->entry, "s", "t");
		char *absent_in_stage = psprintf("NOT EXISTS (SELECT FROM %s s WHERE %s)", p->stage, match);
		ListCell *lc1, *lc2;
		forboth(lc1, p->children, lc2, p->constraints)
		{
			check_outside_child(p->target, p->only, p->stage, (char *) lfirst(lc1), (char *) lfirst(lc2));
		}
		if (opts->dry_run)
		{
			p->counts.deleted =
			    count_query(psprintf("SELECT count(*) FROM %s%s t WHERE %s", p->only, p->target, absent_in_stage));
		}
		else
		{
			p->counts.deleted =
			    exec_count(psprintf("DELETE FROM %s%s t WHERE %s", p->only, p->target, absent_in_stage));
		}
	}
}

static void
load_rows(BkTablePlan *p)
{
	const BkRestoreOptions *opts = p->opts;
	const BkTableEntry *entry = p->entry;
	char *cols = column_list(&p->map, NULL);
	char *scols = column_list(&p->map, "s");
	const char *overriding = "OVERRIDING SYSTEM VALUE ";

	if (p->citus != NULL)
	{
		bk_citus_restore_load(p->citus, &p->counts);
		return;
	}
	if (p->copy_path)
	{
		BkChunkReader *reader = open_chunks(p);
		bk_progress_table(0, p->target, entry->row_count);
		if (opts->dry_run)
		{
			while (bk_chunk_reader_next(reader))
			{
			}
			p->counts.inserted = entry->row_count;
		}
		else
		{
			p->counts.inserted = (int64) bk_copy_chunks_into(p->relid, p->map.attnames, reader, p->map.keep, true,
			                                                 p->target, key_names(p));
		}
		return;
	}
	if (p->direct_missing && p->keys_stage == NULL)
	{
		BkChunkReader *reader = open_chunks(p);
		BkUnchangedRows *unchanged = bk_unchanged_rows_begin(entry, p->relid, reader);
		bool complete = false;
		if (unchanged == NULL)
		{
			elog(ERROR, "backupkit: rows in place of table %s can no longer be told apart", p->target);
		}
		bk_progress_table(0, p->target, entry->row_count);
		p->counts.inserted =
		    (int64) bk_copy_chunk_rows_into(p->relid, p->map.attnames, reader, p->map.keep, bk_unchanged_rows_filter,
		                                    unchanged, true, true, p->target, key_names(p));
		p->unchanged_in_place = bk_unchanged_rows_end(unchanged, &complete);
		if (!complete)
		{
			elog(ERROR, "backupkit: a tuple id list of table %s changed during the restore", p->target);
		}
		p->counts.unchanged = entry->row_count - p->counts.inserted;
		return;
	}
	if (p->direct_missing)
	{
		WantedRows wanted;
		wanted_open(&wanted, p, p->keys_stage);
		p->counts.inserted =
		    (int64) bk_copy_chunk_rows_into(p->relid, p->map.attnames, open_chunks(p), p->map.keep, wanted_filter,
		                                    &wanted, false, true, p->target, key_names(p));
		SPI_cursor_close(wanted.cursor);
		bk_spi_exec(psprintf("DROP TABLE %s", p->keys_stage), 0, NULL, NULL, NULL, false, 0);
		p->counts.unchanged = entry->row_count - p->counts.inserted;
		return;
	}
	if (!p->keyed)
	{
		if (opts->dry_run)
		{
			p->counts.inserted = count_query(psprintf("SELECT count(*) FROM %s", p->stage));
		}
		else
		{
			p->counts.inserted = exec_count(
			    psprintf("INSERT INTO %s (%s) %sSELECT %s FROM %s s", p->target, cols, overriding, scols, p->stage));
		}
		return;
	}
	{
		char *match = key_match(entry, "s", "t");
		char *tcols = column_list(&p->map, "t");
		int nset;
		char *set = update_set_clause(entry, &p->map, &nset);
		char *changed = psprintf("%s AND pg_catalog.record_image_ne(ROW(%s), ROW(%s))", match, tcols, scols);
		char *absent_in_target = psprintf("NOT EXISTS (SELECT FROM %s%s t WHERE %s)", p->only, p->target, match);
		bool update = opts->mode != bk::RestoreMode::missing && nset > 0;

		if (!p->replace)
		{
			skip_check_conflicts(p);
			skip_unique_conflicts(p, absent_in_target, false);
		}
		if (opts->dry_run)
		{
			if (update)
			{
				p->counts.updated = count_query(
				    psprintf("SELECT count(*) FROM %s%s t JOIN %s s ON %s", p->only, p->target, p->stage, changed));
			}
			p->counts.inserted =
			    count_query(psprintf("SELECT count(*) FROM %s s WHERE %s", p->stage, absent_in_target));
		}
		else
		{
			if (update)
			{
				int level = p->probe_joins ? bk_index_probe_joins_push() : -1;
				p->counts.updated = exec_count(
				    psprintf("UPDATE %s%s t SET %s FROM %s s WHERE %s", p->only, p->target, set, p->stage, changed));
				if (level >= 0)
				{
					bk_stable_settings_pop(level);
				}
			}
			// merge and missing skip rows that collide with a unique constraint other than the key (they may
			// not change the rows holding those values) and list them; replace must end identical, so there
			// such a collision is an error.
			// The stage keeps only the rows to insert, so the INSERT has no condition on the target: rules on
			// the target (which run after the INSERT and would re-evaluate such a condition) see every row.
			// A stage of missing rows (stage_differs_only, mode missing) already holds only those.
			// The stage holds a subset of the captured rows (p->staged of them, before conflicts were set aside).
			bool subset = p->stage_differs_only || p->stage_not_in_place;
			int64 to_insert = -1;
			if (subset && update && p->counts.updated == p->staged - p->conflicts)
			{
				// Every staged row was found and updated: none is left to insert.
				p->counts.unchanged = entry->row_count - p->counts.updated - p->conflicts;
				return;
			}
			if (!(p->stage_differs_only && opts->mode == bk::RestoreMode::missing))
			{
				int64 present = exec_count(psprintf("DELETE FROM %s s WHERE NOT %s", p->stage, absent_in_target));
				if (subset)
				{
					to_insert = p->staged - p->conflicts - present;
				}
			}
			else
			{
				to_insert = p->staged - p->conflicts;
			}
			bool on_conflict = !p->replace && !bk_rules_forbid_on_conflict(p->relid);
			if (!p->replace && !on_conflict)
			{
				int64 before = p->conflicts;
				skip_unique_conflicts(p, absent_in_target, true);
				to_insert = to_insert < 0 ? to_insert : to_insert - (p->conflicts - before);
			}
			p->counts.inserted =
			    exec_count(psprintf("INSERT INTO %s (%s) %sSELECT %s FROM %s s%s", p->target, cols, overriding, scols,
			                        p->stage, on_conflict ? " ON CONFLICT DO NOTHING" : ""));
			// Rows the INSERT skipped collided with a unique constraint; when it inserted every staged row, there
			// is nothing to look for.
			if (!p->replace && p->counts.inserted != to_insert)
			{
				collect_unique_conflicts(p, absent_in_target);
			}
		}
		p->counts.unchanged = entry->row_count - p->counts.inserted - p->counts.updated - p->conflicts;
	}
}

void
bk_restore_finish(BkTablePlan *p, BkJson *report, BkRestoreCounts *counts)
{
	const BkRestoreOptions *opts = p->opts;
	const BkTableEntry *entry = p->entry;

	if (p->stage != NULL)
	{
		bk_spi_exec(psprintf("DROP TABLE %s", p->stage), 0, NULL, NULL, NULL, false, 0);
	}
	if (!opts->dry_run)
	{
		restore_sequences(entry, p->relid, &p->map, p->replace);
		set_triggers(p->triggers, true);
		bk_rules_reenable(p->relid, p->rules);
	}
	*counts = p->counts;

	bk_json_str(report, "table", p->target);
	bk_json_str(report, "snapshot_table", bk_entry_qualified_name(entry));
	bk_json_str(report, "matched_by", p->matched_by_oid ? "oid" : "name");
	bk_json_str(report, "mode", bk::restore_mode_name(opts->mode));
	bk_json_bool(report, "dry_run", opts->dry_run);
	// The rows went in through COPY straight into the table: the copy path, or missing's direct copy.
	bk_json_str(report, "path", p->citus != NULL ? "citus" : p->copy_path || p->direct_missing ? "copy" : "staged");
	bk_json_int(report, "rows_in_snapshot", entry->row_count);
	bk_json_int(report, "inserted", p->counts.inserted);
	bk_json_int(report, "updated", p->counts.updated);
	bk_json_int(report, "deleted", p->counts.deleted);
	bk_json_int(report, "unchanged", p->counts.unchanged);
	if (!p->replace && p->keyed)
	{
		bk_json_int(report, "unchanged_in_place", p->unchanged_in_place);
	}
	bk_json_bool(report, "triggers_fired", opts->fire_triggers);
	bk_rules_report(report, p->rules);
	if (!p->replace && p->keyed)
	{
		ListCell *lc;
		bk_json_int(report, "conflicts", p->conflicts);
		bk_json_begin_array(report, "conflicting_rows");
		foreach (lc, p->conflict_rows)
		{
			bk_json_raw(report, NULL, (char *) lfirst(lc));
		}
		bk_json_end_array(report);
	}
	bk_json_begin_array(report, "warnings");
	{
		ListCell *lc;
		foreach (lc, p->map.warnings)
		{
			bk_json_str(report, NULL, (char *) lfirst(lc));
		}
		if (p->matched_by_oid && strcmp(bk_entry_qualified_name(entry), p->target) != 0)
		{
			bk_json_str(report, NULL,
			            psprintf("table %s was captured as %s and found by its oid", p->target,
			                     bk_entry_qualified_name(entry)));
		}
	}
	bk_json_end_array(report);
	bk_json_num(report, "duration_ms", (double) (GetCurrentTimestamp() - p->started) / 1000.0);
}

void
bk_restore_truncate(BkTablePlan **plans, int n, bool dry_run)
{
	StringInfoData sql;
	bool any = false;

	if (dry_run)
	{
		return;
	}
	initStringInfo(&sql);
	appendStringInfoString(&sql, "TRUNCATE ");
	for (int i = 0; i < n; i++)
	{
		if (!plans[i]->copy_path)
		{
			continue;
		}
		appendStringInfo(&sql, "%s%s%s", any ? ", " : "", plans[i]->only, plans[i]->target);
		any = true;
	}
	if (any)
	{
		bk_spi_exec(sql.data, 0, NULL, NULL, NULL, false, 0);
	}
}

void
bk_restore_table(const BkSnapshot *snapshot, const BkTableEntry *entry, Oid relid, bool matched_by_oid,
                 const BkRestoreOptions *opts, BkJson *report, BkRestoreCounts *counts)
{
	BkTablePlan *p = bk_restore_plan(snapshot, entry, relid, matched_by_oid, opts);
	bk_restore_clear(p);
	bk_restore_truncate(&p, 1, opts->dry_run);
	bk_restore_load(p);
	bk_restore_finish(p, report, counts);
}

char *
bk_restore_diff_query(BkTablePlan *p)
{
	StringInfoData key_obj, snap_obj, live_obj;
	ListCell *lc;
	bool first = true;
	char *match = key_match(p->entry, "s", "t");
	char *scols = column_list(&p->map, "s");
	char *tcols = column_list(&p->map, "t");
	const char *target = p->target;
	const char *only = p->only;

	if (!p->keyed)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("cannot diff table %s: it has no key in snapshot " INT64_FORMAT, p->target,
		                       p->snapshot->snapshot_id),
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
	else if (!stage_differing_rows(p, true))
	{
		BkChunkReader *reader = open_chunks(p);
		Oid stage_oid = create_stage(p->relid, &p->map, &p->stage);
		(void) bk_copy_chunks_into(stage_oid, p->map.attnames, reader, p->map.keep, false, p->target, key_names(p));
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
		                p->target, p->stage, p->keys_stage, key_match(p->entry, "k", "t"));
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
