// backupkit.export_snapshot (a snapshot as a stream of checksummed frames) and the aggregate
// backupkit.import_snapshot that writes them back as they arrive. Format: src/core/codec/export_frame.hpp and
// doc/export-format.md.
extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include "core/codec/checksum.hpp"
#include "core/codec/export_frame.hpp"
#include "core/codec/zstd_codec.hpp"
#include "pg/boundary/boundary.hpp"
#include "pg/storage/chunk_writer.hpp"
#include "pg/support/compat.hpp"
#include "pg/support/failure_log.hpp"
#include "pg/storage/metadata_checksum.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/report_json.hpp"
#include "pg/support/rls_scope.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/message_names.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_export_snapshot);
	PG_FUNCTION_INFO_V1(bk_import_snapshot_step);
	PG_FUNCTION_INFO_V1(bk_import_snapshot_final);
}

#define BK_EXPORT_BATCH 16
#define BK_IMPORT_HINT "Export the snapshot again and copy all its frames, in order, without modification."

typedef struct BkExport
{
	ReturnSetInfo *rsinfo;
	uint32 sequence;
	uint64 export_id; // random, in every frame: frames of two exports cannot be mixed
} BkExport;

static void
emit_frame(BkExport *ex, bk::FrameKind kind, const char *payload, size_t len)
{
	size_t size = bk::export_frame_size(len);
	bytea *frame = (bytea *) palloc(VARHDRSZ + size);
	Datum value;
	bool isnull = false;

	SET_VARSIZE(frame, VARHDRSZ + size);
	bk::encode_frame(kind, ex->sequence++, ex->export_id, payload, len, (unsigned char *) VARDATA(frame));
	value = PointerGetDatum(frame);
	tuplestore_putvalues(ex->rsinfo->setResult, ex->rsinfo->setDesc, &value, &isnull);
	pfree(frame);
}

static void
emit_json_frame(BkExport *ex, bk::FrameKind kind, const char *json)
{
	size_t len = strlen(json);
	if (len > bk::export_max_payload)
	{
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("%s entry of %zu bytes is too large to export", bk::frame_kind_name(kind), len)));
	}
	emit_frame(ex, kind, json, len);
}

// One chunk: a chunk frame with the metadata and the first bytes, then chunk_part frames.
static void
emit_chunk(BkExport *ex, bk::ChunkFramePrefix *prefix, const char *data, size_t len)
{
	size_t first = Min(len, bk::export_max_payload - bk::chunk_frame_prefix_size);
	char *buf = (char *) palloc(bk::chunk_frame_prefix_size + first);
	size_t done;

	prefix->data_len = len;
	bk::encode_chunk_prefix(*prefix, (unsigned char *) buf);
	memcpy(buf + bk::chunk_frame_prefix_size, data, first);
	emit_frame(ex, bk::FrameKind::chunk, buf, bk::chunk_frame_prefix_size + first);
	pfree(buf);
	for (done = first; done < len;)
	{
		size_t part = Min(len - done, bk::export_max_payload);
		emit_frame(ex, bk::FrameKind::chunk_part, data + done, part);
		done += part;
	}
}

