// Failed operations roll back their operation_log row with them; this leaves a trace that survives the
// rollback: a stable server-log line "backupkit operation failed: <operation> snapshot <id> by role <role>",
// written by a transaction callback when a watched operation aborts (see doc/operations.md).
#pragma once

extern "C"
{
#include "postgres.h"
}

// Starts watching: if the current (sub)transaction aborts before bk_failure_watch_end, the line is logged.
// snapshot_id 0 when the operation has none (yet). Call at the entry point, before switching roles.
void bk_failure_watch_begin(const char *operation, int64 snapshot_id);
// The snapshot id once known (a snapshot or an import creates it during the operation).
void bk_failure_watch_set_snapshot(int64 snapshot_id);
// The operation succeeded.
void bk_failure_watch_end(void);
