// The row-level security rule of captured rows (see rls_scope.hpp), shared by snapshot_rows, diff, every restore
// and dry run, export and validate.
extern "C"
{
#include "postgres.h"
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/rls.h"
#include "utils/syscache.h"
}

#include "pg/support/rls_scope.hpp"

// Whether row-level security is enabled on the table at all (then it applies to some roles).
static bool
rls_enabled_on(Oid relid)
{
	HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool enabled;

	if (!HeapTupleIsValid(tuple))
	{
		return false;
	}
	enabled = ((Form_pg_class) GETSTRUCT(tuple))->relrowsecurity;
	ReleaseSysCache(tuple);
	return enabled;
}

// The role whose policies filtered the capture: the creator, except for a snapshot imported from another role's
// export, where it is the role that took the original (by name); InvalidOid when no such role exists here.
// Importing must not turn someone else's filtered capture into one's own.
static Oid
capturing_role(const BkSnapshot *snapshot)
{
	Oid argtypes[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(snapshot->snapshot_id)};
	BkOwnerAccess access;
	char *original;

	bk_owner_begin(&access);
	bk_spi_exec("SELECT origin->'imported_from'->>'created_by' FROM backupkit.snapshot WHERE snapshot_id = $1"
	            " AND origin->'imported_from'->>'created_by' IS DISTINCT FROM created_by_name::text",
	            1, argtypes, values, NULL, true, 1);
	original = SPI_processed == 0 ? NULL : bk_spi_get_text(0, 1);
	bk_owner_end(&access);
	if (original == NULL)
	{
		return snapshot->created_by;
	}
	return get_role_oid(original, true);
}

Datum
bk_definition_with_capture_rls(Datum definition, Oid relid)
{
	// noError: with row_security = off the capture itself fails for a role the policies apply to.
	bool active = check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED;
	Datum flag = DirectFunctionCall1(
	    jsonb_in, CStringGetDatum(active ? "{\"capture_rls_active\": true}" : "{\"capture_rls_active\": false}"));
	return DirectFunctionCall2(jsonb_concat, definition, flag);
}

// 1 when the capture recorded that row-level security filtered it, 0 when it recorded that it did not, -1 when
// it recorded nothing (snapshots taken before definitions were captured, or a table not in the snapshot).
static int
capture_was_filtered(const BkSnapshot *snapshot, Oid relid)
{
	Oid argtypes[2] = {INT8OID, INT4OID};
	Datum values[2];
	BkOwnerAccess access;
	bool by_oid;
	bool isnull = true;
	Datum flag = (Datum) 0;
	BkTableEntry *entry = bk_table_entry_for(snapshot->snapshot_id, relid, &by_oid);

	if (entry == NULL)
	{
		return -1;
	}
	values[0] = Int64GetDatum(snapshot->snapshot_id);
	values[1] = Int32GetDatum(entry->table_no);
	bk_owner_begin(&access);
	bk_spi_exec("SELECT (definition->>'capture_rls_active')::boolean FROM backupkit.snapshot_table"
	            " WHERE snapshot_id = $1 AND table_no = $2",
	            2, argtypes, values, NULL, true, 1);
	if (SPI_processed == 1)
	{
		flag = bk_spi_get(0, 1, &isnull);
	}
	bk_owner_end(&access);
	return isnull ? -1 : (DatumGetBool(flag) ? 1 : 0);
}

bool
bk_capture_policies_allow(const BkSnapshot *snapshot, Oid relid)
{
	Oid capturer;
	int filtered = capture_was_filtered(snapshot, relid);

	// A filtered capture holds only what its role saw: only that role may use it, even once the table's
	// policies have changed or row-level security is off (anyone else would take the missing rows for deleted).
	if (filtered != 1 && !rls_enabled_on(relid))
	{
		return true;
	}
	capturer = capturing_role(snapshot);
	if (!OidIsValid(capturer))
	{
		return false;
	}
	if (GetUserId() == capturer)
	{
		return true;
	}
	if (filtered == 1)
	{
		return false;
	}
	// noError: with row_security = off, check_enable_rls would raise for a role RLS applies to; it is asked only
	// whether the policies apply.
	return check_enable_rls(relid, capturer, true) != RLS_ENABLED &&
	       check_enable_rls(relid, InvalidOid, true) != RLS_ENABLED;
}

void
bk_check_capture_policies(const BkSnapshot *snapshot, Oid relid, BkTableOperation op)
{
	const char *message;
	const char *hint;

	if (bk_capture_policies_allow(snapshot, relid))
	{
		return;
	}
	switch (op)
	{
		case BK_TABLE_RESTORE:
			message = gettext_noop("permission denied to restore captured rows of table \"%s\"");
			hint = "Restore them as the role that took snapshot " INT64_FORMAT ".";
			break;
		case BK_TABLE_EXPORT:
			message = gettext_noop("permission denied to export captured rows of table \"%s\"");
			hint = "Export them as the role that took snapshot " INT64_FORMAT ".";
			break;
		default:
			message = gettext_noop("permission denied to read captured rows of table \"%s\"");
			hint = "Read them as the role that took snapshot " INT64_FORMAT ".";
			break;
	}
	ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg(message, bk_rel_display_name(relid)),
	                errdetail("Row-level security applies to the table, and the rows were captured under the "
	                          "policies of another role."),
	                errhint(hint, snapshot->snapshot_id)));
}

void
bk_check_snapshot_policies(const BkSnapshot *snapshot, BkTableOperation op)
{
	int n;
	BkTableEntry **entries = bk_table_entries(snapshot->snapshot_id, &n);

	for (int i = 0; i < n; i++)
	{
		Oid relid = bk_entry_live_relid(entries[i]);
		if (OidIsValid(relid))
		{
			bk_check_capture_policies(snapshot, relid, op);
		}
	}
}
