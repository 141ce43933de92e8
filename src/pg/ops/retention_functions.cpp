// backupkit.prune_snapshots and backupkit.pin_snapshot: retention by policy (rules in src/core/ops/retention.hpp).
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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include "pg/support/failure_log.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/report_json.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/operation.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_prune_snapshots);
	PG_FUNCTION_INFO_V1(bk_pin_snapshot);
}

#define BK_REASON_MAX 128
#define BK_UNIX_EPOCH_OFFSET_US ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

typedef struct BkPruneRow
{
	int64 snapshot_id;
	TimestampTz created_at;
	bool pinned;
	char *label;
	bool keep;
	char reason[BK_REASON_MAX];
} BkPruneRow;

static const char *const count_names[5] = {"keep_last", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"};

// Runs the rules of src/core over rows (any order); writes keep/reason into rows and returns the order
// (indexes into rows) newest first, through the plain-array entry point of src/core.
static int *
decide(BkPruneRow *rows, int nrows, const bool *has_count, const int *counts, bool has_cutoff, int64 cutoff_us)
{
	int *order = (int *) palloc(sizeof(int) * Max(nrows, 1));
	int64 *created_at_us = (int64 *) palloc(sizeof(int64) * Max(nrows, 1));
	bool *pinned = (bool *) palloc(sizeof(bool) * Max(nrows, 1));
	bool *keep = (bool *) palloc0(sizeof(bool) * Max(nrows, 1));
	char *reasons = (char *) palloc0((size_t) BK_REASON_MAX * Max(nrows, 1));
	bk::RetentionCounts policy;

	memset(&policy, 0, sizeof(policy));
	for (int r = 0; r < bk::retention_count_rules; r++)
	{
		policy.has[r] = has_count[r];
		policy.count[r] = counts[r];
	}
	policy.has_cutoff = has_cutoff;
	policy.cutoff_us = cutoff_us;
	for (int i = 0; i < nrows; i++)
	{
		// The index stands in for the id so that the result maps back to rows directly.
		created_at_us[i] = rows[i].created_at + BK_UNIX_EPOCH_OFFSET_US;
		pinned[i] = rows[i].pinned;
	}
	BK_CORE(bk::apply_retention_arrays(policy, nrows, created_at_us, pinned, order, keep, reasons, BK_REASON_MAX));
	for (int i = 0; i < nrows; i++)
	{
		rows[i].keep = keep[i];
		strlcpy(rows[i].reason, reasons + (size_t) i * BK_REASON_MAX, BK_REASON_MAX);
	}
	return order;
}

// Ties in created_at are broken by id in src/core; ids were replaced by indexes, so sort rows by id first.
static int
compare_by_id(const void *a, const void *b)
{
	int64 x = ((const BkPruneRow *) a)->snapshot_id;
	int64 y = ((const BkPruneRow *) b)->snapshot_id;
	return x < y ? -1 : (x > y ? 1 : 0);
}

static Datum
id_array(int64 *ids, int n)
{
	Datum *elems = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		elems[i] = Int64GetDatum(ids[i]);
	}
	return PointerGetDatum(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

Datum
bk_prune_snapshots(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool has_count[5];
	int counts[5];
	bool has_cutoff = !PG_ARGISNULL(5);
	int64 cutoff_us = 0;
	char *label = PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6));
	bool dry_run;
	BkOperation op;
	Oid user = GetUserId();
	BkOwnerAccess access;
	BkPruneRow *rows;
	int nrows;
	int *order;
	int64 *candidates;
	int ncandidates = 0;
	int ndropped = 0;
	int nin_use = 0;
	int nkept = 0;
	BkJson details;

	bk_operation_watch(&op, "prune", 0);
	if (PG_ARGISNULL(7))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("dry_run must not be null")));
	}
	dry_run = PG_GETARG_BOOL(7);
	for (int r = 0; r < 5; r++)
	{
		has_count[r] = !PG_ARGISNULL(r);
		counts[r] = has_count[r] ? PG_GETARG_INT32(r) : 0;
	}
	if (has_cutoff)
	{
		Interval *older_than = PG_GETARG_INTERVAL_P(5);
		TimestampTz now = GetCurrentTransactionStartTimestamp();
		TimestampTz cutoff;
		if (older_than->time < 0 || older_than->day < 0 || older_than->month < 0)
		{
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("older_than must not be negative"),
			                errdetail("Every part of the interval (months, days, time) must be zero or positive.")));
		}
		cutoff = DatumGetTimestampTz(
		    DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(now), PointerGetDatum(older_than)));
		cutoff_us = cutoff + BK_UNIX_EPOCH_OFFSET_US;
	}
	// Refuse a policy without rules before reading anything.
	(void) decide(NULL, 0, has_count, counts, has_cutoff, cutoff_us);

	InitMaterializedSRF(fcinfo, 0);
	bk_operation_begin(&op, "prune", 0, BK_OP_WATCHED | BK_OP_NO_SETTINGS, NULL);
	{
		Oid argtypes[2] = {TEXTOID, OIDOID};
		Datum values[2] = {label ? CStringGetTextDatum(label) : (Datum) 0, ObjectIdGetDatum(user)};
		char nulls[2] = {label ? ' ' : 'n', ' '};
		bool isnull;

		bk_owner_begin(&access);
		bk_spi_exec("SELECT snapshot_id, created_at, pinned, label FROM backupkit.snapshot "
		            "WHERE status = 'complete' AND ($1::text IS NULL OR label = $1) "
		            "AND pg_catalog.pg_has_role($2, created_by, 'MEMBER') ORDER BY snapshot_id",
		            2, argtypes, values, nulls, true, 0);
		bk_owner_end(&access);
		nrows = (int) SPI_processed;
		rows = (BkPruneRow *) palloc0(sizeof(BkPruneRow) * Max(nrows, 1));
		for (int i = 0; i < nrows; i++)
		{
			rows[i].snapshot_id = DatumGetInt64(bk_spi_get(i, 1, &isnull));
			rows[i].created_at = DatumGetTimestampTz(bk_spi_get(i, 2, &isnull));
			rows[i].pinned = DatumGetBool(bk_spi_get(i, 3, &isnull));
			rows[i].label = bk_spi_get_text(i, 4);
		}
	}
	qsort(rows, nrows, sizeof(BkPruneRow), compare_by_id);
	order = decide(rows, nrows, has_count, counts, has_cutoff, cutoff_us);

	// A restore holds FOR KEY SHARE on its snapshot row until it commits: lock what would be dropped, skip
	// what is in use, and keep that.
	candidates = (int64 *) palloc(sizeof(int64) * Max(nrows, 1));
	for (int i = 0; i < nrows; i++)
	{
		if (!rows[i].keep)
		{
			candidates[ncandidates++] = rows[i].snapshot_id;
		}
	}
	if (ncandidates > 0)
	{
		Oid argtypes[1] = {INT8ARRAYOID};
		Datum values[1] = {id_array(candidates, ncandidates)};
		bool *locked = (bool *) palloc0(sizeof(bool) * nrows);
		bool isnull;
		int64 *dropped = (int64 *) palloc(sizeof(int64) * ncandidates);

		bk_owner_begin(&access);
		bk_spi_exec("SELECT snapshot_id FROM backupkit.snapshot WHERE snapshot_id = ANY($1) "
		            "FOR UPDATE SKIP LOCKED",
		            1, argtypes, values, NULL, false, 0);
		bk_owner_end(&access);
		for (uint64 k = 0; k < SPI_processed; k++)
		{
			int64 id = DatumGetInt64(bk_spi_get((int) k, 1, &isnull));
			for (int i = 0; i < nrows; i++)
			{
				if (rows[i].snapshot_id == id)
				{
					locked[i] = true;
				}
			}
		}
		for (int i = 0; i < nrows; i++)
		{
			if (!rows[i].keep && !locked[i])
			{
				rows[i].keep = true;
				strlcpy(rows[i].reason, "in use", BK_REASON_MAX);
				nin_use++;
			}
			else if (!rows[i].keep)
			{
				dropped[ndropped++] = rows[i].snapshot_id;
			}
		}
		if (!dry_run && ndropped > 0)
		{
			values[0] = id_array(dropped, ndropped);
			bk_owner_begin(&access);
			// Chunks first: deleting them directly is cheaper than through the cascading foreign key.
			bk_spi_exec("DELETE FROM backupkit.snapshot_chunk WHERE snapshot_id = ANY($1)", 1, argtypes, values, NULL,
			            false, 0);
			bk_spi_exec("DELETE FROM backupkit.snapshot WHERE snapshot_id = ANY($1)", 1, argtypes, values, NULL, false,
			            0);
			bk_owner_end(&access);
		}
	}
	nkept = nrows - ndropped;

	bk_json_init(&details);
	bk_json_begin_object(&details, NULL);
	bk_json_bool(&details, "dry_run", dry_run);
	bk_json_str(&details, "label", label);
	bk_json_begin_object(&details, "policy");
	for (int r = 0; r < 5; r++)
	{
		if (has_count[r])
		{
			bk_json_int(&details, count_names[r], counts[r]);
		}
	}
	if (has_cutoff)
	{
		bk_json_str(&details, "older_than", DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(5))));
	}
	bk_json_end_object(&details);
	bk_json_int(&details, "kept", nkept);
	bk_json_int(&details, "dropped", ndropped);
	bk_json_int(&details, "in_use", nin_use);
	bk_json_end_object(&details);
	bk_operation_log_outcome(&op, dry_run ? "dry run" : "success", ndropped, details.buf.data);
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);

	for (int k = 0; k < nrows; k++)
	{
		BkPruneRow *row = &rows[order[k]];
		Datum out[5];
		bool nulls[5] = {false, row->label == NULL, false, false, row->reason[0] == '\0'};
		out[0] = Int64GetDatum(row->snapshot_id);
		out[1] = row->label ? CStringGetTextDatum(row->label) : (Datum) 0;
		out[2] = TimestampTzGetDatum(row->created_at);
		out[3] = CStringGetTextDatum(row->keep ? "keep" : "drop");
		out[4] = row->reason[0] ? CStringGetTextDatum(row->reason) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
	}
	return (Datum) 0;
}

Datum
bk_pin_snapshot(PG_FUNCTION_ARGS)
{
	int64 snapshot_id = bk_snapshot_id_arg(fcinfo, 0);
	Oid argtypes[2] = {INT8OID, BOOLOID};
	Datum values[2];
	BkSnapshot snap;
	BkOwnerAccess access;
	bool pinned;
	BkOperation op;

	if (PG_ARGISNULL(1))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("pinned must not be null")));
	}
	pinned = PG_GETARG_BOOL(1);
	values[0] = Int64GetDatum(snapshot_id);
	values[1] = BoolGetDatum(pinned);
	bk_operation_begin(&op, pinned ? "pin" : "unpin", snapshot_id, BK_OP_WATCH | BK_OP_NO_SETTINGS, NULL);
	bk_snapshot_fetch(snapshot_id, &snap);
	bk_owner_begin(&access);
	bk_spi_exec("UPDATE backupkit.snapshot SET pinned = $2 WHERE snapshot_id = $1", 2, argtypes, values, NULL, false,
	            0);
	bk_owner_end(&access);
	bk_operation_log_success(&op, 0, NULL);
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
	PG_RETURN_VOID();
}
