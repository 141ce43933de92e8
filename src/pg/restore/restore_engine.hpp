// Restores one captured table into a live one, in the caller's transaction, with the caller's rights.
//
// Two paths:
//  * copy:   replace into a table without row-level security, that the caller may TRUNCATE and that no
//            table outside the restored set references: TRUNCATE, then COPY FROM the chunks.
//  * staged: everything else (merge, missing, dry runs, RLS, referenced tables): COPY the chunks into a
//            temporary staging table, then DELETE / UPDATE / INSERT by key in set-based SQL, skipping rows
//            whose binary image is unchanged. merge and missing stage only the rows that are absent from
//            the target or (merge) whose fingerprint differs, found through a narrow key stage first; rows
//            still stored in the tuple they were captured from stay out of even that (unchanged_rows.hpp).
//            missing on a plain table where no row can be set aside COPYs the absent rows straight in.
#pragma once

#include "core/plan/options.hpp"

extern "C"
{
#include "postgres.h"
}

#include "pg/support/report_json.hpp"
#include "pg/storage/storage.hpp"

typedef struct BkRestoreOptions
{
	bk::RestoreMode mode;
	bool dry_run;
	bool fire_triggers;
	const Oid *set_relids; // every table restored by the same call
	int set_count;
} BkRestoreOptions;

typedef struct BkRestoreCounts
{
	int64 inserted;
	int64 updated;
	int64 deleted;
	int64 unchanged;
} BkRestoreCounts;

// The phases of a restore, so that several tables can be cleared children-first and loaded parents-first:
// plan (checks, path choice) -> clear (stage rows, delete what goes) -> truncate (copy-path tables, all in
// one TRUNCATE) -> load (copy, or update and insert from the stage) -> finish (sequences, triggers, report).
typedef struct BkTablePlan BkTablePlan;

BkTablePlan *bk_restore_plan(const BkSnapshot *snapshot, const BkTableEntry *entry, Oid relid, bool matched_by_oid,
                             const BkRestoreOptions *options);
bool bk_restore_plan_uses_copy(const BkTablePlan *plan);
void bk_restore_plan_force_staged(BkTablePlan *plan);
void bk_restore_clear(BkTablePlan *plan);
void bk_restore_truncate(BkTablePlan **plans, int n, bool dry_run);
void bk_restore_load(BkTablePlan *plan);
void bk_restore_finish(BkTablePlan *plan, BkJson *report, BkRestoreCounts *counts);

// Stages the snapshot's rows of the planned table and returns a query listing the differing rows:
// (change 'added' | 'removed' | 'changed', key jsonb, snapshot row jsonb, current row jsonb).
char *bk_restore_diff_query(BkTablePlan *plan);

// All phases for one table. Writes the table's report object into report (as an element of the current array or the top
// object).
void bk_restore_table(const BkSnapshot *snapshot, const BkTableEntry *entry, Oid relid, bool matched_by_oid,
                      const BkRestoreOptions *options, BkJson *report, BkRestoreCounts *counts);
