// SQL entry points of restores: backupkit.restore_table_from_snapshot (one table).
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

#include "pg/citus/citus_tables.hpp"
#include "pg/support/failure_log.hpp"
#include "pg/support/lock_order.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/progress.hpp"
#include "pg/restore/restore_engine.hpp"
#include "pg/restore/restore_functions.hpp"
#include "pg/restore/restore_history.hpp"
#include "pg/support/operation.hpp"
#include "pg/support/rls_scope.hpp"
#include "pg/support/table_list.hpp"
#include "pg/support/message_names.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_restore_table_from_snapshot);
}

bk::RestoreMode
bk_mode_arg(FunctionCallInfo fcinfo, int argno)
{
	bk::RestoreMode mode = bk::RestoreMode::replace;
	if (PG_ARGISNULL(argno))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("mode must not be null"),
		                errhint("Valid values are \"replace\", \"merge\" and \"missing\".")));
	}
	{
		char *mode_name = text_to_cstring(PG_GETARG_TEXT_PP(argno));
		BK_CORE(mode = bk::parse_restore_mode(mode_name));
	}
	return mode;
}

bool
bk_bool_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", name)));
	}
	return PG_GETARG_BOOL(argno);
}

Datum
bk_restore_table_from_snapshot(PG_FUNCTION_ARGS)
{
	int64 snapshot_id = bk_snapshot_id_arg(fcinfo, 0);
	Oid relid;
	BkRestoreOptions opts;
	BkSnapshot snap;
	BkTableEntry *entry;
	bool by_oid = false;
	BkJson report;
	BkRestoreCounts counts;
	BkOperation op;
	Datum result;

	relid = bk_table_name_arg(fcinfo, 1);
	memset(&opts, 0, sizeof(opts));
	opts.mode = bk_mode_arg(fcinfo, 2);
	opts.dry_run = bk_bool_arg(fcinfo, 3, "dry_run");
	opts.fire_triggers = PG_NARGS() > 4 ? bk_bool_arg(fcinfo, 4, "fire_triggers") : false;
	opts.set_relids = &relid;
	opts.set_count = 1;
	bk_operation_begin(&op, opts.dry_run ? "dry_run" : "restore", snapshot_id, BK_OP_WATCH, "backupkit restore");
	bk_snapshot_fetch(snapshot_id, &snap);
	bk_check_table_kind(relid, BK_TABLE_RESTORE);
	bk_refuse_citus_tables(&relid, 1, BK_CITUS_RESTORE);
	bk_lock_in_order(&relid, 1, ExclusiveLock);
	entry = bk_table_entry_required(snapshot_id, relid, &by_oid);
	bk_check_capture_policies(&snap, relid, BK_TABLE_RESTORE);
	bk_progress_begin(opts.dry_run ? "dry-run" : "restore", snapshot_id, 1);
	bk_json_init(&report);
	bk_json_begin_object(&report, NULL);
	bk_json_int(&report, "snapshot_id", snapshot_id);
	bk_restore_table(&snap, entry, relid, by_oid, &opts, &report, &counts);
	bk_json_end_object(&report);
	result = bk_json_finish(&report);
	bk_progress_end();
	bk_restore_history_record(snapshot_id, opts.mode, opts.dry_run, result, op.started);
	bk_operation_log_success(&op, counts.inserted + counts.updated + counts.deleted, NULL);
	PG_RETURN_DATUM(bk_operation_end(&op, result, BK_OP_COPY_VARLENA));
}
