// The restore engine's own parts, shared by its files and by nothing else: the plan of one table (BkTablePlan),
// how its columns meet the live table's (ColumnMap), and the helpers one phase borrows from another. The public
// interface is restore_engine.hpp.
#pragma once

#include "core/codec/row_fingerprint.hpp"
#include "core/plan/citus_table_type.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/timestamp.h"
}

#include "pg/support/compat.hpp"
#include "pg/storage/chunk_reader.hpp"
#include "pg/citus/citus_tables.hpp"
#include "pg/restore/copy_loader.hpp"
#include "pg/support/lock_order.hpp"
#include "pg/storage/metadata_checksum.hpp"
#include "pg/support/progress.hpp"
#include "pg/restore/restore_engine.hpp"
#include "pg/restore/restore_rules.hpp"
#include "pg/support/table_list.hpp"
#include "pg/schema/table_metadata.hpp"
#include "pg/restore/unchanged_rows.hpp"

// How the snapshot's columns meet the live table's.
typedef struct BkCitusRestore BkCitusRestore;

typedef struct ColumnMap
{
	bool *keep;     // per captured snapshot column
	List *attnames; // kept columns, captured order
	List *types;    // their live type as SQL text
	int nkept;
	bool has_identity_always;
	List *warnings; // char *
	char *retyped;  // kept columns whose type changed since the capture, for error contexts (NULL: none)
} ColumnMap;

struct BkTablePlan
{
	const BkSnapshot *snapshot;
	const BkTableEntry *entry;
	const BkRestoreOptions *opts;
	Oid relid;
	bool matched_by_oid;
	const char *target;
	const char *only;
	ColumnMap map;
	bool keyed;
	bool replace;
	bool copy_path;
	List *children;           // outside tables referencing this one through an enforced foreign key
	List *constraints;        // their foreign keys
	bool referenced;          // by any foreign key from outside, NOT ENFORCED ones included
	List *triggers;           // user triggers disabled for the restore
	List *rules;              // rules disabled for the restore (restore_rules.hpp)
	char *stage;              // staging table (staged path)
	bool stage_differs_only;  // the stage holds only rows absent from the target or (merge) differing from it
	bool stage_not_in_place;  // the stage holds only rows not proven unchanged in place
	                          // (bk_restore_stage_rows_not_in_place)
	int64 staged;             // rows in the stage when stage_differs_only or stage_not_in_place
	int64 unchanged_in_place; // rows left out because they are still the tuple captured (unchanged_rows.hpp)
	bool probe_joins;         // few rows staged and a key index: join through it (bk_index_probe_joins_push)
	bool direct_missing;      // missing copies absent rows straight in (bk_restore_direct_missing_eligible)
	bool in_place_complete;   // the key stage left out every row still in place (bk_unchanged_rows_end)
	char *keys_stage;         // the key stage, when kept for diff or for the direct copy of missing rows
	TimestampTz started;
	BkRestoreCounts counts;
	int64 conflicts;     // rows skipped because they violate a CHECK or a unique constraint other than the key
	List *conflict_rows; // up to conflict_report_limit of them, as JSON text {"key": ..., "reason": ...}
	// A Citus table: its own path (citus_restore.hpp), never copy, staged or in place.
	BkCitusRestore *citus;
};

typedef struct WantedRows
{
	Portal cursor;
	int64 *batch; // ordinals fetched but not yet used, ascending
	int nbatch;
	int next;
	bool exhausted;
} WantedRows;

void bk_build_column_map(const BkTableEntry *entry, const BkTableMetadata *live, ColumnMap *map);

char *bk_sql_column_list(const ColumnMap *map, const char *alias);

char *bk_sql_key_match(const BkTableEntry *entry, const char *a, const char *b);

// Columns that may be assigned by UPDATE: kept and not part of the key.
char *bk_sql_update_set(const BkTableEntry *entry, const ColumnMap *map, int *nset);

bool bk_key_is_kept(const BkTableEntry *entry, const ColumnMap *map);

// Enforced foreign keys of tables outside the restored set that reference relid; *any is set when there is
// any foreign key at all, NOT ENFORCED ones (18+) included: those have no action and no check, so rows may go
// from under them, but TRUNCATE still refuses a table they reference once it has triggers. A foreign key to a
// partitioned table has a clone per referenced partition (same referencing table, conparentid set), which is
// what makes TRUNCATE of that partition fail; clones on the referencing side's partitions are covered by
// their root's constraint.
void bk_outside_references(Oid relid, const BkRestoreOptions *opts, List **children, List **constraints, bool *any);

