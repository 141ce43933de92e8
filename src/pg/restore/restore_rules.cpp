// Rules during a restore: which ones would fire, disabling them and giving them back (restore_rules.hpp).
extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
}

#include "pg/support/compat.hpp"
#include "pg/restore/restore_rules.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/message_names.hpp"

typedef struct BkRule
{
	char *name;
	char enabled; // pg_rewrite.ev_enabled before the restore: 'O', 'R' or 'A'
} BkRule;

List *
bk_rules_that_fire(Oid relid)
{
	Oid argtypes[2] = {OIDOID, TEXTOID};
	// Rules enabled with ENABLE REPLICA fire only in replica role, plain ENABLE only outside it (ALWAYS: both).
	Datum values[2] = {ObjectIdGetDatum(relid),
	                   CStringGetTextDatum(SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA ? "RA" : "OA")};
	List *rules = NIL;
	// ev_type: '2' UPDATE, '3' INSERT, '4' DELETE; a table has no other rule ('1' SELECT makes a view).
	bk_spi_exec("SELECT r.rulename::pg_catalog.text, r.ev_enabled::pg_catalog.text FROM pg_catalog.pg_rewrite r"
	            " WHERE r.ev_class = $1 AND r.ev_type IN ('2', '3', '4')"
	            "   AND pg_catalog.strpos($2, r.ev_enabled::pg_catalog.text) > 0 ORDER BY r.rulename",
	            2, argtypes, values, NULL, true, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		BkRule *rule = (BkRule *) palloc(sizeof(BkRule));
		rule->name = bk_spi_get_text((int) i, 1);
		rule->enabled = bk_spi_get_text((int) i, 2)[0];
		rules = lappend(rules, rule);
	}
	return rules;
}

static void
alter_rule(Oid relid, const BkRule *rule, const char *how)
{
	bk_spi_exec(
	    psprintf("ALTER TABLE ONLY %s %s RULE %s", bk_rel_qualified_name(relid), how, quote_identifier(rule->name)), 0,
	    NULL, NULL, NULL, false, 0);
}

void
bk_rules_disable(Oid relid, const char *target, List *rules)
{
	ListCell *lc;
	if (rules == NIL)
	{
		return;
	}
	if (!bk_relation_ownercheck(relid, GetUserId()))
	{
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("permission denied to disable rules of table \"%s\"", bk_rel_display_name(relid)),
		                errdetail("Rule \"%s\" would rewrite the restore's writes; a restore disables the table's "
		                          "rules while it runs, and only the table's owner may do that.",
		                          ((BkRule *) linitial(rules))->name),
		                errhint("Restore as the owner of the table.")));
	}
	foreach (lc, rules)
	{
		alter_rule(relid, (BkRule *) lfirst(lc), "DISABLE");
	}
}

void
bk_rules_reenable(Oid relid, List *rules)
{
	ListCell *lc;
	foreach (lc, rules)
	{
		const BkRule *rule = (const BkRule *) lfirst(lc);
		alter_rule(relid, rule,
		           rule->enabled == 'A'   ? "ENABLE ALWAYS"
		           : rule->enabled == 'R' ? "ENABLE REPLICA"
		                                  : "ENABLE");
	}
}

bool
bk_rules_forbid_on_conflict(Oid relid)
{
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(relid)};
	bool isnull;
	bk_spi_exec("SELECT EXISTS (SELECT FROM pg_catalog.pg_rewrite WHERE ev_class = $1 AND ev_type = '2')", 1, argtypes,
	            values, NULL, true, 1);
	return DatumGetBool(bk_spi_get(0, 1, &isnull));
}

void
bk_rules_report(BkJson *report, List *rules)
{
	ListCell *lc;
	bk_json_begin_array(report, "rules_disabled");
	foreach (lc, rules)
	{
		bk_json_str(report, NULL, ((const BkRule *) lfirst(lc))->name);
	}
	bk_json_end_array(report);
}
