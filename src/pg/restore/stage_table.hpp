// The staging tables of the staged restore paths (merge, missing, in-place, diff): temporary tables, or, when
// the restore runs on a node for restore_distributed (backupkit.two_phase_stages, set there with SET LOCAL),
// unlogged tables in the extension's schema that the transaction creates and drops, so that the node's
// transaction can still be prepared (PostgreSQL refuses PREPARE TRANSACTION after temporary objects).
#pragma once
extern "C"
{
#include "postgres.h"
}

// Defines backupkit.two_phase_stages and the end-of-transaction drop: called from _PG_init.
void bk_stage_tables_init(void);
// Creates a staging table named from prefix and relid with the column list columns ("a int, b text"); sets
// *qualified to its quoted schema-qualified name and returns its oid.
Oid bk_stage_table_create(const char *prefix, Oid relid, const char *columns, char **qualified);
// Drops, analyzes a staging table made by bk_stage_table_create (qualified as it returned).
void bk_stage_table_drop(const char *qualified);
void bk_stage_table_analyze(const char *qualified);
