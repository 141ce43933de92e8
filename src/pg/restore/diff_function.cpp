// backupkit.diff: the rows that differ between a snapshot and the live table, matched by key with a hash or
// merge join over a staged copy of the snapshot, streamed into a tuplestore (which spills to disk).
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"

extern "C"
{
#include "postgres.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"
}

#include "pg/citus/citus_tables.hpp"
#include "pg/restore/restore_engine.hpp"
#include "pg/support/table_list.hpp"
#include "pg/support/message_names.hpp"
#include "pg/support/operation.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_diff);
}

Datum
bk_diff(PG_FUNCTION_ARGS)
{
	int64 snapshot_id = bk_snapshot_id_arg(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BkRestoreOptions opts;
	BkSnapshot snap;
	BkTableEntry *entry;
	BkTablePlan *plan;
	bool by_oid;
	Oid relid;
	BkOperation op;
	SPIPlanPtr qplan;
	Portal portal;

	relid = bk_table_name_arg(fcinfo, 1);
	InitMaterializedSRF(fcinfo, 0);
	bk_operation_begin(&op, "diff", 0, 0, NULL);
	bk_snapshot_fetch(snapshot_id, &snap);
	bk_refuse_citus_tables(&relid, 1, BK_CITUS_DIFF);
	bk_check_table_kind(relid, BK_TABLE_DIFF);
	entry = bk_table_entry_required(snapshot_id, relid, &by_oid);
	bk_check_snapshot_readable(&snap, relid);
	memset(&opts, 0, sizeof(opts));
	opts.mode = bk::RestoreMode::replace;
	opts.dry_run = true;
	opts.set_relids = &relid;
	opts.set_count = 1;
	plan = bk_restore_plan(&snap, entry, relid, by_oid, &opts);
	qplan = bk_spi_prepare(bk_restore_diff_query(plan), 0, NULL);
	// Not read-only: the query must see the staged rows written by this call.
	portal = SPI_cursor_open(NULL, qplan, NULL, NULL, false);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
		{
			break;
		}
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			Datum values[4];
			bool nulls[4];
			for (int c = 0; c < 4; c++)
			{
				values[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1, &nulls[c]);
			}
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	return bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
}
