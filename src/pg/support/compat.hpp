// Every difference between the PostgreSQL majors backupkit supports (15 and later) that the C++ code sees,
// behind PG_VERSION_NUM in this one header; the rest of src/pg is written once for all of them. Catalog
// differences seen by SQL (generated columns, NOT ENFORCED foreign keys, WITHOUT OVERLAPS keys) are handled
// in the queries themselves, with columns that exist on every version or a server_version_num test.
// The wrappers are macros so that a file needs only the headers of the functions it really calls.
#pragma once

extern "C"
{
#include "postgres.h"
#include "nodes/parsenodes.h"
#include "utils/jsonb.h"
#if PG_VERSION_NUM >= 160000
// 16 moved the varlena macros (VARDATA, VARSIZE, SET_VARSIZE...) out of postgres.h.
#include "varatt.h"
#endif
#if PG_VERSION_NUM >= 190000
// 19 moved get_database_name() out of commands/dbcommands.h.
#include "utils/lsyscache.h"
#else
#include "commands/dbcommands.h"
#endif
}

#if PG_VERSION_NUM >= 160000
// Whether the role owns the relation (or is a member of its owner): 16 replaced the per-catalog
// pg_class_ownercheck() with object_ownercheck() (utils/acl.h, catalog/pg_class.h).
#define bk_relation_ownercheck(relid, roleid) object_ownercheck(RelationRelationId, (relid), (roleid))
// The relation's file number: 16 renamed RelFileNode to RelFileLocator.
#define bk_relation_filenumber(rel) ((rel)->rd_locator.relNumber)
// The next datum of a sorted set (utils/tuplesort.h): 16 added a copy flag, false here because the value is
// used before the next call.
#define bk_tuplesort_getdatum(state, forward, val, isnull)                                                             \
	tuplesort_getdatum((state), (forward), false, (val), (isnull), NULL)
// The permissions a range-table entry asks for: 16 moved them from RangeTblEntry to RTEPermissionInfo
// (the same field names), checked by ExecCheckPermissions (executor/executor.h).
typedef RTEPermissionInfo BkRelPermissions;
#define bk_nsitem_permissions(nsitem) ((nsitem)->p_perminfo)
#define bk_check_permissions(pstate, perms) ExecCheckPermissions((pstate)->p_rtable, list_make1(perms), true)
#else
typedef RangeTblEntry BkRelPermissions;
#define bk_nsitem_permissions(nsitem) ((nsitem)->p_rte)
#define bk_check_permissions(pstate, perms) ExecCheckRTPerms((pstate)->p_rtable, true)
#define bk_relation_ownercheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#define bk_relation_filenumber(rel) ((rel)->rd_node.relNode)
#define bk_tuplesort_getdatum(state, forward, val, isnull) tuplesort_getdatum((state), (forward), (val), (isnull), NULL)
#endif

// Foreign keys declared NOT ENFORCED (18+) are never checked by the server: they impose no restore order, need
// no deferral, and rows violating them are not defects. Before 18 every foreign key is enforced.
// BK_SQL_FK_ENFORCED is the same test in a query over pg_constraint (unqualified: the column name is unique
// among the catalogs joined to pg_constraint).
#if PG_VERSION_NUM >= 180000
#define bk_constraint_enforced(con) ((con)->conenforced)
#define BK_SQL_FK_ENFORCED "conenforced"
#else
#define bk_constraint_enforced(con) true
#define BK_SQL_FK_ENFORCED "true"
#endif

// Building a jsonb value with pushJsonbValue (utils/jsonb.h): 19 passes one JsonbInState, whose result field
// holds the finished value, where older servers pass the address of a JsonbParseState pointer and return the
// value from the closing push. BkJsonbBuilder is either, zero-initialised by its user (BkJsonbBuilder b = {});
// bk_jsonb_result is the finished value after the last bk_jsonb_push.
#if PG_VERSION_NUM >= 190000
typedef JsonbInState BkJsonbBuilder;
#define bk_jsonb_push(builder, token, value) pushJsonbValue((builder), (token), (value))
#else
struct BkJsonbBuilder
{
	JsonbParseState *parse;
	JsonbValue *result;
};
#define bk_jsonb_push(builder, token, value) ((builder)->result = pushJsonbValue(&(builder)->parse, (token), (value)))
#endif
#define bk_jsonb_result(builder) ((builder)->result)
