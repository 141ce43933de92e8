// One global lock order for every backupkit operation: tables are locked by ascending oid, all of them, before
// any other work. A snapshot reads its tables in the order the caller listed them and a restore clears the
// referencing tables first; without one order, a snapshot and a restore of the same foreign-key-linked tables
// each held a lock the other waited for ("deadlock detected").
#pragma once

extern "C"
{
#include "postgres.h"
#include "storage/lockdefs.h"
}

// Locks relids and the partitions of every partitioned one, in ascending oid order, with mode. A listed table
// the caller holds no privilege on is skipped (a lock must not outrun the privilege check that follows), so
// its operation fails as it did before; partitions are locked when their partitioned table is.
void bk_lock_in_order(const Oid *relids, int n, LOCKMODE mode);
