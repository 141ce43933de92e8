// restore_snapshot's schema modes (see schema_restore_steps.hpp): 'missing' is one step, 'exact' three (revert
// renames, drop additions, retype and reorder columns; re-create what is missing; copy moved columns back and
// make every attribute the captured one). The statements come from backupkit.schema_restore_plan (SQL, built
// from the structured definitions with every name quoted); each runs with an error context naming it.
extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
}

#include "pg/schema/schema_restore_steps.hpp"
#include "pg/storage/storage.hpp"

BkSchemaMode
bk_schema_mode_arg(FunctionCallInfo fcinfo, int argno)
{
	char *name;
	if (PG_NARGS() <= argno)
	{
		return BK_SCHEMA_KEEP; // the 0.1 signature, before the extension is updated
	}
	if (PG_ARGISNULL(argno))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("schema must not be null"),
		                errhint("Valid values are \"keep\", \"missing\" and \"exact\".")));
	}
	name = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (strcmp(name, "keep") == 0)
	{
		return BK_SCHEMA_KEEP;
	}
	if (strcmp(name, "missing") == 0)
	{
		return BK_SCHEMA_MISSING;
	}
	if (strcmp(name, "exact") == 0)
	{
		return BK_SCHEMA_EXACT;
	}
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid schema mode \"%s\"", name),
	                errhint("Valid values are \"keep\", \"missing\" and \"exact\".")));
	return BK_SCHEMA_KEEP;
}

const char *
bk_schema_mode_name(BkSchemaMode mode)
{
	return mode == BK_SCHEMA_EXACT ? "exact" : mode == BK_SCHEMA_MISSING ? "missing" : "keep";
}

static void
schema_statement_context(void *arg)
{
	errcontext("schema restore statement: %s", (const char *) arg);
}

static void
run_schema_statement(const char *sql)
{
	ErrorContextCallback cb;
	cb.callback = schema_statement_context;
	cb.arg = (void *) sql;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	bk_spi_exec(sql, 0, NULL, NULL, NULL, false, 0);
	error_context_stack = cb.previous;
}

// Appends one step's rows to ddl; returns the first cell of the statements this step adds to ddl->before.
static ListCell *
schema_step_compute(FunctionCallInfo fcinfo, int tables_argno, int64 snapshot_id, BkSchemaMode mode, int step,
                    const char *content_mode, BkSchemaDdl *ddl)
{
	Oid argtypes[5] = {INT8OID, REGCLASSARRAYOID, TEXTOID, INT4OID, TEXTOID};
	Datum values[5] = {
	    Int64GetDatum(snapshot_id), PG_ARGISNULL(tables_argno) ? (Datum) 0 : PG_GETARG_DATUM(tables_argno),
	    CStringGetTextDatum(bk_schema_mode_name(mode)), Int32GetDatum(step), CStringGetTextDatum(content_mode)};
	char nulls[5] = {' ', PG_ARGISNULL(tables_argno) ? 'n' : ' ', ' ', ' ', ' '};
	int first_new = list_length(ddl->before);
	uint64 rows;

	bk_spi_exec("SELECT part, table_name, statement FROM backupkit.schema_restore_plan($1, $2, $3, $4, $5)", 5,
	            argtypes, values, nulls, false, 0);
	rows = SPI_processed;
	for (uint64 i = 0; i < rows; i++)
	{
		bool isnull;
		char *part = bk_spi_get_text((int) i, 1);
		BkSchemaStatement *st = (BkSchemaStatement *) palloc0(sizeof(BkSchemaStatement));
		(void) bk_spi_get((int) i, 2, &isnull);
		st->table = isnull ? NULL : bk_spi_get_text((int) i, 2);
		st->sql = bk_spi_get_text((int) i, 3);
		if (strcmp(part, "before") == 0)
		{
			ddl->before = lappend(ddl->before, st);
		}
		else if (strcmp(part, "after") == 0)
		{
			ddl->after = lappend(ddl->after, st);
		}
		else
		{
			ddl->warnings = lappend(ddl->warnings, st);
		}
	}
	return list_length(ddl->before) > first_new ? list_nth_cell(ddl->before, first_new) : NULL;
}

void
bk_schema_restore_before(FunctionCallInfo fcinfo, int tables_argno, int64 snapshot_id, BkSchemaMode mode,
                         const char *content_mode, bool start_subxact, bool *subxact_started, BkSchemaDdl *ddl)
{
	int steps = mode == BK_SCHEMA_EXACT ? 3 : 1;
	MemoryContext cxt = CurrentMemoryContext;

	memset(ddl, 0, sizeof(*ddl));
	*subxact_started = false;
	for (int step = 1; step <= steps; step++)
	{
		// 'missing' is step 2 of 'exact'.
		ListCell *lc = schema_step_compute(fcinfo, tables_argno, snapshot_id, mode, mode == BK_SCHEMA_EXACT ? step : 2,
		                                   content_mode, ddl);
		if (lc != NULL && start_subxact && !*subxact_started)
		{
			BeginInternalSubTransaction(NULL);
			MemoryContextSwitchTo(cxt);
			*subxact_started = true;
		}
		for (; lc != NULL; lc = lnext(ddl->before, lc))
		{
			run_schema_statement(((BkSchemaStatement *) lfirst(lc))->sql);
		}
		// The next step and the restore's read-only queries see these statements.
		CommandCounterIncrement();
	}
}

void
bk_schema_restore_after(const BkSchemaDdl *ddl)
{
	ListCell *lc;
	foreach (lc, ddl->after)
	{
		run_schema_statement(((BkSchemaStatement *) lfirst(lc))->sql);
	}
}

static void
report_statements(BkJson *report, const char *key, List *list, const char *table)
{
	ListCell *lc;
	bk_json_begin_array(report, key);
	foreach (lc, list)
	{
		BkSchemaStatement *st = (BkSchemaStatement *) lfirst(lc);
		if (table == NULL || (st->table != NULL && strcmp(st->table, table) == 0))
		{
			bk_json_str(report, NULL, st->sql);
		}
	}
	bk_json_end_array(report);
}

void
bk_schema_report(BkJson *report, BkSchemaMode mode, const BkSchemaDdl *ddl)
{
	bk_json_str(report, "schema", bk_schema_mode_name(mode));
	report_statements(report, "ddl", ddl->before, NULL);
	report_statements(report, "ddl_after_contents", ddl->after, NULL);
	report_statements(report, "schema_warnings", ddl->warnings, NULL);
}

void
bk_schema_report_table(BkJson *report, const BkSchemaDdl *ddl, const char *table)
{
	report_statements(report, "ddl", ddl->before, table);
	report_statements(report, "ddl_after_contents", ddl->after, table);
}