Datum
bk_export_snapshot(PG_FUNCTION_ARGS)
{
	int64 snapshot_id = bk_snapshot_id_arg(fcinfo, 0);
	Oid argtypes[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(snapshot_id)};
	BkSnapshot snap;
	BkOwnerAccess access;
	BkExport ex;
	BkJson trailer;
	Portal portal;
	MemoryContext batch_cxt;
	MemoryContext old;
	int64 tables = 0;
	int64 chunks = 0;
	int64 rows = 0;
	int level;
	TimestampTz started = GetCurrentTimestamp();
	Oid seal_types[3] = {INT8OID, BYTEAOID, BYTEAARRAYOID};
	Datum seal_args[3];
	bytea *snapshot_seal;
	bytea **table_seals;
	int *seal_nos;
	int nseals;

	bk_failure_watch_begin("export", snapshot_id);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ex.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ex.sequence = 0;

	bk_spi_connect();
	level = bk_stable_settings_push();
	bk_snapshot_fetch(snapshot_id, &snap); // FOR KEY SHARE: a prune leaves the snapshot alone meanwhile
	bk_check_snapshot_policies(&snap, BK_TABLE_EXPORT);

	// A snapshot whose stored metadata changed is not exported; the frames carry the seals of what travels.
	snapshot_seal = bk_metadata_portable_seals(snapshot_id, &nseals, &seal_nos, &table_seals);
	if (!pg_strong_random(&ex.export_id, sizeof(ex.export_id)))
	{
		elog(ERROR, "could not generate a random export id");
	}

	seal_args[0] = values[0];
	seal_args[1] = PointerGetDatum(snapshot_seal);
	bk_owner_begin(&access);
	bk_spi_exec("SELECT (to_jsonb(s) || jsonb_build_object('metadata_checksum', $2::bytea))::text"
	            " FROM backupkit.snapshot s WHERE s.snapshot_id = $1",
	            2, seal_types, seal_args, NULL, true, 1);
	bk_owner_end(&access);
	emit_json_frame(&ex, bk::FrameKind::header, bk_spi_get_text(0, 1));

	{
		Datum *nos = (Datum *) palloc(sizeof(Datum) * Max(nseals, 1));
		for (int i = 0; i < nseals; i++)
		{
			nos[i] = Int32GetDatum(seal_nos[i]);
		}
		seal_types[1] = INT4ARRAYOID;
		seal_args[1] = PointerGetDatum(construct_array(nos, nseals, INT4OID, sizeof(int32), true, TYPALIGN_INT));
		seal_args[2] =
		    PointerGetDatum(construct_array((Datum *) table_seals, nseals, BYTEAOID, -1, false, TYPALIGN_INT));
	}
	bk_owner_begin(&access);
	// Where the rows lay in this database's heaps means nothing elsewhere (and an imported entry is never
	// trusted with it anyway, see unchanged_rows.hpp): it stays out of the file.
	bk_spi_exec("SELECT (to_jsonb(t) - 'capture_xmin' - 'capture_xid' - 'capture_relfilenode' - 'capture_layout'"
	            "   || jsonb_build_object('metadata_checksum', u.seal))::text"
	            " FROM backupkit.snapshot_table t"
	            " JOIN ROWS FROM (pg_catalog.unnest($2::integer[]), pg_catalog.unnest($3::bytea[])) AS u(no, seal) ON "
	            "u.no = t.table_no"
	            " WHERE t.snapshot_id = $1 ORDER BY t.table_no",
	            3, seal_types, seal_args, NULL, true, 0);
	bk_owner_end(&access);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		emit_json_frame(&ex, bk::FrameKind::table, bk_spi_get_text((int) i, 1));
		tables++;
	}

	// Chunks through a cursor, a few at a time: memory stays bounded by the chunk size.
	batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "backupkit export", ALLOCSET_DEFAULT_SIZES);
	bk_owner_begin(&access);
	portal = SPI_cursor_open_with_args(NULL,
	                                   "SELECT table_no, chunk_no, row_count, raw_bytes, checksum, payload::text, "
	                                   "payload_zstd FROM backupkit.snapshot_chunk WHERE snapshot_id = $1 "
	                                   "ORDER BY table_no, chunk_no",
	                                   1, argtypes, values, NULL, true, 0);
	bk_owner_end(&access);
	for (;;)
	{
		old = MemoryContextSwitchTo(batch_cxt);
		bk_owner_begin(&access);
		SPI_cursor_fetch(portal, true, BK_EXPORT_BATCH);
		bk_owner_end(&access);
		// SPI leaves its procedure context current: keep what this batch allocates in the batch context.
		MemoryContextSwitchTo(batch_cxt);
		if (SPI_processed == 0)
		{
			MemoryContextSwitchTo(old);
			break;
		}
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bk::ChunkFramePrefix prefix;
			bool isnull;
			Datum zstd;
			CHECK_FOR_INTERRUPTS();
			prefix.table_no = DatumGetInt32(bk_spi_get((int) i, 1, &isnull));
			prefix.chunk_no = DatumGetInt32(bk_spi_get((int) i, 2, &isnull));
			prefix.row_count = DatumGetInt32(bk_spi_get((int) i, 3, &isnull));
			prefix.raw_bytes = DatumGetInt32(bk_spi_get((int) i, 4, &isnull));
			prefix.checksum = (uint64) DatumGetInt64(bk_spi_get((int) i, 5, &isnull));
			zstd = bk_spi_get((int) i, 7, &isnull);
			if (!isnull)
			{
				bytea *b = DatumGetByteaPP(zstd);
				prefix.encoding = 1;
				emit_chunk(&ex, &prefix, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
			}
			else
			{
				char *text = bk_spi_get_text((int) i, 6);
				prefix.encoding = 0;
				emit_chunk(&ex, &prefix, text, strlen(text));
			}
			chunks++;
			rows += prefix.row_count;
		}
		SPI_freetuptable(SPI_tuptable);
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch_cxt);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(batch_cxt);

	bk_json_init(&trailer);
	bk_json_begin_object(&trailer, NULL);
	bk_json_int(&trailer, "tables", tables);
	bk_json_int(&trailer, "chunks", chunks);
	bk_json_int(&trailer, "rows", rows);
	bk_json_int(&trailer, "frames", (int64) ex.sequence + 1);
	bk_json_end_object(&trailer);
	emit_json_frame(&ex, bk::FrameKind::trailer, trailer.buf.data);

	bk_stable_settings_pop(level);
	bk_json_init(&trailer);
	bk_json_begin_object(&trailer, NULL);
	bk_json_int(&trailer, "frames", ex.sequence);
	bk_json_int(&trailer, "chunks", chunks);
	bk_json_end_object(&trailer);
	bk_operation_log("export", snapshot_id, "success", rows, (double) (GetCurrentTimestamp() - started) / 1000.0,
	                 trailer.buf.data);
	bk_spi_finish();
	bk_failure_watch_end();
	return (Datum) 0;
}

