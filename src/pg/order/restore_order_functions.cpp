// backupkit.get_table_restoration_order (live tables or a snapshot) and backupkit.restoration_plan.
#include "core/error.hpp"
#include "core/plan/dependency_order.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

#include "pg/order/restore_order.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/table_list.hpp"
#include "pg/support/message_names.hpp"
#include "pg/support/operation.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_get_table_restoration_order);
	PG_FUNCTION_INFO_V1(bk_get_snapshot_restoration_order);
	PG_FUNCTION_INFO_V1(bk_restoration_plan);
}

// The foreign keys stored in a snapshot as edges between entry indexes. The referenced table is found among
// the entries by its oid at capture time, then by its captured name, then (for a reference to a partition of
// a captured partitioned table) through the live partition tree. Arrays of the two ends, in SPI_palloc memory.
static const char *const snapshot_edges_sql =
    "WITH e AS (SELECT (u.ord - 1)::int AS idx, u.relid, u.sch, u.tab, u.fks"
    "  FROM unnest($1::oid[], $2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY u(relid, sch, tab, fks, ord))"
    " SELECT c.idx, coalesce(p1.idx, p2.idx, p3.idx)"
    " FROM e c CROSS JOIN LATERAL jsonb_array_elements(c.fks) f(fk)"
    " LEFT JOIN e p1 ON p1.relid = (f.fk->>'ref_relid')::oid"
    " LEFT JOIN e p2 ON p2.sch = f.fk->>'ref_schema' AND p2.tab = f.fk->>'ref_table'"
    " LEFT JOIN LATERAL (SELECT p.idx FROM pg_catalog.pg_partition_ancestors((f.fk->>'ref_relid')::oid::regclass)"
    "   WITH ORDINALITY a(relid, depth) JOIN e p ON p.relid = a.relid"
    "   WHERE p1.idx IS NULL AND p2.idx IS NULL ORDER BY a.depth LIMIT 1) p3 ON true"
    " WHERE coalesce(p1.idx, p2.idx, p3.idx) IS NOT NULL AND coalesce((f.fk->>'enforced')::boolean, true)";

static Oid *
checked_table_list(FunctionCallInfo fcinfo, int *n)
{
	Oid *relids = bk_table_list_arg(fcinfo, 0, "tables", n);
	for (int i = 0; i < *n; i++)
	{
		bk_check_table_kind(relids[i], BK_TABLE_ORDER);
	}
	return relids;
}

static ArrayType *
regclass_array(const Oid *relids, const int *order, int n)
{
	Datum *elems = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	for (int k = 0; k < n; k++)
	{
		elems[k] = ObjectIdGetDatum(order != NULL ? relids[order[k]] : relids[k]);
	}
	return construct_array(elems, n, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT);
}

Datum
bk_get_table_restoration_order(PG_FUNCTION_ARGS)
{
	int n;
	Oid *relids = bk_table_list_arg(fcinfo, 0, "tables", &n, false);
	int *order = (int *) palloc(sizeof(int) * n);
	int *level = (int *) palloc(sizeof(int) * n);
	int *group = (int *) palloc(sizeof(int) * n);
	char *kinds = (char *) palloc(n);
	char *persistence = (char *) palloc(n);
	const char **names = (const char **) palloc(sizeof(char *) * n);
	BkOperation op;

	bk_operation_begin(&op, "get_table_restoration_order", 0, 0, NULL);
	bk_describe_relations(relids, n, kinds, persistence, names);
	for (int i = 0; i < n; i++)
	{
		if (names[i] == NULL)
		{
			ereport(ERROR,
			        (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relids[i])));
		}
		if ((kinds[i] != RELKIND_RELATION && kinds[i] != RELKIND_PARTITIONED_TABLE) ||
		    persistence[i] == RELPERSISTENCE_TEMP)
		{
			bk_check_table_kind(relids[i], BK_TABLE_ORDER); // raises the error that says what is wrong, if anything
		}
		bk_check_not_system(relids[i], BK_TABLE_ORDER);
	}
	bk_order_named_relations(relids, names, n, order, level, group);
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
	PG_RETURN_ARRAYTYPE_P(regclass_array(relids, order, n));
}

// The live table a captured entry stands for: the captured oid while it still names a table of the same
// kind (a renamed or moved table keeps its oid), else the table with the captured name; InvalidOid if none.

