// restore_snapshot's schema modes: the DDL that makes the captured tables' definitions what 'missing' or 'exact'
// promise before their contents are restored, run step by step (each step is computed by
// backupkit.schema_restore_plan against the catalog the previous one left), and its place in the report.
#pragma once

extern "C"
{
#include "postgres.h"
#include "fmgr.h"
#include "nodes/pg_list.h"
}

#include "pg/support/report_json.hpp"

// schema => 'keep' | 'missing' | 'exact'.
typedef enum BkSchemaMode
{
	BK_SCHEMA_KEEP,
	BK_SCHEMA_MISSING,
	BK_SCHEMA_EXACT
} BkSchemaMode;

// One statement and the captured table it belongs to (NULL when it names none).
typedef struct BkSchemaStatement
{
	char *table;
	char *sql;
} BkSchemaStatement;

// The statements run before the contents are restored, those to run after them, and warnings (lists of
// BkSchemaStatement; warnings have no table).
typedef struct BkSchemaDdl
{
	List *before;
	List *after;
	List *warnings;
} BkSchemaDdl;

// The schema argument (argno) of restore_snapshot; 'keep' when the function has the 0.1 signature.
BkSchemaMode bk_schema_mode_arg(FunctionCallInfo fcinfo, int argno);
const char *bk_schema_mode_name(BkSchemaMode mode);

// Computes and runs every step of the mode's 'before' DDL for the tables of restore_snapshot's argument
// tables_argno (all of the snapshot's when NULL). content_mode is restore_snapshot's mode. When the first
// statement is about to run and start_subxact is true, a subtransaction is begun first (a dry run rolls it back)
// and *subxact_started set. Allocations go to the memory context current at the call.
void bk_schema_restore_before(FunctionCallInfo fcinfo, int tables_argno, int64 snapshot_id, BkSchemaMode mode,
                              const char *content_mode, bool start_subxact, bool *subxact_started, BkSchemaDdl *ddl);

// Runs the statements that follow the contents (NOT NULL and keys on re-added columns, outside foreign keys).
void bk_schema_restore_after(const BkSchemaDdl *ddl);

// The report's flat fields: schema, ddl, ddl_after_contents, schema_warnings.
void bk_schema_report(BkJson *report, BkSchemaMode mode, const BkSchemaDdl *ddl);

// A table object's fields: ddl and ddl_after_contents, the statements that belong to table (quoted qualified
// name as captured).
void bk_schema_report_table(BkJson *report, const BkSchemaDdl *ddl, const char *table);
