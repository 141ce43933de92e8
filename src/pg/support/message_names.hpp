// Names and operations as error messages show them. PostgreSQL's style puts a name in double quotes, as it is:
// table "public.orders", table "Odd Schema.Odd Name" (SQL statements quote identifiers instead, with
// quote_identifier). And each operation has whole messages of its own, never a verb spliced into a sentence.
#pragma once

extern "C"
{
#include "postgres.h"
}

#include "pg/storage/storage.hpp"

// What was attempted on a table, for messages that refuse it.
typedef enum BkTableOperation
{
	BK_TABLE_SNAPSHOT,
	BK_TABLE_RESTORE,
	BK_TABLE_DIFF,
	BK_TABLE_ORDER,
	BK_TABLE_DESCRIBE,
	BK_TABLE_READ,
	BK_TABLE_EXPORT
} BkTableOperation;

// "schema.table" of a live relation, for a message to put in quotes; "relation with OID %u does not exist"
// (42P01) when it is gone.
char *bk_rel_display_name(Oid relid);
// "schema.table" of a captured table, as captured.
char *bk_entry_display_name(const BkTableEntry *entry);
// "schema.table" from a name as SQL writes it (quote_qualified_identifier's "Odd Schema".t gives Odd Schema.t).
char *bk_display_name_of(const char *qualified);
