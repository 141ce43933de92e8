// backupkit.export_snapshot (a snapshot as a stream of checksummed frames) and the aggregate
// backupkit.import_snapshot that writes them back as they arrive. Format: src/core/export_frame.hpp and
// doc/export-format.md.
extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include "../core/export_frame.hpp"
#include "boundary.hpp"
#include "compat.hpp"
#include "failure_log.hpp"
#include "operation_log.hpp"
#include "report_json.hpp"
#include "storage.hpp"

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
} BkExport;

static void
emit_frame(BkExport *ex, bk::FrameKind kind, const char *payload, size_t len)
{
	size_t size = bk::export_frame_size(len);
	bytea *frame = (bytea *) palloc(VARHDRSZ + size);
	Datum value;
	bool isnull = false;

	SET_VARSIZE(frame, VARHDRSZ + size);
	bk::encode_frame(kind, ex->sequence++, payload, len, (unsigned char *) VARDATA(frame));
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

	bk_failure_watch_begin("export", snapshot_id);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ex.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ex.sequence = 0;

	bk_spi_connect();
	level = bk_stable_settings_push();
	bk_snapshot_fetch(snapshot_id, &snap); // FOR KEY SHARE: a prune leaves the snapshot alone meanwhile

	bk_owner_begin(&access);
	bk_spi_exec("SELECT to_jsonb(s)::text FROM backupkit.snapshot s WHERE s.snapshot_id = $1", 1, argtypes, values,
	            NULL, true, 1);
	bk_owner_end(&access);
	emit_json_frame(&ex, bk::FrameKind::header, bk_spi_get_text(0, 1));

	bk_owner_begin(&access);
	// Where the rows lay in this database's heaps means nothing elsewhere (and an imported entry is never
	// trusted with it anyway, see unchanged_rows.hpp): it stays out of the file.
	bk_spi_exec("SELECT (to_jsonb(t) - 'capture_xmin' - 'capture_xid' - 'capture_relfilenode' - 'capture_layout')::text"
	            " FROM backupkit.snapshot_table t WHERE t.snapshot_id = $1 ORDER BY t.table_no",
	            1, argtypes, values, NULL, true, 0);
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

// The aggregate's transition state, in the aggregate's memory context.
typedef struct BkImport
{
	int64 snapshot_id;
	uint32 next_sequence;
	bool got_trailer;
	int64 tables;
	int64 chunks;
	int64 rows;
	TimestampTz started;
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
	            "RETURNING snapshot_id, format_version",
	            3, argtypes, values, NULL, false, 1);
	bk_owner_end(&access);
	st->snapshot_id = DatumGetInt64(bk_spi_get(0, 1, &isnull));
	format_version = DatumGetInt32(bk_spi_get(0, 2, &isnull));
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

	bk_owner_begin(&access);
	bk_spi_exec("INSERT INTO backupkit.snapshot_table SELECT r.* FROM jsonb_populate_record("
	            " NULL::backupkit.snapshot_table, $1::jsonb || jsonb_build_object('snapshot_id', $2)) r",
	            2, argtypes, values, NULL, false, 0);
	bk_owner_end(&access);
	st->tables++;
}

static void
import_chunk_insert(BkImport *st)
{
	Oid argtypes[8] = {INT8OID, INT4OID, INT4OID, INT4OID, INT4OID, INT8OID, TEXTOID, BYTEAOID};
	Datum values[8];
	char nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	BkOwnerAccess access;
	MemoryContext old = MemoryContextSwitchTo(st->chunk_cxt);

	values[0] = Int64GetDatum(st->snapshot_id);
	values[1] = Int32GetDatum(st->prefix.table_no);
	values[2] = Int32GetDatum(st->prefix.chunk_no);
	values[3] = Int32GetDatum(st->prefix.row_count);
	values[4] = Int32GetDatum(st->prefix.raw_bytes);
	values[5] = Int64GetDatum((int64) st->prefix.checksum);
	if (st->prefix.encoding == 0)
	{
		values[6] = PointerGetDatum(cstring_to_text_with_len(st->data.data, st->data.len));
		nulls[7] = 'n';
	}
	else
	{
		bytea *b = (bytea *) palloc(VARHDRSZ + st->data.len);
		SET_VARSIZE(b, VARHDRSZ + st->data.len);
		memcpy(VARDATA(b), st->data.data, st->data.len);
		values[7] = PointerGetDatum(b);
		nulls[6] = 'n';
	}
	MemoryContextSwitchTo(old);
	bk_owner_begin(&access);
	bk_spi_exec("INSERT INTO backupkit.snapshot_chunk (snapshot_id, table_no, chunk_no, row_count, raw_bytes, "
	            "checksum, payload, payload_zstd) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)",
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
	BK_CORE(view = bk::parse_frame(VARDATA_ANY(frame), VARSIZE_ANY_EXHDR(frame), st->next_sequence));
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
