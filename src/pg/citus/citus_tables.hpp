// Tables managed by Citus (distributed, reference, Citus local, single-shard). backupkit captures, restores and
// compares hash-distributed and reference tables through the coordinator (citus_snapshot.hpp,
// citus_restore.hpp); the other kinds are refused before anything changes. Citus is not a dependency: its
// catalog is looked up only when the citus extension is installed.
#pragma once

#include "core/plan/citus_table_type.hpp"

extern "C"
{
#include "postgres.h"
}

typedef enum BkCitusOperation
{
	BK_CITUS_SNAPSHOT,       // snapshot_tables
	BK_CITUS_SCHEDULE,       // schedule_snapshots: every run would be refused
	BK_CITUS_RESTORE,        // every mode and dry run
	BK_CITUS_DIFF,           // diff
	BK_CITUS_SCHEMA_RESTORE, // schema => 'missing': plain DDL would not re-create them as Citus tables
} BkCitusOperation;

typedef struct BkCitusTable
{
	bk::CitusTableType type;
	char partmethod; // pg_dist_partition.partmethod ('h' hash, 'r' range, 'a' append, 'n' none)
	bool supported;  // hash-distributed or reference: captured, restored and compared through the coordinator
} BkCitusTable;

// Whether Citus manages relid (info, when not NULL, says how). Needs no SPI connection.
bool bk_citus_table(Oid relid, BkCitusTable *info);
bool bk_citus_supported(bk::CitusTableType type, char partmethod);
// The Citus type of a table as details name it, in quotes: "hash-distributed", "range-distributed",
// "append-distributed", "reference", "local", "single-shard" or "unrecognized". A value, not a word spliced
// into a sentence: every message is written whole.
const char *bk_citus_type_label(bk::CitusTableType type, char partmethod);

// Errors with 0A000, naming the first listed table that Citus manages and that op cannot handle (for
// BK_CITUS_SCHEMA_RESTORE, any Citus table), and its Citus table type, unless there is none. Needs no SPI
// connection; reads pg_dist_partition only when citus is installed.
void bk_refuse_citus_tables(const Oid *relids, int n, BkCitusOperation op);