// What a table frame announces, checked against the chunks that follow it.
typedef struct BkImportTable
{
	int table_no;
	char *name; // schema-qualified, for messages
	int64 rows;
	int chunks;
	int64 raw_bytes;
	int64 stored_bytes;
	char *checksum;
} BkImportTable;

// The aggregate's transition state, in the aggregate's memory context.
typedef struct BkImport
{
	int64 snapshot_id;
	uint32 next_sequence;
	uint64 export_id; // of frame 0; every later frame must carry it
	bool got_trailer;
	bool compressed; // the snapshot's chunks are zstd (else jsonb text)
	int64 tables;
	int64 chunks;
	int64 rows;
	TimestampTz started;
	// the announced tables, in table_no order, and the one whose chunks are arriving
	BkImportTable *table_list;
	int table_cap;
	int current;    // index into table_list, -1 before the first chunk
	int next_chunk; // expected chunk_no in the current table
	int64 got_rows; // totals of the current table's chunks so far
	int64 got_raw;
	int64 got_stored;
	uint64 got_checksum;
	bk::ZstdDecompressor *decompressor; // freed by a reset callback on the aggregate context
	// the chunk being reassembled from a chunk frame and its chunk_part frames
	bool in_chunk;
	bk::ChunkFramePrefix prefix;
	MemoryContext chunk_cxt;
	StringInfoData data;
} BkImport;

static void
import_error(const char *message, const char *detail)
{
	ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("%s", message), detail ? errdetail("%s", detail) : 0,
	                errhint(BK_IMPORT_HINT)));
}

static void
free_decompressor(void *arg)
{
	delete static_cast<bk::ZstdDecompressor *>(arg);
}

