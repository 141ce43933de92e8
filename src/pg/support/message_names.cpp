// Names as error messages show them (see message_names.hpp).
extern "C"
{
#include "postgres.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/varlena.h"
}

#include "pg/support/message_names.hpp"

char *
bk_rel_display_name(Oid relid)
{
	return bk_display_name_of(bk_rel_qualified_name(relid));
}

char *
bk_entry_display_name(const BkTableEntry *entry)
{
	return psprintf("%s.%s", entry->schema_name, entry->table_name);
}

char *
bk_display_name_of(const char *qualified)
{
	List *parts = NIL;
	StringInfoData out;
	ListCell *lc;

	// A name that does not parse (it always does: backupkit wrote it) is shown as it is.
	if (!SplitIdentifierString(pstrdup(qualified), '.', &parts))
	{
		return pstrdup(qualified);
	}
	initStringInfo(&out);
	foreach (lc, parts)
	{
		appendStringInfo(&out, "%s%s", out.len > 0 ? "." : "", (const char *) lfirst(lc));
	}
	return out.data;
}
