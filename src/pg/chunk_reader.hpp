// Reads a captured table's chunks in order, verifying each (checksum, size, row count, zstd frame) and, at
// the end, the table's totals: a restore never applies a byte that was not proven to be what was captured.
#pragma once

extern "C"
{
#include "postgres.h"
}

#include "storage.hpp"

namespace bk
{
class ZstdDecompressor;
}

typedef struct BkChunkReader
{
	const BkTableEntry *entry;
	bool compressed;
	bk::ZstdDecompressor *decompressor; // freed by a reset callback on the reader's context
	MemoryContext chunk_cxt;            // holds the current chunk, reset by the next call
	int next_chunk;
	uint64 checksum;
	int64 rows_read;
	// the current chunk
	int chunk_no;
	char *json; // payload text, NUL-terminated
	size_t len;
	int rows;
} BkChunkReader;

BkChunkReader *bk_chunk_reader_open(const BkTableEntry *entry, bool compressed);
// Loads the next chunk; false after the last one, once the table's totals were checked.
bool bk_chunk_reader_next(BkChunkReader *reader);
// Raises XX001 naming the snapshot, table and chunk.
pg_attribute_noreturn() void bk_chunk_corrupted(const BkTableEntry *entry, int chunk_no, const char *detail);
