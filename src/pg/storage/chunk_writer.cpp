// Building chunk payloads (see src/core/codec/chunk_codec.hpp for the format) and storing them.
#include "core/codec/checksum.hpp"
#include "core/codec/chunk_codec.hpp"
#include "core/codec/tid_runs.hpp"
#include "core/codec/zstd_codec.hpp"
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "fmgr.h"
}

#include "pg/support/compat.hpp"
#include "pg/storage/chunk_writer.hpp"
#include "pg/storage/storage.hpp"

int bk_chunk_rows = 10000;
int bk_chunk_kilobytes = 4096;
int bk_zstd_level = 1;

static SPIPlanPtr insert_plan = NULL;

static void
free_compressor(void *arg)
{
	delete static_cast<bk::ZstdCompressor *>(arg);
}

BkChunkWriter *
bk_chunk_writer_create(int64 snapshot_id, bool compress)
{
	BkChunkWriter *w = (BkChunkWriter *) palloc0(sizeof(BkChunkWriter));
	w->snapshot_id = snapshot_id;
	w->compress = compress;
	w->chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "backupkit chunk", ALLOCSET_DEFAULT_SIZES);
	// One text buffer for all chunks: allocating and freeing megabytes per chunk costs page faults.
	initStringInfo(&w->text);
	enlargeStringInfo(&w->text, Min((Size) bk_chunk_kilobytes * 1024 + 1024, MaxAllocSize / 2));
	initStringInfo(&w->tids);
	if (compress)
	{
		MemoryContextCallback *cb = (MemoryContextCallback *) palloc0(sizeof(MemoryContextCallback));
		int level = bk_zstd_level;
		bk::ZstdCompressor *c = nullptr;
		BK_CORE(c = new bk::ZstdCompressor(level));
		w->compressor = c;
		cb->func = free_compressor;
		cb->arg = c;
		MemoryContextRegisterResetCallback(w->chunk_cxt->parent, cb);
	}
	return w;
}

static void
reset_tids(BkChunkWriter *w)
{
	resetStringInfo(&w->tids);
	w->run_len = 0;
	w->prev_run_block = 0;
}

void
bk_chunk_writer_start_table(BkChunkWriter *w, int table_no, bool record_tids)
{
	w->table_no = table_no;
	w->record_tids = record_tids;
	reset_tids(w);
	w->chunk_no = 0;
	w->rows = 0;
	w->raw_bytes = 0;
	w->stored_bytes = 0;
	w->checksum = 0;
	w->rows_in_chunk = 0;
	MemoryContextReset(w->chunk_cxt);
	resetStringInfo(&w->text);
	reset_tids(w);
}

static void
flush_tid_run(BkChunkWriter *w)
{
	if (w->tids.len == 0)
	{
		enlargeStringInfo(&w->tids, (int) bk::tid_runs_header_size);
		w->tids.len += (int) bk::tid_runs_header(w->tids.data);
	}
	enlargeStringInfo(&w->tids, (int) bk::tid_run_max_size);
	w->tids.len +=
	    (int) bk::tid_run_encode(w->prev_run_block, w->run_block, w->run_first, w->run_len, w->tids.data + w->tids.len);
	w->prev_run_block = w->run_block;
	w->run_len = 0;
}

void
bk_chunk_writer_tid(BkChunkWriter *w, uint32 block, uint16 offset)
{
	if (w->run_len > 0 && block == w->run_block && (uint32) offset == (uint32) w->run_first + w->run_len)
	{
		w->run_len++;
		return;
	}
	if (w->run_len > 0)
	{
		flush_tid_run(w);
	}
	w->run_block = block;
	w->run_first = offset;
	w->run_len = 1;
}

// The chunk's tuple id list as a bytea in the current memory context.
static Datum
finish_tids(BkChunkWriter *w)
{
	bytea *b;
	if (w->run_len > 0)
	{
		flush_tid_run(w);
	}
	b = (bytea *) palloc(VARHDRSZ + w->tids.len + bk::tid_runs_trailer_size);
	memcpy(VARDATA(b), w->tids.data, w->tids.len);
	bk::tid_runs_seal(w->tids.data, (size_t) w->tids.len, VARDATA(b) + w->tids.len);
	SET_VARSIZE(b, VARHDRSZ + w->tids.len + bk::tid_runs_trailer_size);
	return PointerGetDatum(b);
}

