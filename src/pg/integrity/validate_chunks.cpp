// Validation's chunk check: every chunk of a captured table read and verified (presence, duplicates, size, zstd
// frame, checksum, row counts, table totals), each problem recorded as one sentence, never raised; the rows of
// intact chunks are loaded or hashed for the key checks.
#include "core/codec/checksum.hpp"
#include "core/codec/chunk_codec.hpp"
#include "core/codec/zstd_codec.hpp"
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/integrity/validate_internal.hpp"
#include "pg/support/message_names.hpp"

void
bk_validate_free_decompressor(void *arg)
{
	delete static_cast<bk::ZstdDecompressor *>(arg);
}

static void
load_rows(ValidateState *st, const BkTableEntry *e, const char *json, size_t len)
{
	Oid argtypes[2] = {INT4OID, TEXTOID};
	Datum values[2];
	MemoryContext old;
	if (st->insert_plan == NULL)
	{
		st->insert_plan = bk_spi_prepare("INSERT INTO " ROWS_TABLE " (table_no, r)"
		                                 " SELECT $1, ARRAY(SELECT jsonb_array_elements_text(e))"
		                                 " FROM jsonb_array_elements($2::jsonb) e",
		                                 2, argtypes);
	}
	old = MemoryContextSwitchTo(st->chunk_cxt);
	values[0] = Int32GetDatum(e->table_no);
	values[1] = PointerGetDatum(cstring_to_text_with_len(json, (int) len));
	MemoryContextSwitchTo(old);
	bk_spi_exec_plan(st->insert_plan, values, NULL, false, 0);
}

