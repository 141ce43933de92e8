// backupkit.schedule_snapshots / unschedule_snapshots (pg_cron jobs, reached only through dynamic SQL so
// that backupkit never depends on pg_cron) and backupkit.cron_interval.
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
	PG_FUNCTION_INFO_V1(bk_schedule_snapshots);
	PG_FUNCTION_INFO_V1(bk_unschedule_snapshots);
	PG_FUNCTION_INFO_V1(bk_cron_interval);
}

static char *
require_cron_schema(void)
{
	char *schema = bk_cron_schema();
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
	BkOperation op;

	bk_operation_watch(&op, "schedule", 0);
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
		bk::RetentionCounts policy;
		memset(&policy, 0, sizeof(policy));
		for (int r = 0; r < 4; r++)
		{
			policy.has[r] = has_count[r];
			policy.count[r] = counts[r];
		}
		BK_CORE(bk::apply_retention_arrays(policy, 0, NULL, NULL, NULL, NULL, NULL, 0));
	}

	bk_operation_begin(&op, "schedule", 0, BK_OP_WATCHED, NULL);
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
	{
		// The job id and name let backupkit.schedules date the job (pg_cron does not record when it was made).
		BkJson details;
		bk_json_init(&details);
		bk_json_begin_object(&details, NULL);
		bk_json_int(&details, "jobid", jobid);
		bk_json_str(&details, "job_name", text_to_cstring(PG_GETARG_TEXT_PP(0)));
		bk_json_end_object(&details);
		bk_operation_log_success(&op, 0, details.buf.data);
	}
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
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
	BkOperation op;

	require_arg(fcinfo, 0, "job_name");
	values[0] = PG_GETARG_DATUM(0);
	bk_operation_begin(&op, "unschedule", 0, 0, NULL);
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
		bk_operation_log_success(&op, 0, NULL);
	}
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
	PG_RETURN_BOOL(found);
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
