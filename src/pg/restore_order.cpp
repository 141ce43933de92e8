// Reads the foreign keys among a set of live tables and orders them with bk::order_tables.
extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
}

#include "../core/restore_order.hpp"
#include "boundary.hpp"
#include "restore_order.hpp"
#include "storage.hpp"

void
bk_order_relations(const Oid *relids, int n, int *order, int *level, int *group)
{
	Oid argtypes[1] = {OIDARRAYOID};
	Datum values[1];
	Datum *elems = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	const char **names = (const char **) palloc(sizeof(char *) * Max(n, 1));
	int *child, *parent;
	size_t nedges;

	for (int i = 0; i < n; i++)
	{
		elems[i] = ObjectIdGetDatum(relids[i]);
		names[i] = bk_rel_qualified_name(relids[i]);
	}
	values[0] = PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	// A foreign key declared on, or referencing, a partition counts for the listed table it belongs to
	// (the table itself, or its nearest listed ancestor).
	bk_spi_exec("WITH listed AS (SELECT u.relid, u.i - 1 AS idx FROM unnest($1) WITH ORDINALITY u(relid, i)),"
	            " owner_of AS (SELECT r.oid AS rel, (SELECT l.idx FROM listed l"
	            "     WHERE l.relid = r.oid OR l.relid IN (SELECT a.relid FROM pg_partition_ancestors(r.oid) a)"
	            "     ORDER BY l.relid = r.oid DESC LIMIT 1) AS idx"
	            "   FROM pg_class r WHERE r.relkind IN ('r', 'p')"
	            "     AND (r.oid IN (SELECT relid FROM listed) OR r.relispartition))"
	            " SELECT DISTINCT c.idx, p.idx FROM pg_constraint k"
	            " JOIN owner_of c ON c.rel = k.conrelid JOIN owner_of p ON p.rel = k.confrelid"
	            " WHERE k.contype = 'f' AND c.idx IS NOT NULL AND p.idx IS NOT NULL",
	            1, argtypes, values, NULL, true, 0);
	nedges = (size_t) SPI_processed;
	child = (int *) palloc(sizeof(int) * Max(nedges, 1));
	parent = (int *) palloc(sizeof(int) * Max(nedges, 1));
	for (size_t e = 0; e < nedges; e++)
	{
		bool isnull;
		child[e] = (int) DatumGetInt64(bk_spi_get((int) e, 1, &isnull));
		parent[e] = (int) DatumGetInt64(bk_spi_get((int) e, 2, &isnull));
	}
	BK_CORE(bk::order_tables((size_t) n, names, nedges, child, parent, order, level, group));
}