void
bk_validate_table_chunks(ValidateState *st, const BkTableEntry *e, bool load, TableResult *res)
{
	Oid argtypes[3] = {INT8OID, INT4OID, INT4OID};
	Datum values[3] = {Int64GetDatum(e->snapshot_id), Int32GetDatum(e->table_no), Int32GetDatum(0)};
	const char *name = bk_entry_display_name(e); // for messages, in quotes
	int errors_before = list_length(st->errors);
	BkOwnerAccess access;
	int n;
	int *nos;
	int64 *sums;
	uint64 *content_sums;
	int *rows_stored;
	bool *content_ok;
	uint64 combined = 0;
	bool isnull;

	res->rows_found = 0;
	res->decodable = true;
	res->loaded = load;
	if (st->list_plan == NULL)
	{
		st->list_plan = bk_spi_prepare("SELECT chunk_no, checksum, row_count FROM backupkit.snapshot_chunk"
		                               " WHERE snapshot_id = $1 AND table_no = $2 ORDER BY chunk_no",
		                               2, argtypes);
		st->chunk_plan = bk_spi_prepare("SELECT row_count, raw_bytes, checksum, payload_zstd, payload::text, row_tids"
		                                " FROM backupkit.snapshot_chunk"
		                                " WHERE snapshot_id = $1 AND table_no = $2 AND chunk_no = $3",
		                                3, argtypes);
	}
	bk_owner_begin(&access);
	bk_spi_exec_plan(st->list_plan, values, NULL, true, 0);
	bk_owner_end(&access);
	n = (int) SPI_processed;
	nos = (int *) palloc0(sizeof(int) * Max(n, 1));
	sums = (int64 *) palloc0(sizeof(int64) * Max(n, 1));
	rows_stored = (int *) palloc0(sizeof(int) * Max(n, 1));
	content_sums = (uint64 *) palloc0(sizeof(uint64) * Max(n, 1));
	content_ok = (bool *) palloc0(sizeof(bool) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		nos[i] = DatumGetInt32(bk_spi_get(i, 1, &isnull));
		sums[i] = DatumGetInt64(bk_spi_get(i, 2, &isnull));
		rows_stored[i] = DatumGetInt32(bk_spi_get(i, 3, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	// Presence: chunks 0 .. chunk_count - 1, no more.
	for (int c = 0, i = 0; c < e->chunk_count; c++)
	{
		while (i < n && nos[i] < c)
		{
			i++;
		}
		if (i >= n || nos[i] != c)
		{
			st->errors = lappend(st->errors, psprintf("Chunk %d of table \"%s\" is missing.", c, name));
		}
	}
	for (int i = 0; i < n; i++)
	{
		if (nos[i] < 0 || nos[i] >= e->chunk_count)
		{
			st->errors = lappend(st->errors, psprintf("Chunk %d of table \"%s\" is not recorded by the table's entry, "
			                                          "which has %d chunks.",
			                                          nos[i], name, e->chunk_count));
		}
	}

	for (int i = 0; i < n; i++)
	{
		int rows, raw_bytes;
		int64 stored_sum;
		bool zstd;
		Datum d;
		char *json = NULL;
		size_t len = 0;
		uint64 sum;
		size_t decoded = 0;
		bytea *tids;
		BkErrorInfo err;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(st->chunk_cxt);
		values[2] = Int32GetDatum(nos[i]);
		bk_owner_begin(&access);
		bk_spi_exec_plan(st->chunk_plan, values, NULL, true, 1);
		bk_owner_end(&access);
		if (SPI_processed == 0)
		{
			SPI_freetuptable(SPI_tuptable);
			continue;
		}
		rows = DatumGetInt32(bk_spi_get(0, 1, &isnull));
		raw_bytes = DatumGetInt32(bk_spi_get(0, 2, &isnull));
		stored_sum = DatumGetInt64(bk_spi_get(0, 3, &isnull));
		d = bk_spi_get(0, 4, &isnull);
		zstd = !isnull;
		if (isnull)
		{
			d = bk_spi_get(0, 5, &isnull);
		}
		{
			MemoryContext old = MemoryContextSwitchTo(st->chunk_cxt);
			Datum t = bk_spi_get(0, 6, &isnull);
			d = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
			tids = isnull ? NULL : (bytea *) PG_DETOAST_DATUM_COPY(t);
			MemoryContextSwitchTo(old);
		}
		SPI_freetuptable(SPI_tuptable);
		if (tids != NULL && rows >= 0)
		{
			// Only a hint (see unchanged_rows.hpp): a damaged list costs merge and missing their shortcut.
			MemoryContext old = MemoryContextSwitchTo(st->chunk_cxt);
			bool valid = bk_tid_list_valid(tids, rows, &err);
			MemoryContextSwitchTo(old);
			if (!valid)
			{
				st->warnings = lappend(
				    st->warnings, psprintf("The tuple id list of chunk %d of table \"%s\" is damaged (%s): merge and "
				                           "missing compare that chunk's rows by content.",
				                           nos[i], name, err.message));
			}
		}

		if (zstd != st->compressed)
		{
			st->errors = lappend(st->errors, psprintf("Chunk %d of table \"%s\" is stored %s but the snapshot is %s.",
			                                          nos[i], name, zstd ? "compressed" : "uncompressed",
			                                          st->compressed ? "compressed" : "uncompressed"));
			res->decodable = false;
			continue;
		}
		if (raw_bytes < 0)
		{
			st->errors =
			    lappend(st->errors, psprintf("Chunk %d of table \"%s\" records a negative size.", nos[i], name));
			res->decodable = false;
			continue;
		}
		if (zstd)
		{
			bytea *b = (bytea *) DatumGetPointer(d);
			bk::ZstdDecompressor *dec = st->decompressor;
			const char *src = VARDATA_ANY(b);
			size_t srclen = VARSIZE_ANY_EXHDR(b);
			size_t expected = (size_t) raw_bytes;
			char *out = (char *) MemoryContextAlloc(st->chunk_cxt, expected + 1);
			if (!bk_try([&]() { dec->decompress(src, srclen, out, expected); }, &err))
			{
				bk_raise_unless_corrupted(&err);
				st->errors = lappend(st->errors, psprintf("Chunk %d of table \"%s\" cannot be decompressed: %s.",
				                                          nos[i], name, err.message));
				res->decodable = false;
				continue;
			}
			out[expected] = '\0';
			json = out;
			len = expected;
		}
		else
		{
			text *t = (text *) DatumGetPointer(d);
			len = VARSIZE_ANY_EXHDR(t);
			json = (char *) MemoryContextAlloc(st->chunk_cxt, len + 1);
			memcpy(json, VARDATA_ANY(t), len);
			json[len] = '\0';
			if (len != (size_t) raw_bytes)
			{
				st->errors = lappend(st->errors, psprintf("Chunk %d of table \"%s\" holds %zu bytes but records %d.",
				                                          nos[i], name, len, raw_bytes));
			}
		}
		sum = bk::checksum64(json, len);
		content_sums[i] = sum;
		if ((int64) sum != stored_sum)
		{
			st->errors =
			    lappend(st->errors, psprintf("Chunk %d of table \"%s\" does not match its checksum: its content "
			                                 "was changed.",
			                                 nos[i], name));
		}
		{
			int ncols = e->ncaptured;
			const char *src = json;
			size_t srclen = len;
			if (!bk_try([&]() { decoded = bk::chunk_count_rows(src, srclen, ncols); }, &err))
			{
				bk_raise_unless_corrupted(&err);
				st->errors = lappend(
				    st->errors, psprintf("Chunk %d of table \"%s\" does not decode: %s.", nos[i], name, err.message));
				res->decodable = false;
				continue;
			}
		}
		if (decoded != (size_t) rows)
		{
			st->errors = lappend(st->errors, psprintf("Chunk %d of table \"%s\" holds %zu rows but records %d.", nos[i],
			                                          name, decoded, rows));
		}
		res->rows_found += (int64) decoded;
		if ((int64) sum != stored_sum)
		{
			continue;
		}
		content_ok[i] = true;
		if (load && st->keys != NULL)
		{
			char *error = NULL;
			if (!bk_key_check_rows(st->keys, st->table_index, e->ncaptured, json, len, (int) decoded, &error))
			{
				st->errors =
				    lappend(st->errors, psprintf("Chunk %d of table \"%s\" does not decode: %s.", nos[i], name, error));
				res->decodable = false;
			}
		}
		else if (load)
		{
			load_rows(st, e, json, len);
		}
	}
	MemoryContextReset(st->chunk_cxt);

	// The table's totals: its checksum covers every chunk in order, so order, duplicates and additions show.
	for (int i = 0; i < n; i++)
	{
		if (nos[i] >= 0 && nos[i] < e->chunk_count)
		{
			combined = bk::checksum_combine(combined, content_ok[i] ? content_sums[i] : (uint64) sums[i],
			                                (uint64) rows_stored[i]);
		}
	}
	res->checksum_ok = (n == e->chunk_count) && strcmp(bk_checksum_text(combined), e->checksum) == 0 &&
	                   list_length(st->errors) == errors_before;
	if (!res->checksum_ok)
	{
		// Identical chunks are legitimate in a table whose checksum matches; here they explain the mismatch.
		for (int i = 0; i < n; i++)
		{
			for (int j = 0; j < i; j++)
			{
				if (sums[j] == sums[i] && rows_stored[j] == rows_stored[i])
				{
					st->errors = lappend(
					    st->errors, psprintf("Chunk %d of table \"%s\" duplicates chunk %d.", nos[i], name, nos[j]));
					break;
				}
			}
		}
		if (list_length(st->errors) == errors_before)
		{
			st->errors = lappend(
			    st->errors, psprintf("The checksum of table \"%s\" does not match its chunks: chunks were reordered "
			                         "or replaced.",
			                         name));
		}
	}
	if (res->rows_found != e->row_count)
	{
		st->errors = lappend(st->errors,
		                     psprintf("Table \"%s\" holds " INT64_FORMAT " rows in its readable chunks but its entry "
		                              "records " INT64_FORMAT ".",
		                              name, res->rows_found, e->row_count));
	}
}