Datum
bk_get_snapshot_restoration_order(PG_FUNCTION_ARGS)
{
	int64 snapshot_id = bk_snapshot_id_arg(fcinfo, 0);
	BkSnapshot snap;
	BkTableEntry **entries;
	int n;
	int nmissing = 0;
	StringInfoData missing;
	Oid *relids;
	const char **names;
	Datum *e_relids, *e_schemas, *e_tables, *e_fks;
	bool *e_fk_nulls;
	int dims[1];
	int lbs[1] = {1};
	Oid argtypes[4] = {OIDARRAYOID, TEXTARRAYOID, TEXTARRAYOID, JSONBARRAYOID};
	Datum values[4];
	int nedges;
	int *child;
	int *parent;
	int *order;
	int *level;
	int *group;
	BkOperation op;
	ArrayType *result;
	MemoryContext caller = CurrentMemoryContext;

	bk_operation_begin(&op, "get_snapshot_restoration_order", snapshot_id, 0, NULL);
	bk_snapshot_fetch(snapshot_id, &snap);
	entries = bk_table_entries(snapshot_id, &n);
	relids = (Oid *) palloc(sizeof(Oid) * Max(n, 1));
	names = (const char **) palloc(sizeof(char *) * Max(n, 1));
	initStringInfo(&missing);
	for (int i = 0; i < n; i++)
	{
		relids[i] = bk_entry_live_relid(entries[i]);
		if (!OidIsValid(relids[i]))
		{
			appendStringInfo(&missing, "%s\"%s\"", nmissing > 0 ? ", " : "", bk_entry_display_name(entries[i]));
			nmissing++;
			continue;
		}
		names[i] = bk_rel_qualified_name(relids[i]);
	}
	if (nmissing > 0)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_UNDEFINED_TABLE),
		         errmsg_plural("table %s of snapshot " INT64_FORMAT " no longer exists",
		                       "tables %s of snapshot " INT64_FORMAT " no longer exist", nmissing, missing.data,
		                       snapshot_id),
		         errdetail("The order is returned as live tables, so every table of the snapshot must still exist."),
		         errhint("Re-create the tables, or order the remaining ones with "
		                 "backupkit.get_table_restoration_order(regclass[]).")));
	}

	e_relids = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	e_schemas = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	e_tables = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	e_fks = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	e_fk_nulls = (bool *) palloc(sizeof(bool) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		e_relids[i] = ObjectIdGetDatum(entries[i]->relid);
		e_schemas[i] = CStringGetTextDatum(entries[i]->schema_name);
		e_tables[i] = CStringGetTextDatum(entries[i]->table_name);
		e_fks[i] = PointerGetDatum(entries[i]->foreign_keys);
		e_fk_nulls[i] = entries[i]->foreign_keys == NULL;
	}
	dims[0] = n;
	values[0] = PointerGetDatum(construct_array(e_relids, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_array(e_schemas, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(e_tables, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_md_array(e_fks, e_fk_nulls, 1, dims, lbs, JSONBOID, -1, false, TYPALIGN_INT));
	bk_spi_exec(snapshot_edges_sql, 4, argtypes, values, NULL, true, 0);
	nedges = (int) SPI_processed;
	child = (int *) palloc(sizeof(int) * Max(nedges, 1));
	parent = (int *) palloc(sizeof(int) * Max(nedges, 1));
	for (int e = 0; e < nedges; e++)
	{
		bool isnull;
		child[e] = DatumGetInt32(bk_spi_get(e, 1, &isnull));
		parent[e] = DatumGetInt32(bk_spi_get(e, 2, &isnull));
	}
	order = (int *) palloc(sizeof(int) * Max(n, 1));
	level = (int *) palloc(sizeof(int) * Max(n, 1));
	group = (int *) palloc(sizeof(int) * Max(n, 1));
	BK_CORE(bk::order_tables((size_t) n, names, (size_t) nedges, child, parent, order, level, group));
	// Built in the caller's context: the SPI context goes away with SPI_finish.
	{
		MemoryContext old = MemoryContextSwitchTo(caller);
		result = regclass_array(relids, order, n);
		MemoryContextSwitchTo(old);
	}
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
	PG_RETURN_ARRAYTYPE_P(result);
}

// Plan rows are built from the foreign-key edges sorted by child table, then constraint name.
typedef struct PlanEdgeSort
{
	const int *child;
	char *const *connames;
} PlanEdgeSort;

static PlanEdgeSort plan_edge_sort;

static int
plan_edge_cmp(const void *a, const void *b)
{
	int ea = *(const int *) a;
	int eb = *(const int *) b;
	int c = plan_edge_sort.child[ea] - plan_edge_sort.child[eb];
	if (c != 0)
	{
		return c;
	}
	c = strcmp(plan_edge_sort.connames[ea], plan_edge_sort.connames[eb]);
	return c != 0 ? c : ea - eb;
}

Datum
bk_restoration_plan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int n;
	Oid *relids = checked_table_list(fcinfo, &n);
	int *order = (int *) palloc(sizeof(int) * n);
	int *level = (int *) palloc(sizeof(int) * n);
	int *group = (int *) palloc(sizeof(int) * n);
	int *position = (int *) palloc(sizeof(int) * n);
	const char **names = (const char **) palloc(sizeof(char *) * n);
	int *by_child;
	int *first_edge = (int *) palloc0(sizeof(int) * (n + 1));
	int nedges;
	int *child;
	int *parent;
	char **connames;
	BkOperation op;
	Datum *deps;
	Datum *fks;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		names[i] = bk_rel_qualified_name(relids[i]);
	}
	bk_operation_begin(&op, "restoration_plan", 0, 0, NULL);
	bk_relation_fk_edges(relids, n, &nedges, &child, &parent, &connames);
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
	BK_CORE(bk::order_tables((size_t) n, names, (size_t) nedges, child, parent, order, level, group));
	for (int k = 0; k < n; k++)
	{
		position[order[k]] = k;
	}

	by_child = (int *) palloc(sizeof(int) * Max(nedges, 1));
	for (int e = 0; e < nedges; e++)
	{
		by_child[e] = e;
		first_edge[child[e] + 1]++;
	}
	for (int i = 0; i < n; i++)
	{
		first_edge[i + 1] += first_edge[i];
	}
	plan_edge_sort.child = child;
	plan_edge_sort.connames = connames;
	qsort(by_child, nedges, sizeof(int), plan_edge_cmp);

	deps = (Datum *) palloc(sizeof(Datum) * Max(nedges, 1));
	fks = (Datum *) palloc(sizeof(Datum) * Max(nedges, 1));
	for (int k = 0; k < n; k++)
	{
		int i = order[k];
		int ndeps = 0;
		int nfks = 0;
		Oid *dep_oids = (Oid *) palloc(sizeof(Oid) * Max(first_edge[i + 1] - first_edge[i], 1));
		int *dep_pos = (int *) palloc(sizeof(int) * Max(first_edge[i + 1] - first_edge[i], 1));
		Datum out[6];
		bool nulls[6] = {false, false, false, false, false, false};

		for (int p = first_edge[i]; p < first_edge[i + 1]; p++)
		{
			int e = by_child[p];
			int j = parent[e];
			bool seen = false;

			// A foreign key declared on a partitioned table appears once per listed partition: one name.
			if (nfks == 0 || strcmp(TextDatumGetCString(fks[nfks - 1]), connames[e]) != 0)
			{
				fks[nfks++] = CStringGetTextDatum(connames[e]);
			}
			if (j == i)
			{
				continue;
			}
			for (int d = 0; d < ndeps && !seen; d++)
			{
				seen = dep_pos[d] == position[j];
			}
			if (!seen)
			{
				// Insert in restore order.
				int d = ndeps++;
				while (d > 0 && dep_pos[d - 1] > position[j])
				{
					dep_pos[d] = dep_pos[d - 1];
					d--;
				}
				dep_pos[d] = position[j];
			}
		}
		for (int d = 0; d < ndeps; d++)
		{
			dep_oids[d] = relids[order[dep_pos[d]]];
			deps[d] = ObjectIdGetDatum(dep_oids[d]);
		}
		out[0] = Int32GetDatum(k + 1);
		out[1] = ObjectIdGetDatum(relids[i]);
		out[2] = Int32GetDatum(level[i]);
		out[3] = Int32GetDatum(group[i]);
		nulls[3] = group[i] == 0;
		out[4] = PointerGetDatum(construct_array(deps, ndeps, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT));
		out[5] = PointerGetDatum(construct_array(fks, nfks, TEXTOID, -1, false, TYPALIGN_INT));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
	}
	return (Datum) 0;
}
