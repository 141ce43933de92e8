// backupkit.schedule_snapshots / unschedule_snapshots (pg_cron jobs, reached only through dynamic SQL so
// that backupkit never depends on pg_cron) and backupkit.info.
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

#include "core/ops/cron_interval.hpp"
#include "core/ops/retention.hpp"
#include "pg/boundary/boundary.hpp"
#include "pg/citus/citus_tables.hpp"
#include "pg/support/compat.hpp"
#include "pg/support/failure_log.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/report_json.hpp"
#include "pg/storage/storage.hpp"
#include "pg/capture/snapshot_label.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_schedule_snapshots);
	PG_FUNCTION_INFO_V1(bk_unschedule_snapshots);
	PG_FUNCTION_INFO_V1(bk_info);
	PG_FUNCTION_INFO_V1(bk_cron_interval);
}

// The schema of pg_cron's functions and tables (always "cron", whatever pg_extension.extnamespace says), or NULL
// when pg_cron is not installed in this database.
static char *
cron_schema(void)
{
	bk_spi_exec("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron'", 0, NULL, NULL, NULL, true, 1);
	return SPI_processed == 0 ? NULL : pstrdup("cron");
}

// Whether the caller may read pg_cron's job table (USAGE on its schema, SELECT on the table).
static bool
cron_jobs_readable(const char *schema)
{
	Oid argtypes[2] = {TEXTOID, TEXTOID};
	Datum values[2] = {CStringGetTextDatum(schema), CStringGetTextDatum(psprintf("%s.job", quote_identifier(schema)))};
	bool isnull;
	bk_spi_exec("SELECT pg_catalog.has_schema_privilege($1, 'USAGE') AND pg_catalog.has_table_privilege($2, 'SELECT')",
	            2, argtypes, values, NULL, true, 1);
	return DatumGetBool(bk_spi_get(0, 1, &isnull));
}

static char *
require_cron_schema(void)
{
	char *schema = cron_schema();
	if (schema == NULL)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		         errmsg("extension \"pg_cron\" is not installed in database \"%s\"", get_database_name(MyDatabaseId)),
		         errdetail("Scheduled snapshots are pg_cron jobs."),
		         errhint("Install pg_cron: add it to shared_preload_libraries and run CREATE EXTENSION pg_cron.")));
	}
	return schema;
}

static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", name)));
	}
}

// A WARNING for each reason backupkit.cron_setup_problems() finds why pg_cron cannot run the job just created
// (e.g. it connects over TCP/IP to a server listening on a Unix socket only): better now than on the day the
// snapshot is needed.
static void
warn_if_cron_cannot_run(const char *job_name)
{
	bk_spi_exec("SELECT detail, hint FROM backupkit.cron_setup_problems() WHERE severity = 'error'", 0, NULL, NULL,
	            NULL, true, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char *detail = bk_spi_get_text((int) i, 1);
		char *hint = bk_spi_get_text((int) i, 2);
		ereport(WARNING, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                  errmsg("pg_cron cannot run job \"%s\" as configured", job_name),
		                  errdetail_internal("%s", detail), hint ? errhint("%s", hint) : 0));
	}
}

