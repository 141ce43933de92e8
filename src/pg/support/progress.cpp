// Progress reporting. A backend's pg_stat_activity.query is the one per-backend text another session can
// read without shared memory of our own (backupkit does not need shared_preload_libraries), so a running
// operation rewrites it to a fixed-format line and puts the statement's text back when it ends.
extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/timestamp.h"
}

#include "pg/support/progress.hpp"

bool bk_progress_notices = true;

typedef struct ProgressState
{
	bool active;
	char operation[16];
	int64 snapshot_id;
	int tables_total;
	int table_index;
	char table_name[200];
	int64 rows_total;
	int64 rows_done;
	int64 rows_all_tables;
	TimestampTz started;
	TimestampTz last_report;
	SubTransactionId subid; // the (sub)transaction the operation runs in
} ProgressState;

static ProgressState progress;

static void
report(bool force)
{
	TimestampTz now = GetCurrentTimestamp();
	char line[512];

	if (!progress.active)
	{
		return;
	}
	if (!force && !TimestampDifferenceExceeds(progress.last_report, now, 1000))
	{
		return;
	}
	progress.last_report = now;
	snprintf(line, sizeof(line),
	         "backupkit %s snapshot=" INT64_FORMAT " table=%s tables_done=%d tables_total=%d rows_done=" INT64_FORMAT
	         " rows_total=" INT64_FORMAT " rows_all_tables=" INT64_FORMAT,
	         progress.operation, progress.snapshot_id, progress.table_name, progress.table_index, progress.tables_total,
	         progress.rows_done, progress.rows_total, progress.rows_all_tables);
	pgstat_report_activity(STATE_RUNNING, line);
	if (bk_progress_notices && !force && TimestampDifferenceExceeds(progress.started, now, 1000))
	{
		ereport(NOTICE, (errmsg_internal("backupkit %s of snapshot " INT64_FORMAT ": table %s (%d of %d), " INT64_FORMAT
		                                 " rows done",
		                                 progress.operation, progress.snapshot_id, progress.table_name,
		                                 progress.table_index + 1, progress.tables_total, progress.rows_done)));
	}
}

void
bk_progress_begin(const char *operation, int64 snapshot_id, int tables_total)
{
	memset(&progress, 0, sizeof(progress));
	progress.active = true;
	strlcpy(progress.operation, operation, sizeof(progress.operation));
	progress.snapshot_id = snapshot_id;
	progress.tables_total = tables_total;
	progress.subid = GetCurrentSubTransactionId();
	progress.started = GetCurrentTimestamp();
	progress.last_report = progress.started;
	strlcpy(progress.table_name, "-", sizeof(progress.table_name));
	report(true);
}

void
bk_progress_table(int table_index, const char *table_name, int64 rows_total)
{
	progress.table_index = table_index;
	strlcpy(progress.table_name, table_name, sizeof(progress.table_name));
	progress.rows_total = rows_total;
	progress.rows_done = 0;
	report(true);
}

void
bk_progress_rows(int64 rows_done_delta)
{
	progress.rows_done += rows_done_delta;
	progress.rows_all_tables += rows_done_delta;
	report(false);
}

void
bk_progress_end(void)
{
	if (!progress.active)
	{
		return;
	}
	progress.active = false;
	if (debug_query_string != NULL)
	{
		pgstat_report_activity(STATE_RUNNING, debug_query_string);
	}
}

// An operation that fails never reaches bk_progress_end. When the error ends the statement, the next statement
// replaces the progress line; when a PL/pgSQL EXCEPTION block catches it, the statement goes on and the line
// would stay in backupkit.progress. Aborting the (sub)transaction the operation ran in ends its progress.
static void
progress_xact_callback(XactEvent event, void *)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		bk_progress_end();
	}
}

static void
progress_subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId, void *)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && progress.active && mySubid <= progress.subid)
	{
		bk_progress_end();
	}
}

void
bk_progress_init(void)
{
	RegisterXactCallback(progress_xact_callback, NULL);
	RegisterSubXactCallback(progress_subxact_callback, NULL);
}
