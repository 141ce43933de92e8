// Names as error messages show them (see message_names.hpp).
extern "C"
{
#include "postgres.h"
#include "utils/lsyscache.h"
}

#include "pg/support/message_names.hpp"

char *
bk_rel_display_name(Oid relid)
{
	char *nsp = get_namespace_name(get_rel_namespace(relid));
	char *rel = get_rel_name(relid);
	if (nsp == NULL || rel == NULL)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relid)));
	}
	return psprintf("%s.%s", nsp, rel);
}

char *
bk_entry_display_name(const BkTableEntry *entry)
{
	return psprintf("%s.%s", entry->schema_name, entry->table_name);
}
