// The set of tables one backupkit.restore_snapshot call restores: which tables (the listed ones or all of the
// snapshot's) and the foreign keys among them, which decide the order and which constraints are deferred or
// dropped and re-created.
#pragma once

#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"

extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

#include "pg/citus/citus_tables.hpp"
#include "pg/support/compat.hpp"
#include "pg/support/failure_log.hpp"
#include "pg/support/lock_order.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/progress.hpp"
#include "pg/restore/restore_engine.hpp"
#include "pg/restore/restore_rules.hpp"
#include "pg/restore/restore_functions.hpp"
#include "pg/restore/restore_history.hpp"
#include "pg/support/operation.hpp"
#include "pg/order/restore_order.hpp"
#include "pg/support/rls_scope.hpp"
#include "pg/support/table_list.hpp"
#include "pg/integrity/validate_snapshot.hpp"

typedef struct SetForeignKey
{
	int child; // index into the set
	int parent;
	char *name;    // schema-qualified constraint name for SET CONSTRAINTS
	char *conname; // bare name
	char *definition;
	bool deferrable;
	bool recreate; // dropped and re-created around the load
} SetForeignKey;

SetForeignKey *bk_set_foreign_keys(const Oid *relids, int n, int *count);

// Which tables to restore: the listed ones (each must be in the snapshot) or all of the snapshot's.
void bk_set_resolve_tables(FunctionCallInfo fcinfo, int64 snapshot_id, Oid **relids_out, BkTableEntry ***entries_out,
                           bool **by_oid_out, int *n_out);
