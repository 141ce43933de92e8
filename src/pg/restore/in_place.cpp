// The in-place shortcuts (unchanged_rows.hpp): merge after a bulk change stages only the rows not proven
// unchanged in place, and missing may copy absent rows straight into the table when no row could be set aside.
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/restore_engine_internal.hpp"

bool
bk_restore_stage_rows_not_in_place(BkTablePlan *p)
{
	BkChunkReader *reader = bk_restore_open_chunks(p);
	BkUnchangedRows *unchanged = bk_unchanged_rows_begin(p->entry, p->relid, reader);
	Oid stage_oid;

	if (unchanged == NULL)
	{
		return false;
	}
	stage_oid = bk_restore_create_stage(p->relid, &p->map, &p->stage);
	bk_progress_table(0, p->target, p->entry->row_count);
	p->staged =
	    (int64) bk_copy_chunk_rows_into(stage_oid, p->map.attnames, reader, p->map.keep, bk_unchanged_rows_filter,
	                                    unchanged, true, false, p->target, bk_restore_key_names(p));
	p->unchanged_in_place = bk_unchanged_rows_end(unchanged, NULL);
	p->stage_not_in_place = true;
	CommandCounterIncrement();
	p->probe_joins = bk_restore_few_staged(p, p->staged);
	return true;
}

bool
bk_restore_nothing_written_since_capture(const BkTablePlan *p)
{
	bool isnull;
	bk_spi_exec(
	    psprintf("SELECT NOT EXISTS (SELECT FROM %s%s WHERE %s)", p->only, p->target, bk_sql_written_since_capture(p)),
	    0, NULL, NULL, NULL, false, 0);
	return DatumGetBool(bk_spi_get(0, 1, &isnull));
}

bool
bk_restore_direct_missing_eligible(const BkTablePlan *p)
{
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(p->relid)};
	bool isnull;

	if (p->opts->mode != bk::RestoreMode::missing || p->opts->dry_run || p->opts->fire_triggers ||
	    get_rel_relkind(p->relid) != RELKIND_RELATION || check_enable_rls(p->relid, InvalidOid, true) == RLS_ENABLED)
	{
		return false;
	}
	bk_spi_exec("SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype IN ('c', 'x'))"
	            " AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_index WHERE indrelid = $1 AND indisunique) = 1",
	            1, argtypes, values, NULL, true, 1);
	return DatumGetBool(bk_spi_get(0, 1, &isnull)) && bk_restore_key_index_exists(p, true);
}
