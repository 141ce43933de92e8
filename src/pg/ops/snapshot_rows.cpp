// backupkit.snapshot_rows: the captured rows of one table as jsonb objects keyed by column name, produced
// one chunk at a time (value-per-call), so LIMIT stops reading after the first chunk.
#include "core/codec/chunk_codec.hpp"
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
}

#include "pg/storage/chunk_reader.hpp"
#include "pg/storage/metadata_checksum.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/compat.hpp"
#include "pg/support/table_list.hpp"
#include "pg/support/message_names.hpp"
#include "pg/support/operation.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_snapshot_rows);
	PG_FUNCTION_INFO_V1(bk_snapshot_table_rows);
}

typedef struct RowsState
{
	BkSnapshot snap;
	BkTableEntry *entry;
	BkChunkReader *reader;
	char **names; // captured column names
	char *strings;
	int64 *offsets;
	int rows;
	int next_row;
	bool done;
} RowsState;

static bool
load_chunk(RowsState *st)
{
	BkChunkReader *r = st->reader;
	int ncols = st->entry->ncaptured;
	size_t cap;
	size_t rows = 0;
	BkErrorInfo err;

	if (!bk_chunk_reader_next(r))
	{
		return false;
	}
	cap = (size_t) r->rows * (size_t) Max(ncols, 1);
	st->strings = (char *) MemoryContextAlloc(r->chunk_cxt, r->len + 1);
	st->offsets = (int64 *) MemoryContextAlloc(r->chunk_cxt, sizeof(int64) * Max(cap, 1));
	{
		char *strings = st->strings;
		int64 *offsets = st->offsets;
		const char *json = r->json;
		size_t len = r->len;
		if (!bk_try([&]() { rows = bk::chunk_decode(json, len, ncols, strings, offsets, cap); }, &err))
		{
			bk_chunk_core_failure(st->entry, r->chunk_no, &err);
		}
	}
	if (rows != (size_t) r->rows)
	{
		bk_chunk_corrupted(st->entry, r->chunk_no, "The chunk's row count differs from the recorded count.");
	}
	st->rows = (int) rows;
	st->next_row = 0;
	return true;
}

static Datum
row_to_jsonb(RowsState *st, int row)
{
	BkJsonbBuilder b = {};
	int ncols = st->entry->ncaptured;

	bk_jsonb_push(&b, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < ncols; i++)
	{
		JsonbValue k, v;
		int64 off = st->offsets[(size_t) row * ncols + i];
		k.type = jbvString;
		k.val.string.val = st->names[i];
		k.val.string.len = (int) strlen(st->names[i]);
		bk_jsonb_push(&b, WJB_KEY, &k);
		if (off < 0)
		{
			v.type = jbvNull;
		}
		else
		{
			v.type = jbvString;
			v.val.string.val = st->strings + off;
			v.val.string.len = (int) strlen(st->strings + off);
		}
		bk_jsonb_push(&b, WJB_VALUE, &v);
	}
	bk_jsonb_push(&b, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(bk_jsonb_result(&b)));
}

// Looks up the entry (by live oid, or by captured name when by_name is set), checks access and the seals,
// and opens the chunk reader; fills st in the current (multi-call) memory context.
static void
open_rows(FunctionCallInfo fcinfo, RowsState *st, int64 snapshot_id, bool by_name)
{
	int ci = 0;
	bk_snapshot_fetch(snapshot_id, &st->snap);
	if (by_name)
	{
		char *name = text_to_cstring(PG_GETARG_TEXT_PP(1));
		Oid live;
		st->entry = bk_table_entry_named(snapshot_id, name);
		if (st->entry == NULL)
		{
			ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
			                errmsg("table \"%s\" is not part of snapshot " INT64_FORMAT, name, snapshot_id),
			                errhint("Name the table as captured, schema-qualified, e.g. 'public.orders'.")));
		}
		// While the table exists, whoever may read it now may read its captured rows; a dropped table's rows
		// are readable by the roles that may use the snapshot (bk_snapshot_fetch checked that).
		live = bk_entry_live_relid(st->entry);
		if (OidIsValid(live))
		{
			bk_check_not_system(live, BK_TABLE_READ);
			bk_check_snapshot_readable(&st->snap, live);
		}
	}
	else
	{
		Oid relid = PG_GETARG_OID(1);
		bool by_oid;
		bk_check_not_system(relid, BK_TABLE_READ);
		st->entry = bk_table_entry_required(snapshot_id, relid, &by_oid);
		bk_check_snapshot_readable(&st->snap, relid);
	}
	// The rows are keyed by the stored column names: refuse them if they changed since capture.
	bk_metadata_verify(&st->snap, st->entry, NULL);
	st->names = (char **) palloc(sizeof(char *) * Max(st->entry->ncaptured, 1));
	for (int i = 0; i < st->entry->ncolumns; i++)
	{
		if (st->entry->columns[i].captured)
		{
			st->names[ci++] = st->entry->columns[i].name;
		}
	}
	st->reader = bk_chunk_reader_open(st->entry, strcmp(st->snap.compression, "zstd") == 0);
}

static Datum
rows_srf(FunctionCallInfo fcinfo, bool by_name)
{
	FuncCallContext *fctx;
	RowsState *st;

	if (SRF_IS_FIRSTCALL())
	{
		int64 snapshot_id = bk_snapshot_id_arg(fcinfo, 0);
		MemoryContext old;
		BkOperation op;

		if (PG_ARGISNULL(1))
		{
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("table_name must not be null")));
		}
		fctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(fctx->multi_call_memory_ctx);
		st = (RowsState *) palloc0(sizeof(RowsState));
		// The caller's search_path must not resolve the names in backupkit's own queries.
		bk_operation_begin(&op, "snapshot_rows", snapshot_id, 0, NULL);
		MemoryContextSwitchTo(fctx->multi_call_memory_ctx);
		open_rows(fcinfo, st, snapshot_id, by_name);
		(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
		fctx->user_fctx = st;
		MemoryContextSwitchTo(old);
	}
	fctx = SRF_PERCALL_SETUP();
	st = (RowsState *) fctx->user_fctx;
	while (!st->done && st->next_row >= st->rows)
	{
		MemoryContext old = MemoryContextSwitchTo(fctx->multi_call_memory_ctx);
		BkOperation op;
		bk_operation_begin(&op, "snapshot_rows", 0, 0, NULL);
		MemoryContextSwitchTo(fctx->multi_call_memory_ctx);
		st->done = !load_chunk(st);
		(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
		MemoryContextSwitchTo(old);
	}
	if (st->done)
	{
		SRF_RETURN_DONE(fctx);
	}
	SRF_RETURN_NEXT(fctx, row_to_jsonb(st, st->next_row++));
}

Datum
bk_snapshot_rows(PG_FUNCTION_ARGS)
{
	return rows_srf(fcinfo, false);
}

Datum
bk_snapshot_table_rows(PG_FUNCTION_ARGS)
{
	return rows_srf(fcinfo, true);
}