static void
import_header(BkImport *st, const char *json)
{
	Oid argtypes[3] = {TEXTOID, OIDOID, NAMEOID};
	Datum values[3];
	BkOwnerAccess access;
	bool isnull;
	int format_version;
	Oid user = GetUserId();

	values[0] = CStringGetTextDatum(json);
	values[1] = ObjectIdGetDatum(user);
	values[2] = CStringGetDatum(GetUserNameFromId(user, false));
	bk_owner_begin(&access);
	bk_spi_exec("INSERT INTO backupkit.snapshot SELECT r.* FROM jsonb_populate_record(NULL::backupkit.snapshot, "
	            " $1::jsonb || jsonb_build_object('snapshot_id', nextval('backupkit.snapshot_id_seq'), "
	            " 'created_by', $2, 'created_by_name', $3, 'status', 'importing', 'pinned', false, "
	            " 'origin', jsonb_build_object('imported_at', now(), 'imported_from', jsonb_build_object("
	            "   'snapshot_id', $1::jsonb->'snapshot_id', 'database', $1::jsonb->'database_name', "
	            "   'created_by', $1::jsonb->'created_by_name', 'origin', $1::jsonb->'origin')))) r "
	            "RETURNING snapshot_id, format_version, compression = 'zstd'",
	            3, argtypes, values, NULL, false, 1);
	bk_owner_end(&access);
	st->snapshot_id = DatumGetInt64(bk_spi_get(0, 1, &isnull));
	format_version = DatumGetInt32(bk_spi_get(0, 2, &isnull));
	st->compressed = DatumGetBool(bk_spi_get(0, 3, &isnull));
	if (format_version > BK_FORMAT_VERSION)
	{
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("exported snapshot has storage format version %d", format_version),
		                errdetail("This version of backupkit reads format versions up to %d.", BK_FORMAT_VERSION),
		                errhint("Update the backupkit extension with ALTER EXTENSION backupkit UPDATE.")));
	}
	bk_failure_watch_set_snapshot(st->snapshot_id);
}

static void
import_table(BkImport *st, const char *json)
{
	Oid argtypes[2] = {TEXTOID, INT8OID};
	Datum values[2] = {CStringGetTextDatum(json), Int64GetDatum(st->snapshot_id)};
	BkOwnerAccess access;
	BkImportTable *t;
	MemoryContext old;
	bool isnull;

	bk_owner_begin(&access);
	bk_spi_exec("INSERT INTO backupkit.snapshot_table SELECT r.* FROM jsonb_populate_record("
	            " NULL::backupkit.snapshot_table, $1::jsonb || jsonb_build_object('snapshot_id', $2)) r"
	            " RETURNING table_no, quote_ident(schema_name) || '.' || quote_ident(table_name), row_count,"
	            " chunk_count, raw_bytes, stored_bytes, checksum",
	            2, argtypes, values, NULL, false, 1);
	bk_owner_end(&access);
	if (st->tables >= st->table_cap)
	{
		int cap = Max(16, st->table_cap * 2);
		st->table_list = st->table_list ? (BkImportTable *) repalloc(st->table_list, sizeof(BkImportTable) * cap)
		                                : (BkImportTable *) MemoryContextAlloc(GetMemoryChunkContext(st),
		                                                                       sizeof(BkImportTable) * cap);
		st->table_cap = cap;
	}
	t = &st->table_list[st->tables];
	old = MemoryContextSwitchTo(GetMemoryChunkContext(st));
	t->table_no = DatumGetInt32(bk_spi_get(0, 1, &isnull));
	t->name = bk_spi_get_text(0, 2);
	t->rows = DatumGetInt64(bk_spi_get(0, 3, &isnull));
	t->chunks = DatumGetInt32(bk_spi_get(0, 4, &isnull));
	t->raw_bytes = DatumGetInt64(bk_spi_get(0, 5, &isnull));
	t->stored_bytes = DatumGetInt64(bk_spi_get(0, 6, &isnull));
	t->checksum = bk_spi_get_text(0, 7);
	MemoryContextSwitchTo(old);
	if (st->tables > 0 && t->table_no <= st->table_list[st->tables - 1].table_no)
	{
		import_error(psprintf("export stream is corrupted: table \"%s\" is out of order", bk_display_name_of(t->name)),
		             psprintf("Its table number %d follows table number %d.", t->table_no,
		                      st->table_list[st->tables - 1].table_no));
	}
	st->tables++;
}

// The chunks of the current table are all in: they must be exactly what its table frame announced.
static void
import_close_table(BkImport *st)
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
		import_error(
		    psprintf("export stream is corrupted: table \"%s\" does not match its chunks", bk_display_name_of(t->name)),
		    psprintf("Its chunks hold " INT64_FORMAT " rows in %d chunks (" INT64_FORMAT " bytes, " INT64_FORMAT
		             " stored) with checksum %s; its table entry records " INT64_FORMAT
		             " rows in %d chunks (" INT64_FORMAT " bytes, " INT64_FORMAT " stored) with checksum %s.",
		             st->got_rows, st->next_chunk, st->got_raw, st->got_stored, bk_checksum_text(st->got_checksum),
		             t->rows, t->chunks, t->raw_bytes, t->stored_bytes, t->checksum));
	}
}

