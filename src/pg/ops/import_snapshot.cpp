// The aggregate backupkit.import_snapshot: writes an exported snapshot back as its frames arrive, in order
// (header, tables, chunks in import_chunks.cpp, trailer), and refuses anything out of place.
#include "core/codec/checksum.hpp"
#include "core/codec/export_frame.hpp"
#include "core/codec/zstd_codec.hpp"
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/ops/export_import_internal.hpp"
#include "pg/support/operation.hpp"
#include "pg/support/message_names.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_import_snapshot_step);
	PG_FUNCTION_INFO_V1(bk_import_snapshot_final);
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
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("export stream is corrupted: table \"%s\" is out of order", bk_display_name_of(t->name)),
		                errdetail("Its table number %d follows table number %d.", t->table_no,
		                          st->table_list[st->tables - 1].table_no),
		                errhint(BK_IMPORT_HINT)));
	}
	st->tables++;
}

static void
import_trailer(BkImport *st, const char *json)
{
	Oid argtypes[1] = {TEXTOID};
	Datum values[1] = {CStringGetTextDatum(json)};
	bool isnull;
	int64 tables, chunks, rows;

	// Every announced table is complete: the last one that had chunks, and those after it with none.
	bk_import_close_table(st);
	for (st->current++; st->current < st->tables; st->current++)
	{
		st->next_chunk = 0;
		st->got_rows = st->got_raw = st->got_stored = 0;
		st->got_checksum = 0;
		bk_import_close_table(st);
	}
	bk_spi_exec("SELECT ($1::jsonb->>'tables')::bigint, ($1::jsonb->>'chunks')::bigint, ($1::jsonb->>'rows')::bigint",
	            1, argtypes, values, NULL, true, 1);
	tables = DatumGetInt64(bk_spi_get(0, 1, &isnull));
	chunks = DatumGetInt64(bk_spi_get(0, 2, &isnull));
	rows = DatumGetInt64(bk_spi_get(0, 3, &isnull));
	if (tables != st->tables || chunks != st->chunks || rows != st->rows)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_DATA_CORRUPTED), errmsg("export stream is incomplete"),
		         errdetail("The trailer announces " INT64_FORMAT " tables, " INT64_FORMAT " chunks and " INT64_FORMAT
		                   " rows; " INT64_FORMAT ", " INT64_FORMAT " and " INT64_FORMAT " arrived.",
		                   tables, chunks, rows, st->tables, st->chunks, st->rows),
		         errhint(BK_IMPORT_HINT)));
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
	BkOperation op;

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
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("export frame follows the trailer frame"),
		                errdetail("The trailer is the last frame of an export."), errhint(BK_IMPORT_HINT)));
	}
	{
		const uint64 *expected_id = st->next_sequence == 0 ? NULL : &st->export_id;
		BK_CORE(view = bk::parse_frame(VARDATA_ANY(frame), VARSIZE_ANY_EXHDR(frame), st->next_sequence, expected_id));
	}
	st->export_id = view.export_id;
	st->next_sequence++;

	if ((view.sequence == 0) != (view.kind == bk::FrameKind::header))
	{
		ereport(ERROR,
		        (errcode(ERRCODE_DATA_CORRUPTED),
		         errmsg("export frame %u is of kind \"%s\" at the wrong place", view.sequence,
		                bk::frame_kind_name(view.kind)),
		         errdetail("An export starts with one header frame and has no other."), errhint(BK_IMPORT_HINT)));
	}
	if (st->in_chunk != (view.kind == bk::FrameKind::chunk_part))
	{
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("export frame %u is of kind \"%s\" at the wrong place", view.sequence,
		                       bk::frame_kind_name(view.kind)),
		                st->in_chunk ? errdetail("The chunk before it is not complete.")
		                             : errdetail("No chunk is being continued."),
		                errhint(BK_IMPORT_HINT)));
	}
	if (view.kind == bk::FrameKind::table && st->chunks > 0)
	{
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("export frame %u is a table frame after chunk frames", view.sequence),
		                errdetail("Table frames come before the chunks."), errhint(BK_IMPORT_HINT)));
	}
	if (view.kind == bk::FrameKind::header || view.kind == bk::FrameKind::table || view.kind == bk::FrameKind::trailer)
	{
		json = pnstrdup((const char *) view.payload, view.payload_len);
	}

	bk_operation_begin(&op, "import_snapshot_step", 0, 0, NULL);
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
				cb->func = bk_import_free_decompressor;
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
			bk_import_chunk_data(st, view.payload + bk::chunk_frame_prefix_size,
			                     view.payload_len - bk::chunk_frame_prefix_size);
			break;
		case bk::FrameKind::chunk_part:
			bk_import_chunk_data(st, view.payload, view.payload_len);
			break;
		case bk::FrameKind::trailer:
			import_trailer(st, json);
			break;
	}
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
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
	BkOperation op;
	BkJson details;

	if (!AggCheckCallContext(fcinfo, NULL))
	{
		elog(ERROR, "import_snapshot_final called in non-aggregate context");
	}
	if (PG_ARGISNULL(0))
	{
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("export stream is empty"),
		                errdetail("No frame was given to backupkit.import_snapshot."), errhint(BK_IMPORT_HINT)));
	}
	st = (BkImport *) PG_GETARG_POINTER(0);
	if (!st->got_trailer)
	{
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("export stream is truncated"),
		                errdetail("The trailer frame never arrived: %u frames were given.", st->next_sequence),
		                errhint(BK_IMPORT_HINT)));
	}
	values[0] = Int64GetDatum(st->snapshot_id);
	// The watch began with the first frame (bk_import_snapshot_step); it ends here.
	memset(&op, 0, sizeof(op));
	bk_operation_begin(&op, "import", st->snapshot_id, BK_OP_WATCHED, NULL);
	op.started = st->started;
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
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("export stream is inconsistent"),
		                errdetail("Tables that do not have the chunks they announce: " INT64_FORMAT
		                          "; chunks that belong to no table: " INT64_FORMAT ".",
		                          bad_tables, orphan_chunks),
		                errhint(BK_IMPORT_HINT)));
	}
	bk_spi_exec("UPDATE backupkit.snapshot SET status = 'complete' WHERE snapshot_id = $1 AND status = 'importing'", 1,
	            argtypes, values, NULL, false, 0);
	bk_owner_end(&access);
	// The rows as written must be the ones the stream's seals cover; then they get this database's seals.
	bk_metadata_verify_import(st->snapshot_id);
	bk_metadata_seal(st->snapshot_id);
	bk_json_init(&details);
	bk_json_begin_object(&details, NULL);
	bk_json_int(&details, "frames", st->next_sequence);
	bk_json_int(&details, "tables", st->tables);
	bk_json_int(&details, "chunks", st->chunks);
	bk_json_end_object(&details);
	bk_operation_log_success(&op, st->rows, details.buf.data);
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
	PG_RETURN_INT64(st->snapshot_id);
}