// Rows a keyed replace deletes must not be referenced from outside the restored set: their foreign-key
// action (CASCADE, SET NULL, RESTRICT) would change or block a table nobody asked to restore.
void bk_check_outside_child(const char *target, const char *only, const char *stage, const char *child,
                            const char *conname);

List *bk_enabled_user_triggers(Oid relid);

void bk_set_user_triggers(List *triggers, bool enable);

void bk_restore_sequences(const BkTableEntry *entry, Oid relid, const ColumnMap *map, bool replace);

Oid bk_restore_create_stage(Oid relid, const ColumnMap *map, char **stage_name);

// jsonb_build_object(...) of the key columns of stage row s.
char *bk_sql_stage_key_json(const BkTablePlan *p);

char *bk_sql_json_string(const char *text);

// Staged rows still absent from the target after the INSERT collided with a unique constraint.
void bk_restore_collect_unique_conflicts(BkTablePlan *p, const char *absent_in_target);

// merge and missing set aside staged rows whose unique values belong to another existing row (for missing,
// only rows it would insert), dry run or not, so both count the same; they are listed like CHECK conflicts.
void bk_restore_skip_unique_conflicts(BkTablePlan *p, const char *absent_in_target, bool among_staged);

// merge and missing may not change rows to values a CHECK constraint rejects: such staged rows are set aside
// (removed from the stage, dry run or not, so both count the same) and listed. Constraints on columns the
// snapshot does not hold are left to the INSERT itself.
void bk_restore_skip_check_conflicts(BkTablePlan *p);

// The Citus path's set_aside hook (citus_restore.hpp; arg is the BkTablePlan): the CHECK and unique conflicts
// above, among the local table rows of rows to write and against the local copy live of the table.
void bk_restore_set_aside_citus_conflicts(void *arg, const char *rows, const char *live);

// A reader over the captured table's chunks.
BkChunkReader *bk_restore_open_chunks(const BkTablePlan *p);

List *bk_restore_key_names(const BkTablePlan *p);

int64 bk_restore_wanted_filter(void *arg, int64 first_ordinal, int rows, bool *row_keep);

// Whether a valid, non-partial index of the live table leads with exactly the key columns, so that a join on
// the key can probe it row by row (with unique: a unique index on exactly the key columns).
bool bk_restore_key_index_exists(const BkTablePlan *p, bool unique);

// Whether n staged rows are few enough to join through the key index (bk_index_probe_joins_push): a fifth of
// the table is about where probing the index once per staged row stops beating one scan of the table.
bool bk_restore_few_staged(const BkTablePlan *p, int64 n);

// The first pass: loads the key stage and returns its name, or NULL when the key cannot be staged. With
// every_key (diff), rows proven unchanged in place are staged too.
char *bk_restore_load_key_stage(BkTablePlan *p, bool every_key);

// The condition, on a live tuple, of having been written since the capture: its xmin is no older than the
// capture's horizon (age() counts back from the current xid; only meaningful when bk_unchanged_rows_apply).
char *bk_sql_written_since_capture(const BkTablePlan *p);

void bk_restore_wanted_open(WantedRows *w, const BkTablePlan *p, const char *keys_table);

// With keep_keys (diff), the key stage stays for the caller's query and is named in p->keys_stage.
bool bk_restore_stage_differing_rows(BkTablePlan *p, bool keep_keys);

// merge after a bulk change: when rows still in place can be told apart (unchanged_rows.hpp), the others are
// few and mostly changed, so they are staged whole in one pass and compared by the UPDATE itself; the key
// pass and its join with the live table would cost more than they save. False when the shortcut does not
// apply.
bool bk_restore_stage_rows_not_in_place(BkTablePlan *p);

// Whether the live table holds no tuple written since the capture. Not read-only: the scan must see what
// the restore's own statements will see.
bool bk_restore_nothing_written_since_capture(const BkTablePlan *p);

// missing may COPY the absent rows straight into the table, skipping the stage and the INSERT ... SELECT,
// when nothing could make a row fail that INSERT ... ON CONFLICT DO NOTHING would skip or that the staged
// path sets aside: no CHECK or exclusion constraint, no unique index but the key's, no row-level security
// (COPY FROM refuses it), a plain table, and no user trigger that could insert into it between the two passes.
bool bk_restore_direct_missing_eligible(const BkTablePlan *p);

void bk_restore_with_retyped_context(BkTablePlan *p, void (*step)(BkTablePlan *));
