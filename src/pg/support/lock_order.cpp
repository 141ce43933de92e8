// Locking the tables of an operation in one global order (see lock_order.hpp).
extern "C"
{
#include "postgres.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
}

#include "pg/support/lock_order.hpp"

// Whether the caller holds any privilege on the table that an operation of backupkit could use.
static bool
may_lock(Oid relid)
{
	Oid user = GetUserId();
	AclMode any = ACL_SELECT | ACL_INSERT | ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE;
	return pg_class_aclmask(relid, user, any, ACLMASK_ANY) != 0 ||
	       pg_attribute_aclcheck_all(relid, user, ACL_SELECT, ACLMASK_ANY) == ACLCHECK_OK;
}

void
bk_lock_in_order(const Oid *relids, int n, LOCKMODE mode)
{
	List *all = NIL;
	Oid prev = InvalidOid;
	ListCell *lc;

	for (int i = 0; i < n; i++)
	{
		if (!may_lock(relids[i]))
		{
			continue;
		}
		if (get_rel_relkind(relids[i]) == RELKIND_PARTITIONED_TABLE)
		{
			// NoLock: the partitions are locked below, in the global order, with the rest.
			all = list_concat(all, find_all_inheritors(relids[i], NoLock, NULL));
		}
		else
		{
			all = lappend_oid(all, relids[i]);
		}
	}
	// Sorted, then duplicates skipped: thousands of tables stay O(n log n).
	list_sort(all, list_oid_cmp);
	foreach (lc, all)
	{
		Oid relid = lfirst_oid(lc);
		if (relid != prev)
		{
			LockRelationOid(relid, mode);
		}
		prev = relid;
	}
	list_free(all);
}
