// Two-phase commit of distributed operations with the coordinator's commit as the decision, and recovery of
// what a crash leaves on the nodes (prepared transactions, node parts without a map): see the top of
// citus_distributed.cpp for the order of commits, citus_two_phase.cpp for how operations commit, citus_recovery.cpp for
// how recovery decides.
#pragma once
extern "C"
{
#include "postgres.h"
}

// Declared only: module.cpp includes this header without libpq's (citus_nodes.hpp defines it).
struct BkNodeSet;

// Defines backupkit.fault_injection (superuser only): called from _PG_init.
void bk_dist_recovery_init(void);
// Fires the fault named for point when backupkit.fault_injection asks for it (tests only).
void bk_dist_fault(const char *point);
// Records the decision rows (backupkit.distributed_transaction) in the coordinator's transaction, prepares
// the open transaction of every node, and hands the prepared transactions to the coordinator's commit:
// COMMIT PREPARED once the coordinator's transaction has committed, ROLLBACK PREPARED when it (or the
// subtransaction that prepared them) aborts. The node set's connections are taken over.
void bk_dist_prepare_on_nodes(BkNodeSet *nodes, int64 id, const char *operation);
// Finishes the prepared transactions that earlier operations left on these nodes (connections not in a
// transaction), as the coordinator decided; the current user's own only, unless a superuser. Called at the
// start of every distributed operation.
void bk_dist_recover_on_nodes(BkNodeSet *nodes);
// Registers, on each node, the node's part (worker_ids[g], its own backupkit snapshot) of distributed
// snapshot id, in the node's open transaction: recovery finds parts without a map by it.
void bk_dist_register_parts(BkNodeSet *nodes, int64 id, char **worker_ids);
