// Loads a snapshot table's rows into a relation through PostgreSQL's COPY FROM machinery, fed chunk by
// chunk from a callback: COPY does type input, partition routing, constraints, index insertion, generated
// columns and batching exactly as it does for a file.
#pragma once

extern "C"
{
#include "postgres.h"
#include "nodes/pg_list.h"
}

#include "chunk_reader.hpp"

// keep[i] says whether captured column i goes into the relation; attnames are the kept columns' names in
// captured order. check_insert_privilege checks INSERT on those columns as COPY does (skip it only for a
// staging table the caller created). Returns the number of rows loaded.
// display_name names the restored table in errors; key_names (String nodes) are the key columns shown
// for the row that failed.
uint64 bk_copy_chunks_into(Oid relid, List *attnames, BkChunkReader *reader, const bool *keep,
                           bool check_insert_privilege, const char *display_name, List *key_names);
