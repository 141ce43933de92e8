// Chunk reading and verification.
#include "core/codec/checksum.hpp"
#include "core/codec/zstd_codec.hpp"
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
}

#include "pg/support/compat.hpp"
#include "pg/storage/chunk_reader.hpp"
#include "pg/storage/chunk_writer.hpp"
#include "pg/support/message_names.hpp"

static SPIPlanPtr chunk_plan = NULL;

static void
free_decompressor(void *arg)
{
	delete static_cast<bk::ZstdDecompressor *>(arg);
}

void
bk_chunk_corrupted(const BkTableEntry *entry, int chunk_no, const char *detail)
{
	if (chunk_no >= 0)
	{
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("snapshot " INT64_FORMAT " is corrupted: chunk %d of table \"%s\"", entry->snapshot_id,
		                       chunk_no, bk_entry_display_name(entry)),
		                errdetail_internal("%s", detail),
		                errhint("Run backupkit.validate_snapshot_integrity(" INT64_FORMAT ") for a full report.",
		                        entry->snapshot_id)));
	}
	ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
	                errmsg("snapshot " INT64_FORMAT " is corrupted: table \"%s\"", entry->snapshot_id,
	                       bk_entry_display_name(entry)),
	                errdetail_internal("%s", detail),
	                errhint("Run backupkit.validate_snapshot_integrity(" INT64_FORMAT ") for a full report.",
	                        entry->snapshot_id)));
}

void
bk_chunk_core_failure(const BkTableEntry *entry, int chunk_no, const BkErrorInfo *err)
{
	if (strcmp(err->sqlstate, bk::sqlstate::data_corrupted) != 0)
	{
		bk_raise(err);
	}
	// The core's message is a phrase, not a sentence: it goes in a context line, its detail (when it has one)
	// in the detail.
	ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
	                errmsg("snapshot " INT64_FORMAT " is corrupted: chunk %d of table \"%s\"", entry->snapshot_id,
	                       chunk_no, bk_entry_display_name(entry)),
	                err->detail[0] != '\0' ? errdetail_internal("%s", err->detail) : 0, errcontext("%s", err->message),
	                errhint("Run backupkit.validate_snapshot_integrity(" INT64_FORMAT ") for a full report.",
	                        entry->snapshot_id)));
	pg_unreachable();
}

BkChunkReader *
bk_chunk_reader_open(const BkTableEntry *entry, bool compressed)
{
	BkChunkReader *r = (BkChunkReader *) palloc0(sizeof(BkChunkReader));
	r->entry = entry;
	r->compressed = compressed;
	r->owner_cxt = CurrentMemoryContext;
	r->chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "backupkit chunk read", ALLOCSET_DEFAULT_SIZES);
	r->chunk_no = -1;
	if (compressed)
	{
		MemoryContextCallback *cb = (MemoryContextCallback *) palloc0(sizeof(MemoryContextCallback));
		bk::ZstdDecompressor *d = nullptr;
		BK_CORE(d = new bk::ZstdDecompressor());
		r->decompressor = d;
		cb->func = free_decompressor;
		cb->arg = d;
		MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	}
	return r;
}

char *
bk_chunk_reader_buffer(BkChunkReader *r, char **buf, size_t *cap, size_t size)
{
	if (*buf == NULL || *cap < size)
	{
		// Grow geometrically so that a slowly growing chunk size does not reallocate every time.
		size_t want = Max(size, *cap * 2);
		if (*buf != NULL)
		{
			pfree(*buf);
		}
		*buf = (char *) MemoryContextAllocHuge(r->owner_cxt, want);
		*cap = want;
	}
	return *buf;
}

// Fetches chunk chunk_no; false when it does not exist.
static bool
fetch_chunk(BkChunkReader *r, int chunk_no, int *rows, int *raw_bytes, int64 *checksum, Datum *payload, bool *zstd,
            Datum *tids)
{
	Oid argtypes[3] = {INT8OID, INT4OID, INT4OID};
	Datum values[3] = {Int64GetDatum(r->entry->snapshot_id), Int32GetDatum(r->entry->table_no),
	                   Int32GetDatum(chunk_no)};
	BkOwnerAccess access;
	bool isnull;
	Datum d;

	bk_spi_kept_plan(&chunk_plan,
	                 "SELECT row_count, raw_bytes, checksum, payload_zstd, payload::text, row_tids "
	                 "FROM backupkit.snapshot_chunk WHERE snapshot_id = $1 AND table_no = $2 AND chunk_no = $3",
	                 3, argtypes);
	bk_owner_begin(&access);
	bk_spi_exec_plan(chunk_plan, values, NULL, false, 1);
	bk_owner_end(&access);
	if (SPI_processed == 0)
	{
		SPI_freetuptable(SPI_tuptable);
		return false;
	}
	*rows = DatumGetInt32(bk_spi_get(0, 1, &isnull));
	*raw_bytes = DatumGetInt32(bk_spi_get(0, 2, &isnull));
	*checksum = DatumGetInt64(bk_spi_get(0, 3, &isnull));
	d = bk_spi_get(0, 4, &isnull);
	*zstd = !isnull;
	if (isnull)
	{
		d = bk_spi_get(0, 5, &isnull);
	}
	{
		MemoryContext old = MemoryContextSwitchTo(r->chunk_cxt);
		*payload = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
		d = bk_spi_get(0, 6, &isnull);
		*tids = isnull ? (Datum) 0 : PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);
	return true;
}

