// Argument checks shared by the functions that take a list of tables.
extern "C"
{
#include "postgres.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/builtins.h"
#include "access/htup_details.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
}

#include "pg/storage/storage.hpp"
#include "pg/support/table_list.hpp"

Oid *
bk_table_list_arg(FunctionCallInfo fcinfo, int argno, const char *argname, int *count, bool must_exist)
{
	ArrayType *arr;
	Datum *elems;
	bool *nulls;
	int n;
	Oid *relids;

	if (PG_ARGISNULL(argno))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", argname),
		                errhint("Pass an array of tables, for example ARRAY['public.orders']::regclass[].")));
	}
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
	{
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("%s must be a one-dimensional array", argname)));
	}
	deconstruct_array(arr, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must not be empty", argname),
		                errhint("Pass at least one table.")));
	}
	relids = (Oid *) palloc(sizeof(Oid) * n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
		{
			ereport(ERROR,
			        (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not contain null elements", argname)));
		}
		relids[i] = DatumGetObjectId(elems[i]);
		if (must_exist && !SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relids[i])))
		{
			ereport(ERROR,
			        (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relids[i])));
		}
	}
	// Duplicates, found on a sorted copy: lists of thousands of tables are checked in O(n log n).
	{
		Oid *sorted = (Oid *) palloc(sizeof(Oid) * n);
		memcpy(sorted, relids, sizeof(Oid) * n);
		qsort(sorted, n, sizeof(Oid), oid_cmp);
		for (int i = 1; i < n; i++)
		{
			if (sorted[i] == sorted[i - 1])
			{
				ereport(ERROR,
				        (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				         errmsg("table %s is listed more than once in %s", bk_rel_qualified_name(sorted[i]), argname)));
			}
		}
		pfree(sorted);
	}
	*count = n;
	return relids;
}

// PostgreSQL's catalogs (pg_catalog, information_schema, TOAST tables) and backupkit's own storage are never
// snapshot or restore targets, whoever asks: writing them bypasses the rules that keep the catalogs and the
// snapshots consistent, and reading them into a snapshot captures role passwords. 0A000 as PostgreSQL does for
// operations it does not support on system tables (publications: "not supported for system tables"); the
// relation is a table, so wrong_object_type would mislead.
void
bk_check_not_system(Oid relid, const char *verb)
{
	Oid nsp = get_rel_namespace(relid);
	char *nspname = get_namespace_name(nsp);
	Oid ext = get_extension_oid("backupkit", true);

	if (IsCatalogRelationOid(relid) || IsCatalogNamespace(nsp) || IsToastNamespace(nsp) ||
	    (nspname != NULL && strcmp(nspname, "information_schema") == 0))
	{
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("cannot %s system table %s", verb, bk_rel_qualified_name(relid)),
		                errdetail("backupkit does not capture or restore PostgreSQL's system catalogs."),
		                errhint("Use pg_dump or a physical backup for the system catalogs.")));
	}
	if (OidIsValid(ext) && getExtensionOfObject(RelationRelationId, relid) == ext)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		         errmsg("cannot %s table %s of extension \"backupkit\"", verb, bk_rel_qualified_name(relid)),
		         errdetail("The table is part of backupkit's own storage."),
		         errhint("Export snapshots with backupkit.export_snapshot, or back the database up with pg_dump.")));
	}
}

void
bk_check_table_kind(Oid relid, const char *verb)
{
	char kind = get_rel_relkind(relid);
	const char *what = NULL;

	switch (kind)
	{
		case RELKIND_RELATION:
		case RELKIND_PARTITIONED_TABLE:
			break;
		case RELKIND_VIEW:
			what = "a view";
			break;
		case RELKIND_MATVIEW:
			what = "a materialized view";
			break;
		case RELKIND_FOREIGN_TABLE:
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("cannot %s foreign table %s", verb, bk_rel_qualified_name(relid)),
			                errdetail("backupkit captures only data stored in this database."),
			                errhint("Snapshot the table on the server that stores it.")));
			break;
		case RELKIND_SEQUENCE:
			what = "a sequence";
			break;
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			what = "an index";
			break;
		case RELKIND_COMPOSITE_TYPE:
			what = "a composite type";
			break;
		default:
			what = "not a table";
			break;
	}
	if (what != NULL)
	{
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("cannot %s %s", verb, bk_rel_qualified_name(relid)),
		                errdetail("\"%s\" is %s; only tables and partitioned tables are supported.",
		                          get_rel_name(relid), what)));
	}
	bk_check_not_system(relid, verb);
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
	{
		Oid nsp = get_rel_namespace(relid);
		if (isOtherTempNamespace(nsp))
		{
			ereport(ERROR,
			        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			         errmsg("cannot %s temporary table %s of another session", verb, bk_rel_qualified_name(relid))));
		}
	}
}

void
bk_check_capturable(const Oid *relids, int count)
{
	for (int i = 0; i < count; i++)
	{
		bk_check_table_kind(relids[i], "snapshot");
	}
	// A partition listed with one of its ancestors would be captured twice.
	for (int i = 0; i < count; i++)
	{
		if (!get_rel_relispartition(relids[i]))
		{
			continue;
		}
		List *ancestors = get_partition_ancestors(relids[i]);
		for (int j = 0; j < count; j++)
		{
			if (list_member_oid(ancestors, relids[j]))
			{
				ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				                errmsg("partition %s is listed together with its partitioned table %s",
				                       bk_rel_qualified_name(relids[i]), bk_rel_qualified_name(relids[j])),
				                errdetail("A partitioned table is captured with all its partitions."),
				                errhint("List either the partitioned table or some of its partitions.")));
			}
		}
	}
}
