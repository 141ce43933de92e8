// backupkit.drop_snapshot and backupkit.snapshot_contents.
extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include "pg/support/failure_log.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/operation.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_drop_snapshot);
	PG_FUNCTION_INFO_V1(bk_snapshot_contents);
}

Datum
bk_drop_snapshot(PG_FUNCTION_ARGS)
{
	int64 snapshot_id = bk_snapshot_id_arg(fcinfo, 0);
	Oid argtypes[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(snapshot_id)};
	BkSnapshot snap;
	BkOwnerAccess access;
	BkOperation op;

	bk_operation_begin(&op, "drop", snapshot_id, BK_OP_WATCH | BK_OP_NO_SETTINGS, NULL);
	// Lock the row for its delete before bk_snapshot_fetch reads it FOR KEY SHARE: two drops of one snapshot
	// that both held KEY SHARE deadlocked, one waiting on the snapshot row, the other on the chunks the
	// first had deleted (test/fault/040_concurrent.sh). The second drop now waits, then finds no snapshot.
	bk_owner_begin(&access);
	bk_spi_exec("SELECT FROM backupkit.snapshot WHERE snapshot_id = $1 FOR UPDATE", 1, argtypes, values, NULL, false,
	            0);
	bk_owner_end(&access);
	bk_snapshot_fetch(snapshot_id, &snap);
	if (snap.pinned)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_OBJECT_IN_USE), errmsg("snapshot " INT64_FORMAT " is pinned", snapshot_id),
		         errhint("Unpin it first with SELECT backupkit.pin_snapshot(" INT64_FORMAT ", false).", snapshot_id)));
	}
	bk_owner_begin(&access);
	// Chunks first: deleting them directly is cheaper than through the cascading foreign key.
	bk_spi_exec("DELETE FROM backupkit.snapshot_chunk WHERE snapshot_id = $1", 1, argtypes, values, NULL, false, 0);
	bk_spi_exec("DELETE FROM backupkit.snapshot WHERE snapshot_id = $1", 1, argtypes, values, NULL, false, 0);
	bk_owner_end(&access);
	bk_operation_log_success(&op, 0, NULL);
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
	PG_RETURN_BOOL(true);
}

Datum
bk_snapshot_contents(PG_FUNCTION_ARGS)
{
	int64 snapshot_id = bk_snapshot_id_arg(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid argtypes[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(snapshot_id)};
	BkSnapshot snap;
	BkOwnerAccess access;
	BkOperation op;

	InitMaterializedSRF(fcinfo, 0);
	bk_operation_begin(&op, "snapshot_contents", snapshot_id, BK_OP_NO_SETTINGS, NULL);
	bk_snapshot_fetch(snapshot_id, &snap);
	bk_owner_begin(&access);
	bk_spi_exec("SELECT format('%I.%I', schema_name, table_name), row_count, raw_bytes, stored_bytes, chunk_count,"
	            " checksum FROM backupkit.snapshot_table WHERE snapshot_id = $1 ORDER BY table_no",
	            1, argtypes, values, NULL, true, 0);
	bk_owner_end(&access);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum out[6];
		bool nulls[6];
		for (int c = 0; c < 6; c++)
		{
			out[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1, &nulls[c]);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
	}
	return bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
}
