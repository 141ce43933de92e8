// Argument helpers shared by the restore entry points, and the restore history.
#pragma once

extern "C"
{
#include "postgres.h"
#include "fmgr.h"
#include "utils/timestamp.h"
}

#include "core/plan/options.hpp"

bk::RestoreMode bk_mode_arg(FunctionCallInfo fcinfo, int argno);
bool bk_bool_arg(FunctionCallInfo fcinfo, int argno, const char *name);
// Records a completed restore or dry run (report is its jsonb) in backupkit.restore_history.
void bk_restore_history_record(int64 snapshot_id, bk::RestoreMode mode, bool dry_run, Datum report,
                               TimestampTz started);
