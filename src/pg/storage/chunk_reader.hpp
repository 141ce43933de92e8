// Reads a captured table's chunks in order, verifying each (checksum, size, row count, zstd frame) and, at
// the end, the table's totals: a restore never applies a byte that was not proven to be what was captured.
#pragma once

#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
}

#include "pg/storage/storage.hpp"

namespace bk
{
class ZstdDecompressor;
}

typedef struct BkChunkReader
{
	const BkTableEntry *entry;
	bool compressed;
	bk::ZstdDecompressor *decompressor; // freed by a reset callback on the reader's context
	MemoryContext owner_cxt;            // where the reader and its buffers live
	MemoryContext chunk_cxt;            // holds the current chunk's stored payload, reset by the next call
	// The decoded payload lives in one grow-only buffer: a fresh multi-megabyte allocation per chunk would
	// be a fresh mmap, and the page faults of touching it cost more than the decompression.
	char *text_buf;
	size_t text_cap;
	int next_chunk;
	uint64 checksum;
	int64 rows_read;
	// the current chunk
	int chunk_no;
	char *json; // payload text, NUL-terminated
	size_t len;
	int rows;
	const char *tids; // the chunk's tuple id list (src/core/codec/tid_runs.hpp) or NULL; not verified here
	size_t tids_len;
} BkChunkReader;

BkChunkReader *bk_chunk_reader_open(const BkTableEntry *entry, bool compressed);
// Loads the next chunk; false after the last one, once the table's totals were checked.
bool bk_chunk_reader_next(BkChunkReader *reader);
// A grow-only buffer of at least size bytes in the reader's context (the caller's scratch buffers use it too).
char *bk_chunk_reader_buffer(BkChunkReader *reader, char **buf, size_t *cap, size_t size);
// Raises XX001 naming the snapshot, table and chunk.
[[noreturn]] void bk_chunk_corrupted(const BkTableEntry *entry, int chunk_no, const char *detail);
// A src/core call on a chunk failed: corruption (XX001) is raised as the chunk's corruption, the core's detail
// kept apart from its message (detail and context line); any other error (out of memory, a bad argument) is
// raised as the core reported it, with its own SQLSTATE.
[[noreturn]] void bk_chunk_core_failure(const BkTableEntry *entry, int chunk_no, const BkErrorInfo *err);
