// Row-level security's WITH CHECK on the rows a restore writes into a Citus table (see citus_restore.hpp).
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"

extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
}

#include "pg/restore/citus_restore.hpp"
#include "pg/support/spi.hpp"

void
bk_citus_check_policies(Oid relid, const char *rows, const char *filter, char cmd)
{
	Oid argtypes[2] = {OIDOID, CHAROID};
	Datum values[2] = {ObjectIdGetDatum(relid), CharGetDatum(cmd)};
	StringInfoData permissive, restrictive;
	uint64 n;
	bool isnull;

	if (check_enable_rls(relid, InvalidOid, true) != RLS_ENABLED)
	{
		return;
	}
	// The policies for this command that apply to the current role; a policy without WITH CHECK checks new
	// rows with its USING expression, as PostgreSQL does.
	bk_spi_exec("SELECT p.polpermissive, pg_catalog.pg_get_expr(coalesce(p.polwithcheck, p.polqual), p.polrelid) "
	            "FROM pg_catalog.pg_policy p WHERE p.polrelid = $1 AND p.polcmd IN ($2, '*') "
	            "AND EXISTS (SELECT FROM pg_catalog.unnest(p.polroles) r WHERE CASE WHEN r = 0 THEN true "
	            "ELSE pg_catalog.pg_has_role(r, 'MEMBER') END) ORDER BY p.polname",
	            2, argtypes, values, NULL, true, 0);
	n = SPI_processed;
	initStringInfo(&permissive);
	initStringInfo(&restrictive);
	for (uint64 i = 0; i < n; i++)
	{
		char *expr = bk_spi_get_text((int) i, 2);
		if (expr == NULL)
		{
			continue;
		}
		if (DatumGetBool(bk_spi_get((int) i, 1, &isnull)))
		{
			appendStringInfo(&permissive, "%s(%s)", permissive.len ? " OR " : "", expr);
		}
		else
		{
			appendStringInfo(&restrictive, " AND (%s)", expr);
		}
	}
	// The rows carry the table's column names, so the expressions read them as they would the table's.
	bk_spi_exec(psprintf("SELECT count(*) FROM %s WHERE %s AND NOT coalesce((%s)%s, false)", rows, filter,
	                     permissive.len ? permissive.data : "false", restrictive.data),
	            0, NULL, NULL, NULL, false, 1);
	if (DatumGetInt64(bk_spi_get(0, 1, &isnull)) > 0)
	{
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("new row violates row-level security policy for table \"%s\"", get_rel_name(relid)),
		                errdetail("Citus does not apply the WITH CHECK expressions of row-level security policies "
		                          "to the rows it writes into shards: backupkit checks the rows before writing any.")));
	}
}