Datum
bk_schedule_snapshots(PG_FUNCTION_ARGS)
{
	bool has_count[4];
	int counts[4];
	bool any_rule = false;
	Oid argtypes[6] = {REGCLASSARRAYOID, TEXTOID, INT4OID, INT4OID, INT4OID, INT4OID};
	Datum values[6];
	char nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	char *schema;
	char *command;
	char *sql;
	int64 jobid;
	bool isnull;
	int level;
	TimestampTz started = GetCurrentTimestamp();

	bk_failure_watch_begin("schedule", 0);
	require_arg(fcinfo, 0, "job_name");
	require_arg(fcinfo, 1, "schedule");
	require_arg(fcinfo, 2, "tables");
	require_arg(fcinfo, 3, "label");
	bk_check_label(text_to_cstring(PG_GETARG_TEXT_PP(3)));
	if (ArrayGetNItems(ARR_NDIM(PG_GETARG_ARRAYTYPE_P(2)), ARR_DIMS(PG_GETARG_ARRAYTYPE_P(2))) == 0)
	{
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("tables must not be empty")));
	}
	// Every run would refuse a Citus table; say so now rather than in the failure log of each run.
	{
		Datum *elems;
		bool *elem_nulls;
		int n;
		Oid *relids;
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT, &elems, &elem_nulls,
		                  &n);
		relids = (Oid *) palloc(sizeof(Oid) * n);
		for (int i = 0; i < n; i++)
		{
			relids[i] = elem_nulls[i] ? InvalidOid : DatumGetObjectId(elems[i]);
		}
		bk_refuse_citus_tables(relids, n, BK_CITUS_SCHEDULE);
	}
	for (int r = 0; r < 4; r++)
	{
		has_count[r] = !PG_ARGISNULL(4 + r);
		counts[r] = has_count[r] ? PG_GETARG_INT32(4 + r) : 0;
		any_rule = any_rule || has_count[r];
	}
	// Reject counts the scheduled prune would reject, now rather than at every run.
	if (any_rule)
	{
		BK_CORE({
			bk::RetentionPolicy policy;
			std::optional<int> *fields[4] = {&policy.keep_last, &policy.keep_daily, &policy.keep_weekly,
			                                 &policy.keep_monthly};
			for (int r = 0; r < 4; r++)
			{
				if (has_count[r])
				{
					*fields[r] = counts[r];
				}
			}
			(void) bk::apply_retention({}, policy);
		});
	}

	bk_spi_connect();
	level = bk_stable_settings_push();
	schema = require_cron_schema();

	// Every value enters the command through format('%L'); tables are stored schema-qualified, by name.
	values[0] = PG_GETARG_DATUM(2);
	values[1] = PG_GETARG_DATUM(3);
	for (int r = 0; r < 4; r++)
	{
		values[2 + r] = Int32GetDatum(counts[r]);
		nulls[2 + r] = has_count[r] ? ' ' : 'n';
	}
	bk_spi_exec("SELECT format('SELECT backupkit.snapshot_tables(%L::regclass[], %L);', "
	            "  ARRAY(SELECT format('%I.%I', n.nspname, c.relname) "
	            "          FROM unnest($1) WITH ORDINALITY AS u(r, i) "
	            "          JOIN pg_catalog.pg_class c ON c.oid = u.r "
	            "          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ORDER BY u.i)::text, $2)"
	            " || CASE WHEN num_nonnulls($3, $4, $5, $6) = 0 THEN '' ELSE "
	            "    format(' SELECT count(*) FROM backupkit.prune_snapshots(keep_last => %L, keep_daily => %L, "
	            "keep_weekly => %L, keep_monthly => %L, label => %L);', $3, $4, $5, $6, $2) END",
	            6, argtypes, values, nulls, true, 1);
	command = bk_spi_get_text(0, 1);

	{
		Oid cron_types[3] = {TEXTOID, TEXTOID, TEXTOID};
		Datum cron_values[3] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), CStringGetTextDatum(command)};
		// pg_cron replaces a job of the same name and user.
		sql = psprintf("SELECT %s.schedule($1, $2, $3)", quote_identifier(schema));
		bk_spi_exec(sql, 3, cron_types, cron_values, NULL, false, 1);
		jobid = DatumGetInt64(bk_spi_get(0, 1, &isnull));
	}
	warn_if_cron_cannot_run(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	bk_stable_settings_pop(level);
	{
		// The job id and name let backupkit.schedules date the job (pg_cron does not record when it was made).
		BkJson details;
		bk_json_init(&details);
		bk_json_begin_object(&details, NULL);
		bk_json_int(&details, "jobid", jobid);
		bk_json_str(&details, "job_name", text_to_cstring(PG_GETARG_TEXT_PP(0)));
		bk_json_end_object(&details);
		bk_operation_log("schedule", 0, "success", 0, (double) (GetCurrentTimestamp() - started) / 1000.0,
		                 details.buf.data);
	}
	bk_spi_finish();
	bk_failure_watch_end();
	PG_RETURN_INT64(jobid);
}

Datum
bk_unschedule_snapshots(PG_FUNCTION_ARGS)
{
	Oid argtypes[1] = {TEXTOID};
	Datum values[1];
	char *schema;
	bool found;
	bool isnull;
	int level;
	TimestampTz started = GetCurrentTimestamp();

	require_arg(fcinfo, 0, "job_name");
	values[0] = PG_GETARG_DATUM(0);
	bk_spi_connect();
	level = bk_stable_settings_push();
	schema = require_cron_schema();
	// See a job removed earlier in this statement (pg_cron deletes without advancing the command counter).
	CommandCounterIncrement();
	bk_spi_exec(
	    psprintf("SELECT jobid FROM %s.job WHERE jobname = $1 AND username = current_user", quote_identifier(schema)),
	    1, argtypes, values, NULL, false, 1);
	found = SPI_processed > 0;
	if (found)
	{
		Oid id_types[1] = {INT8OID};
		Datum id_values[1] = {bk_spi_get(0, 1, &isnull)};
		bk_spi_exec(psprintf("SELECT %s.unschedule($1)", quote_identifier(schema)), 1, id_types, id_values, NULL, false,
		            1);
		bk_operation_log("unschedule", 0, "success", 0, (double) (GetCurrentTimestamp() - started) / 1000.0, NULL);
	}
	bk_stable_settings_pop(level);
	bk_spi_finish();
	PG_RETURN_BOOL(found);
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
	int level;

	bk_spi_connect();
	level = bk_stable_settings_push();
	bk_owner_begin(&access);
	bk_spi_exec("SELECT jsonb_build_object("
	            " 'extension_version', (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'backupkit'),"
	            " 'server_version', pg_catalog.current_setting('server_version'),"
	            " 'server_version_num', pg_catalog.current_setting('server_version_num')::integer,"
	            " 'snapshots', count(*),"
	            " 'pinned_snapshots', count(*) FILTER (WHERE s.pinned),"
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
	schema = cron_schema();
	if (schema != NULL && !cron_jobs_readable(schema))
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
	bk_stable_settings_pop(level);
	bk_spi_finish();
	PG_RETURN_JSONB_P(result);
}

Datum
bk_cron_interval(PG_FUNCTION_ARGS)
{
	char *schedule = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64 seconds = 0;
	Interval *result;

	BK_CORE({ seconds = bk::cron_max_interval_seconds(schedule); });
	result = (Interval *) palloc0(sizeof(Interval));
	result->day = (int32) (seconds / SECS_PER_DAY);
	result->time = (seconds % SECS_PER_DAY) * USECS_PER_SEC;
	PG_RETURN_INTERVAL_P(result);
}
