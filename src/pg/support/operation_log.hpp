// The operation log behind the view backupkit.operations: one row per snapshot, restore, dry run,
// validation, drop and prune that completed. Failed operations roll back with their transaction, so they are
// also written to the server log as a stable "backupkit operation failed" line (see doc/operations.md).
#pragma once

extern "C"
{
#include "postgres.h"
}

// details is a jsonb text or NULL. Requires an SPI connection.
void bk_operation_log(const char *operation, int64 snapshot_id, const char *outcome, int64 rows, double duration_ms,
                      const char *details);
