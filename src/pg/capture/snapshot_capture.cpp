// backupkit.snapshot_tables: captures a set of tables under one MVCC snapshot into backupkit's storage.
//
// Rows are read as the caller (privileges and row-level security apply) through a read-only cursor, which
// runs under the calling statement's snapshot, so every table is read at the same instant. The cursor is
// drained in batches into a DestReceiver that formats each row straight into the chunk text; chunks are
// written between batches, so memory holds at most one chunk and one batch whatever the table size.
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/itemptr.h"
#include "storage/lmgr.h"
#include "tcop/dest.h"
#include "tcop/pquery.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

#include "pg/support/failure_log.hpp"
#include "pg/support/lock_order.hpp"
#include "pg/storage/metadata_checksum.hpp"
#include "pg/storage/chunk_writer.hpp"
#include "pg/capture/citus_snapshot.hpp"
#include "pg/citus/citus_tables.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/progress.hpp"
#include "pg/support/rls_scope.hpp"
#include "pg/capture/snapshot_label.hpp"
#include "pg/storage/storage.hpp"
#include "pg/schema/table_definition.hpp"
#include "pg/support/table_list.hpp"
#include "pg/schema/table_metadata.hpp"
#include "pg/restore/unchanged_rows.hpp"
#include "pg/support/operation.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_snapshot_tables);
}

typedef struct CaptureReceiver
{
	DestReceiver pub;
	BkChunkWriter *writer;
	bool with_tid;       // the cursor's first column is ctid
	int natts;           // captured values per row
	FmgrInfo *out_funcs; // per captured value
	MemoryContext row_cxt;
	int64 rows_in_batch;
} CaptureReceiver;

static bool
capture_receive(TupleTableSlot *slot, DestReceiver *self)
{
	CaptureReceiver *r = (CaptureReceiver *) self;
	MemoryContext old = MemoryContextSwitchTo(r->row_cxt);

	int first = r->with_tid ? 1 : 0;

	slot_getallattrs(slot);
	if (r->with_tid)
	{
		ItemPointer tid = (ItemPointer) DatumGetPointer(slot->tts_values[0]);
		bk_chunk_writer_tid(r->writer, ItemPointerGetBlockNumberNoCheck(tid), ItemPointerGetOffsetNumberNoCheck(tid));
	}
	bk_chunk_writer_begin_row(r->writer);
	for (int i = 0; i < r->natts; i++)
	{
		const char *text = NULL;
		if (!slot->tts_isnull[first + i])
		{
			text = OutputFunctionCall(&r->out_funcs[i], slot->tts_values[first + i]);
		}
		bk_chunk_writer_value(r->writer, i, text);
	}
	bk_chunk_writer_end_row(r->writer);
	MemoryContextSwitchTo(old);
	MemoryContextReset(r->row_cxt);
	r->rows_in_batch++;
	return true;
}

static void
capture_startup(DestReceiver *, int, TupleDesc)
{
}

static void
capture_shutdown(DestReceiver *)
{
}

static void
capture_destroy(DestReceiver *)
{
}

