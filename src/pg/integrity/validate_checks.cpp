// Rows of a snapshot that a CHECK constraint now on the table rejects (see validate_checks.hpp). The constraint
// and key columns of the captured rows are loaded, through COPY as a restore does, into a temporary table with
// the live column types; each constraint's own expression then finds the rows it rejects.
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
}

#include "pg/storage/chunk_reader.hpp"
#include "pg/restore/copy_loader.hpp"
#include "pg/support/rls_scope.hpp"
#include "pg/integrity/validate_checks.hpp"
#include "pg/support/message_names.hpp"

#define CHECK_ROWS_TABLE "backupkit_validate_check_rows"

typedef struct CheckConstraint
{
	char *name;
	char *expr;
	bool usable; // every column it reads is captured and still in the table
} CheckConstraint;

// The live type of column name of relid (format_type), or NULL when the table has no such column.
static char *
live_type(Oid relid, const char *name)
{
	Oid argtypes[2] = {OIDOID, TEXTOID};
	Datum values[2] = {ObjectIdGetDatum(relid), CStringGetTextDatum(name)};
	bk_spi_exec("SELECT pg_catalog.format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute"
	            " WHERE attrelid = $1 AND attname = $2 AND attnum > 0 AND NOT attisdropped",
	            2, argtypes, values, NULL, true, 1);
	return SPI_processed == 0 ? NULL : bk_spi_get_text(0, 1);
}

// Marks column name as needed; false when it cannot be loaded (not captured, or gone from the table).
static bool
need_column(const BkTableEntry *e, Oid relid, const char *name, bool *keep, char **types)
{
	int ci = bk_captured_position(e, name) - 1;
	if (ci < 0)
	{
		return false;
	}
	if (!keep[ci])
	{
		types[ci] = live_type(relid, name);
		if (types[ci] == NULL)
		{
			return false;
		}
		keep[ci] = true;
	}
	return true;
}

typedef struct LoadStep
{
	const BkSnapshot *snapshot;
	const BkTableEntry *entry;
	const char *create_sql;
	List *attnames;
	const bool *keep;
} LoadStep;

typedef struct CheckStep
{
	const char *sql;
	int64 count;
	char *example; // key (or row) of one rejected row as jsonb text
} CheckStep;

// Runs step(arg) in a subtransaction and returns NULL, or the message of the error it raised: what the captured
// rows hold (a value the live type rejects, a constraint expression that fails on it, a damaged chunk) is
// reported, never raised. Cancels and shutdowns still end the statement.
static char *
guarded(void (*step)(void *), void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	char *volatile failure = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		step(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData *edata;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
		{
			PG_RE_THROW();
		}
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		failure = edata->message;
	}
	PG_END_TRY();
	return failure;
}

// Creates the temporary table and loads the kept columns of every captured row into it.
static void
load_step(void *arg)
{
	LoadStep *l = (LoadStep *) arg;
	BkChunkReader *reader;

	bk_spi_exec(l->create_sql, 0, NULL, NULL, NULL, false, 0);
	reader = bk_chunk_reader_open(l->entry, strcmp(l->snapshot->compression, "zstd") == 0);
	(void) bk_copy_chunks_into(RelnameGetRelid(CHECK_ROWS_TABLE), l->attnames, reader, l->keep, false,
	                           bk_entry_qualified_name(l->entry), NIL);
}

static void
check_step(void *arg)
{
	CheckStep *c = (CheckStep *) arg;
	bool isnull;

	bk_spi_exec(c->sql, 0, NULL, NULL, NULL, false, 0);
	c->count = SPI_processed == 0 ? 0 : DatumGetInt64(bk_spi_get(0, 2, &isnull));
	c->example = SPI_processed == 0 ? NULL : bk_spi_get_text(0, 1);
}

