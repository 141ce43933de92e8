// backupkit.export_snapshot: a snapshot as a stream of checksummed frames (header, tables, chunks split into parts,
// trailer). Format: src/core/codec/export_frame.hpp and doc/export-format.md.
#include "core/codec/checksum.hpp"
#include "core/codec/export_frame.hpp"
#include "core/codec/zstd_codec.hpp"
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/ops/export_import_internal.hpp"
#include "pg/support/operation.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_export_snapshot);
}

#define BK_EXPORT_BATCH 16

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
	BkOperation op;
	Oid seal_types[3] = {INT8OID, BYTEAOID, BYTEAARRAYOID};
	Datum seal_args[3];
	bytea *snapshot_seal;
	bytea **table_seals;
	int *seal_nos;
	int nseals;

	bk_operation_watch(&op, "export", snapshot_id);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ex.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ex.sequence = 0;

	bk_operation_begin(&op, "export", snapshot_id, BK_OP_WATCHED, NULL);
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

	bk_json_init(&trailer);
	bk_json_begin_object(&trailer, NULL);
	bk_json_int(&trailer, "frames", ex.sequence);
	bk_json_int(&trailer, "chunks", chunks);
	bk_json_end_object(&trailer);
	bk_operation_log_success(&op, rows, trailer.buf.data);
	return bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
}
