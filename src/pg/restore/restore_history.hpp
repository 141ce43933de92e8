// backupkit.restore_history: one row per completed restore or dry run.
#pragma once

#include "core/plan/options.hpp"

extern "C"
{
#include "postgres.h"
#include "utils/timestamp.h"
}

// Records a completed restore or dry run (report is its jsonb) in backupkit.restore_history.
void bk_restore_history_record(int64 snapshot_id, bk::RestoreMode mode, bool dry_run, Datum report,
                               TimestampTz started);
