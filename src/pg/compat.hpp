// Every difference between the PostgreSQL majors backupkit supports (15 and later) that the C++ code sees,
// behind PG_VERSION_NUM in this one header; the rest of src/pg is written once for all of them. Catalog
// differences seen by SQL (generated columns, NOT ENFORCED foreign keys, WITHOUT OVERLAPS keys) are handled
// in the queries themselves, by columns that exist on every version or by server_version_num.
#pragma once

extern "C"
{
#include "postgres.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "utils/acl.h"
#if PG_VERSION_NUM >= 160000
// 16 moved the varlena macros (VARDATA, VARSIZE, SET_VARSIZE...) out of postgres.h.
#include "varatt.h"
#endif
#if PG_VERSION_NUM >= 190000
// 19 moved get_database_name() from commands/dbcommands.h.
#include "utils/lsyscache.h"
#else
#include "commands/dbcommands.h"
#endif
}

// Whether role owns (or is a member of the owner of) the relation: 16 replaced the per-catalog
// pg_class_ownercheck() with object_ownercheck().
static inline bool
bk_relation_ownercheck(Oid relid, Oid roleid)
{
#if PG_VERSION_NUM >= 160000
	return object_ownercheck(RelationRelationId, relid, roleid);
#else
	return pg_class_ownercheck(relid, roleid);
#endif
}