void
bk_validate_check_constraints(const BkSnapshot *snapshot, const BkTableEntry *e, List **warnings)
{
	Oid relid = bk_entry_live_relid(e);
	Oid argtypes[1] = {OIDOID};
	Datum values[1];
	CheckConstraint *checks;
	int nchecks, nusable = 0;
	bool *keep;
	char **types;
	bool keyed = e->npk > 0;
	bool show_keys;
	List *attnames = NIL;
	StringInfoData sql, key;
	const char *name = bk_entry_display_name(e); // for messages, in quotes

	if (!OidIsValid(relid))
	{
		return;
	}
	values[0] = ObjectIdGetDatum(relid);
	bk_spi_exec("SELECT c.conname::text, pg_catalog.pg_get_expr(c.conbin, c.conrelid),"
	            " ARRAY(SELECT a.attname::text FROM pg_catalog.unnest(c.conkey) k JOIN pg_catalog.pg_attribute a"
	            "       ON a.attrelid = c.conrelid AND a.attnum = k)"
	            " FROM pg_catalog.pg_constraint c WHERE c.conrelid = $1 AND c.contype = 'c' ORDER BY c.conname",
	            1, argtypes, values, NULL, true, 0);
	nchecks = (int) SPI_processed;
	if (nchecks == 0)
	{
		return;
	}
	{
		SPITupleTable *tt = SPI_tuptable;
		char ***cols = (char ***) palloc(sizeof(char **) * nchecks);
		int *ncols = (int *) palloc(sizeof(int) * nchecks);
		checks = (CheckConstraint *) palloc0(sizeof(CheckConstraint) * nchecks);
		for (int i = 0; i < nchecks; i++)
		{
			bool isnull;
			Datum *elems;
			bool *nulls;
			checks[i].name = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
			checks[i].expr = SPI_getvalue(tt->vals[i], tt->tupdesc, 2);
			deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull)), TEXTOID, -1,
			                  false, TYPALIGN_INT, &elems, &nulls, &ncols[i]);
			cols[i] = (char **) palloc(sizeof(char *) * Max(ncols[i], 1));
			for (int c = 0; c < ncols[i]; c++)
			{
				cols[i][c] = TextDatumGetCString(elems[c]);
			}
		}
		keep = (bool *) palloc0(sizeof(bool) * Max(e->ncaptured, 1));
		types = (char **) palloc0(sizeof(char *) * Max(e->ncaptured, 1));
		for (int k = 0; k < e->npk && keyed; k++)
		{
			keyed = need_column(e, relid, e->pk[k], keep, types);
		}
		for (int i = 0; i < nchecks; i++)
		{
			checks[i].usable = true;
			for (int c = 0; c < ncols[i] && checks[i].usable; c++)
			{
				checks[i].usable = need_column(e, relid, cols[i][c], keep, types);
			}
			nusable += checks[i].usable ? 1 : 0;
		}
	}
	if (nusable == 0)
	{
		return;
	}

	// The temporary table: the needed columns in captured order, with their live types.
	initStringInfo(&sql);
	appendStringInfoString(&sql, "CREATE TEMPORARY TABLE " CHECK_ROWS_TABLE " (");
	for (int ci = 0, i = 0; i < e->ncolumns; i++)
	{
		if (!e->columns[i].captured)
		{
			continue;
		}
		if (keep[ci])
		{
			appendStringInfo(&sql, "%s%s %s", attnames == NIL ? "" : ", ", quote_identifier(e->columns[i].name),
			                 types[ci]);
			attnames = lappend(attnames, makeString(e->columns[i].name));
		}
		ci++;
	}
	appendStringInfoString(&sql, ")");
	{
		LoadStep load = {snapshot, e, sql.data, attnames, keep};
		char *failure = guarded(load_step, &load);
		if (failure != NULL)
		{
			*warnings = lappend(*warnings, psprintf("The rows of table \"%s\" could not be checked against its check "
			                                        "constraints: %s.",
			                                        name, failure));
			return; // the subtransaction took the temporary table with it
		}
	}

	// Which row to name: its key, else its values of the constraint's columns (the whole staged row).
	show_keys = bk_capture_policies_allow(snapshot, relid);
	initStringInfo(&key);
	if (keyed)
	{
		appendStringInfoString(&key, "pg_catalog.jsonb_build_object(");
		for (int k = 0; k < e->npk; k++)
		{
			appendStringInfo(&key, "%s%s, s.%s", k ? ", " : "", quote_literal_cstr(e->pk[k]),
			                 quote_identifier(e->pk[k]));
		}
		appendStringInfoString(&key, ")");
	}
	else
	{
		appendStringInfoString(&key, "pg_catalog.to_jsonb(s)");
	}
	for (int i = 0; i < nchecks; i++)
	{
		CheckStep check;
		char *failure;
		if (!checks[i].usable)
		{
			continue;
		}
		// The temporary table has the constraint's column names and types, so its expression reads it as is.
		check.sql = psprintf("SELECT %s::text, pg_catalog.count(*) OVER () FROM pg_temp." CHECK_ROWS_TABLE
		                     " s WHERE (%s) IS FALSE LIMIT 1",
		                     key.data, checks[i].expr);
		failure = guarded(check_step, &check);
		if (failure != NULL)
		{
			*warnings = lappend(*warnings, psprintf("Check constraint \"%s\" of table \"%s\" could not be evaluated on "
			                                        "the captured rows: %s.",
			                                        checks[i].name, name, failure));
			continue;
		}
		if (check.count == 0)
		{
			continue;
		}
		// Whole sentences for one row and for several (no plural fragments), as errmsg_plural would choose.
		const char *example =
		    show_keys
		        ? psprintf(keyed ? ", for example the row with key %s" : ", for example the row %s", check.example)
		        : "";
		if (check.count == 1)
			*warnings =
			    lappend(*warnings, psprintf("Check constraint \"%s\" of table \"%s\" rejects 1 captured row%s: no "
			                                "restore can write it (replace fails; merge and missing set it aside as "
			                                "conflicts).",
			                                checks[i].name, name, example));
		else
			*warnings =
			    lappend(*warnings, psprintf("Check constraint \"%s\" of table \"%s\" rejects " INT64_FORMAT
			                                " captured rows%s: no restore can write them (replace fails; merge and "
			                                "missing set them aside as conflicts).",
			                                checks[i].name, name, check.count, example));
	}
	bk_spi_exec("DROP TABLE pg_temp." CHECK_ROWS_TABLE, 0, NULL, NULL, NULL, false, 0);
}
