// Detection of Citus-managed tables, and refusal of those backupkit cannot handle (see citus_tables.hpp).
//
// Hash-distributed and reference tables are captured, restored and compared through the coordinator with
// statements Citus plans itself (citus_snapshot.cpp, citus_restore.cpp). The others are refused before
// anything changes: Citus local and single-shard tables, and range- or append-distributed ones, have not been
// proven through those paths. Step 1 of issue 14 (measured on Citus 13.2) found why nothing else may reach a
// Citus table: the copy path's C-level COPY writes into the coordinator's shell heap, which Citus never reads
// (silent loss of the whole table), the staged paths' correlated subqueries and joins with ONLY cannot be
// planned by Citus, and the tuple ids and xids of the in-place shortcuts belong to the shell, not the shards.
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
#include "pg/support/message_names.hpp"

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

// Finds the first of relids (in list order) that pg_dist_partition lists (with unsupported_only, the first
// that backupkit cannot handle: see bk_citus_supported); false when none is, or when Citus is not installed
// in this database.
static bool
find_citus_table(const Oid *relids, int n, bool unsupported_only, Oid *found, bk::CitusTableType *type,
                 char *partmethod)
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
		bk::CitusTableType kind;
		char method;

		probe.relid = DatumGetObjectId(dist_column(tuple, desc, att_relid, ObjectIdGetDatum(InvalidOid)));
		hit = (ListedRelid *) bsearch(&probe, sorted, n, sizeof(ListedRelid), listed_relid_cmp);
		if (hit == NULL || (best >= 0 && hit->position >= best))
		{
			continue;
		}
		method = DatumGetChar(dist_column(tuple, desc, att_method, CharGetDatum('\0')));
		kind =
		    bk::classify_citus_table(method, DatumGetChar(dist_column(tuple, desc, att_repmodel, CharGetDatum('\0'))),
		                             (unsigned) DatumGetInt32(dist_column(tuple, desc, att_colocation, 0)));
		if (unsupported_only && bk_citus_supported(kind, method))
		{
			continue;
		}
		best = hit->position;
		*found = hit->relid;
		*type = kind;
		*partmethod = method;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	pfree(sorted);
	return best >= 0;
}

bool
bk_citus_supported(bk::CitusTableType type, char partmethod)
{
	return type == bk::CitusTableType::reference || (type == bk::CitusTableType::distributed && partmethod == 'h');
}

bool
bk_citus_table(Oid relid, BkCitusTable *info)
{
	Oid found = InvalidOid;
	bk::CitusTableType type = bk::CitusTableType::unrecognized;
	char method = '\0';

	if (!find_citus_table(&relid, 1, false, &found, &type, &method))
	{
		return false;
	}
	if (info != NULL)
	{
		info->type = type;
		info->partmethod = method;
		info->supported = bk_citus_supported(type, method);
	}
	return true;
}

const char *
bk_citus_type_label(bk::CitusTableType type, char partmethod)
{
	switch (type)
	{
		case bk::CitusTableType::distributed:
			return partmethod == 'h' ? "hash-distributed"
			                         : (partmethod == 'r' ? "range-distributed"
			                                              : (partmethod == 'a' ? "append-distributed" : "distributed"));
		case bk::CitusTableType::reference:
			return "reference";
		case bk::CitusTableType::citus_local:
			return "local";
		case bk::CitusTableType::single_shard:
			return "single-shard";
		case bk::CitusTableType::unrecognized:
			break;
	}
	return "unrecognized";
}

void
bk_refuse_citus_tables(const Oid *relids, int n, BkCitusOperation op)
{
	Oid relid = InvalidOid;
	bk::CitusTableType type = bk::CitusTableType::unrecognized;
	char method = '\0';
	char *name;
	const char *label;

	// Definitions are restored with plain DDL, whatever the Citus type; the rest refuses what it cannot handle.
	if (!find_citus_table(relids, n, op != BK_CITUS_SCHEMA_RESTORE, &relid, &type, &method))
	{
		return;
	}
	name = bk_rel_display_name(relid);
	label = bk_citus_type_label(type, method);
	// Each operation has its own whole message; the Citus type is a value named in the detail, not a word of the
	// sentence.
	switch (op)
	{
		case BK_CITUS_SNAPSHOT:
		case BK_CITUS_SCHEDULE:
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg(op == BK_CITUS_SNAPSHOT ? "cannot snapshot Citus table \"%s\""
			                                               : "cannot schedule snapshots of Citus table \"%s\"",
			                       name),
			                errdetail("The table's Citus type is \"%s\"; backupkit captures hash-distributed and "
			                          "reference tables only.",
			                          label),
			                errhint("Leave this table out of the list; for it, use citus_create_restore_point() with "
			                        "physical backups of every node.")));
			break;
		case BK_CITUS_RESTORE:
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("cannot restore Citus table \"%s\"", name),
			                errdetail("The table's Citus type is \"%s\"; backupkit restores hash-distributed and "
			                          "reference tables only.",
			                          label),
			                errhint("Leave this table out of the restore; to put its rows back, insert them through "
			                        "Citus with INSERT ... SELECT from backupkit.snapshot_rows().")));
			break;
		case BK_CITUS_DIFF:
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("cannot diff Citus table \"%s\"", name),
			                errdetail("The table's Citus type is \"%s\"; backupkit compares hash-distributed and "
			                          "reference tables only.",
			                          label),
			                errhint("Compare the rows of backupkit.snapshot_rows() with the table in SQL.")));
			break;
		case BK_CITUS_SCHEMA_RESTORE:
			ereport(
			    ERROR,
			    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			     errmsg("cannot restore the definition of Citus table \"%s\"", name),
			     errdetail("Definitions are re-created with plain DDL, which Citus would not distribute as they were; "
			               "the table's Citus type is \"%s\".",
			               label),
			     errhint("Restore the contents of Citus tables with schema => 'keep'.")));
			break;
	}
}
