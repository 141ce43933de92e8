// Export and import's own parts, shared by their files and by nothing else: the import aggregate's state (BkImport)
// and the checks its frames go through. Format: src/core/codec/export_frame.hpp and doc/export-format.md.
#pragma once

#include "core/codec/checksum.hpp"
#include "core/codec/export_frame.hpp"
#include "core/codec/zstd_codec.hpp"
#include "pg/boundary/boundary.hpp"

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

#include "pg/storage/chunk_writer.hpp"
#include "pg/support/compat.hpp"
#include "pg/support/failure_log.hpp"
#include "pg/storage/metadata_checksum.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/report_json.hpp"
#include "pg/support/rls_scope.hpp"
#include "pg/storage/storage.hpp"

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

// The hint of every error that refuses an import stream.
#define BK_IMPORT_HINT "Export the snapshot again and copy all its frames, in order, without modification."

void bk_import_free_decompressor(void *arg);

// The chunks of the current table are all in: they must be exactly what its table frame announced.
void bk_import_close_table(BkImport *st);

void bk_import_chunk_data(BkImport *st, const unsigned char *data, size_t len);
