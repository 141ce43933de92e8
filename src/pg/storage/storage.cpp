// Running as the extension owner while touching backupkit's own tables (see storage.hpp).
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
#include "pg/storage/storage.hpp"
#include "pg/support/version_check.hpp"
#include "pg/support/message_names.hpp"

static Oid
extension_oid(void)
{
	Oid ext = get_extension_oid("backupkit", true);
	if (!OidIsValid(ext))
	{
		ereport(ERROR,
		        (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("extension \"backupkit\" is not installed"),
		         errhint("Run CREATE EXTENSION backupkit in this database.")));
	}
	return ext;
}

Oid
bk_extension_owner(void)
{
	Oid ext = extension_oid();
	Relation rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ext));
	SysScanDesc scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	HeapTuple tuple = systable_getnext(scan);
	Oid owner = InvalidOid;
	if (HeapTupleIsValid(tuple))
	{
		owner = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(owner))
	{
		elog(ERROR, "could not find the owner of extension \"backupkit\"");
	}
	return owner;
}

// Nothing a user defines runs under the switch: backupkit runs only its own statements on its own tables
// there (no user triggers, policies, index expressions or types on them; operators and functions resolved
// under the pinned search_path, values passed as parameters of built-in types), and never type I/O or
// triggers of user tables. SECURITY_RESTRICTED_OPERATION is the second line, as for PostgreSQL's maintenance
// commands: should anything else ever run there (a trigger a superuser put on backupkit's tables), it cannot
// change role, create temporary objects or leave anything behind for a later caller to run as the owner
// (test/pgtap/045_owner_switch_restricted.sql).
void
bk_owner_begin(BkOwnerAccess *access)
{
	GetUserIdAndSecContext(&access->saved_user, &access->saved_sec_context);
	SetUserIdAndSecContext(bk_extension_owner(),
	                       access->saved_sec_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
}

void
bk_owner_end(const BkOwnerAccess *access)
{
	SetUserIdAndSecContext(access->saved_user, access->saved_sec_context);
}