// Moves on to the table of table_no: every table in between must have announced no chunks.
static void
import_open_table(BkImport *st, int table_no, int chunk_no)
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
		import_error(psprintf("export stream is corrupted: chunk %d of table number %d belongs to no table in the "
		                      "stream",
		                      chunk_no, table_no),
		             "No table frame announced that table, or its chunks arrived out of order.");
	}
	for (;;)
	{
		import_close_table(st);
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

// message: a whole message with %d for the chunk number and %s for the table name.
[[noreturn]] static void
chunk_corrupted(BkImport *st, const char *message, const char *detail)
{
	import_error(psprintf(message, st->prefix.chunk_no, bk_display_name_of(st->table_list[st->current].name)), detail);
	pg_unreachable();
}

// Verifies the reassembled chunk: its own checksum over the payload as captured (decompressed when zstd),
// its size, and its place in its table; adds it to the table's running totals.
static Datum
import_chunk_verify(BkImport *st, bool *is_zstd)
{
	bk::ChunkFramePrefix *pf = &st->prefix;
	const char *text;
	size_t len;
	uint64 sum;
	int64 stored = 0;
	Datum payload = (Datum) 0;

	if (st->current < 0 || st->table_list[st->current].table_no != pf->table_no)
	{
		import_open_table(st, pf->table_no, pf->chunk_no);
	}
	if (pf->chunk_no != st->next_chunk)
	{
		chunk_corrupted(st, "export stream is corrupted: chunk %d of table \"%s\" is out of order",
		                psprintf("Chunk %d of the table was expected next.", st->next_chunk));
	}
	if (pf->row_count < 0 || pf->raw_bytes < 0 || (Size) pf->raw_bytes >= MaxAllocSize)
	{
		chunk_corrupted(st, "export stream is corrupted: chunk %d of table \"%s\" records an impossible size",
		                psprintf("It records %d rows and %d bytes.", pf->row_count, pf->raw_bytes));
	}
	if ((pf->encoding == 1) != st->compressed)
	{
		chunk_corrupted(
		    st, "export stream is corrupted: chunk %d of table \"%s\" is not stored as its snapshot's chunks are",
		    psprintf("The chunk is %s but the snapshot is %s.", pf->encoding ? "compressed" : "uncompressed",
		             st->compressed ? "compressed" : "uncompressed"));
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
			chunk_corrupted(st, "export stream is corrupted: chunk %d of table \"%s\" cannot be decompressed",
			                err.message);
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
			chunk_corrupted(st, "export stream is corrupted: chunk %d of table \"%s\" does not have its recorded size",
			                psprintf("It holds %zu bytes but records %d.", len, pf->raw_bytes));
		}
	}
	sum = bk::checksum64(text, len);
	if (sum != pf->checksum)
	{
		chunk_corrupted(st, "export stream is corrupted: chunk %d of table \"%s\" does not match its checksum",
		                "The chunk's content is not the one that was captured.");
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

static void
import_chunk_data(BkImport *st, const unsigned char *data, size_t len)
{
	if ((uint64) st->data.len + len > st->prefix.data_len)
	{
		import_error(
		    psprintf("chunk %d of table %d is longer than announced", st->prefix.chunk_no, st->prefix.table_no), NULL);
	}
	appendBinaryStringInfo(&st->data, (const char *) data, (int) len);
	if ((uint64) st->data.len == st->prefix.data_len)
	{
		import_chunk_insert(st);
	}
}

static void
import_trailer(BkImport *st, const char *json)
{
	Oid argtypes[1] = {TEXTOID};
	Datum values[1] = {CStringGetTextDatum(json)};
	bool isnull;
	int64 tables, chunks, rows;

	// Every announced table is complete: the last one that had chunks, and those after it with none.
	import_close_table(st);
	for (st->current++; st->current < st->tables; st->current++)
	{
		st->next_chunk = 0;
		st->got_rows = st->got_raw = st->got_stored = 0;
		st->got_checksum = 0;
		import_close_table(st);
	}
	bk_spi_exec("SELECT ($1::jsonb->>'tables')::bigint, ($1::jsonb->>'chunks')::bigint, ($1::jsonb->>'rows')::bigint",
	            1, argtypes, values, NULL, true, 1);
	tables = DatumGetInt64(bk_spi_get(0, 1, &isnull));
	chunks = DatumGetInt64(bk_spi_get(0, 2, &isnull));
	rows = DatumGetInt64(bk_spi_get(0, 3, &isnull));
	if (tables != st->tables || chunks != st->chunks || rows != st->rows)
	{
		import_error("export stream is incomplete",
		             psprintf("The trailer announces " INT64_FORMAT " tables, " INT64_FORMAT " chunks and " INT64_FORMAT
		                      " rows; " INT64_FORMAT ", " INT64_FORMAT " and " INT64_FORMAT " arrived.",
		                      tables, chunks, rows, st->tables, st->chunks, st->rows));
	}
	st->got_trailer = true;
}

Datum
bk_import_snapshot_step(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext old;
	BkImport *st;
	bytea *frame;
	bk::FrameView view;
	char *json = NULL;
	int level;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
	{
		elog(ERROR, "import_snapshot_step called in non-aggregate context");
	}
	if (PG_ARGISNULL(1))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("frame must not be null")));
	}
	if (PG_ARGISNULL(0))
	{
		old = MemoryContextSwitchTo(aggcxt);
		st = (BkImport *) palloc0(sizeof(BkImport));
		st->chunk_cxt = AllocSetContextCreate(aggcxt, "backupkit import chunk", ALLOCSET_DEFAULT_SIZES);
		st->started = GetCurrentTimestamp();
		st->current = -1;
		MemoryContextSwitchTo(old);
		bk_failure_watch_begin("import", 0);
	}
	else
	{
		st = (BkImport *) PG_GETARG_POINTER(0);
	}
	frame = PG_GETARG_BYTEA_PP(1);
	if (st->got_trailer)
	{
		import_error("export frame follows the trailer frame", "The trailer is the last frame of an export.");
	}
	{
		const uint64 *expected_id = st->next_sequence == 0 ? NULL : &st->export_id;
		BK_CORE(view = bk::parse_frame(VARDATA_ANY(frame), VARSIZE_ANY_EXHDR(frame), st->next_sequence, expected_id));
	}
	st->export_id = view.export_id;
	st->next_sequence++;

	if ((view.sequence == 0) != (view.kind == bk::FrameKind::header))
	{
		import_error(psprintf("export frame %u is a %s frame", view.sequence, bk::frame_kind_name(view.kind)),
		             "An export starts with one header frame and has no other.");
	}
	if (st->in_chunk != (view.kind == bk::FrameKind::chunk_part))
	{
		import_error(psprintf("export frame %u is a %s frame", view.sequence, bk::frame_kind_name(view.kind)),
		             st->in_chunk ? "The chunk before it is not complete." : "No chunk is being continued.");
	}
	if (view.kind == bk::FrameKind::table && st->chunks > 0)
	{
		import_error(psprintf("export frame %u is a table frame after chunk frames", view.sequence),
		             "Table frames come before the chunks.");
	}
	if (view.kind == bk::FrameKind::header || view.kind == bk::FrameKind::table || view.kind == bk::FrameKind::trailer)
	{
		json = pnstrdup((const char *) view.payload, view.payload_len);
	}

	bk_spi_connect();
	level = bk_stable_settings_push();
	switch (view.kind)
	{
		case bk::FrameKind::header:
			import_header(st, json);
			if (st->compressed)
			{
				MemoryContextCallback *cb =
				    (MemoryContextCallback *) MemoryContextAllocZero(aggcxt, sizeof(MemoryContextCallback));
				bk::ZstdDecompressor *d = nullptr;
				BK_CORE(d = new bk::ZstdDecompressor());
				st->decompressor = d;
				cb->func = free_decompressor;
				cb->arg = d;
				MemoryContextRegisterResetCallback(aggcxt, cb);
			}
			break;
		case bk::FrameKind::table:
			import_table(st, json);
			break;
		case bk::FrameKind::chunk:
			BK_CORE(st->prefix = bk::parse_chunk_prefix(view.payload, view.payload_len));
			st->in_chunk = true;
			old = MemoryContextSwitchTo(st->chunk_cxt);
			initStringInfo(&st->data);
			enlargeStringInfo(&st->data, (int) Min(st->prefix.data_len, (uint64) MaxAllocSize - 1024));
			MemoryContextSwitchTo(old);
			import_chunk_data(st, view.payload + bk::chunk_frame_prefix_size,
			                  view.payload_len - bk::chunk_frame_prefix_size);
			break;
		case bk::FrameKind::chunk_part:
			import_chunk_data(st, view.payload, view.payload_len);
			break;
		case bk::FrameKind::trailer:
			import_trailer(st, json);
			break;
	}
	bk_stable_settings_pop(level);
	bk_spi_finish();
	PG_RETURN_POINTER(st);
}

