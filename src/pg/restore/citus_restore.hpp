// Restores and diffs of Citus hash-distributed and reference tables through the coordinator (issue 14, step 2).
//
// Every statement that touches the Citus table has a shape Citus plans itself, and nothing is ever written to
// the coordinator's shell table (the C-level COPY of the copy path would put the rows there, where Citus
// never reads them):
//  1. the captured rows are copied into a temporary stage on the coordinator (a plain local table);
//  2. with a key, the live rows are pulled into a second temporary table, `INSERT INTO live SELECT ... FROM t`
//     (Citus gathers the shards on the coordinator);
//  3. every comparison (absent, changed, unchanged: record_image_ne, as the staged path) is made between these
//     two local tables, by PostgreSQL alone, so the counts are exact and dry runs report what a run does;
//  4. the table is written with three statements Citus routes to the shards: `DELETE FROM t WHERE (key) IN
//     (SELECT key FROM <local>)` (replace), `INSERT INTO t SELECT ... FROM <local> ON CONFLICT (key) DO UPDATE`
//     for changed rows (Citus refuses `UPDATE ... FROM <local>` on a reference table) and `INSERT INTO t SELECT
//     ... FROM <local>` for absent ones (Citus pulls the local rows and routes each to its shard, two-phase
//     committed to every placement of a reference table). Only rows that differ are written.
// Never used here: correlated subqueries between a local and a Citus table, `ONLY`, zero-column subqueries,
// TRUNCATE (Citus refuses it on a reference table after a parallel access in the same transaction), the
// tuple ids and xids of the in-place shortcuts. merge and missing set rows aside as conflicts (a CHECK or a
// unique constraint other than the key) as the staged path does, by the same code run on the local rows to
// write and the local copy of the table; under replace a row the table rejects fails the restore, rolled back,
// with the shard's own SQLSTATE. A replace that would delete a row referenced from a table outside the restore
// fails as on the staged path (23503).
// merge and replace need the key recorded at capture to include the distribution column (always so for a
// table distributed after the capture, whose unique constraints must include it) and a unique index on
// exactly the key (the upsert's arbiter): Citus cannot change a row's distribution column in place, so
// otherwise they are refused with 0A000. missing inserts only, and works with any key.
#pragma once

#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"

extern "C"
{
#include "postgres.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
}

#include "pg/restore/restore_engine.hpp"
#include "pg/storage/storage.hpp"

// What the restore engine has decided about the table (its plan), for the Citus path.
typedef struct BkCitusRestoreInput
{
	const BkSnapshot *snapshot;
	const BkTableEntry *entry;
	Oid relid;
	const char *target;   // schema-qualified, quoted
	List *attnames;       // captured columns restored, captured order (String nodes)
	List *types;          // their live types as SQL text
	const bool *keep;     // per captured column
	bool keyed;           // the captured key is among the restored columns
	bk::RestoreMode mode; // replace, merge or missing
	bool dry_run;
	List *outside_children;    // tables outside the restored set referencing this one (enforced foreign keys)
	List *outside_constraints; // those foreign keys, by name
	const Oid *set_relids;     // every table restored by the same call
	int set_count;
	// merge and missing: removes from the local table rows (the rows to write) those that would break a CHECK
	// or a unique constraint other than the key, given the local copy live of the table, and lists them, as
	// the engine does on its staged path (conflicts.cpp). NULL for replace.
	void (*set_aside)(void *arg, const char *rows, const char *live);
	void *set_aside_arg;
} BkCitusRestoreInput;

typedef struct BkCitusRestore BkCitusRestore;

// Checks what this path cannot do (0A000 naming the table); copies the input. When the set holds a reference
// table, switches Citus to one connection per node for the rest of the operation (citus.multi_shard_modify_mode
// = sequential, undone with the operation's settings): Citus refuses to write a reference table after a
// parallel access, in the same transaction, to a distributed table that references it (another table of the
// set, or the check that no table outside the set references the rows a replace deletes).
BkCitusRestore *bk_citus_restore_plan(const BkCitusRestoreInput *in);
// Stages the captured rows and the live ones; replace deletes the rows absent from the snapshot.
void bk_citus_restore_clear(BkCitusRestore *r, BkRestoreCounts *counts);
// Updates the rows that differ and inserts the absent ones; drops the temporary tables.
void bk_citus_restore_load(BkCitusRestore *r, BkRestoreCounts *counts);
// For diff: stages the captured rows (into *stage) and the live ones; returns the live table's local copy.
const char *bk_citus_diff_stage(BkCitusRestore *r, char **stage);

// Row-level security on the rows a restore writes (rows: a local table with the target's column names, filter
// a condition on its rows; cmd 'a' insert, 'w' update): fails with 42501, as PostgreSQL on a plain table, when
// one breaks the WITH CHECK (else USING) expressions of the policies for cmd that apply to the caller. Citus
// applies USING on the shards (reads and the rows a DELETE or UPDATE finds) but not WITH CHECK on the rows it
// writes there; nothing to do when row-level security does not apply to the caller.
void bk_citus_check_policies(Oid relid, const char *rows, const char *filter, char cmd);

// schema => 'missing' (or 'exact') refuses the Citus tables among tables (NULL: the live tables of every entry
// of the snapshot) with 0A000, before any DDL: its plain DDL would not re-create them as Citus tables.
void bk_citus_refuse_schema_restore(int64 snapshot_id, ArrayType *tables);
