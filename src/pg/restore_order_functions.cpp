// SQL entry points for foreign-key ordering: get_table_restoration_order (live tables or a snapshot's
// stored graph) and restoration_plan (one row per table, for DBAs).
extern "C"
{
#include "postgres.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

#include "../core/restore_order.hpp"
#include "boundary.hpp"
#include "restore_order.hpp"
#include "storage.hpp"
#include "table_list.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_get_table_restoration_order);
	PG_FUNCTION_INFO_V1(bk_get_snapshot_restoration_order);
	PG_FUNCTION_INFO_V1(bk_restoration_plan);
}

static Datum
ordered_array(const Oid *relids, const int *order, int n)
{
	Datum *elems = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	for (int k = 0; k < n; k++)
	{
		elems[k] = ObjectIdGetDatum(relids[order[k]]);
	}
	return PointerGetDatum(construct_array(elems, n, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT));
}

Datum
bk_get_table_restoration_order(PG_FUNCTION_ARGS)
{
	int n;
	Oid *relids = bk_table_list_arg(fcinfo, 0, "tables", &n);
	int *order = (int *) palloc(sizeof(int) * n);
	int *level = (int *) palloc(sizeof(int) * n);
	int *group = (int *) palloc(sizeof(int) * n);
	Datum result;

	bk_spi_connect();
	bk_order_relations(relids, n, order, level, group);
	bk_spi_finish();
	result = ordered_array(relids, order, n);
	PG_RETURN_DATUM(result);
}

// The live table a snapshot entry stands for: its oid when that still names a table, else its name.
static Oid
live_relid(const BkTableEntry *e)
{
	Oid nsp;
	Oid byname;
	char kind = get_rel_relkind(e->relid);
	if (kind == 'r' || kind == 'p')
	{
		return e->relid;
	}
	nsp = get_namespace_oid(e->schema_name, true);
	byname = OidIsValid(nsp) ? get_relname_relid(e->table_name, nsp) : InvalidOid;
	if (!OidIsValid(byname))
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
		                errmsg("table %s of snapshot " INT64_FORMAT " no longer exists", bk_entry_qualified_name(e),
		                       e->snapshot_id),
		                errhint("Re-create the table, or order the live tables with "
		                        "get_table_restoration_order(regclass[]).")));
	}
	return byname;
}

Datum
bk_get_snapshot_restoration_order(PG_FUNCTION_ARGS)
{
	int64 snapshot_id = bk_snapshot_id_arg(fcinfo, 0);
	BkSnapshot snap;
	BkTableEntry **entries;
	int n;
	Oid *relids;
	const char **names;
	int *child, *parent, *order, *level, *group;
	size_t nedges = 0, cap = 16;
	Datum result;

	bk_spi_connect();
	bk_snapshot_fetch(snapshot_id, &snap);
	entries = bk_table_entries(snapshot_id, &n);
	relids = (Oid *) palloc(sizeof(Oid) * Max(n, 1));
	names = (const char **) palloc(sizeof(char *) * Max(n, 1));
	order = (int *) palloc(sizeof(int) * Max(n, 1));
	level = (int *) palloc(sizeof(int) * Max(n, 1));
	group = (int *) palloc(sizeof(int) * Max(n, 1));
	child = (int *) palloc(sizeof(int) * cap);
	parent = (int *) palloc(sizeof(int) * cap);
	for (int i = 0; i < n; i++)
	{
		relids[i] = live_relid(entries[i]);
		names[i] = bk_entry_qualified_name(entries[i]);
	}
	// The graph stored at capture time: foreign keys whose referenced table was captured too.
	for (int i = 0; i < n; i++)
	{
		Oid argtypes[1] = {JSONBOID};
		Datum values[1] = {PointerGetDatum(entries[i]->foreign_keys)};
		if (entries[i]->foreign_keys == NULL)
		{
			continue;
		}
		bk_spi_exec("SELECT f->>'ref_schema', f->>'ref_table', (f->>'ref_relid')::oid"
		            " FROM jsonb_array_elements($1) f",
		            1, argtypes, values, NULL, true, 0);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			char *ref_schema = bk_spi_get_text((int) r, 1);
			char *ref_table = bk_spi_get_text((int) r, 2);
			bool isnull;
			Oid ref_relid = DatumGetObjectId(bk_spi_get((int) r, 3, &isnull));
			for (int j = 0; j < n; j++)
			{
				if (entries[j]->relid == ref_relid || (strcmp(entries[j]->schema_name, ref_schema) == 0 &&
				                                       strcmp(entries[j]->table_name, ref_table) == 0))
				{
					if (nedges == cap)
					{
						cap *= 2;
						child = (int *) repalloc(child, sizeof(int) * cap);
						parent = (int *) repalloc(parent, sizeof(int) * cap);
					}
					child[nedges] = i;
					parent[nedges] = j;
					nedges++;
					break;
				}
			}
		}
	}
	BK_CORE(bk::order_tables((size_t) n, names, nedges, child, parent, order, level, group));
	bk_spi_finish();
	result = ordered_array(relids, order, n);
	PG_RETURN_DATUM(result);
}

Datum
bk_restoration_plan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int n;
	Oid *relids = bk_table_list_arg(fcinfo, 0, "tables", &n);
	int *order = (int *) palloc(sizeof(int) * n);
	int *level = (int *) palloc(sizeof(int) * n);
	int *group = (int *) palloc(sizeof(int) * n);
	Datum *elems = (Datum *) palloc(sizeof(Datum) * n);
	Oid argtypes[2] = {OIDOID, OIDARRAYOID};

	InitMaterializedSRF(fcinfo, 0);
	bk_spi_connect();
	bk_order_relations(relids, n, order, level, group);
	for (int i = 0; i < n; i++)
	{
		elems[i] = ObjectIdGetDatum(relids[i]);
	}
	for (int k = 0; k < n; k++)
	{
		int i = order[k];
		Datum values[6];
		bool nulls[6] = {false, false, false, false, false, false};
		Datum args[2] = {ObjectIdGetDatum(relids[i]),
		                 PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT))};

		// The foreign keys that order this table: those to other tables of the set.
		bk_spi_exec(
		    "SELECT coalesce(array_agg(DISTINCT c.confrelid::regclass ORDER BY c.confrelid::regclass)"
		    "   FILTER (WHERE c.confrelid <> $1), '{}'),"
		    " coalesce(array_agg(c.conname::text || ' -> ' || c.confrelid::regclass::text ORDER BY c.conname), '{}')"
		    " FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = $1 AND c.confrelid = ANY ($2)",
		    2, argtypes, args, NULL, true, 1);
		values[0] = Int32GetDatum(k + 1);
		values[1] = ObjectIdGetDatum(relids[i]);
		values[2] = Int32GetDatum(level[i]);
		values[3] = Int32GetDatum(group[i]);
		nulls[3] = group[i] == 0;
		values[4] = SPI_datumTransfer(bk_spi_get(0, 1, &nulls[4]), false, -1);
		values[5] = SPI_datumTransfer(bk_spi_get(0, 2, &nulls[5]), false, -1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	bk_spi_finish();
	return (Datum) 0;
}
