// Writes to backupkit.operation_log as the extension owner.
extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
}

#include "pg/support/operation_log.hpp"
#include "pg/storage/storage.hpp"

void
bk_operation_log(const char *operation, int64 snapshot_id, const char *outcome, int64 rows, double duration_ms,
                 const char *details)
{
	Oid argtypes[8] = {TEXTOID, INT8OID, OIDOID, NAMEOID, TEXTOID, INT8OID, FLOAT8OID, TEXTOID};
	Datum values[8];
	char nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	BkOwnerAccess access;
	Oid user = GetUserId();

	values[0] = CStringGetTextDatum(operation);
	values[1] = Int64GetDatum(snapshot_id);
	nulls[1] = snapshot_id > 0 ? ' ' : 'n';
	values[2] = ObjectIdGetDatum(user);
	values[3] = CStringGetDatum(GetUserNameFromId(user, false));
	values[4] = CStringGetTextDatum(outcome);
	values[5] = Int64GetDatum(rows);
	values[6] = Float8GetDatum(duration_ms);
	values[7] = details ? CStringGetTextDatum(details) : (Datum) 0;
	nulls[7] = details ? ' ' : 'n';

	bk_owner_begin(&access);
	bk_spi_exec("INSERT INTO backupkit.operation_log (operation, snapshot_id, role_oid, role_name, outcome, "
	            "row_count, duration_ms, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
	            8, argtypes, values, nulls, false, 0);
	bk_owner_end(&access);
}
