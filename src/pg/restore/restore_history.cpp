// backupkit.restore_history: one row per completed restore or dry run.
#include "core/plan/options.hpp"

extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
}

#include "pg/restore/restore_history.hpp"
#include "pg/storage/storage.hpp"

void
bk_restore_history_record(int64 snapshot_id, bk::RestoreMode mode, bool dry_run, Datum report, TimestampTz started)
{
	Oid argtypes[7] = {INT8OID, TEXTOID, BOOLOID, OIDOID, NAMEOID, TIMESTAMPTZOID, JSONBOID};
	Datum values[7];
	BkOwnerAccess access;
	Oid user = GetUserId();

	values[0] = Int64GetDatum(snapshot_id);
	values[1] = CStringGetTextDatum(bk::restore_mode_name(mode));
	values[2] = BoolGetDatum(dry_run);
	values[3] = ObjectIdGetDatum(user);
	values[4] = CStringGetDatum(GetUserNameFromId(user, false));
	values[5] = TimestampTzGetDatum(started);
	values[6] = report;
	bk_owner_begin(&access);
	bk_spi_exec("INSERT INTO backupkit.restore_history (snapshot_id, mode, dry_run, initiated_by, initiated_by_name,"
	            " started_at, finished_at, status, tables, report)"
	            " VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp(), 'completed',"
	            "  ARRAY(SELECT r->>'table' FROM jsonb_path_query($7, '$.tables[*]') r"
	            "        UNION ALL SELECT $7->>'table' WHERE $7 ? 'table'), $7)",
	            7, argtypes, values, NULL, false, 0);
	bk_owner_end(&access);
}
