// bk_checksum64: the XXH64 (seed 0) backupkit stores for chunks and export frames, callable from SQL.
// Not part of the install script: tests that forge export frames (a changed payload resealed, frames of two
// exports spliced) bind it as superuser with CREATE FUNCTION ... AS 'backupkit', 'bk_checksum64', so that
// what they prove is that import checks more than the frame checksum.
#include "core/codec/checksum.hpp"

extern "C"
{
#include "postgres.h"
#include "fmgr.h"
}

#include "pg/support/compat.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_checksum64);
}

Datum
bk_checksum64(PG_FUNCTION_ARGS)
{
	bytea *data = PG_GETARG_BYTEA_PP(0);
	PG_RETURN_INT64((int64) bk::checksum64(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data)));
}
