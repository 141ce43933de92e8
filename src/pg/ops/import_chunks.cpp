// The chunks of backupkit.import_snapshot: each chunk reassembled from its frames, verified (its own checksum over
// the payload as captured, its size, its place in its table) and written to backupkit.snapshot_chunk; the table it
// belongs to is opened and closed (totals checked) as its chunks arrive.
#include "core/codec/checksum.hpp"
#include "core/codec/export_frame.hpp"
#include "core/codec/zstd_codec.hpp"
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/ops/export_import_internal.hpp"
#include "pg/support/message_names.hpp"

void
bk_import_free_decompressor(void *arg)
{
	delete static_cast<bk::ZstdDecompressor *>(arg);
}

void
bk_import_close_table(BkImport *st)
{
	BkImportTable *t;
	if (st->current < 0)
	{
		return;
	}
	t = &st->table_list[st->current];
	if (st->next_chunk != t->chunks || st->got_rows != t->rows || st->got_raw != t->raw_bytes ||
	    st->got_stored != t->stored_bytes || strcmp(bk_checksum_text(st->got_checksum), t->checksum) != 0)
	{
		ereport(
		    ERROR,
		    (errcode(ERRCODE_DATA_CORRUPTED),
		     errmsg("export stream is corrupted: table \"%s\" does not match its chunks", bk_display_name_of(t->name)),
		     errdetail("Its chunks hold " INT64_FORMAT " rows in %d chunks (" INT64_FORMAT " bytes, " INT64_FORMAT
		               " stored) with checksum %s; its table entry records " INT64_FORMAT
		               " rows in %d chunks (" INT64_FORMAT " bytes, " INT64_FORMAT " stored) with checksum %s.",
		               st->got_rows, st->next_chunk, st->got_raw, st->got_stored, bk_checksum_text(st->got_checksum),
		               t->rows, t->chunks, t->raw_bytes, t->stored_bytes, t->checksum),
		     errhint(BK_IMPORT_HINT)));
	}
}

// Moves on to the table of table_no: every table in between must have announced no chunks.
static void
bk_import_open_table(BkImport *st, int table_no, int chunk_no)
{
	int target = -1;
	for (int i = st->current + 1; i < st->tables && target < 0; i++)
	{
		if (st->table_list[i].table_no == table_no)
		{
			target = i;
		}
	}
	if (target < 0)
	{
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("export stream is corrupted: chunk %d of table number %d belongs to no table in the "
		                       "stream",
		                       chunk_no, table_no),
		                errdetail("No table frame announced that table, or its chunks arrived out of order."),
		                errhint(BK_IMPORT_HINT)));
	}
	for (;;)
	{
		bk_import_close_table(st);
		st->current++;
		st->next_chunk = 0;
		st->got_rows = st->got_raw = st->got_stored = 0;
		st->got_checksum = 0;
		if (st->current == target)
		{
			return;
		}
	}
}

