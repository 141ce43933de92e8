// Loads a snapshot table's rows into a relation through PostgreSQL's COPY FROM machinery, fed chunk by
// chunk from a callback: COPY does type input, partition routing, constraints, index insertion, generated
// columns and batching exactly as it does for a file.
#pragma once

extern "C"
{
#include "postgres.h"
#include "nodes/pg_list.h"
}

#include "pg/storage/chunk_reader.hpp"

// keep[i] says whether captured column i goes into the relation; attnames are the kept columns' names in
// captured order. check_insert_privilege checks INSERT on those columns as COPY does (skip it only for a
// staging table the caller created). Returns the number of rows loaded.
// display_name names the restored table in errors; key_names (String nodes) are the key columns shown
// for the row that failed.
uint64 bk_copy_chunks_into(Oid relid, List *attnames, BkChunkReader *reader, const bool *keep,
                           bool check_insert_privilege, const char *display_name, List *key_names);

// Chooses the rows of a chunk to load: sets row_keep[i] for the chunk's row i (its ordinal, counting every
// captured row of the table from 0, is first_ordinal + i) and returns how many it set, or -1 when no row
// of this or any later chunk is wanted (loading then stops).
typedef int64 (*BkRowFilter)(void *arg, int64 first_ordinal, int rows, bool *row_keep);

// As bk_copy_chunks_into, loading only the rows filter wants. first_pass: this is the restore's first read of
// the chunks, so it reports their rows as progress (a second pass only keeps the notices coming).
uint64 bk_copy_chunk_rows_into(Oid relid, List *attnames, BkChunkReader *reader, const bool *keep, BkRowFilter filter,
                               void *filter_arg, bool first_pass, bool check_insert_privilege, const char *display_name,
                               List *key_names);

// Loads a key stage the caller created: per captured row its key columns (key_cols: indexes into the captured
// columns), its fingerprint (bigint) and its ordinal (bigint); attnames name those stage columns in that
// order. Reports progress, as a restore's first pass over the chunks. filter (optional) leaves rows out; it
// must not end the pass early (return -1).
uint64 bk_copy_chunk_keys_into(Oid relid, List *attnames, BkChunkReader *reader, const bool *keep, const int *key_cols,
                               int nkeys, const char *display_name, BkRowFilter filter, void *filter_arg);
