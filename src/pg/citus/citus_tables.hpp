// Tables managed by Citus (distributed, reference, Citus local, single-shard): backupkit cannot yet capture,
// restore or compare them correctly, so the operations that would refuse them before anything changes.
// Citus is not a dependency: its catalog is looked up only when the citus extension is installed.
#pragma once

extern "C"
{
#include "postgres.h"
}

typedef enum BkCitusOperation
{
	BK_CITUS_SNAPSHOT, // snapshot_tables: each shard read under its own snapshot, not consistent
	BK_CITUS_SCHEDULE, // schedule_snapshots: every run would be refused
	BK_CITUS_RESTORE,  // every mode and dry run: rows would land in the coordinator's shell table
	BK_CITUS_DIFF,     // staged comparison Citus cannot plan
} BkCitusOperation;

// Errors with 0A000, naming the first listed table that Citus manages and its Citus table type, unless none
// of relids is one. Needs no SPI connection; reads pg_dist_partition only when citus is installed.
void bk_refuse_citus_tables(const Oid *relids, int n, BkCitusOperation op);
