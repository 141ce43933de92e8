// Capturing Citus tables through the coordinator (see citus_snapshot.hpp for why the locks make it consistent).
#include "core/plan/citus_table_type.hpp"

extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

#include "pg/capture/citus_snapshot.hpp"
#include "pg/citus/citus_tables.hpp"
#include "pg/storage/storage.hpp"

static int
citus_oid_cmp(const void *a, const void *b)
{
	Oid x = *(const Oid *) a;
	Oid y = *(const Oid *) b;
	return x < y ? -1 : (x > y ? 1 : 0);
}

void
bk_citus_lock_for_capture(const Oid *relids, int n)
{
	Oid *citus = (Oid *) palloc(sizeof(Oid) * Max(n, 1));
	int ncitus = 0;
	StringInfoData sql;

	for (int i = 0; i < n; i++)
	{
		if (bk_citus_table(relids[i], NULL))
		{
			citus[ncitus++] = relids[i];
		}
	}
	if (ncitus == 0)
	{
		return;
	}
	// One order for every capture, as bk_lock_in_order does for the other locks.
	qsort(citus, ncitus, sizeof(Oid), citus_oid_cmp);
	initStringInfo(&sql);
	appendStringInfoString(&sql, "LOCK TABLE ");
	for (int i = 0; i < ncitus; i++)
	{
		if (i > 0 && citus[i] == citus[i - 1])
		{
			continue;
		}
		appendStringInfo(&sql, "%s%s", i > 0 ? ", " : "", bk_rel_qualified_name(citus[i]));
	}
	appendStringInfoString(&sql, " IN SHARE MODE");
	bk_spi_exec(sql.data, 0, NULL, NULL, NULL, false, 0);
}

Datum
bk_definition_with_citus(Datum definition, Oid relid)
{
	BkCitusTable info;
	Oid argtypes[2] = {OIDOID, TEXTOID};
	Datum values[2];
	bool isnull;
	Datum flag;

	if (!bk_citus_table(relid, &info))
	{
		return definition;
	}
	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(bk::citus_table_type_name(info.type));
	// Citus's own function names the distribution column from its stored expression (none for a reference table).
	bk_spi_exec("SELECT pg_catalog.jsonb_build_object('capture_citus', pg_catalog.jsonb_build_object("
	            "'table_type', $2, 'distribution_column', (SELECT pg_catalog.column_to_column_name("
	            "p.logicalrelid, p.partkey) FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = $1"
	            " AND p.partkey IS NOT NULL)))",
	            2, argtypes, values, NULL, true, 1);
	flag = bk_spi_get(0, 1, &isnull);
	return DirectFunctionCall2(jsonb_concat, definition, flag);
}
