// SPI helpers that check return codes and report them by name (see spi.hpp).
extern "C"
{
#include "postgres.h"
#include "access/htup_details.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "access/table.h"
#include "access/genam.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/memutils.h"
}

#include "pg/support/rls_scope.hpp"
#include "pg/support/spi.hpp"
#include "pg/support/version_check.hpp"

void
bk_spi_connect(void)
{
	// Every SQL function that touches backupkit's tables passes here first.
	bk_check_extension_version();
	MemoryContext cxt = CurrentMemoryContext;
	int rc = SPI_connect();
	if (rc != SPI_OK_CONNECT)
	{
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	}
	MemoryContextSwitchTo(cxt);
}

void
bk_spi_finish(void)
{
	int rc = SPI_finish();
	if (rc != SPI_OK_FINISH)
	{
		elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
	}
}

int
bk_spi_exec(const char *sql, int nargs, Oid *argtypes, Datum *values, const char *nulls, bool read_only, long count)
{
	// SPI leaves CurrentMemoryContext at its procedure context; keep the caller's instead, so that what
	// callers allocate afterwards lives as long as they expect.
	MemoryContext cxt = CurrentMemoryContext;
	int rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, read_only, count);
	MemoryContextSwitchTo(cxt);
	if (rc < 0)
	{
		elog(ERROR, "SPI_execute_with_args failed: %s: %s", SPI_result_code_string(rc), sql);
	}
	return rc;
}

SPIPlanPtr
bk_spi_prepare(const char *sql, int nargs, Oid *argtypes)
{
	MemoryContext cxt = CurrentMemoryContext;
	SPIPlanPtr plan = SPI_prepare(sql, nargs, argtypes);
	MemoryContextSwitchTo(cxt);
	if (plan == NULL)
	{
		elog(ERROR, "SPI_prepare failed: %s: %s", SPI_result_code_string(SPI_result), sql);
	}
	return plan;
}

SPIPlanPtr
bk_spi_kept_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes)
{
	if (*slot == NULL)
	{
		SPIPlanPtr plan = bk_spi_prepare(sql, nargs, argtypes);
		if (SPI_keepplan(plan) != 0)
		{
			elog(ERROR, "SPI_keepplan failed: %s", sql);
		}
		*slot = plan;
	}
	return *slot;
}

int
bk_spi_exec_plan(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only, long count)
{
	MemoryContext cxt = CurrentMemoryContext;
	int rc = SPI_execute_plan(plan, values, nulls, read_only, count);
	MemoryContextSwitchTo(cxt);
	if (rc < 0)
	{
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	}
	return rc;
}

Datum
bk_spi_get(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

char *
bk_spi_get_text(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

int64
bk_spi_count(const char *sql)
{
	bool isnull;
	// No row limit: the executor runs a limited query without parallel workers, and counts are whole-table scans.
	bk_spi_exec(sql, 0, NULL, NULL, NULL, false, 0);
	return DatumGetInt64(bk_spi_get(0, 1, &isnull));
}

int64
bk_spi_run(const char *sql)
{
	bk_spi_exec(sql, 0, NULL, NULL, NULL, false, 0);
	return (int64) SPI_processed;
}

Datum
bk_spi_oid_array(const Oid *relids, int n)
{
	Datum *elems = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		elems[i] = ObjectIdGetDatum(relids[i]);
	}
	return PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
}
