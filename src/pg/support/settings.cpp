// The fixed settings every operation runs under (see settings.hpp).
extern "C"
{
#include "postgres.h"
#include "access/htup_details.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "access/table.h"
#include "access/genam.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/memutils.h"
}

#include "pg/support/rls_scope.hpp"
#include "pg/support/settings.hpp"
#include "pg/support/version_check.hpp"

static void
set_fixed(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

int
bk_stable_settings_push(void)
{
	int level = NewGUCNestLevel();
	set_fixed("search_path", "pg_catalog, pg_temp");
	set_fixed("DateStyle", "ISO, YMD");
	set_fixed("IntervalStyle", "postgres");
	set_fixed("TimeZone", "UTC");
	set_fixed("extra_float_digits", "3");
	set_fixed("bytea_output", "hex");
	set_fixed("xmloption", "content");
	set_fixed("lc_monetary", "C");
	set_fixed("array_nulls", "on");
	// backupkit's own set-based statements scan whole tables once; JIT compilation only adds latency.
	set_fixed("jit", "off");
	return level;
}

int
bk_index_probe_joins_push(void)
{
	int level = NewGUCNestLevel();
	set_fixed("enable_mergejoin", "off");
	set_fixed("enable_hashjoin", "off");
	return level;
}

void
bk_stable_settings_pop(int nest_level)
{
	AtEOXact_GUC(true, nest_level);
}
