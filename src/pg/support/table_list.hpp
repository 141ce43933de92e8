// Validation of the regclass[] arguments users pass (which tables to snapshot, restore or order).
#pragma once

extern "C"
{
#include "postgres.h"
#include "fmgr.h"
}

#include "pg/support/message_names.hpp"

// The array's oids, each checked to name an existing relation; NULL array, NULL element, empty array and
// duplicates are errors that name the argument.
// must_exist checks each table exists with a syscache lookup; a caller that reads the tables' catalog rows
// in one query anyway passes false and reports a missing one itself.
Oid *bk_table_list_arg(FunctionCallInfo fcinfo, int argno, const char *argname, int *count, bool must_exist = true);
// Errors unless every relation is a table backupkit can capture (ordinary or partitioned, not another
// session's temporary table, not listed together with one of its partitions).
void bk_check_capturable(const Oid *relids, int count);
// Errors unless relid is an ordinary or partitioned table; op says what was attempted (not BK_TABLE_READ or
// BK_TABLE_EXPORT, which read captured rows and check only bk_check_not_system).
void bk_check_table_kind(Oid relid, BkTableOperation op);
// Errors unless relid is outside PostgreSQL's catalogs (pg_catalog, information_schema, TOAST) and outside
// backupkit's own storage; called by bk_check_table_kind.
void bk_check_not_system(Oid relid, BkTableOperation op);