// Reads every row of one table into chunks; with_tid also records where each row is stored.
static void
capture_rows(const BkTableMetadata *meta, BkChunkWriter *writer, bool with_tid)
{
	StringInfoData sql;
	SPIPlanPtr plan;
	Portal portal;
	CaptureReceiver recv;
	bool first = true;
	long batch = Min(100, bk_chunk_rows);

	initStringInfo(&sql);
	appendStringInfoString(&sql, with_tid ? "SELECT ctid, " : "SELECT ");
	for (int i = 0; i < meta->ncolumns; i++)
	{
		if (!meta->column_list[i].captured)
		{
			continue;
		}
		if (!first)
		{
			appendStringInfoString(&sql, ", ");
		}
		appendStringInfoString(&sql, quote_identifier(meta->column_list[i].name));
		first = false;
	}
	if (first)
	{
		appendStringInfoString(&sql, "NULL::pg_catalog.text");
	}
	// A partitioned table is read with all its partitions; an inheritance parent only for itself.
	appendStringInfo(&sql, " FROM %s%s", meta->relkind == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ",
	                 quote_qualified_identifier(meta->schema_name, meta->table_name));

	plan = bk_spi_prepare(sql.data, 0, NULL);
	{
		MemoryContext cxt = CurrentMemoryContext;
		portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
		MemoryContextSwitchTo(cxt);
	}

	memset(&recv, 0, sizeof(recv));
	recv.pub.receiveSlot = capture_receive;
	recv.pub.rStartup = capture_startup;
	recv.pub.rShutdown = capture_shutdown;
	recv.pub.rDestroy = capture_destroy;
	recv.pub.mydest = DestNone;
	recv.writer = writer;
	recv.row_cxt = AllocSetContextCreate(CurrentMemoryContext, "backupkit capture row", ALLOCSET_DEFAULT_SIZES);
	recv.with_tid = with_tid;
	recv.natts = first ? 0 : portal->tupDesc->natts - (with_tid ? 1 : 0);
	recv.out_funcs = (FmgrInfo *) palloc0(sizeof(FmgrInfo) * Max(recv.natts, 1));
	for (int i = 0; i < recv.natts; i++)
	{
		Oid func;
		bool varlena;
		getTypeOutputInfo(TupleDescAttr(portal->tupDesc, i + (with_tid ? 1 : 0))->atttypid, &func, &varlena);
		fmgr_info(func, &recv.out_funcs[i]);
	}

	for (;;)
	{
		uint64 n;
		recv.rows_in_batch = 0;
		n = PortalRunFetch(portal, FETCH_FORWARD, batch, &recv.pub);
		bk_progress_rows(recv.rows_in_batch);
		if (bk_chunk_writer_full(writer) || (n < (uint64) batch && writer->rows_in_chunk > 0))
		{
			bk_chunk_writer_flush(writer);
		}
		if (n < (uint64) batch)
		{
			break;
		}
		// Size the next batch so the chunk closes near its row and byte limits.
		{
			long room_rows = bk_chunk_rows - writer->rows_in_chunk;
			long room_bytes = (long) bk_chunk_kilobytes * 1024 - (writer->text.data ? writer->text.len : 0);
			long avg = writer->rows_in_chunk > 0 && writer->text.data ? writer->text.len / writer->rows_in_chunk : 1024;
			long by_bytes = Max(room_bytes, 0) / Max(avg, 1);
			batch = Max(1, Min(room_rows, Max(by_bytes, 1)));
			batch = Min(batch, 10000);
		}
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(recv.row_cxt);
}

static void
store_table_entry(int64 snapshot_id, int table_no, const BkTableMetadata *meta, Datum definition,
                  const BkChunkWriter *w, const BkCapturePosition *pos)
{
	Oid argtypes[21] = {INT8OID,      INT4OID, NAMEOID,  NAMEOID,  OIDOID,  CHAROID, JSONBOID,
	                    TEXTARRAYOID, TEXTOID, JSONBOID, JSONBOID, INT8OID, INT4OID, INT8OID,
	                    INT8OID,      TEXTOID, INT8OID,  XIDOID,   OIDOID,  INT8OID, JSONBOID};
	Datum values[21];
	char nulls[21];
	BkOwnerAccess access;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(snapshot_id);
	values[1] = Int32GetDatum(table_no);
	values[2] = CStringGetDatum(meta->schema_name);
	values[3] = CStringGetDatum(meta->table_name);
	values[4] = ObjectIdGetDatum(meta->relid);
	values[5] = CharGetDatum(meta->relkind);
	values[6] = meta->columns;
	values[7] = meta->key_columns;
	if (meta->key_columns == (Datum) 0)
	{
		nulls[7] = 'n';
	}
	if (meta->key_kind != NULL)
	{
		values[8] = CStringGetTextDatum(meta->key_kind);
	}
	else
	{
		nulls[8] = 'n';
	}
	values[9] = meta->foreign_keys;
	values[10] = meta->sequences;
	values[11] = Int64GetDatum(w->rows);
	values[12] = Int32GetDatum(w->chunk_no);
	values[13] = Int64GetDatum(w->raw_bytes);
	values[14] = Int64GetDatum(w->stored_bytes);
	values[15] = CStringGetTextDatum(bk_checksum_text(w->checksum));
	if (pos != NULL)
	{
		values[16] = Int64GetDatum((int64) pos->xmin);
		// The (sub)transaction whose xmin this INSERT gives the entry; see unchanged_rows.hpp.
		values[17] = TransactionIdGetDatum(GetCurrentTransactionId());
		values[18] = ObjectIdGetDatum(pos->relfilenode);
		values[19] = Int64GetDatum(pos->layout);
	}
	else
	{
		memset(nulls + 16, 'n', 4);
	}
	values[20] = definition;

	bk_owner_begin(&access);
	bk_spi_exec("INSERT INTO backupkit.snapshot_table (snapshot_id, table_no, schema_name, table_name, relid, "
	            "relkind, columns, key_columns, key_kind, foreign_keys, sequences, row_count, chunk_count, "
	            "raw_bytes, stored_bytes, checksum, capture_xmin, capture_xid, capture_relfilenode, capture_layout, "
	            "definition) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
	            "$19, $20, $21)",
	            21, argtypes, values, nulls, false, 0);
	bk_owner_end(&access);
}

static int64
create_snapshot_row(const char *label, bk::Compression compression)
{
	Oid argtypes[6] = {TEXTOID, OIDOID, NAMEOID, TEXTOID, INT4OID, INT4OID};
	Datum values[6];
	char nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	BkOwnerAccess access;
	Oid user = GetUserId();
	bool isnull;
	int64 id;

	values[0] = label ? CStringGetTextDatum(label) : (Datum) 0;
	nulls[0] = label ? ' ' : 'n';
	values[1] = ObjectIdGetDatum(user);
	values[2] = CStringGetDatum(GetUserNameFromId(user, false));
	values[3] = CStringGetTextDatum(bk::compression_name(compression));
	values[4] = Int32GetDatum(BK_FORMAT_VERSION);
	values[5] = Int32GetDatum(PG_VERSION_NUM);

	bk_owner_begin(&access);
	bk_spi_exec("INSERT INTO backupkit.snapshot (label, created_by, created_by_name, status, compression, "
	            "format_version, server_version_num, server_version) "
	            "VALUES ($1, $2, $3, 'complete', $4, $5, $6, pg_catalog.current_setting('server_version')) "
	            "RETURNING snapshot_id",
	            6, argtypes, values, nulls, false, 1);
	id = DatumGetInt64(bk_spi_get(0, 1, &isnull));
	bk_owner_end(&access);
	return id;
}

static void
finish_snapshot_row(int64 id, int tables, int64 rows, int64 raw, int64 stored, double ms)
{
	Oid argtypes[6] = {INT8OID, INT4OID, INT8OID, INT8OID, INT8OID, FLOAT8OID};
	Datum values[6] = {Int64GetDatum(id),  Int32GetDatum(tables), Int64GetDatum(rows),
	                   Int64GetDatum(raw), Int64GetDatum(stored), Float8GetDatum(ms)};
	BkOwnerAccess access;

	bk_owner_begin(&access);
	bk_spi_exec("UPDATE backupkit.snapshot SET table_count = $2, row_count = $3, raw_bytes = $4, "
	            "stored_bytes = $5, duration_ms = $6 WHERE snapshot_id = $1",
	            6, argtypes, values, NULL, false, 0);
	bk_owner_end(&access);
}

Datum
bk_snapshot_tables(PG_FUNCTION_ARGS)
{
	Oid *relids;
	int nrels;
	char *label = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	bk::Compression compression = bk::Compression::zstd;
	MemoryContext op_cxt;
	BkChunkWriter *writer;
	int64 snapshot_id;
	int64 total_rows = 0, total_raw = 0, total_stored = 0;
	BkOperation op;

	if (PG_ARGISNULL(2))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("compression must not be null"),
		                errhint("Valid values are \"zstd\" and \"none\".")));
	}
	{
		char *method = text_to_cstring(PG_GETARG_TEXT_PP(2));
		BK_CORE(compression = bk::parse_compression(method));
	}
	bk_check_label(label);
	relids = bk_table_list_arg(fcinfo, 0, "tables", &nrels);
	bk_operation_watch(&op, "snapshot", 0);
	bk_check_capturable(relids, nrels);
	bk_refuse_citus_tables(relids, nrels, BK_CITUS_SNAPSHOT);
	bk_lock_in_order(relids, nrels, AccessShareLock);

	bk_operation_begin(&op, "snapshot", 0, BK_OP_WATCHED, "backupkit snapshot");
	op_cxt = op.cxt;
	bk_citus_lock_for_capture(relids, nrels);

	snapshot_id = create_snapshot_row(label, compression);
	bk_failure_watch_set_snapshot(snapshot_id);
	writer = bk_chunk_writer_create(snapshot_id, compression == bk::Compression::zstd);
	bk_progress_begin("snapshot", snapshot_id, nrels);
	for (int i = 0; i < nrels; i++)
	{
		BkTableMetadata meta;
		BkCapturePosition pos;
		bool with_tid;
		Datum definition;
		MemoryContext table_cxt = AllocSetContextCreate(op_cxt, "backupkit snapshot table", ALLOCSET_DEFAULT_SIZES);
		MemoryContextSwitchTo(table_cxt);
		bk_read_table_metadata(relids[i], &meta);
		// Read with the metadata, under the same MVCC snapshot as the rows.
		definition = bk_definition_with_citus(
		    bk_definition_with_capture_rls(bk_read_table_definition(relids[i]), relids[i]), relids[i]);
		bk_progress_table(i, quote_qualified_identifier(meta.schema_name, meta.table_name), -1);
		// Positions read through Citus are per shard and per node: none is recorded (citus_snapshot.hpp).
		with_tid = !bk_citus_table(relids[i], NULL) && bk_capture_position(relids[i], &pos);
		bk_chunk_writer_start_table(writer, i, with_tid);
		capture_rows(&meta, writer, with_tid);
		store_table_entry(snapshot_id, i, &meta, definition, writer, with_tid ? &pos : NULL);
		total_rows += writer->rows;
		total_raw += writer->raw_bytes;
		total_stored += writer->stored_bytes;
		MemoryContextSwitchTo(op_cxt);
		MemoryContextDelete(table_cxt);
	}
	{
		double ms = (double) (GetCurrentTimestamp() - op.started) / 1000.0;
		finish_snapshot_row(snapshot_id, nrels, total_rows, total_raw, total_stored, ms);
		bk_metadata_seal(snapshot_id);
		bk_progress_end();
		bk_operation_log("snapshot", snapshot_id, "success", total_rows, ms,
		                 psprintf("{\"tables\": %d, \"stored_bytes\": " INT64_FORMAT "}", nrels, total_stored));
	}
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
	PG_RETURN_INT64(snapshot_id);
}
