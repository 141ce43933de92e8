// backupkit.snapshot_definitions and backupkit.table_definition: the captured table definitions of a snapshot (see
// table_definition.hpp), after checking that the caller may use the snapshot and that every definition is the sealed
// one. The SQL functions that turn definitions into DDL (snapshot_ddl, recreate_table) read them only through it.
extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include "pg/storage/metadata_checksum.hpp"
#include "pg/storage/storage.hpp"
#include "pg/schema/table_definition.hpp"
#include "pg/support/table_list.hpp"
#include "pg/support/operation.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_snapshot_definitions);
	PG_FUNCTION_INFO_V1(bk_table_definition);
}

Datum
bk_snapshot_definitions(PG_FUNCTION_ARGS)
{
	int64 snapshot_id = bk_snapshot_id_arg(fcinfo, 0);
	char *name = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid argtypes[2] = {INT8OID, TEXTOID};
	Datum values[2] = {Int64GetDatum(snapshot_id), name ? CStringGetTextDatum(name) : (Datum) 0};
	char nulls[2] = {' ', name ? ' ' : 'n'};
	BkSnapshot snap;
	BkOwnerAccess access;
	BkOperation op;

	InitMaterializedSRF(fcinfo, 0);
	bk_operation_begin(&op, "snapshot_definitions", 0, 0, NULL);
	bk_snapshot_fetch(snapshot_id, &snap);
	// Refuse before handing out anything: DDL built from a changed definition would run it.
	bk_metadata_verify_all(snapshot_id);
	bk_owner_begin(&access);
	bk_spi_exec("SELECT table_no, pg_catalog.format('%I.%I', schema_name, table_name), definition"
	            " FROM backupkit.snapshot_table WHERE snapshot_id = $1 AND ($2 IS NULL"
	            " OR pg_catalog.format('%I.%I', schema_name, table_name) = $2"
	            " OR schema_name::text || '.' || table_name::text = $2) ORDER BY table_no",
	            2, argtypes, values, nulls, true, 0);
	bk_owner_end(&access);
	if (name != NULL && SPI_processed == 0)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
		                errmsg("table \"%s\" is not part of snapshot " INT64_FORMAT, name, snapshot_id),
		                errhint("Name the table as captured, schema-qualified, e.g. 'public.orders'.")));
	}
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum out[3];
		bool isnull[3];
		for (int c = 0; c < 3; c++)
		{
			out[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1, &isnull[c]);
		}
		if (isnull[2])
		{
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("snapshot " INT64_FORMAT " has no definition of table \"%s\"", snapshot_id,
			                       TextDatumGetCString(out[1])),
			                errdetail("The snapshot was taken before backupkit recorded table definitions; it restores "
			                          "rows only."),
			                errhint("Take a new snapshot to record the definitions.")));
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, isnull);
	}
	return bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
}

// backupkit.table_definition: the definition a snapshot would record for a live table now (the same query,
// the same pinned settings), so that captured and current definitions compare field by field.
Datum
bk_table_definition(PG_FUNCTION_ARGS)
{
	Oid relid = PG_GETARG_OID(0);
	BkOperation op;
	Datum d;
	MemoryContext caller = CurrentMemoryContext;

	bk_check_table_kind(relid, BK_TABLE_DESCRIBE);
	bk_operation_begin(&op, "table_definition", 0, 0, NULL);
	d = bk_read_table_definition(relid);
	MemoryContextSwitchTo(caller);
	d = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
	return bk_operation_end(&op, d, BK_OP_RESULT_AS_IS);
}