void
bk_chunk_writer_begin_row(BkChunkWriter *w)
{
	appendStringInfoString(&w->text, w->rows_in_chunk == 0 ? "[[" : ", [");
}

void
bk_chunk_writer_value(BkChunkWriter *w, int colno, const char *text)
{
	if (colno > 0)
	{
		appendBinaryStringInfo(&w->text, ", ", 2);
	}
	if (text == NULL)
	{
		appendBinaryStringInfo(&w->text, "null", 4);
	}
	else
	{
		size_t len = strlen(text);
		if (bk::json_escaped_bound(len) >= (size_t) (MaxAllocSize - w->text.len))
		{
			ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("value too large to capture"),
			                errdetail("A value of %zu bytes does not fit in a snapshot chunk.", len)));
		}
		enlargeStringInfo(&w->text, (int) bk::json_escaped_bound(len));
		w->text.len += (int) bk::json_escape_string(text, len, w->text.data + w->text.len);
		w->text.data[w->text.len] = '\0';
	}
}

void
bk_chunk_writer_end_row(BkChunkWriter *w)
{
	appendStringInfoChar(&w->text, ']');
	w->rows_in_chunk++;
}

bool
bk_chunk_writer_full(const BkChunkWriter *w)
{
	return w->rows_in_chunk >= bk_chunk_rows || (w->text.data && w->text.len >= bk_chunk_kilobytes * 1024);
}

char *
bk_checksum_text(uint64 checksum)
{
	return psprintf("%016llx", (unsigned long long) checksum);
}

void
bk_chunk_writer_flush(BkChunkWriter *w)
{
	Oid argtypes[9] = {INT8OID, INT4OID, INT4OID, INT4OID, INT4OID, INT8OID, JSONBOID, BYTEAOID, BYTEAOID};
	Datum values[9];
	char nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	BkOwnerAccess access;
	MemoryContext old;
	uint64 sum;
	int64 stored;

	if (w->rows_in_chunk == 0)
	{
		return;
	}
	old = MemoryContextSwitchTo(w->chunk_cxt);
	appendStringInfoChar(&w->text, ']');
	sum = bk::checksum64(w->text.data, (size_t) w->text.len);

	values[0] = Int64GetDatum(w->snapshot_id);
	values[1] = Int32GetDatum(w->table_no);
	values[2] = Int32GetDatum(w->chunk_no);
	values[3] = Int32GetDatum(w->rows_in_chunk);
	values[4] = Int32GetDatum(w->text.len);
	values[5] = Int64GetDatum((int64) sum);
	if (w->compress)
	{
		size_t bound = bk::ZstdCompressor::bound((size_t) w->text.len);
		bytea *payload = (bytea *) palloc(VARHDRSZ + bound);
		size_t n = 0;
		bk::ZstdCompressor *c = w->compressor;
		const char *src = w->text.data;
		size_t srclen = (size_t) w->text.len;
		BK_CORE(n = c->compress(src, srclen, VARDATA(payload), bound));
		SET_VARSIZE(payload, VARHDRSZ + n);
		nulls[6] = 'n';
		values[7] = PointerGetDatum(payload);
		stored = (int64) n;
	}
	else
	{
		Datum j = DirectFunctionCall1(jsonb_in, CStringGetDatum(w->text.data));
		values[6] = j;
		nulls[7] = 'n';
		stored = (int64) VARSIZE_ANY(DatumGetPointer(j));
	}

	if (w->record_tids)
	{
		values[8] = finish_tids(w);
	}
	else
	{
		values[8] = (Datum) 0;
		nulls[8] = 'n';
	}

	bk_spi_kept_plan(&insert_plan,
	                 "INSERT INTO backupkit.snapshot_chunk (snapshot_id, table_no, chunk_no, row_count, raw_bytes, "
	                 "checksum, payload, payload_zstd, row_tids) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	                 9, argtypes);
	bk_owner_begin(&access);
	bk_spi_exec_plan(insert_plan, values, nulls, false, 0);
	bk_owner_end(&access);
	MemoryContextSwitchTo(old);

	w->rows += w->rows_in_chunk;
	w->raw_bytes += w->text.len;
	w->stored_bytes += stored;
	w->checksum = bk::checksum_combine(w->checksum, sum, (uint64) w->rows_in_chunk);
	w->chunk_no++;
	w->rows_in_chunk = 0;
	MemoryContextReset(w->chunk_cxt);
	resetStringInfo(&w->text);
	reset_tids(w);
}