Datum
bk_import_snapshot_final(PG_FUNCTION_ARGS)
{
	BkImport *st;
	Oid argtypes[1] = {INT8OID};
	Datum values[1];
	BkOwnerAccess access;
	bool isnull;
	int64 bad_tables;
	int64 orphan_chunks;
	int level;
	BkJson details;

	if (!AggCheckCallContext(fcinfo, NULL))
	{
		elog(ERROR, "import_snapshot_final called in non-aggregate context");
	}
	if (PG_ARGISNULL(0))
	{
		import_error("export stream is empty", "No frame was given to backupkit.import_snapshot.");
	}
	st = (BkImport *) PG_GETARG_POINTER(0);
	if (!st->got_trailer)
	{
		import_error("export stream is truncated",
		             psprintf("The trailer frame never arrived: %u frames were given.", st->next_sequence));
	}
	values[0] = Int64GetDatum(st->snapshot_id);
	bk_spi_connect();
	level = bk_stable_settings_push();
	bk_owner_begin(&access);
	bk_spi_exec("SELECT (SELECT count(*) FROM backupkit.snapshot_table t, LATERAL (SELECT count(*) AS chunks, "
	            "   coalesce(sum(c.row_count), 0) AS rows FROM backupkit.snapshot_chunk c "
	            "   WHERE c.snapshot_id = $1 AND c.table_no = t.table_no) x "
	            "   WHERE t.snapshot_id = $1 AND (t.chunk_count <> x.chunks OR t.row_count <> x.rows)), "
	            " (SELECT count(*) FROM backupkit.snapshot_chunk c WHERE c.snapshot_id = $1 AND NOT EXISTS "
	            "   (SELECT FROM backupkit.snapshot_table t WHERE t.snapshot_id = $1 AND t.table_no = c.table_no))",
	            1, argtypes, values, NULL, false, 1);
	bad_tables = DatumGetInt64(bk_spi_get(0, 1, &isnull));
	orphan_chunks = DatumGetInt64(bk_spi_get(0, 2, &isnull));
	if (bad_tables > 0 || orphan_chunks > 0)
	{
		import_error("export stream is inconsistent",
		             psprintf(INT64_FORMAT " tables do not have the chunks they announce and " INT64_FORMAT
		                                   " chunks belong to no table.",
		                      bad_tables, orphan_chunks));
	}
	bk_spi_exec("UPDATE backupkit.snapshot SET status = 'complete' WHERE snapshot_id = $1 AND status = 'importing'", 1,
	            argtypes, values, NULL, false, 0);
	bk_owner_end(&access);
	// The rows as written must be the ones the stream's seals cover; then they get this database's seals.
	bk_metadata_verify_import(st->snapshot_id);
	bk_metadata_seal(st->snapshot_id);
	bk_stable_settings_pop(level);
	bk_json_init(&details);
	bk_json_begin_object(&details, NULL);
	bk_json_int(&details, "frames", st->next_sequence);
	bk_json_int(&details, "tables", st->tables);
	bk_json_int(&details, "chunks", st->chunks);
	bk_json_end_object(&details);
	bk_operation_log("import", st->snapshot_id, "success", st->rows,
	                 (double) (GetCurrentTimestamp() - st->started) / 1000.0, details.buf.data);
	bk_spi_finish();
	bk_failure_watch_end();
	PG_RETURN_INT64(st->snapshot_id);
}
