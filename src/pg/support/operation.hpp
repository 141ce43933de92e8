// One wrapper for the setup and teardown every SQL entry point repeats: the failure watch (a server-log line
// when the transaction aborts), the operation's own memory context, SPI, the fixed settings, the operation log
// row and copying the result out of SPI before SPI_finish. An entry point reads its arguments, calls
// bk_operation_begin, does its work, and returns bk_operation_end(...). Errors need nothing: ereport unwinds
// SPI, the settings (GUC nest level), the memory context and the watch with the transaction.
//
//   BkOperation op;
//   bk_operation_begin(&op, "restore", snapshot_id, BK_OP_WATCH, "backupkit restore");
//   ... work, in op's memory context, SPI connected, settings fixed ...
//   bk_operation_log_success(&op, rows, NULL);
//   PG_RETURN_DATUM(bk_operation_end(&op, report, BK_OP_COPY_VARLENA));
#pragma once

extern "C"
{
#include "postgres.h"
#include "utils/timestamp.h"
}

// Flags of bk_operation_begin.
#define BK_OP_WATCH 0x1       // log a failure of the transaction as "backupkit operation failed: <operation> ..."
#define BK_OP_WATCHED 0x2     // the watch is already on (bk_operation_watch, or an earlier call: then zero op first)
#define BK_OP_NO_SETTINGS 0x4 // leave the settings alone (the operation runs no type input or output)

// What bk_operation_end does with the result.
typedef enum BkOpResult
{
	BK_OP_RESULT_AS_IS, // a by-value Datum, or memory that is not SPI's (a tuplestore, the caller's context)
	BK_OP_COPY_VARLENA, // a varlena built while SPI was connected: copied to the caller's context first
} BkOpResult;

typedef struct BkOperation
{
	const char *operation; // for the watch, the context name and the operation log
	int64 snapshot_id;
	int flags;
	TimestampTz started;
	int guc_level;
	MemoryContext cxt;    // the operation's own context (context_name given), else NULL
	MemoryContext caller; // current when bk_operation_begin was called
	bool watching;        // set by bk_operation_watch; bk_operation_begin reads it only with BK_OP_WATCHED
} BkOperation;

// Starts the failure watch early, before the argument checks it should cover; bk_operation_begin then gets
// BK_OP_WATCHED. The operation's duration is measured from here.
void bk_operation_watch(BkOperation *op, const char *operation, int64 snapshot_id);
// Failure watch (BK_OP_WATCH), own memory context (when context_name, a string constant, is given; current
// until bk_operation_end), SPI connected, fixed settings pushed, in that order.
void bk_operation_begin(BkOperation *op, const char *operation, int64 snapshot_id, int flags, const char *context_name);
// The operation_log row of a successful operation, its duration measured from the start of the operation.
void bk_operation_log_success(const BkOperation *op, int64 rows, const char *details);
// The same with another outcome ("dry run").
void bk_operation_log_outcome(const BkOperation *op, const char *outcome, int64 rows, const char *details);
// Settings popped, result copied out as asked, SPI finished, context deleted, watch ended; returns the result.
Datum bk_operation_end(BkOperation *op, Datum result, BkOpResult how);
