// The finish phase of a restore: the stage dropped, sequences, triggers and rules given back, and the table's
// report written.
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/restore_engine_internal.hpp"
#include "pg/restore/stage_table.hpp"

void
bk_restore_finish(BkTablePlan *p, BkJson *report, BkRestoreCounts *counts)
{
	const BkRestoreOptions *opts = p->opts;
	const BkTableEntry *entry = p->entry;

	if (p->stage != NULL)
	{
		bk_stage_table_drop(p->stage);
	}
	if (!opts->dry_run)
	{
		bk_restore_sequences(entry, p->relid, &p->map, p->replace);
		bk_set_user_triggers(p->triggers, true);
		bk_rules_reenable(p->relid, p->rules);
	}
	*counts = p->counts;

	bk_json_str(report, "table", p->target);
	bk_json_str(report, "snapshot_table", bk_entry_qualified_name(entry));
	bk_json_str(report, "matched_by", p->matched_by_oid ? "oid" : "name");
	bk_json_str(report, "mode", bk::restore_mode_name(opts->mode));
	bk_json_bool(report, "dry_run", opts->dry_run);
	// The rows went in through COPY straight into the table: the copy path, or missing's direct copy.
	bk_json_str(report, "path", p->citus != NULL ? "citus" : p->copy_path || p->direct_missing ? "copy" : "staged");
	bk_json_int(report, "rows_in_snapshot", entry->row_count);
	bk_json_int(report, "inserted", p->counts.inserted);
	bk_json_int(report, "updated", p->counts.updated);
	bk_json_int(report, "deleted", p->counts.deleted);
	bk_json_int(report, "unchanged", p->counts.unchanged);
	if (!p->replace && p->keyed)
	{
		bk_json_int(report, "unchanged_in_place", p->unchanged_in_place);
	}
	bk_json_bool(report, "triggers_fired", opts->fire_triggers);
	bk_rules_report(report, p->rules);
	if (!p->replace && p->keyed)
	{
		ListCell *lc;
		bk_json_int(report, "conflicts", p->conflicts);
		bk_json_begin_array(report, "conflicting_rows");
		foreach (lc, p->conflict_rows)
		{
			bk_json_raw(report, NULL, (char *) lfirst(lc));
		}
		bk_json_end_array(report);
	}
	bk_json_begin_array(report, "warnings");
	{
		ListCell *lc;
		foreach (lc, p->map.warnings)
		{
			bk_json_str(report, NULL, (char *) lfirst(lc));
		}
		if (p->matched_by_oid && strcmp(bk_entry_qualified_name(entry), p->target) != 0)
		{
			bk_json_str(report, NULL,
			            psprintf("Table \"%s\" was captured as \"%s\" and found by its oid.",
			                     bk_rel_display_name(p->relid), bk_entry_display_name(entry)));
		}
	}
	bk_json_end_array(report);
	bk_json_num(report, "duration_ms", (double) (GetCurrentTimestamp() - p->started) / 1000.0);
}
