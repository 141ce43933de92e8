// backupkit.prune_distributed_snapshots: retention for distributed snapshots, by the rules prune_snapshots
// applies (src/core/ops/retention.hpp). A distributed snapshot dropped loses its part on every node and its
// map together (citus_distributed_scope.hpp), so the function commits on the nodes and refuses to run inside a
// transaction block; a dry run only reports.
#include "core/error.hpp"
#include "core/ops/retention.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include "pg/citus/citus_distributed.hpp"
#include "pg/citus/citus_distributed_scope.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/operation.hpp"
#include "pg/support/spi.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_prune_distributed_snapshots);
}

#define REASON_SIZE 128
#define UNIX_EPOCH_OFFSET_US ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

Datum
bk_prune_distributed_snapshots(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bk::RetentionCounts policy;
	char *label = PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6));
	bool dry_run = PG_ARGISNULL(7) ? false : PG_GETARG_BOOL(7);
	BkOperation op;
	BkOwnerAccess access;
	int n, ndrop = 0;
	int64 *ids, *drop;
	TimestampTz *created;
	char **labels;
	int64 *created_us;
	bool *pinned, *keep;
	int *order;
	char *reasons;

	memset(&policy, 0, sizeof(policy));
	for (int r = 0; r < bk::retention_count_rules; r++)
	{
		policy.has[r] = !PG_ARGISNULL(r);
		policy.count[r] = policy.has[r] ? PG_GETARG_INT32(r) : 0;
	}
	policy.has_cutoff = !PG_ARGISNULL(5);
	if (policy.has_cutoff)
	{
		Interval *older_than = PG_GETARG_INTERVAL_P(5);
		if (older_than->time < 0 || older_than->day < 0 || older_than->month < 0)
		{
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("older_than must not be negative"),
			                errdetail("Every part of the interval (months, days, time) must be zero or positive.")));
		}
		policy.cutoff_us = DatumGetTimestampTz(DirectFunctionCall2(
		                       timestamptz_mi_interval, TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
		                       PointerGetDatum(older_than))) +
		                   UNIX_EPOCH_OFFSET_US;
	}
	// A policy without rules is refused before anything is read.
	BK_CORE(bk::apply_retention_arrays(policy, 0, NULL, NULL, NULL, NULL, NULL, REASON_SIZE));
	InitMaterializedSRF(fcinfo, 0);
	bk_dist_begin_operation(&op, "prune_distributed_snapshots", dry_run ? NULL : "the drops", "distributed prune", 0,
	                        "backupkit distributed prune");
	{
		Oid argtypes[1] = {TEXTOID};
		Datum values[1] = {label ? CStringGetTextDatum(label) : (Datum) 0};
		char nulls[1] = {label ? ' ' : 'n'};
		bk_owner_begin(&access);
		// In id order, as the rules break ties by position; FOR UPDATE: a restore holds KEY SHARE on what it uses.
		bk_spi_exec("SELECT snapshot_id, created_at, label FROM backupkit.distributed_snapshot "
		            "WHERE ($1::text IS NULL OR label = $1) AND pg_catalog.pg_has_role(created_by, 'MEMBER') "
		            "ORDER BY snapshot_id FOR UPDATE",
		            1, argtypes, values, nulls, false, 0);
		bk_owner_end(&access);
	}
	n = (int) SPI_processed;
	ids = (int64 *) palloc(sizeof(int64) * Max(n, 1));
	drop = (int64 *) palloc(sizeof(int64) * Max(n, 1));
	created = (TimestampTz *) palloc(sizeof(TimestampTz) * Max(n, 1));
	created_us = (int64 *) palloc(sizeof(int64) * Max(n, 1));
	labels = (char **) palloc(sizeof(char *) * Max(n, 1));
	pinned = (bool *) palloc0(sizeof(bool) * Max(n, 1));
	keep = (bool *) palloc0(sizeof(bool) * Max(n, 1));
	order = (int *) palloc(sizeof(int) * Max(n, 1));
	reasons = (char *) palloc0((size_t) REASON_SIZE * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool isnull;
		ids[i] = DatumGetInt64(bk_spi_get(i, 1, &isnull));
		created[i] = DatumGetTimestampTz(bk_spi_get(i, 2, &isnull));
		created_us[i] = created[i] + UNIX_EPOCH_OFFSET_US;
		labels[i] = bk_spi_get_text(i, 3);
	}
	BK_CORE(bk::apply_retention_arrays(policy, n, created_us, pinned, order, keep, reasons, REASON_SIZE));
	for (int i = 0; i < n; i++)
	{
		if (!keep[i])
		{
			drop[ndrop++] = ids[i];
		}
	}
	if (!dry_run)
	{
		bk_dist_drop_snapshots(op.cxt, drop, ndrop);
	}
	bk_operation_log_outcome(
	    &op, dry_run ? "dry run" : "success", ndrop,
	    psprintf("{\"dry_run\": %s, \"kept\": %d, \"dropped\": %d}", dry_run ? "true" : "false", n - ndrop, ndrop));
	// Rows go to the tuplestore (the caller's memory) before the operation's context is deleted.
	for (int k = 0; k < n; k++)
	{
		int i = order[k];
		char *reason = reasons + (size_t) i * REASON_SIZE;
		Datum out[5] = {Int64GetDatum(ids[i]), labels[i] ? CStringGetTextDatum(labels[i]) : (Datum) 0,
		                TimestampTzGetDatum(created[i]), CStringGetTextDatum(keep[i] ? "keep" : "drop"),
		                reason[0] ? CStringGetTextDatum(reason) : (Datum) 0};
		bool nulls[5] = {false, labels[i] == NULL, false, false, reason[0] == '\0'};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
	}
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
	return (Datum) 0;
}
