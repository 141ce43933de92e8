// Staging tables that a prepared transaction may hold (see stage_table.hpp).
//
// On a node of a distributed restore the stages are regular unlogged tables in backupkit's schema:
//  - named from the transaction id and a counter, so concurrent restores never wait on each other's names;
//  - created as the extension's owner (bk_owner_begin: the caller cannot create in that schema), granted
//    SELECT, INSERT, UPDATE and DELETE to the calling role only, which the staged path runs as; dropped and
//    analyzed as the owner too (the caller owns nothing there);
//  - dropped by the restore itself, and whatever is left at PRE_COMMIT / PRE_PREPARE by the transaction
//    callback below, so no stage is ever committed: other sessions never see one (its catalog rows are
//    uncommitted), an abort removes it with everything else, and the drop removes its grants, its
//    dependencies and its files (unlogged: init fork too).
// The setting only chooses where stages live; it grants nothing, so any role may set it (restore_distributed
// connects to the nodes as the calling role). Without it, stages stay temporary tables dropped at commit.
#include "pg/restore/stage_table.hpp"

extern "C"
{
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
}

#include "pg/storage/storage.hpp"
#include "pg/support/spi.hpp"

static bool two_phase_stages = false;
static int stage_counter = 0;
// Oids of the unlogged stages this transaction created (TopTransactionContext), dropped at its end if left.
static List *open_stages = NIL;

static void
drop_open_stages(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
	{
		ListCell *lc;
		foreach (lc, open_stages)
		{
			Oid relid = lfirst_oid(lc);
			if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
			{
				ObjectAddress obj;
				ObjectAddressSet(obj, RelationRelationId, relid);
				performDeletion(&obj, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
			}
		}
		CommandCounterIncrement();
	}
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
	{
		open_stages = NIL; // the list lived in the transaction's memory
	}
}

void
bk_stage_tables_init(void)
{
	DefineCustomBoolVariable("backupkit.two_phase_stages",
	                         "Stages restores in unlogged tables the transaction drops, instead of temporary tables.",
	                         "Set by restore_distributed on its node connections so that they can prepare.",
	                         &two_phase_stages, false, PGC_USERSET,
	                         GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE, NULL, NULL, NULL);
	RegisterXactCallback(drop_open_stages, NULL);
}

static bool
is_temporary(const char *qualified)
{
	return strncmp(qualified, "pg_temp.", 8) == 0;
}

Oid
bk_stage_table_create(const char *prefix, Oid relid, const char *columns, char **qualified)
{
	if (!two_phase_stages)
	{
		char *name = psprintf("%s_%u_%d", prefix, relid, ++stage_counter);
		bk_spi_exec(psprintf("CREATE TEMPORARY TABLE %s (%s) ON COMMIT DROP", quote_identifier(name), columns), 0, NULL,
		            NULL, NULL, false, 0);
		*qualified = psprintf("pg_temp.%s", quote_identifier(name));
		return RelnameGetRelid(name);
	}
	{
		char *name = psprintf("%s_%u_%u_%d", prefix, relid, XidFromFullTransactionId(GetTopFullTransactionId()),
		                      ++stage_counter);
		char *caller = GetUserNameFromId(GetUserId(), false);
		BkOwnerAccess access;
		Oid stage;
		MemoryContext old;

		*qualified = psprintf("backupkit.%s", quote_identifier(name));
		bk_owner_begin(&access);
		bk_spi_exec(psprintf("CREATE UNLOGGED TABLE %s (%s)", *qualified, columns), 0, NULL, NULL, NULL, false, 0);
		bk_spi_exec(
		    psprintf("GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO %s", *qualified, quote_identifier(caller)), 0,
		    NULL, NULL, NULL, false, 0);
		bk_owner_end(&access);
		stage = get_relname_relid(name, get_namespace_oid("backupkit", false));
		old = MemoryContextSwitchTo(TopTransactionContext);
		open_stages = lappend_oid(open_stages, stage);
		MemoryContextSwitchTo(old);
		return stage;
	}
}

static void
stage_command(const char *command, const char *qualified)
{
	BkOwnerAccess access;
	bool as_owner = !is_temporary(qualified);
	if (as_owner)
	{
		bk_owner_begin(&access);
	}
	bk_spi_exec(psprintf("%s %s", command, qualified), 0, NULL, NULL, NULL, false, 0);
	if (as_owner)
	{
		bk_owner_end(&access);
	}
}

void
bk_stage_table_drop(const char *qualified)
{
	stage_command("DROP TABLE", qualified);
}

void
bk_stage_table_analyze(const char *qualified)
{
	stage_command("ANALYZE", qualified);
}
