// PostgreSQL API differences between the supported major versions (15 and later), in one place.
#pragma once

extern "C"
{
#include "postgres.h"
#include "catalog/pg_class.h"
#include "utils/acl.h"
}

#if PG_VERSION_NUM >= 160000
// 16 replaced the per-catalog ownership checks with one taking the catalog.
#define pg_class_ownercheck(relid, roleid) object_ownercheck(RelationRelationId, (relid), (roleid))
#endif
