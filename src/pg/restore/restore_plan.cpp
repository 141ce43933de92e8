// The plan of one table's restore (restore_engine.hpp): the checks made before anything changes (table kind,
// Citus, metadata seal, key, outside references) and the choice between the copy path, the staged path and
// (for a Citus table) the Citus path.
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/citus_restore.hpp"
#include "pg/restore/restore_engine_internal.hpp"
#include "pg/support/message_names.hpp"

BkTablePlan *
bk_restore_plan(const BkSnapshot *snapshot, const BkTableEntry *entry, Oid relid, bool matched_by_oid,
                const BkRestoreOptions *opts)
{
	BkTablePlan *p = (BkTablePlan *) palloc0(sizeof(BkTablePlan));
	BkTableMetadata live;
	bool rls, may_truncate;

	p->snapshot = snapshot;
	p->entry = entry;
	p->opts = opts;
	p->relid = relid;
	p->matched_by_oid = matched_by_oid;
	p->target = bk_rel_qualified_name(relid);
	p->only = get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ";
	p->replace = opts->mode == bk::RestoreMode::replace;
	p->started = GetCurrentTimestamp();

	bk_check_table_kind(relid, BK_TABLE_RESTORE);
	// Every restore, dry run and diff (and so every in-place shortcut) builds its plan here: no path but the
	// Citus one reaches a Citus table, and none a kind it cannot handle, even if an entry point forgot to refuse.
	bk_refuse_citus_tables(&relid, 1, BK_CITUS_RESTORE);
	bk_read_table_metadata(relid, &live);
	bk_build_column_map(entry, &live, &p->map);
	// Before anything relies on the entry: refuse one whose stored metadata changed (metadata_checksum.hpp).
	bk_metadata_verify(snapshot, entry, &p->map.warnings);
	p->keyed = bk_key_is_kept(entry, &p->map);
	if (!p->replace && !p->keyed)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("mode \"%s\" needs a key, but table \"%s\" has none in snapshot " INT64_FORMAT,
		                       bk::restore_mode_name(opts->mode), bk_display_name_of(p->target), snapshot->snapshot_id),
		                errdetail("Rows are matched by the primary key (or a unique index on not-null columns) "
		                          "recorded at capture time."),
		                errhint("Use mode => 'replace', or add a primary key before taking the snapshot.")));
	}
	bk_outside_references(relid, opts, &p->children, &p->constraints, &p->referenced);
	if (p->replace && p->children != NIL && !p->keyed)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
		         errmsg("cannot replace table \"%s\": it is referenced by table \"%s\" through foreign key \"%s\"",
		                bk_display_name_of(p->target), bk_display_name_of((char *) linitial(p->children)),
		                (char *) linitial(p->constraints)),
		         errdetail("The table has no key to match rows by, so replacing it would delete every row "
		                   "that table references."),
		         errhint("Restore table \"%s\" in the same call, or add a primary key.",
		                 bk_display_name_of((char *) linitial(p->children)))));
	}
	if (bk_citus_table(relid, NULL))
	{
		BkCitusRestoreInput in = {
		    snapshot, entry,      relid,         p->target,   p->map.attnames, p->map.types,     p->map.keep,
		    p->keyed, opts->mode, opts->dry_run, p->children, p->constraints,  opts->set_relids, opts->set_count};
		if (!p->replace && p->keyed)
		{
			in.set_aside = bk_restore_set_aside_citus_conflicts;
			in.set_aside_arg = p;
		}
		p->citus = bk_citus_restore_plan(&in);
		return p;
	}
	rls = check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED;
	may_truncate = pg_class_aclcheck(relid, GetUserId(), ACL_TRUNCATE) == ACLCHECK_OK;
	// Rules play no part: COPY ignores them, and the other paths disable them (restore_rules.hpp).
	p->copy_path = p->replace && !rls && may_truncate && !p->referenced;
	return p;
}

BkChunkReader *
bk_restore_open_chunks(const BkTablePlan *p)
{
	return bk_chunk_reader_open(p->entry, strcmp(p->snapshot->compression, "zstd") == 0);
}

List *
bk_restore_key_names(const BkTablePlan *p)
{
	List *names = NIL;
	if (p->keyed)
	{
		for (int i = 0; i < p->entry->npk; i++)
		{
			names = lappend(names, makeString(p->entry->pk[i]));
		}
	}
	return names;
}

bool
bk_restore_plan_uses_copy(const BkTablePlan *p)
{
	return p->copy_path;
}

void
bk_restore_plan_force_staged(BkTablePlan *p)
{
	p->copy_path = false;
}

void
bk_restore_table(const BkSnapshot *snapshot, const BkTableEntry *entry, Oid relid, bool matched_by_oid,
                 const BkRestoreOptions *opts, BkJson *report, BkRestoreCounts *counts)
{
	BkTablePlan *p = bk_restore_plan(snapshot, entry, relid, matched_by_oid, opts);
	bk_restore_clear(p);
	bk_restore_truncate(&p, 1, opts->dry_run);
	bk_restore_load(p);
	bk_restore_finish(p, report, counts);
}
