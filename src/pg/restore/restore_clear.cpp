// The clear and truncate phases of a restore: rules and triggers put aside, the stage filled (or the direct copy
// of missing rows prepared), and the rows that go deleted; copy-path tables are emptied by one TRUNCATE.
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/citus_restore.hpp"
#include "pg/restore/restore_engine_internal.hpp"
#include "pg/support/message_names.hpp"

// A captured value the live type does not accept: say which columns changed type since the capture.
static void
retyped_context(void *arg)
{
	errcontext("%s (the captured values are converted to the current types; schema => 'exact' converts the columns "
	           "back first)",
	           (const char *) arg);
}

void
bk_restore_with_retyped_context(BkTablePlan *p, void (*step)(BkTablePlan *))
{
	ErrorContextCallback cb;
	if (p->map.retyped == NULL)
	{
		step(p);
		return;
	}
	cb.callback = retyped_context;
	cb.arg = p->map.retyped;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	step(p);
	error_context_stack = cb.previous;
}

static void clear_rows(BkTablePlan *p);

void
bk_restore_clear(BkTablePlan *p)
{
	bk_restore_with_retyped_context(p, clear_rows);
}

static void
clear_rows(BkTablePlan *p)
{
	const BkRestoreOptions *opts = p->opts;

	// Disabling a rule takes ACCESS EXCLUSIVE: take it now (in the global order) rather than upgrade later. The
	// rules are read again under the lock.
	p->rules = p->copy_path ? NIL : bk_rules_that_fire(p->relid);
	bk_lock_in_order(&p->relid, 1,
	                 (p->copy_path || p->rules != NIL) && !opts->dry_run ? AccessExclusiveLock : ExclusiveLock);
	if (!p->copy_path)
	{
		p->rules = bk_rules_that_fire(p->relid);
		if (!opts->dry_run)
		{
			bk_rules_disable(p->relid, p->target, p->rules);
		}
	}
	if (!opts->fire_triggers && !opts->dry_run)
	{
		p->triggers = bk_enabled_user_triggers(p->relid);
		if (p->triggers != NIL && !bk_relation_ownercheck(p->relid, GetUserId()))
		{
			ereport(ERROR,
			        (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			         errmsg("permission denied to disable triggers of table \"%s\"", bk_display_name_of(p->target)),
			         errdetail("A restore does not fire user triggers unless asked to, and only the table's "
			                   "owner may disable them."),
			         errhint("Restore as the owner of the table, or pass fire_triggers => true.")));
		}
		bk_set_user_triggers(p->triggers, false);
	}
	if (p->citus != NULL)
	{
		bk_citus_restore_clear(p->citus, &p->counts);
		return;
	}

	if (p->copy_path)
	{
		// The caller truncates every copy-path table in one TRUNCATE after this. count(ctid) forces a heap
		// scan: right after a mass UPDATE the planner still believes the visibility map (VACUUM last set it)
		// and picks an index-only scan that fetches every heap tuple through the index, twice as slow.
		p->counts.deleted = bk_spi_count(psprintf("SELECT count(ctid) FROM %s%s", p->only, p->target));
		return;
	}

	if (!p->replace && p->keyed && bk_restore_direct_missing_eligible(p))
	{
		// After a DELETE, typically: every row still in place is known and no tuple was written since the
		// capture, so every other row is absent (open_wanted_cursor explains why): the load copies them in one
		// pass, without a key stage.
		if (bk_unchanged_rows_apply(p->entry, p->relid) && bk_unchanged_rows_all_listed(p->entry) &&
		    bk_restore_nothing_written_since_capture(p))
		{
			p->direct_missing = true;
			return;
		}
		// The first pass now; the absent rows are found again and copied straight in when the table loads.
		p->keys_stage = bk_restore_load_key_stage(p, false);
		if (p->keys_stage != NULL)
		{
			p->direct_missing = true;
			return;
		}
	}
	if (!p->replace && p->keyed && opts->mode == bk::RestoreMode::merge && bk_restore_stage_rows_not_in_place(p))
	{
		return;
	}
	if (!p->replace && p->keyed && bk_restore_stage_differing_rows(p, false))
	{
		return;
	}
	{
		BkChunkReader *reader = bk_restore_open_chunks(p);
		Oid stage_oid = bk_restore_create_stage(p->relid, &p->map, &p->stage);
		bk_progress_table(0, p->target, p->entry->row_count);
		(void) bk_copy_chunks_into(stage_oid, p->map.attnames, reader, p->map.keep, false, p->target,
		                           bk_restore_key_names(p));
		CommandCounterIncrement();
	}
	if (!p->replace)
	{
		return;
	}
	if (!p->keyed)
	{
		// replace without a key: every visible row goes, every captured row comes back.
		if (opts->dry_run)
		{
			p->counts.deleted = bk_spi_count(psprintf("SELECT count(*) FROM %s%s", p->only, p->target));
		}
		else
		{
			p->counts.deleted = bk_spi_run(psprintf("DELETE FROM %s%s", p->only, p->target));
		}
		return;
	}
	{
		char *match = bk_sql_key_match(p->entry, "s", "t");
		char *absent_in_stage = psprintf("NOT EXISTS (SELECT FROM %s s WHERE %s)", p->stage, match);
		ListCell *lc1, *lc2;
		forboth(lc1, p->children, lc2, p->constraints)
		{
			bk_check_outside_child(p->target, p->only, p->stage, (char *) lfirst(lc1), (char *) lfirst(lc2));
		}
		if (opts->dry_run)
		{
			p->counts.deleted =
			    bk_spi_count(psprintf("SELECT count(*) FROM %s%s t WHERE %s", p->only, p->target, absent_in_stage));
		}
		else
		{
			p->counts.deleted =
			    bk_spi_run(psprintf("DELETE FROM %s%s t WHERE %s", p->only, p->target, absent_in_stage));
		}
	}
}

void
bk_restore_truncate(BkTablePlan **plans, int n, bool dry_run)
{
	StringInfoData sql;
	bool any = false;

	if (dry_run)
	{
		return;
	}
	initStringInfo(&sql);
	appendStringInfoString(&sql, "TRUNCATE ");
	for (int i = 0; i < n; i++)
	{
		if (!plans[i]->copy_path)
		{
			continue;
		}
		appendStringInfo(&sql, "%s%s%s", any ? ", " : "", plans[i]->only, plans[i]->target);
		any = true;
	}
	if (any)
	{
		bk_spi_exec(sql.data, 0, NULL, NULL, NULL, false, 0);
	}
}
