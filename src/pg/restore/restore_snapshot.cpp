// backupkit.restore_snapshot: restores several tables of a snapshot in one call, all or nothing.
//
// Tables are cleared children-first and loaded parents-first (foreign-key order). Foreign keys inside a
// cycle are deferred when they are DEFERRABLE; otherwise they are dropped and re-created inside the
// transaction (the table owner may do this; re-creating re-checks every row, so nothing violating them
// can commit). No session_replication_role, no disabling of the system's constraint triggers.
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"

extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

#include "pg/restore/citus_restore.hpp"
#include "pg/citus/citus_tables.hpp"
#include "pg/support/compat.hpp"
#include "pg/support/failure_log.hpp"
#include "pg/support/lock_order.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/progress.hpp"
#include "pg/restore/restore_engine.hpp"
#include "pg/restore/restore_rules.hpp"
#include "pg/restore/restore_functions.hpp"
#include "pg/restore/restore_history.hpp"
#include "pg/support/operation.hpp"
#include "pg/order/restore_order.hpp"
#include "pg/support/rls_scope.hpp"
#include "pg/schema/schema_restore_steps.hpp"
#include "pg/support/table_list.hpp"
#include "pg/integrity/validate_snapshot.hpp"
#include "pg/restore/restore_set.hpp"
#include "pg/support/message_names.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_restore_snapshot);
}

typedef struct RestoreErrorContext
{
	const char *table;
	int64 snapshot_id;
} RestoreErrorContext;

static void
restore_error_context(void *arg)
{
	RestoreErrorContext *c = (RestoreErrorContext *) arg;
	if (c->table != NULL)
	{
		errcontext("restoring table \"%s\" from snapshot " INT64_FORMAT, bk_display_name_of(c->table), c->snapshot_id);
	}
}

