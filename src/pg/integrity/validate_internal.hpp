// Validation's own parts, shared by its files and by nothing else: the state of one validation (ValidateState),
// the per-table result of the chunk check and the foreign keys among captured tables. The public interface is
// validate_snapshot.hpp.
#pragma once

#include "core/codec/checksum.hpp"
#include "core/codec/chunk_codec.hpp"
#include "core/codec/zstd_codec.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include "pg/support/compat.hpp"
#include "pg/storage/chunk_writer.hpp"
#include "pg/integrity/key_hash_check.hpp"
#include "pg/storage/metadata_checksum.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/report_json.hpp"
#include "pg/storage/storage.hpp"
#include "pg/restore/unchanged_rows.hpp"
#include "pg/integrity/validate_checks.hpp"
#include "pg/integrity/validate_snapshot.hpp"

// Rows of the verified chunks, one text[] per row, for the key checks: on disk, not in memory.
#define ROWS_TABLE "pg_temp.backupkit_validate_rows"

typedef struct ValidateState
{
	List *errors;   // char *, one sentence each
	List *warnings; // char *
	bool compressed;
	bool load_rows;
	bk::ZstdDecompressor *decompressor; // freed by a reset callback
	MemoryContext chunk_cxt;            // reset per chunk
	SPIPlanPtr list_plan;
	SPIPlanPtr chunk_plan;
	SPIPlanPtr insert_plan;
	int table_index;  // of the table being verified
	BkKeyCheck *keys; // when set, needed rows are hashed into it instead of loaded into ROWS_TABLE
	BkTableEntry **entries;
} ValidateState;

typedef struct TableResult
{
	int64 rows_found;
	bool checksum_ok;
	bool decodable;
	bool loaded;
} TableResult;

void bk_validate_free_decompressor(void *arg);

// The enforced foreign keys between tables captured in the snapshot, with column positions in the chunks (a
// NOT ENFORCED key, 18+, promises nothing: rows outside it are no defect of the snapshot).
List *bk_validate_foreign_keys_of(BkTableEntry **entries, int count);

// Reads and verifies every chunk of one table, recording each problem as one sentence; never raises for
// what it finds in the storage.
void bk_validate_table_chunks(ValidateState *st, const BkTableEntry *e, bool load, TableResult *res);

// Compares the captured shape with the live table of the same name; writes the schema keys of the report.
void bk_validate_schema(ValidateState *st, const BkTableEntry *e, BkJson *j);

void bk_validate_primary_key(ValidateState *st, const BkTableEntry *e, BkJson *j);

void bk_validate_foreign_key_closure(ValidateState *st, BkTableEntry **entries, int index, List *fks, BkJson *j);

// Sets up the hashed key checks: a primary-key set per keyed table, a child and a parent set per foreign key.
// Returns, per table, whether its rows are needed, and in pk_set the primary-key set of each table or -1.
BkKeyCheck *bk_validate_plan_key_checks(BkTableEntry **entries, int count, List *fks, bool *needs_rows, int *pk_set);

// Runs the hashed checks; true when every key is unique and every foreign key closed.
bool bk_validate_key_checks_pass(BkKeyCheck *kc, int count, List *fks, const int *pk_set);

// The report of bk_validate_primary_key and bk_validate_foreign_key_closure when the hashed checks proved the keys
// sound.
void bk_validate_report_keys_sound(BkTableEntry **entries, int index, List *fks, BkJson *j);
