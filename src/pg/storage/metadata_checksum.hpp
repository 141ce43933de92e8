// Metadata checksums ("seals"): the stored description of every captured table (backupkit.snapshot_table)
// and the snapshot row itself carry a checksum over every field a restore relies on, written when the
// snapshot is taken or imported. Validation reports a mismatch; restores, diff, snapshot_rows and export
// refuse to run on one. Snapshots written before seals existed (metadata_checksum NULL) still work, with a
// warning. The fields are listed once, in metadata_checksum.cpp; the hashing is src/core/codec/metadata_seal.hpp.
#pragma once

extern "C"
{
#include "postgres.h"
#include "nodes/pg_list.h"
}

#include "pg/storage/storage.hpp"

// Computes and stores the seals of every entry of the snapshot and of its row. Requires SPI.
void bk_metadata_seal(int64 snapshot_id);

// Raises XX001 naming the snapshot (and the table) when the snapshot row or entry no longer matches its
// seal; when the snapshot predates seals, appends a warning to *warnings (if warnings is not NULL).
void bk_metadata_verify(const BkSnapshot *snapshot, const BkTableEntry *entry, List **warnings);

// Raises like bk_metadata_verify for the snapshot row and every entry (restore_snapshot's up-front check).
void bk_metadata_verify_all(int64 snapshot_id);

// For validate: never raises for what it finds. Appends one sentence per problem to *errors, the
// "predates metadata checksums" sentence to *warnings; *snapshot_status and table_status[i] (entries in
// table_no order, count of them) get "ok", "mismatch" or "not checksummed".
void bk_metadata_check(int64 snapshot_id, int count, List **errors, List **warnings, const char **snapshot_status,
                       const char **table_status);

// For export: verifies every stored seal (raising), then computes the seals the stream carries, over the
// fields that travel. Returns the snapshot's; *table_nos and *table_seals get one per entry.
bytea *bk_metadata_portable_seals(int64 snapshot_id, int *count, int **table_nos, bytea ***table_seals);

// For import: the imported rows hold, in metadata_checksum, the seals the stream carried; raises XX001
// (export stream is corrupted) unless they match the rows as written.
void bk_metadata_verify_import(int64 snapshot_id);
