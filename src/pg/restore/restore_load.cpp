// The load phase of a restore: COPY straight into the table (copy path, missing's direct copy), or UPDATE and
// INSERT from the stage by key, setting conflicting rows aside (conflicts.cpp).
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/citus_restore.hpp"
#include "pg/restore/restore_engine_internal.hpp"
#include "pg/restore/stage_table.hpp"
#include "pg/support/message_names.hpp"

static void load_rows(BkTablePlan *p);

void
bk_restore_load(BkTablePlan *p)
{
	bk_restore_with_retyped_context(p, load_rows);
}

static void
load_rows(BkTablePlan *p)
{
	const BkRestoreOptions *opts = p->opts;
	const BkTableEntry *entry = p->entry;
	char *cols = bk_sql_column_list(&p->map, NULL);
	char *scols = bk_sql_column_list(&p->map, "s");
	const char *overriding = "OVERRIDING SYSTEM VALUE ";

	if (p->citus != NULL)
	{
		bk_citus_restore_load(p->citus, &p->counts);
		// Rows set aside are neither written nor unchanged.
		p->counts.unchanged -= p->conflicts;
		return;
	}
	if (p->copy_path)
	{
		BkChunkReader *reader = bk_restore_open_chunks(p);
		bk_progress_table(0, p->target, entry->row_count);
		if (opts->dry_run)
		{
			while (bk_chunk_reader_next(reader))
			{
			}
			p->counts.inserted = entry->row_count;
		}
		else
		{
			p->counts.inserted = (int64) bk_copy_chunks_into(p->relid, p->map.attnames, reader, p->map.keep, true,
			                                                 p->target, bk_restore_key_names(p));
		}
		return;
	}
	if (p->direct_missing && p->keys_stage == NULL)
	{
		BkChunkReader *reader = bk_restore_open_chunks(p);
		BkUnchangedRows *unchanged = bk_unchanged_rows_begin(entry, p->relid, reader);
		bool complete = false;
		if (unchanged == NULL)
		{
			elog(ERROR, "rows in place of table \"%s\" can no longer be told apart", bk_display_name_of(p->target));
		}
		bk_progress_table(0, p->target, entry->row_count);
		p->counts.inserted =
		    (int64) bk_copy_chunk_rows_into(p->relid, p->map.attnames, reader, p->map.keep, bk_unchanged_rows_filter,
		                                    unchanged, true, true, p->target, bk_restore_key_names(p));
		p->unchanged_in_place = bk_unchanged_rows_end(unchanged, &complete);
		if (!complete)
		{
			elog(ERROR, "a tuple id list of table \"%s\" changed during the restore", bk_display_name_of(p->target));
		}
		p->counts.unchanged = entry->row_count - p->counts.inserted;
		return;
	}
	if (p->direct_missing)
	{
		WantedRows wanted;
		bk_restore_wanted_open(&wanted, p, p->keys_stage);
		p->counts.inserted = (int64) bk_copy_chunk_rows_into(p->relid, p->map.attnames, bk_restore_open_chunks(p),
		                                                     p->map.keep, bk_restore_wanted_filter, &wanted, false,
		                                                     true, p->target, bk_restore_key_names(p));
		SPI_cursor_close(wanted.cursor);
		bk_stage_table_drop(p->keys_stage);
		p->counts.unchanged = entry->row_count - p->counts.inserted;
		return;
	}
	if (!p->keyed)
	{
		if (opts->dry_run)
		{
			p->counts.inserted = bk_spi_count(psprintf("SELECT count(*) FROM %s", p->stage));
		}
		else
		{
			p->counts.inserted = bk_spi_run(
			    psprintf("INSERT INTO %s (%s) %sSELECT %s FROM %s s", p->target, cols, overriding, scols, p->stage));
		}
		return;
	}
	{
		char *match = bk_sql_key_match(entry, "s", "t");
		char *tcols = bk_sql_column_list(&p->map, "t");
		int nset;
		char *set = bk_sql_update_set(entry, &p->map, &nset);
		char *changed = psprintf("%s AND pg_catalog.record_image_ne(ROW(%s), ROW(%s))", match, tcols, scols);
		char *absent_in_target = psprintf("NOT EXISTS (SELECT FROM %s%s t WHERE %s)", p->only, p->target, match);
		bool update = opts->mode != bk::RestoreMode::missing && nset > 0;

		if (!p->replace)
		{
			bk_restore_skip_check_conflicts(p);
			bk_restore_skip_unique_conflicts(p, absent_in_target, false);
		}
		if (opts->dry_run)
		{
			// The run sets aside after its INSERT the staged rows colliding with one written before them (ON
			// CONFLICT DO NOTHING, then bk_restore_collect_unique_conflicts); the dry run counts them first.
			if (!p->replace)
			{
				bk_restore_skip_unique_conflicts(p, absent_in_target, true);
			}
			if (update)
			{
				p->counts.updated = bk_spi_count(
				    psprintf("SELECT count(*) FROM %s%s t JOIN %s s ON %s", p->only, p->target, p->stage, changed));
			}
			p->counts.inserted =
			    bk_spi_count(psprintf("SELECT count(*) FROM %s s WHERE %s", p->stage, absent_in_target));
		}
		else
		{
			if (update)
			{
				int level = p->probe_joins ? bk_index_probe_joins_push() : -1;
				p->counts.updated = bk_spi_run(
				    psprintf("UPDATE %s%s t SET %s FROM %s s WHERE %s", p->only, p->target, set, p->stage, changed));
				if (level >= 0)
				{
					bk_stable_settings_pop(level);
				}
			}
			// merge and missing skip rows that collide with a unique constraint other than the key (they may
			// not change the rows holding those values) and list them; replace must end identical, so there
			// such a collision is an error.
			// The stage keeps only the rows to insert, so the INSERT has no condition on the target: rules on
			// the target (which run after the INSERT and would re-evaluate such a condition) see every row.
			// A stage of missing rows (stage_differs_only, mode missing) already holds only those.
			// The stage holds a subset of the captured rows (p->staged of them, before conflicts were set aside).
			bool subset = p->stage_differs_only || p->stage_not_in_place;
			int64 to_insert = -1;
			if (subset && update && p->counts.updated == p->staged - p->conflicts)
			{
				// Every staged row was found and updated: none is left to insert.
				p->counts.unchanged = entry->row_count - p->counts.updated - p->conflicts;
				return;
			}
			if (!(p->stage_differs_only && opts->mode == bk::RestoreMode::missing))
			{
				int64 present = bk_spi_run(psprintf("DELETE FROM %s s WHERE NOT %s", p->stage, absent_in_target));
				if (subset)
				{
					to_insert = p->staged - p->conflicts - present;
				}
			}
			else
			{
				to_insert = p->staged - p->conflicts;
			}
			bool on_conflict = !p->replace && !bk_rules_forbid_on_conflict(p->relid);
			if (!p->replace && !on_conflict)
			{
				int64 before = p->conflicts;
				bk_restore_skip_unique_conflicts(p, absent_in_target, true);
				to_insert = to_insert < 0 ? to_insert : to_insert - (p->conflicts - before);
			}
			p->counts.inserted =
			    bk_spi_run(psprintf("INSERT INTO %s (%s) %sSELECT %s FROM %s s%s", p->target, cols, overriding, scols,
			                        p->stage, on_conflict ? " ON CONFLICT DO NOTHING" : ""));
			// Rows the INSERT skipped collided with a unique constraint; when it inserted every staged row, there
			// is nothing to look for.
			if (!p->replace && p->counts.inserted != to_insert)
			{
				bk_restore_collect_unique_conflicts(p, absent_in_target);
			}
		}
		p->counts.unchanged = entry->row_count - p->counts.inserted - p->counts.updated - p->conflicts;
	}
}
