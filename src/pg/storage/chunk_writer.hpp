// Accumulates captured rows into chunk payload text and writes full chunks to backupkit.snapshot_chunk.
#pragma once

extern "C"
{
#include "postgres.h"
#include "lib/stringinfo.h"
}

namespace bk
{
class ZstdCompressor;
}

typedef struct BkChunkWriter
{
	int64 snapshot_id;
	int table_no;
	bool compress;
	bk::ZstdCompressor *compressor; // freed by a reset callback on the writer's context
	MemoryContext chunk_cxt;        // reset after every chunk
	StringInfoData text;            // payload text of the chunk being filled
	int rows_in_chunk;
	int chunk_no;
	// Heap tuple ids of the chunk's rows (src/core/codec/tid_runs.hpp), when the table records them.
	bool record_tids;
	StringInfoData tids;
	uint32 run_block;
	uint16 run_first;
	uint32 run_len;
	uint32 prev_run_block;
	// totals of the table
	int64 rows;
	int64 raw_bytes;
	int64 stored_bytes;
	uint64 checksum;
} BkChunkWriter;

// Creates the writer in the current memory context; its zstd context lives as long as that context.
BkChunkWriter *bk_chunk_writer_create(int64 snapshot_id, bool compress);
// record_tids: every row will be preceded by bk_chunk_writer_tid.
void bk_chunk_writer_start_table(BkChunkWriter *w, int table_no, bool record_tids);
// The heap tuple id the next row is read from.
void bk_chunk_writer_tid(BkChunkWriter *w, uint32 block, uint16 offset);
// Opens a row in the chunk text; the caller appends values with bk_chunk_writer_value.
void bk_chunk_writer_begin_row(BkChunkWriter *w);
void bk_chunk_writer_value(BkChunkWriter *w, int colno, const char *text); // text NULL means SQL NULL
void bk_chunk_writer_end_row(BkChunkWriter *w);
bool bk_chunk_writer_full(const BkChunkWriter *w);
// Writes the chunk being filled, if it holds any row. Requires an SPI connection.
void bk_chunk_writer_flush(BkChunkWriter *w);
char *bk_checksum_text(uint64 checksum);

extern int bk_chunk_rows;
extern int bk_chunk_kilobytes;
extern int bk_zstd_level;
