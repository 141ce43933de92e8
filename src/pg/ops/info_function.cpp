// backupkit.info: the library and catalog versions, the server, and what the scheduling of snapshots can rely on
// (pg_cron installed, its jobs readable).
#include "core/error.hpp"
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
#include "pg/ops/pg_cron_access.hpp"
#include "pg/support/operation.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_info);
}

Datum
bk_info(PG_FUNCTION_ARGS)
{
	Oid argtypes[2] = {OIDOID, JSONBOID};
	Datum values[2] = {ObjectIdGetDatum(GetUserId()), (Datum) 0};
	BkOwnerAccess access;
	Jsonb *result;
	char *schema;
	bool isnull;
	BkOperation op;

	bk_operation_begin(&op, "info", 0, 0, NULL);
	bk_owner_begin(&access);
	bk_spi_exec("SELECT jsonb_build_object("
	            " 'extension_version', (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'backupkit'),"
	            " 'server_version', pg_catalog.current_setting('server_version'),"
	            " 'server_version_num', pg_catalog.current_setting('server_version_num')::integer,"
	            " 'snapshots', count(*),"
	            " 'pinned_snapshots', count(*) FILTER (WHERE s.pinned),"
	            // Distributed snapshots (Citus) live in their own catalog; a node's parts are among its snapshots.
	            " 'distributed_snapshots', (SELECT count(*) FROM backupkit.distributed_snapshot d"
	            "     WHERE pg_catalog.pg_has_role($1, d.created_by, 'MEMBER')),"
	            " 'total_rows', coalesce(sum(s.row_count), 0),"
	            " 'total_raw_bytes', coalesce(sum(s.raw_bytes), 0),"
	            " 'total_stored_bytes', coalesce(sum(s.stored_bytes), 0),"
	            " 'compression_ratio', CASE WHEN sum(s.stored_bytes) > 0"
	            "     THEN round(sum(s.raw_bytes)::numeric / sum(s.stored_bytes), 2) END,"
	            " 'oldest_snapshot', min(s.created_at),"
	            " 'newest_snapshot', max(s.created_at),"
	            " 'last_successful_validation', (SELECT jsonb_build_object('at', o.logged_at, 'snapshot_id',"
	            "     o.snapshot_id, 'role', o.role_name) FROM backupkit.operation_log o"
	            "     WHERE o.operation LIKE 'validat%' AND o.outcome = 'success'"
	            "     AND pg_catalog.pg_has_role($1, o.role_oid, 'MEMBER') ORDER BY o.logged_at DESC LIMIT 1))"
	            " FROM backupkit.snapshot s"
	            " WHERE s.status = 'complete' AND pg_catalog.pg_has_role($1, s.created_by, 'MEMBER')",
	            1, argtypes, values, NULL, true, 1);
	bk_owner_end(&access);
	values[1] = bk_spi_get(0, 1, &isnull);

	// Jobs are read as the caller: pg_cron shows each role its own jobs. A role without USAGE on pg_cron's
	// schema cannot have scheduled anything; it gets null rather than an error.
	schema = bk_cron_schema();
	if (schema != NULL && !bk_cron_jobs_readable(schema))
	{
		schema = NULL;
	}
	if (schema != NULL)
	{
		bk_spi_exec(psprintf("SELECT $2 || jsonb_build_object('scheduled_jobs', coalesce(jsonb_agg(jsonb_build_object("
		                     "'jobid', j.jobid, 'job_name', j.jobname, 'schedule', j.schedule, 'active', j.active, "
		                     "'command', j.command) ORDER BY j.jobid), '[]')) FROM %s.job j "
		                     "WHERE j.command LIKE '%%backupkit.snapshot_tables(%%' AND $1 IS NOT NULL",
		                     quote_identifier(schema)),
		            2, argtypes, values, NULL, true, 1);
	}
	else
	{
		bk_spi_exec("SELECT $2 || jsonb_build_object('scheduled_jobs', NULL) WHERE $1 IS NOT NULL", 2, argtypes, values,
		            NULL, true, 1);
	}
	// Counts of backupkit.check(), read as the caller like everything check() reports.
	values[1] = bk_spi_get(0, 1, &isnull);
	bk_spi_exec("SELECT $2 || jsonb_build_object('check_warnings', count(*) FILTER (WHERE c.severity = 'warning'),"
	            " 'check_errors', count(*) FILTER (WHERE c.severity = 'error'))"
	            " FROM backupkit.check() c WHERE $1 IS NOT NULL",
	            2, argtypes, values, NULL, true, 1);
	result = DatumGetJsonbPCopy(bk_spi_get(0, 1, &isnull));
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
	PG_RETURN_JSONB_P(result);
}
