// Finding pg_cron's schema and whether its job table can be read (pg_cron_access.hpp).
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

char *
bk_cron_schema(void)
{
	bk_spi_exec("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron'", 0, NULL, NULL, NULL, true, 1);
	return SPI_processed == 0 ? NULL : pstrdup("cron");
}

bool
bk_cron_jobs_readable(const char *schema)
{
	Oid argtypes[2] = {TEXTOID, TEXTOID};
	Datum values[2] = {CStringGetTextDatum(schema), CStringGetTextDatum(psprintf("%s.job", quote_identifier(schema)))};
	bool isnull;
	bk_spi_exec("SELECT pg_catalog.has_schema_privilege($1, 'USAGE') AND pg_catalog.has_table_privilege($2, 'SELECT')",
	            2, argtypes, values, NULL, true, 1);
	return DatumGetBool(bk_spi_get(0, 1, &isnull));
}
