// Rows still stored in the very tuple they were captured from, found without reading them.
//
// A heap tuple is never changed in place: UPDATE and DELETE leave it dead and write a new version with a new
// xmin. So a live tuple whose inserting transaction had finished before the capture's MVCC snapshot was
// taken (its xmin precedes that snapshot's xmin) was visible to the capture, and a live tuple sitting at the
// tuple id the capture read a row from, with such an xmin, is that row, byte for byte, provided that
//  * the heap is the same file (relfilenode: VACUUM FULL, CLUSTER, TRUNCATE and rewriting ALTERs change it),
//  * the attribute layout is the same (ADD/DROP/RENAME COLUMN change the meaning of the same bytes),
//  * the entry was written by the capture itself (its capture_xid is its own xmin; a copied, imported or
//    pg_dump-restored entry never qualifies), and
//  * fewer than 2^30 transactions have run since, so 32-bit xid comparison is exact.
// merge and missing use this to leave such rows out of their first pass: after a bad UPDATE of 10% of a
// table they read and compare only that 10%, with nothing recorded on the write path (unlike trigger-based
// logging). It applies to plain heap tables without row-level security for the caller; otherwise, or when
// any condition fails, every row takes the normal path.
#pragma once

#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
}

#include "pg/storage/chunk_reader.hpp"
#include "pg/storage/storage.hpp"

// Recorded at capture for a plain heap table (returns false for any other relation).
typedef struct BkCapturePosition
{
	uint64 xmin; // FullTransactionId of the capture snapshot's xmin
	Oid relfilenode;
	int64 layout;
} BkCapturePosition;

bool bk_capture_position(Oid relid, BkCapturePosition *out);

typedef struct BkUnchangedRows BkUnchangedRows;

// Whether the shortcut applies to live table relid (see above).
bool bk_unchanged_rows_apply(const BkTableEntry *entry, Oid relid);
// Whether every chunk of the entry holds a valid tuple id list (reads the lists, not the rows).
bool bk_unchanged_rows_all_listed(const BkTableEntry *entry);
// Whether a chunk's tuple id list decodes to exactly rows tuple ids; err says why not. Allocates its scratch
// in the current memory context.
bool bk_tid_list_valid(const bytea *list, int rows, BkErrorInfo *err);

// NULL when the shortcut does not apply to live table relid. The caller holds a lock on relid that blocks
// writers. reader is the chunk reader the filter is used with.
BkUnchangedRows *bk_unchanged_rows_begin(const BkTableEntry *entry, Oid relid, BkChunkReader *reader);
// A BkRowFilter (copy_loader.hpp) over reader's current chunk: keeps every row not proven unchanged.
int64 bk_unchanged_rows_filter(void *arg, int64 first_ordinal, int rows, bool *row_keep);
// Releases what begin took; returns the number of rows proven unchanged. *complete (optional) tells whether
// every chunk had a valid tuple id list, so that every captured row still in place was left out: then no
// live tuple inserted before the capture holds the key of a row that was kept (keys were unique at capture),
// and a kept row's key is present only if a tuple written since holds it.
int64 bk_unchanged_rows_end(BkUnchangedRows *u, bool *complete);