bool
bk_chunk_reader_next(BkChunkReader *r)
{
	const BkTableEntry *e = r->entry;
	int rows, raw_bytes;
	int64 stored_sum;
	Datum payload;
	Datum tids;
	bool zstd;
	uint64 sum;

	MemoryContextReset(r->chunk_cxt);
	r->json = NULL;
	r->tids = NULL;
	r->tids_len = 0;
	if (r->next_chunk >= e->chunk_count)
	{
		// Totals prove no chunk is missing, duplicated, reordered or added.
		if (fetch_chunk(r, r->next_chunk, &rows, &raw_bytes, &stored_sum, &payload, &zstd, &tids))
		{
			bk_chunk_corrupted(e, r->next_chunk, "The table has more chunks than its entry records.");
		}
		if (r->rows_read != e->row_count)
		{
			bk_chunk_corrupted(e, -1,
			                   psprintf("The chunks hold " INT64_FORMAT
			                            " rows but the table entry records " INT64_FORMAT ".",
			                            r->rows_read, e->row_count));
		}
		if (strcmp(bk_checksum_text(r->checksum), e->checksum) != 0)
		{
			bk_chunk_corrupted(e, -1, "The table checksum does not match its chunks.");
		}
		return false;
	}
	r->chunk_no = r->next_chunk++;
	if (!fetch_chunk(r, r->chunk_no, &rows, &raw_bytes, &stored_sum, &payload, &zstd, &tids))
	{
		bk_chunk_corrupted(e, r->chunk_no, "The chunk is missing.");
	}
	if (zstd != r->compressed)
	{
		bk_chunk_corrupted(e, r->chunk_no, "The chunk's compression differs from the snapshot's.");
	}
	if (rows < 0)
	{
		bk_chunk_corrupted(e, r->chunk_no, "The chunk's recorded row count is negative.");
	}
	if (raw_bytes < 0)
	{
		bk_chunk_corrupted(e, r->chunk_no, "The chunk's recorded size is negative.");
	}
	if (zstd)
	{
		bytea *b = (bytea *) DatumGetPointer(payload);
		BkErrorInfo err;
		char *out = bk_chunk_reader_buffer(r, &r->text_buf, &r->text_cap, (size_t) raw_bytes + 1);
		bk::ZstdDecompressor *d = r->decompressor;
		const char *src = VARDATA_ANY(b);
		size_t srclen = VARSIZE_ANY_EXHDR(b);
		size_t expected = (size_t) raw_bytes;
		if (!bk_try([&]() { d->decompress(src, srclen, out, expected); }, &err))
		{
			bk_chunk_core_failure(e, r->chunk_no, &err);
		}
		out[raw_bytes] = '\0';
		r->json = out;
		r->len = (size_t) raw_bytes;
	}
	else
	{
		text *t = (text *) DatumGetPointer(payload);
		r->len = VARSIZE_ANY_EXHDR(t);
		r->json = bk_chunk_reader_buffer(r, &r->text_buf, &r->text_cap, r->len + 1);
		memcpy(r->json, VARDATA_ANY(t), r->len);
		r->json[r->len] = '\0';
		if (r->len != (size_t) raw_bytes)
		{
			bk_chunk_corrupted(e, r->chunk_no, "The chunk's size differs from the recorded size.");
		}
	}
	sum = bk::checksum64(r->json, r->len);
	if ((int64) sum != stored_sum)
	{
		bk_chunk_corrupted(e, r->chunk_no, "The chunk's checksum does not match its content.");
	}
	if (tids != (Datum) 0)
	{
		bytea *b = (bytea *) DatumGetPointer(tids);
		r->tids = VARDATA_ANY(b);
		r->tids_len = VARSIZE_ANY_EXHDR(b);
	}
	r->rows = rows;
	r->rows_read += rows;
	r->checksum = bk::checksum_combine(r->checksum, sum, (uint64) rows);
	return true;
}
