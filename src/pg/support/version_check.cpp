// The library/catalog version guard (version_check.hpp), called by bk_spi_connect: every SQL function that
// reads or writes backupkit's tables connects to SPI first, while ALTER EXTENSION UPDATE runs only SQL.
extern "C"
{
#include "postgres.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
}

#include "pg/support/version_check.hpp"

#ifndef BK_EXTVERSION
#error "BK_EXTVERSION (default_version of backupkit.control) must be defined by the build"
#endif

// Set once the versions matched in this backend. Not reset: dropping the extension and creating an older
// version in the same session is not guarded (a new session is).
static bool version_verified = false;

// pg_extension.extversion of backupkit, or NULL when it is not installed in this database.
static char *
installed_version(void)
{
	Relation rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ, CStringGetDatum("backupkit"));
	SysScanDesc scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	HeapTuple tuple = systable_getnext(scan);
	char *version = NULL;
	if (HeapTupleIsValid(tuple))
	{
		bool isnull;
		Datum d = heap_getattr(tuple, Anum_pg_extension_extversion, RelationGetDescr(rel), &isnull);
		if (!isnull)
		{
			version = text_to_cstring(DatumGetTextPP(d));
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

void
bk_check_extension_version(void)
{
	if (version_verified)
	{
		return;
	}
	char *installed = installed_version();
	if (installed == NULL)
	{
		return;
	}
	if (strcmp(installed, BK_EXTVERSION) != 0)
	{
		// 55000: the extension's SQL objects are not in the state this library requires; running the update
		// script changes that state.
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("backupkit library version %s does not match the installed extension version %s",
		                       BK_EXTVERSION, installed),
		                errdetail("The shared library was replaced without updating the extension's SQL objects, "
		                          "which it reads and writes."),
		                errhint("Run ALTER EXTENSION backupkit UPDATE.")));
	}
	version_verified = true;
}
