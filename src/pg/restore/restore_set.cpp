// The set of tables of a multi-table restore (restore_set.hpp): resolving the tables to restore and the foreign
// keys among them.
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"

extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

#include "pg/support/message_names.hpp"
#include "pg/citus/citus_tables.hpp"
#include "pg/support/compat.hpp"
#include "pg/support/failure_log.hpp"
#include "pg/support/lock_order.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/progress.hpp"
#include "pg/restore/restore_engine.hpp"
#include "pg/restore/restore_rules.hpp"
#include "pg/restore/restore_functions.hpp"
#include "pg/restore/restore_history.hpp"
#include "pg/support/operation.hpp"
#include "pg/order/restore_order.hpp"
#include "pg/support/rls_scope.hpp"
#include "pg/support/table_list.hpp"
#include "pg/integrity/validate_snapshot.hpp"
#include "pg/restore/restore_set.hpp"

static int
bk_set_index_of(const Oid *relids, int n, Oid relid)
{
	for (int i = 0; i < n; i++)
	{
		if (relids[i] == relid)
		{
			return i;
		}
	}
	return -1;
}

SetForeignKey *
bk_set_foreign_keys(const Oid *relids, int n, int *count)
{
	Oid argtypes[1] = {OIDARRAYOID};
	Datum values[1] = {bk_spi_oid_array(relids, n)};
	SetForeignKey *fks;

	bk_spi_exec("SELECT c.conrelid, c.confrelid, quote_ident(n.nspname) || '.' || quote_ident(c.conname),"
	            " c.conname::text, pg_get_constraintdef(c.oid), c.condeferrable"
	            " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
	            " WHERE c.contype = 'f' AND c.conparentid = 0 AND c.conrelid = ANY ($1) AND c.confrelid = ANY ($1)"
	            "   AND " BK_SQL_FK_ENFORCED " ORDER BY c.conrelid, c.conname",
	            1, argtypes, values, NULL, true, 0);
	*count = (int) SPI_processed;
	fks = (SetForeignKey *) palloc0(sizeof(SetForeignKey) * Max(*count, 1));
	for (int i = 0; i < *count; i++)
	{
		bool isnull;
		fks[i].child = bk_set_index_of(relids, n, DatumGetObjectId(bk_spi_get(i, 1, &isnull)));
		fks[i].parent = bk_set_index_of(relids, n, DatumGetObjectId(bk_spi_get(i, 2, &isnull)));
		fks[i].name = bk_spi_get_text(i, 3);
		fks[i].conname = bk_spi_get_text(i, 4);
		fks[i].definition = bk_spi_get_text(i, 5);
		fks[i].deferrable = DatumGetBool(bk_spi_get(i, 6, &isnull));
	}
	return fks;
}

void
bk_set_resolve_tables(FunctionCallInfo fcinfo, int64 snapshot_id, Oid **relids_out, BkTableEntry ***entries_out,
                      bool **by_oid_out, int *n_out)
{
	Oid *relids;
	BkTableEntry **entries;
	bool *by_oid;
	int n;

	if (PG_ARGISNULL(1))
	{
		entries = bk_table_entries(snapshot_id, &n);
		relids = (Oid *) palloc(sizeof(Oid) * Max(n, 1));
		by_oid = (bool *) palloc(sizeof(bool) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			BkTableEntry *e = entries[i];
			relids[i] = bk_entry_live_relid(e);
			by_oid[i] = relids[i] == e->relid;
			if (!OidIsValid(relids[i]))
			{
				ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
				                errmsg("table \"%s\" of snapshot " INT64_FORMAT " no longer exists",
				                       bk_entry_display_name(e), snapshot_id),
				                errhint("Re-create the table, or list the tables to restore.")));
			}
			// Checked before anything is locked: a snapshot whose entry names a catalog must not lock it.
			bk_check_table_kind(relids[i], BK_TABLE_RESTORE);
		}
	}
	else
	{
		relids = bk_table_list_arg(fcinfo, 1, "tables", &n);
		entries = (BkTableEntry **) palloc(sizeof(BkTableEntry *) * n);
		by_oid = (bool *) palloc(sizeof(bool) * n);
		for (int i = 0; i < n; i++)
		{
			bk_check_table_kind(relids[i], BK_TABLE_RESTORE);
			entries[i] = bk_table_entry_required(snapshot_id, relids[i], &by_oid[i]);
		}
	}
	*relids_out = relids;
	*entries_out = entries;
	*by_oid_out = by_oid;
	*n_out = n;
}
