// Server-log trace of backupkit operations that fail and roll back (see failure_log.hpp).
extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "utils/elog.h"
}

#include "pg/support/failure_log.hpp"

// Plain static state: no constructors, nothing allocated (the abort path must not need memory or catalogs).
static bool watch_registered = false;
static bool watch_active = false;
static char watch_operation[64];
static char watch_role[NAMEDATALEN];
static int64 watch_snapshot_id = 0;
static SubTransactionId watch_subxact = InvalidSubTransactionId;

static void
report_failure(void)
{
	if (watch_snapshot_id > 0)
	{
		ereport(LOG, (errmsg("backupkit operation failed: %s snapshot " INT64_FORMAT " by role %s", watch_operation,
		                     watch_snapshot_id, watch_role)));
	}
	else
	{
		ereport(LOG, (errmsg("backupkit operation failed: %s snapshot none by role %s", watch_operation, watch_role)));
	}
	watch_active = false;
}

static void
failure_xact_callback(XactEvent event, void *arg)
{
	if (!watch_active)
	{
		return;
	}
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		report_failure();
	}
	else if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PREPARE)
	{
		watch_active = false; // the entry point returned without calling end: it did not fail
	}
}

static void
failure_subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	if (watch_active && event == SUBXACT_EVENT_ABORT_SUB && mySubid == watch_subxact)
	{
		report_failure();
	}
}

void
bk_failure_watch_begin(const char *operation, int64 snapshot_id)
{
	const char *role = GetUserNameFromId(GetUserId(), true);
	if (!watch_registered)
	{
		RegisterXactCallback(failure_xact_callback, NULL);
		RegisterSubXactCallback(failure_subxact_callback, NULL);
		watch_registered = true;
	}
	strlcpy(watch_operation, operation, sizeof(watch_operation));
	strlcpy(watch_role, role ? role : "(dropped role)", sizeof(watch_role));
	watch_snapshot_id = snapshot_id;
	watch_subxact = GetCurrentSubTransactionId();
	watch_active = true;
}

void
bk_failure_watch_set_snapshot(int64 snapshot_id)
{
	watch_snapshot_id = snapshot_id;
}

void
bk_failure_watch_end(void)
{
	watch_active = false;
}
