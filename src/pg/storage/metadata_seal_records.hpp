// The sealed records of metadata_checksum.cpp: which fields of a snapshot_table entry and of a snapshot row are
// sealed, and the records as read back (fields as text, stored seal). Shared by metadata_seal_records.cpp, which
// reads and hashes them, and metadata_checksum.cpp, which writes, verifies and reports.
#pragma once

#include "core/codec/metadata_seal.hpp"

extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
}

#include "pg/storage/metadata_checksum.hpp"

// One sealed record as read back: its fields as text and the seal stored with it.
typedef struct SealRecord
{
	int table_no;   // -1 for the snapshot row
	char *name;     // schema-qualified table name (for messages)
	bytea *stored;  // metadata_checksum, NULL when absent
	bytea *current; // seal of the fields as they are now
	int nfields;
	bk::MetadataField *fields;
	uint8 *since; // per field, the first seal version covering it
} SealRecord;

// The entries of a snapshot in table_no order (only table_no when it is >= 0).
SealRecord *bk_seal_load_tables(int64 snapshot_id, int table_no, bool portable, int *count);

// The snapshot row; in portable scope table_entries is given (the chain of the entries' portable seals).
SealRecord *bk_seal_load_snapshot(int64 snapshot_id, bool portable, const char *portable_entries);

// table_entries as the SQL expression computes it, from seals given here.
char *bk_seal_entries_chain(const SealRecord *tables, int n, bool use_stored);

// NULL when the record matches its stored seal, else a sentence saying what differs.
char *bk_seal_problem(const SealRecord *r);
