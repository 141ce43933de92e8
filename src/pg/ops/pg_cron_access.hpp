// pg_cron as backupkit reaches it: only through dynamic SQL, so that backupkit never depends on pg_cron. Shared
// by the schedule functions and backupkit.info.
#pragma once

#include "core/ops/cron_interval.hpp"
#include "core/ops/retention.hpp"
#include "core/plan/citus_table_type.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
}

#include "pg/citus/citus_tables.hpp"
#include "pg/support/compat.hpp"
#include "pg/support/failure_log.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/report_json.hpp"
#include "pg/storage/storage.hpp"
#include "pg/capture/snapshot_label.hpp"

// The schema of pg_cron's functions and tables (always "cron", whatever pg_extension.extnamespace says), or NULL
// when pg_cron is not installed in this database.
char *bk_cron_schema(void);

// Whether the caller may read pg_cron's job table (USAGE on its schema, SELECT on the table).
bool bk_cron_jobs_readable(const char *schema);
