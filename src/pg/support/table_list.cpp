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
#include "pg/support/message_names.hpp"
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
				        (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("table \"%s\" is listed more than once in %s",
				                                                          bk_rel_display_name(sorted[i]), argname)));
			}
		}
		pfree(sorted);
	}
	*count = n;
	return relids;
}

// The messages of a refused table, whole for each operation (message_names.hpp), in BkTableOperation order.
// Primary messages are marked with gettext_noop, as PostgreSQL marks messages kept in tables, which is also how
// test/messages/uncovered.pl finds them. BK_TABLE_READ (and EXPORT) only ever meets bk_check_not_system.
typedef struct RefusalMessages
{
	const char *system_table;
	const char *extension_table;
	const char *extension_hint; // NULL: none
	const char *foreign_table;
	const char *foreign_detail;
	const char *foreign_hint; // NULL: none
	const char *other_kind;
	const char *other_session;
} RefusalMessages;

static const RefusalMessages refusals[] = {
    // BK_TABLE_SNAPSHOT
    {gettext_noop("cannot snapshot system table \"%s\""),
     gettext_noop("cannot snapshot table \"%s\" of extension \"backupkit\""),
     "Export snapshots with backupkit.export_snapshot, or back the database up with pg_dump.",
     gettext_noop("cannot snapshot foreign table \"%s\""), "backupkit captures only data stored in this database.",
     "Snapshot the table on the server that stores it.", gettext_noop("cannot snapshot \"%s\""),
     gettext_noop("cannot snapshot temporary table \"%s\" of another session")},
    // BK_TABLE_RESTORE
    {gettext_noop("cannot restore system table \"%s\""),
     gettext_noop("cannot restore table \"%s\" of extension \"backupkit\""),
     "Bring snapshots from another database with backupkit.import_snapshot.",
     gettext_noop("cannot restore foreign table \"%s\""), "backupkit restores only data stored in this database.",
     "Restore the table on the server that stores it.", gettext_noop("cannot restore \"%s\""),
     gettext_noop("cannot restore temporary table \"%s\" of another session")},
    // BK_TABLE_DIFF
    {gettext_noop("cannot diff system table \"%s\""),
     gettext_noop("cannot diff table \"%s\" of extension \"backupkit\""), NULL,
     gettext_noop("cannot diff foreign table \"%s\""), "backupkit compares only data stored in this database.", NULL,
     gettext_noop("cannot diff \"%s\""), gettext_noop("cannot diff temporary table \"%s\" of another session")},
    // BK_TABLE_ORDER
    {gettext_noop("cannot order system table \"%s\""),
     gettext_noop("cannot order table \"%s\" of extension \"backupkit\""), NULL,
     gettext_noop("cannot order foreign table \"%s\""),
     "backupkit orders only tables it can restore, stored in this database.", NULL, gettext_noop("cannot order \"%s\""),
     gettext_noop("cannot order temporary table \"%s\" of another session")},
    // BK_TABLE_DESCRIBE
    {gettext_noop("cannot describe system table \"%s\""),
     gettext_noop("cannot describe table \"%s\" of extension \"backupkit\""), NULL,
     gettext_noop("cannot describe foreign table \"%s\""),
     "backupkit describes only tables it can capture, stored in this database.", NULL,
     gettext_noop("cannot describe \"%s\""), gettext_noop("cannot describe temporary table \"%s\" of another session")},
    // BK_TABLE_READ, and BK_TABLE_EXPORT (which reads the captured rows too)
    {gettext_noop("cannot read captured rows of system table \"%s\""),
     gettext_noop("cannot read captured rows of table \"%s\" of extension \"backupkit\""), NULL, NULL, NULL, NULL, NULL,
     NULL},
};

static const RefusalMessages *
refusal_messages(BkTableOperation op)
{
	return &refusals[op == BK_TABLE_EXPORT ? BK_TABLE_READ : op];
}

// PostgreSQL's catalogs (pg_catalog, information_schema, TOAST tables) and backupkit's own storage are never
// snapshot or restore targets, whoever asks: writing them bypasses the rules that keep the catalogs and the
// snapshots consistent, and reading them into a snapshot captures role passwords. 0A000 as PostgreSQL does for
// operations it does not support on system tables (publications: "not supported for system tables"); the
// relation is a table, so wrong_object_type would mislead.
void
bk_check_not_system(Oid relid, BkTableOperation op)
{
	Oid nsp = get_rel_namespace(relid);
	char *nspname = get_namespace_name(nsp);
	Oid ext = get_extension_oid("backupkit", true);
	const RefusalMessages *m = refusal_messages(op);

	if (IsCatalogRelationOid(relid) || IsCatalogNamespace(nsp) || IsToastNamespace(nsp) ||
	    (nspname != NULL && strcmp(nspname, "information_schema") == 0))
	{
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg(m->system_table, bk_rel_display_name(relid)),
		                errdetail("backupkit does not capture or restore PostgreSQL's system catalogs."),
		                errhint("Use pg_dump or a physical backup for the system catalogs.")));
	}
	if (OidIsValid(ext) && getExtensionOfObject(RelationRelationId, relid) == ext)
	{
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg(m->extension_table, bk_rel_display_name(relid)),
		                errdetail("The table is part of backupkit's own storage."),
		                m->extension_hint != NULL ? errhint("%s", m->extension_hint) : 0));
	}
}

void
bk_check_table_kind(Oid relid, BkTableOperation op)
{
	char kind = get_rel_relkind(relid);
	const RefusalMessages *m = refusal_messages(op);

	Assert(m->other_kind != NULL);
	if (kind == RELKIND_FOREIGN_TABLE)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg(m->foreign_table, bk_rel_display_name(relid)),
		         errdetail("%s", m->foreign_detail), m->foreign_hint != NULL ? errhint("%s", m->foreign_hint) : 0));
	}
	if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg(m->other_kind, bk_rel_display_name(relid)),
		         errdetail_relkind_not_supported(kind), errhint("Only tables and partitioned tables are supported.")));
	}
	bk_check_not_system(relid, op);
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
	{
		Oid nsp = get_rel_namespace(relid);
		if (isOtherTempNamespace(nsp))
		{
			ereport(ERROR,
			        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg(m->other_session, bk_rel_display_name(relid))));
		}
	}
}

void
bk_check_capturable(const Oid *relids, int count)
{
	for (int i = 0; i < count; i++)
	{
		bk_check_table_kind(relids[i], BK_TABLE_SNAPSHOT);
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
				                errmsg("partition \"%s\" is listed together with its partitioned table \"%s\"",
				                       bk_rel_display_name(relids[i]), bk_rel_display_name(relids[j])),
				                errdetail("A partitioned table is captured with all its partitions."),
				                errhint("List either the partitioned table or some of its partitions.")));
			}
		}
	}
}
