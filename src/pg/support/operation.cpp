// The entry-point wrapper (see operation.hpp).
extern "C"
{
#include "postgres.h"
#include "executor/spi.h"
#include "utils/memutils.h"
}

#include "pg/support/failure_log.hpp"
#include "pg/support/operation.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/settings.hpp"
#include "pg/support/spi.hpp"

void
bk_operation_watch(BkOperation *op, const char *operation, int64 snapshot_id)
{
	memset(op, 0, sizeof(*op));
	op->operation = operation;
	op->snapshot_id = snapshot_id;
	op->started = GetCurrentTimestamp();
	op->watching = true;
	bk_failure_watch_begin(operation, snapshot_id);
}

void
bk_operation_begin(BkOperation *op, const char *operation, int64 snapshot_id, int flags, const char *context_name)
{
	// After bk_operation_watch, the operation is timed from the watch; otherwise (a watch begun by an earlier
	// call, import's first frame) from here unless the caller sets started.
	TimestampTz started = (flags & BK_OP_WATCHED) && op->watching ? op->started : GetCurrentTimestamp();

	memset(op, 0, sizeof(*op));
	op->started = started;
	op->operation = operation;
	op->snapshot_id = snapshot_id;
	op->flags = flags;
	op->caller = CurrentMemoryContext;
	if (flags & BK_OP_WATCH)
	{
		bk_failure_watch_begin(operation, snapshot_id);
	}
	if (context_name != NULL)
	{
		// Created before SPI connects, so that it outlives SPI's own context and SPI_datumTransfer can copy the
		// result into the caller's.
		// AllocSetContextCreate insists on a literal; context_name is one at every call site (operation.hpp).
		op->cxt = AllocSetContextCreateInternal(CurrentMemoryContext, context_name, ALLOCSET_DEFAULT_SIZES);
	}
	bk_spi_connect();
	if (op->cxt != NULL)
	{
		MemoryContextSwitchTo(op->cxt);
	}
	if (!(flags & BK_OP_NO_SETTINGS))
	{
		op->guc_level = bk_stable_settings_push();
	}
}

void
bk_operation_log_outcome(const BkOperation *op, const char *outcome, int64 rows, const char *details)
{
	bk_operation_log(op->operation, op->snapshot_id, outcome, rows,
	                 (double) (GetCurrentTimestamp() - op->started) / 1000.0, details);
}

void
bk_operation_log_success(const BkOperation *op, int64 rows, const char *details)
{
	bk_operation_log_outcome(op, "success", rows, details);
}

Datum
bk_operation_end(BkOperation *op, Datum result, BkOpResult how)
{
	if (!(op->flags & BK_OP_NO_SETTINGS))
	{
		bk_stable_settings_pop(op->guc_level);
	}
	if (how == BK_OP_COPY_VARLENA)
	{
		result = SPI_datumTransfer(result, false, -1);
	}
	bk_spi_finish();
	if (op->cxt != NULL)
	{
		MemoryContextSwitchTo(op->caller);
		MemoryContextDelete(op->cxt);
		op->cxt = NULL;
	}
	if (op->flags & (BK_OP_WATCH | BK_OP_WATCHED))
	{
		bk_failure_watch_end();
	}
	return result;
}
