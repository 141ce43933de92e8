// Detection and refusal of Citus-managed tables (see citus_tables.hpp).
//
// Why each operation is refused (measured on a Citus 13.2 cluster, issue 14):
// - restore, every mode and dry run: the copy path's TRUNCATE goes through Citus and empties the shards,
//   but the C-level COPY writes into the coordinator's shell heap, which Citus never reads (silent loss of
//   the whole table); the staged paths join temporary tables with Citus tables, which Citus cannot plan; the
//   tuple ids and xids the in-place shortcuts rely on belong to the shell, not to the shards.
// - diff: the same staged joins.
// - snapshot: a quiet table is captured exactly, but Citus reads the shards on several connections, each
//   under its own MVCC snapshot, so a snapshot taken under concurrent multi-shard writes is silently
//   inconsistent (and Citus materializes the whole result on the coordinator). backupkit's promise is one
//   consistent snapshot; a warning would go unseen by scheduled snapshots, so it refuses.
#include "core/plan/citus_table_type.hpp"

extern "C"
{
#include "postgres.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

#include "pg/citus/citus_tables.hpp"

typedef struct ListedRelid
{
	Oid relid;
	int position; // in the caller's list, so the first listed Citus table is the one named
} ListedRelid;

static int
listed_relid_cmp(const void *a, const void *b)
{
	Oid x = ((const ListedRelid *) a)->relid;
	Oid y = ((const ListedRelid *) b)->relid;
	return x < y ? -1 : (x > y ? 1 : 0);
}

// The char or integer column of a pg_dist_partition row, or a default when this Citus version lacks it.
static Datum
dist_column(HeapTuple tuple, TupleDesc desc, AttrNumber attnum, Datum missing)
{
	bool isnull = true;
	Datum value = attnum != InvalidAttrNumber ? heap_getattr(tuple, attnum, desc, &isnull) : (Datum) 0;
	return isnull ? missing : value;
}

// Finds the first of relids (in list order) that pg_dist_partition lists; false when none is, or when Citus
// is not installed in this database.
static bool
find_citus_table(const Oid *relids, int n, Oid *found, bk::CitusTableType *type)
{
	Oid dist_partition;
	Relation rel;
	SysScanDesc scan;
	HeapTuple tuple;
	AttrNumber att_relid, att_method, att_repmodel, att_colocation;
	ListedRelid *sorted;
	int best = -1;

	if (n == 0 || !OidIsValid(get_extension_oid("citus", true)))
	{
		return false;
	}
	dist_partition = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
	if (!OidIsValid(dist_partition))
	{
		return false;
	}
	att_relid = get_attnum(dist_partition, "logicalrelid");
	att_method = get_attnum(dist_partition, "partmethod");
	att_repmodel = get_attnum(dist_partition, "repmodel");
	att_colocation = get_attnum(dist_partition, "colocationid");
	if (att_relid == InvalidAttrNumber)
	{
		elog(ERROR, "pg_catalog.pg_dist_partition has no column logicalrelid");
	}

	sorted = (ListedRelid *) palloc(sizeof(ListedRelid) * n);
	for (int i = 0; i < n; i++)
	{
		sorted[i].relid = relids[i];
		sorted[i].position = i;
	}
	qsort(sorted, n, sizeof(ListedRelid), listed_relid_cmp);

	// One pass over Citus's table list (one row per Citus table) serves any number of listed tables; a single
	// table is looked up by key, through Citus's index on logicalrelid when there is one.
	rel = table_open(dist_partition, AccessShareLock);
	if (n == 1)
	{
		ScanKeyData key;
		Oid index = get_relname_relid("pg_dist_partition_logical_relid_index", PG_CATALOG_NAMESPACE);
		ScanKeyInit(&key, att_relid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relids[0]));
		scan = systable_beginscan(rel, index, OidIsValid(index), NULL, 1, &key);
	}
	else
	{
		scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	}
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		TupleDesc desc = RelationGetDescr(rel);
		ListedRelid probe;
		ListedRelid *hit;

		probe.relid = DatumGetObjectId(dist_column(tuple, desc, att_relid, ObjectIdGetDatum(InvalidOid)));
		hit = (ListedRelid *) bsearch(&probe, sorted, n, sizeof(ListedRelid), listed_relid_cmp);
		if (hit == NULL || (best >= 0 && hit->position >= best))
		{
			continue;
		}
		best = hit->position;
		*found = hit->relid;
		*type = bk::classify_citus_table(DatumGetChar(dist_column(tuple, desc, att_method, CharGetDatum('\0'))),
		                                 DatumGetChar(dist_column(tuple, desc, att_repmodel, CharGetDatum('\0'))),
		                                 (unsigned) DatumGetInt32(dist_column(tuple, desc, att_colocation, 0)));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	pfree(sorted);
	return best >= 0;
}

void
bk_refuse_citus_tables(const Oid *relids, int n, BkCitusOperation op)
{
	Oid relid = InvalidOid;
	bk::CitusTableType type = bk::CitusTableType::unrecognized;
	const char *type_name;
	char *what;
	char *nsp;

	if (!find_citus_table(relids, n, &relid, &type))
	{
		return;
	}
	type_name = bk::citus_table_type_name(type);
	nsp = get_namespace_name(get_rel_namespace(relid));
	// "Citus distributed table "public.orders"", or "Citus table ..." for a type this version does not know.
	what = psprintf("Citus %s%stable \"%s.%s\"", type_name, type_name[0] != '\0' ? " " : "", nsp ? nsp : "?",
	                get_rel_name(relid));
	switch (op)
	{
		case BK_CITUS_SNAPSHOT:
		case BK_CITUS_SCHEDULE:
			ereport(ERROR,
			        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			         errmsg(op == BK_CITUS_SNAPSHOT ? "cannot snapshot %s" : "cannot schedule snapshots of %s", what),
			         errdetail("Citus reads each shard on its own connection under its own MVCC snapshot, so writes "
			                   "committed while the snapshot runs could be captured in part; backupkit does not "
			                   "capture Citus tables yet."),
			         errhint("Leave the tables Citus manages out of the list; for them, use "
			                 "citus_create_restore_point() with physical backups of every node until backupkit "
			                 "supports Citus.")));
			break;
		case BK_CITUS_RESTORE:
			ereport(ERROR,
			        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("cannot restore %s", what),
			         errdetail("backupkit would write the rows into the coordinator's shell table, which Citus does "
			                   "not read, or compare them in joins Citus cannot plan; it does not restore Citus "
			                   "tables yet."),
			         errhint("Leave the Citus tables out of the restore; to put their rows back now, insert them "
			                 "through Citus with INSERT ... SELECT from backupkit.snapshot_rows().")));
			break;
		case BK_CITUS_DIFF:
			ereport(ERROR,
			        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("cannot diff %s", what),
			         errdetail("The comparison joins a temporary table with the Citus table, which Citus cannot "
			                   "plan; backupkit does not compare Citus tables yet."),
			         errhint("Compare the rows of backupkit.snapshot_rows() with the table in SQL until backupkit "
			                 "supports Citus.")));
			break;
	}
}