// Verifies the reassembled chunk: its own checksum over the payload as captured (decompressed when zstd),
// its size, and its place in its table; adds it to the table's running totals.
static Datum
import_chunk_verify(BkImport *st, bool *is_zstd)
{
	bk::ChunkFramePrefix *pf = &st->prefix;
	const char *name; // the table's, for messages
	const char *text;
	size_t len;
	uint64 sum;
	int64 stored = 0;
	Datum payload = (Datum) 0;

	if (st->current < 0 || st->table_list[st->current].table_no != pf->table_no)
	{
		bk_import_open_table(st, pf->table_no, pf->chunk_no);
	}
	name = bk_display_name_of(st->table_list[st->current].name);
	if (pf->chunk_no != st->next_chunk)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_DATA_CORRUPTED),
		         errmsg("export stream is corrupted: chunk %d of table \"%s\" is out of order", pf->chunk_no, name),
		         errdetail("Chunk %d of the table was expected next.", st->next_chunk), errhint(BK_IMPORT_HINT)));
	}
	if (pf->row_count < 0 || pf->raw_bytes < 0 || (Size) pf->raw_bytes >= MaxAllocSize)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_DATA_CORRUPTED),
		         errmsg("export stream is corrupted: chunk %d of table \"%s\" records an impossible size", pf->chunk_no,
		                name),
		         errdetail("It records %d rows and %d bytes.", pf->row_count, pf->raw_bytes), errhint(BK_IMPORT_HINT)));
	}
	if ((pf->encoding == 1) != st->compressed)
	{
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("export stream is corrupted: chunk %d of table \"%s\" is not stored as its snapshot's "
		                       "chunks are",
		                       pf->chunk_no, name),
		                pf->encoding ? errdetail("The chunk is compressed but the snapshot is uncompressed.")
		                             : errdetail("The chunk is uncompressed but the snapshot is compressed."),
		                errhint(BK_IMPORT_HINT)));
	}
	*is_zstd = pf->encoding == 1;
	if (*is_zstd)
	{
		char *out = (char *) MemoryContextAlloc(st->chunk_cxt, (Size) pf->raw_bytes + 1);
		bk::ZstdDecompressor *d = st->decompressor;
		const char *src = st->data.data;
		size_t srclen = (size_t) st->data.len;
		size_t expected = (size_t) pf->raw_bytes;
		BkErrorInfo err;
		bytea *b;
		if (!bk_try([&]() { d->decompress(src, srclen, out, expected); }, &err))
		{
			bk_raise_unless_corrupted(&err);
			// The core's message is a phrase: a context line, like bk_chunk_core_failure's.
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
			                errmsg("export stream is corrupted: chunk %d of table \"%s\" cannot be decompressed",
			                       pf->chunk_no, name),
			                errcontext("%s", err.message), errhint(BK_IMPORT_HINT)));
		}
		text = out;
		len = expected;
		b = (bytea *) MemoryContextAlloc(st->chunk_cxt, VARHDRSZ + st->data.len);
		SET_VARSIZE(b, VARHDRSZ + st->data.len);
		memcpy(VARDATA(b), st->data.data, st->data.len);
		payload = PointerGetDatum(b);
		stored = st->data.len;
	}
	else
	{
		text = st->data.data;
		len = (size_t) st->data.len;
		if (len != (size_t) pf->raw_bytes)
		{
			ereport(ERROR,
			        (errcode(ERRCODE_DATA_CORRUPTED),
			         errmsg("export stream is corrupted: chunk %d of table \"%s\" does not have its recorded "
			                "size",
			                pf->chunk_no, name),
			         errdetail("It holds %zu bytes but records %d.", len, pf->raw_bytes), errhint(BK_IMPORT_HINT)));
		}
	}
	sum = bk::checksum64(text, len);
	if (sum != pf->checksum)
	{
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("export stream is corrupted: chunk %d of table \"%s\" does not match its checksum",
		                       pf->chunk_no, name),
		                errdetail("The chunk's content is not the one that was captured."), errhint(BK_IMPORT_HINT)));
	}
	if (!*is_zstd)
	{
		// Proven to be the captured jsonb text, so it parses; stored as jsonb like a captured chunk.
		MemoryContext old = MemoryContextSwitchTo(st->chunk_cxt);
		payload = DirectFunctionCall1(jsonb_in, CStringGetDatum(st->data.data));
		MemoryContextSwitchTo(old);
		stored = (int64) VARSIZE_ANY(DatumGetPointer(payload));
	}
	st->next_chunk++;
	st->got_rows += pf->row_count;
	st->got_raw += pf->raw_bytes;
	st->got_stored += stored;
	st->got_checksum = bk::checksum_combine(st->got_checksum, sum, (uint64) pf->row_count);
	return payload;
}

static void
import_chunk_insert(BkImport *st)
{
	Oid argtypes[8] = {INT8OID, INT4OID, INT4OID, INT4OID, INT4OID, INT8OID, JSONBOID, BYTEAOID};
	Datum values[8];
	char nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	BkOwnerAccess access;
	bool is_zstd;
	Datum payload = import_chunk_verify(st, &is_zstd);

	values[0] = Int64GetDatum(st->snapshot_id);
	values[1] = Int32GetDatum(st->prefix.table_no);
	values[2] = Int32GetDatum(st->prefix.chunk_no);
	values[3] = Int32GetDatum(st->prefix.row_count);
	values[4] = Int32GetDatum(st->prefix.raw_bytes);
	values[5] = Int64GetDatum((int64) st->prefix.checksum);
	values[6] = is_zstd ? (Datum) 0 : payload;
	nulls[6] = is_zstd ? 'n' : ' ';
	values[7] = is_zstd ? payload : (Datum) 0;
	nulls[7] = is_zstd ? ' ' : 'n';
	bk_owner_begin(&access);
	bk_spi_exec("INSERT INTO backupkit.snapshot_chunk (snapshot_id, table_no, chunk_no, row_count, raw_bytes, "
	            "checksum, payload, payload_zstd) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	            8, argtypes, values, nulls, false, 0);
	bk_owner_end(&access);
	st->chunks++;
	st->rows += st->prefix.row_count;
	st->in_chunk = false;
	MemoryContextReset(st->chunk_cxt);
}

void
bk_import_chunk_data(BkImport *st, const unsigned char *data, size_t len)
{
	if ((uint64) st->data.len + len > st->prefix.data_len)
	{
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("export stream is corrupted: chunk %d of table number %d is longer than announced",
		                       st->prefix.chunk_no, st->prefix.table_no),
		                errdetail("Its frames hold more than the " UINT64_FORMAT " bytes its first frame announced.",
		                          (uint64) st->prefix.data_len),
		                errhint(BK_IMPORT_HINT)));
	}
	appendBinaryStringInfo(&st->data, (const char *) data, (int) len);
	if ((uint64) st->data.len == st->prefix.data_len)
	{
		import_chunk_insert(st);
	}
}
