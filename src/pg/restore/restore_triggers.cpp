// User triggers during a restore: the ones enabled on the table and its partitions are disabled for the restore
// (unless fire_triggers) and given back their previous state (ENABLE, ALWAYS or REPLICA) when it finishes.
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/restore_engine_internal.hpp"

typedef struct UserTrigger
{
	Oid relid;
	char *name;
	char enabled;
} UserTrigger;

List *
bk_enabled_user_triggers(Oid relid)
{
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(relid)};
	List *result = NIL;
	// pg_partition_tree() returns no row for a table that is neither partitioned nor a partition.
	bk_spi_exec("SELECT t.tgrelid, t.tgname::text, t.tgenabled::text FROM pg_trigger t"
	            " WHERE (t.tgrelid = $1 OR t.tgrelid IN (SELECT relid FROM pg_partition_tree($1)))"
	            "   AND NOT t.tgisinternal AND t.tgenabled <> 'D' ORDER BY t.tgrelid, t.tgname",
	            1, argtypes, values, NULL, true, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		UserTrigger *t = (UserTrigger *) palloc(sizeof(UserTrigger));
		bool isnull;
		t->relid = DatumGetObjectId(bk_spi_get((int) i, 1, &isnull));
		t->name = bk_spi_get_text((int) i, 2);
		t->enabled = bk_spi_get_text((int) i, 3)[0];
		result = lappend(result, t);
	}
	return result;
}

void
bk_set_user_triggers(List *triggers, bool enable)
{
	ListCell *lc;
	foreach (lc, triggers)
	{
		UserTrigger *t = (UserTrigger *) lfirst(lc);
		const char *how = !enable             ? "DISABLE"
		                  : t->enabled == 'A' ? "ENABLE ALWAYS"
		                  : t->enabled == 'R' ? "ENABLE REPLICA"
		                                      : "ENABLE";
		bk_spi_exec(psprintf("ALTER TABLE ONLY %s %s TRIGGER %s", bk_rel_qualified_name(t->relid), how,
		                     quote_identifier(t->name)),
		            0, NULL, NULL, NULL, false, 0);
	}
}
