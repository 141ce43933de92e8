// bk_chunk_failure_probe: hands a core failure (SQLSTATE, message, detail) to bk_chunk_core_failure, the
// function every chunk call site (chunk_reader, copy_loader, snapshot_rows) raises a failed src/core call with.
// No data a user can store makes src/core fail on a chunk with anything but corruption (the key stage's limits
// are checked before the call, out of memory cannot be provoked on demand), so sql/chunk_failure_sqlstate.sql
// binds this as superuser (CREATE FUNCTION ... AS 'backupkit', 'bk_chunk_failure_probe', as tests bind
// bk_checksum64) to prove that a failure other than corruption keeps its own SQLSTATE, message and detail.
// Not part of the install script; it only raises the error it is given.
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "fmgr.h"
#include "utils/builtins.h"
}

#include "pg/support/compat.hpp"
#include "pg/storage/chunk_reader.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_chunk_failure_probe);
}

Datum
bk_chunk_failure_probe(PG_FUNCTION_ARGS)
{
	BkTableEntry *entry = (BkTableEntry *) palloc0(sizeof(BkTableEntry));
	BkErrorInfo err;
	char *sqlstate;

	if (PG_NARGS() != 7)
	{
		elog(ERROR, "bk_chunk_failure_probe takes seven arguments");
	}
	for (int i = 0; i < 7; i++)
	{
		if (PG_ARGISNULL(i))
		{
			elog(ERROR, "bk_chunk_failure_probe takes no null argument");
		}
	}
	entry->snapshot_id = PG_GETARG_INT64(0);
	entry->schema_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	entry->table_name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	sqlstate = text_to_cstring(PG_GETARG_TEXT_PP(4));
	if (strlen(sqlstate) != 5)
	{
		elog(ERROR, "a SQLSTATE has five characters");
	}
	bk_error_info_set(&err, sqlstate, text_to_cstring(PG_GETARG_TEXT_PP(5)), text_to_cstring(PG_GETARG_TEXT_PP(6)), "");
	bk_chunk_core_failure(entry, PG_GETARG_INT32(3), &err);
	PG_RETURN_VOID();
}