Datum
bk_restore_snapshot(PG_FUNCTION_ARGS)
{
	int64 snapshot_id = bk_snapshot_id_arg(fcinfo, 0);
	BkRestoreOptions opts;
	BkSnapshot snap;
	Oid *relids;
	BkTableEntry **entries;
	bool *by_oid;
	int n, nfks;
	int *order, *level, *group;
	SetForeignKey *fks;
	BkTablePlan **plans;
	BkJson report;
	MemoryContext op_cxt;
	BkOperation op;
	Datum result;
	TimestampTz started = GetCurrentTimestamp();
	RestoreErrorContext ctx = {NULL, snapshot_id};
	ErrorContextCallback errcb;
	int64 total_changed = 0;
	bool changed;
	BkSchemaMode schema_mode;
	BkSchemaDdl ddl;
	bool subxact = false;
	bool snapshot_pushed = false;
	ResourceOwner owner = CurrentResourceOwner;

	memset(&opts, 0, sizeof(opts));
	opts.mode = bk_mode_arg(fcinfo, 2);
	opts.dry_run = bk_bool_arg(fcinfo, 3, "dry_run");
	opts.fire_triggers = bk_bool_arg(fcinfo, 4, "fire_triggers");
	schema_mode = bk_schema_mode_arg(fcinfo, 6);
	memset(&ddl, 0, sizeof(ddl));
	bk_operation_begin(&op, opts.dry_run ? "dry_run" : "restore", snapshot_id, BK_OP_WATCH, "backupkit restore");
	op_cxt = op.cxt;
	bk_snapshot_fetch(snapshot_id, &snap);
	if (schema_mode != BK_SCHEMA_KEEP)
	{
		// Before any DDL runs.
		bk_citus_refuse_schema_restore(snapshot_id, PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1));
		// Computed against the catalog as the migration left it (step by step for 'exact'), then run; a dry
		// run runs it in a subtransaction rolled back at the end, so its table counts see the new definitions.
		bk_schema_restore_before(fcinfo, 1, snapshot_id, schema_mode, bk::restore_mode_name(opts.mode), opts.dry_run,
		                         &subxact, &ddl);
		// The restore's read-only metadata queries run under the active snapshot: let it see the DDL.
		PushCopiedSnapshot(GetActiveSnapshot());
		UpdateActiveSnapshotCommandId();
		snapshot_pushed = true;
	}
	bk_set_resolve_tables(fcinfo, snapshot_id, &relids, &entries, &by_oid, &n);
	// Refused as a whole, before validation and before any table of the set is touched.
	bk_refuse_citus_tables(relids, n, BK_CITUS_RESTORE);
	bk_lock_in_order(relids, n, ExclusiveLock);
	for (int i = 0; i < n; i++)
	{
		bk_check_capture_policies(&snap, relids[i], BK_TABLE_RESTORE);
	}
	if (bk_bool_arg(fcinfo, 5, "validate"))
	{
		char *problem = NULL;
		// Prove the whole snapshot first, so a damaged one changes nothing and says why up front.
		if (!bk_validate_snapshot_quick(snapshot_id, &problem))
		{
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
			                errmsg("snapshot " INT64_FORMAT " failed validation", snapshot_id),
			                errdetail_internal("%s", problem ? problem : "A chunk is damaged."),
			                errhint("Run backupkit.validate_snapshot_integrity(" INT64_FORMAT ") for the full report; "
			                        "pass validate => false to restore tables whose chunks are intact.",
			                        snapshot_id)));
		}
	}
	opts.set_relids = relids;
	opts.set_count = n;

	order = (int *) palloc(sizeof(int) * Max(n, 1));
	level = (int *) palloc(sizeof(int) * Max(n, 1));
	group = (int *) palloc(sizeof(int) * Max(n, 1));
	bk_order_relations(relids, n, order, level, group);
	fks = bk_set_foreign_keys(relids, n, &nfks);

	errcb.callback = restore_error_context;
	errcb.arg = &ctx;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	plans = (BkTablePlan **) palloc(sizeof(BkTablePlan *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		ctx.table = bk_rel_qualified_name(relids[i]);
		plans[i] = bk_restore_plan(&snap, entries[i], relids[i], by_oid[i], &opts);
	}
	// A table can only be truncated together with every table referencing it.
	do
	{
		changed = false;
		for (int f = 0; f < nfks; f++)
		{
			if (fks[f].child != fks[f].parent && bk_restore_plan_uses_copy(plans[fks[f].parent]) &&
			    !bk_restore_plan_uses_copy(plans[fks[f].child]))
			{
				bk_restore_plan_force_staged(plans[fks[f].parent]);
				changed = true;
			}
		}
	} while (changed);

	bk_json_init(&report);
	bk_json_begin_object(&report, NULL);
	bk_json_int(&report, "snapshot_id", snapshot_id);
	bk_json_str(&report, "mode", bk::restore_mode_name(opts.mode));
	bk_json_bool(&report, "dry_run", opts.dry_run);
	bk_json_begin_array(&report, "order");
	for (int k = 0; k < n; k++)
	{
		bk_json_str(&report, NULL, bk_rel_qualified_name(relids[order[k]]));
	}
	bk_json_end_array(&report);

	// Foreign keys that the load order alone cannot satisfy: inside a cycle, or a self-reference loaded by
	// several statements (staged path).
	bk_json_begin_array(&report, "cycles");
	for (int f = 0; f < nfks; f++)
	{
		SetForeignKey *fk = &fks[f];
		bool in_cycle = fk->child != fk->parent && group[fk->child] > 0 && group[fk->child] == group[fk->parent];
		bool self_staged = fk->child == fk->parent && !bk_restore_plan_uses_copy(plans[fk->child]);
		if (opts.dry_run || !(in_cycle || self_staged))
		{
			continue;
		}
		if (fk->deferrable)
		{
			bk_spi_exec(psprintf("SET CONSTRAINTS %s DEFERRED", fk->name), 0, NULL, NULL, NULL, false, 0);
		}
		else
		{
			if (!bk_relation_ownercheck(relids[fk->child], GetUserId()))
			{
				ereport(ERROR,
				        (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				         errmsg("permission denied to restore the foreign-key cycle through constraint \"%s\"",
				                fk->conname),
				         errdetail("The constraint is not DEFERRABLE, so the restore must drop and re-create it, "
				                   "which only the owner of table \"%s\" may do.",
				                   bk_rel_display_name(relids[fk->child])),
				         errhint("Make the constraint DEFERRABLE, or restore as the table owner.")));
			}
			bk_spi_exec(psprintf("ALTER TABLE %s DROP CONSTRAINT %s", bk_rel_qualified_name(relids[fk->child]),
			                     quote_identifier(fk->conname)),
			            0, NULL, NULL, NULL, false, 0);
			fk->recreate = true;
		}
		bk_json_begin_object(&report, NULL);
		bk_json_str(&report, "constraint", fk->conname);
		bk_json_str(&report, "table", bk_rel_qualified_name(relids[fk->child]));
		bk_json_str(&report, "references", bk_rel_qualified_name(relids[fk->parent]));
		bk_json_int(&report, "cycle_group", group[fk->child]);
		bk_json_str(&report, "strategy", fk->deferrable ? "deferred" : "dropped and re-created");
		bk_json_end_object(&report);
	}
	bk_json_end_array(&report);
	if (schema_mode != BK_SCHEMA_KEEP)
	{
		bk_schema_report(&report, schema_mode, &ddl);
	}

	// The tables TRUNCATE empties, and those whose rules the restore disables, need ACCESS EXCLUSIVE: taken now,
	// in the global order, rather than one by one children first as they are cleared.
	if (!opts.dry_run)
	{
		Oid *truncated = (Oid *) palloc(sizeof(Oid) * Max(n, 1));
		int ntruncated = 0;
		for (int i = 0; i < n; i++)
		{
			if (bk_restore_plan_uses_copy(plans[i]) || bk_rules_that_fire(relids[i]) != NIL)
			{
				truncated[ntruncated++] = relids[i];
			}
		}
		bk_lock_in_order(truncated, ntruncated, AccessExclusiveLock);
	}

	bk_progress_begin(opts.dry_run ? "dry-run" : "restore", snapshot_id, n);
	// Copy-path tables go first, in one TRUNCATE (their in-set children are copy-path too); then the staged
	// tables delete what the snapshot lacks, children before parents.
	for (int pass = 0; pass < 2; pass++)
	{
		for (int k = n - 1; k >= 0; k--)
		{
			if (bk_restore_plan_uses_copy(plans[order[k]]) == (pass == 0))
			{
				ctx.table = bk_rel_qualified_name(relids[order[k]]);
				bk_restore_clear(plans[order[k]]);
			}
		}
		if (pass == 0)
		{
			ctx.table = NULL;
			bk_restore_truncate(plans, n, opts.dry_run);
		}
	}

	bk_json_begin_array(&report, "tables");
	for (int k = 0; k < n; k++)
	{
		BkRestoreCounts counts;
		ctx.table = bk_rel_qualified_name(relids[order[k]]);
		bk_progress_table(k, ctx.table, entries[order[k]]->row_count);
		bk_restore_load(plans[order[k]]);
		bk_json_begin_object(&report, NULL);
		bk_restore_finish(plans[order[k]], &report, &counts);
		if (schema_mode != BK_SCHEMA_KEEP)
		{
			bk_schema_report_table(&report, &ddl, bk_entry_qualified_name(entries[order[k]]));
		}
		bk_json_end_object(&report);
		total_changed += counts.inserted + counts.updated + counts.deleted;
	}
	bk_json_end_array(&report);
	// NOT NULL and primary keys of re-added columns, now that they hold their values (a dry run loaded none).
	if (!opts.dry_run)
	{
		ctx.table = NULL;
		bk_schema_restore_after(&ddl);
	}

	// Re-check everything that was deferred or dropped, inside this call, so errors name the constraint.
	for (int f = 0; f < nfks; f++)
	{
		SetForeignKey *fk = &fks[f];
		ctx.table = bk_rel_qualified_name(relids[fk->child]);
		if (fk->recreate)
		{
			bk_spi_exec(psprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", ctx.table, quote_identifier(fk->conname),
			                     fk->definition),
			            0, NULL, NULL, NULL, false, 0);
		}
		else if (fk->deferrable && !opts.dry_run)
		{
			bk_spi_exec(psprintf("SET CONSTRAINTS %s IMMEDIATE", fk->name), 0, NULL, NULL, NULL, false, 0);
		}
	}
	ctx.table = NULL;
	bk_json_num(&report, "duration_ms", (double) (GetCurrentTimestamp() - started) / 1000.0);
	bk_json_end_object(&report);
	result = bk_json_finish(&report);
	error_context_stack = errcb.previous;
	if (snapshot_pushed)
	{
		PopActiveSnapshot();
	}
	if (subxact)
	{
		// The dry run's DDL is undone; the report, in op_cxt, stays.
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(op_cxt);
		CurrentResourceOwner = owner;
	}

	bk_progress_end();
	bk_restore_history_record(snapshot_id, opts.mode, opts.dry_run, result, started);
	bk_operation_log_success(&op, total_changed, NULL);
	PG_RETURN_DATUM(bk_operation_end(&op, result, BK_OP_COPY_VARLENA));
}
