// The row-level security rule of captured rows (see rls_scope.hpp), shared by snapshot_rows, diff, every restore
// and dry run, export and validate.
extern "C"
{
#include "postgres.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/rls.h"
}

#include "rls_scope.hpp"

bool
bk_capture_policies_allow(const BkSnapshot *snapshot, Oid relid)
{
	if (GetUserId() == snapshot->created_by)
	{
		return true;
	}
	// noError: with row_security = off, check_enable_rls would raise for a role RLS applies to; it is asked only
	// whether the policies apply.
	return check_enable_rls(relid, snapshot->created_by, true) != RLS_ENABLED &&
	       check_enable_rls(relid, InvalidOid, true) != RLS_ENABLED;
}

void
bk_check_capture_policies(const BkSnapshot *snapshot, Oid relid, const char *verb)
{
	if (!bk_capture_policies_allow(snapshot, relid))
	{
		char *verb_cap = pstrdup(verb);
		verb_cap[0] = (char) pg_toupper((unsigned char) verb_cap[0]);
		ereport(ERROR,
		        (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		         errmsg("permission denied to %s captured rows of table %s", verb, bk_rel_qualified_name(relid)),
		         errdetail("Row-level security applies to the table, and the rows were captured under the "
		                   "policies of another role."),
		         errhint("%s them as the role that took snapshot " INT64_FORMAT ".", verb_cap, snapshot->snapshot_id)));
	}
}

void
bk_check_snapshot_policies(const BkSnapshot *snapshot, const char *verb)
{
	int n;
	BkTableEntry **entries;

	if (GetUserId() == snapshot->created_by)
	{
		return;
	}
	entries = bk_table_entries(snapshot->snapshot_id, &n);
	for (int i = 0; i < n; i++)
	{
		Oid relid = bk_entry_live_relid(entries[i]);
		if (OidIsValid(relid))
		{
			bk_check_capture_policies(snapshot, relid, verb);
		}
	}
}
