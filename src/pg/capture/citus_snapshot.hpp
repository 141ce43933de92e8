// Capturing Citus hash-distributed and reference tables through the coordinator (issue 14, step 2).
//
// Citus reads each shard on its own connection under that connection's own MVCC snapshot, so the statement's
// snapshot alone does not make a capture consistent across shards. Before reading, the capture locks every
// Citus table it captures in SHARE mode with LOCK TABLE, which Citus propagates to the table on every node
// with metadata: writers through any node wait until the snapshot's transaction ends. A distributed write
// holds its row exclusive lock until its two-phase commit has finished on every worker (Citus sends COMMIT
// PREPARED before the coordinator's locks are released), so once the locks are held no multi-shard write is
// half-visible, and the shard reads, which begin after that, see each one whole or not at all. Writers pause
// for the whole capture; Citus materializes each table's rows on the coordinator (spilled to disk beyond
// work_mem) until the worker-side capture of step 3 replaces this path.
#pragma once

extern "C"
{
#include "postgres.h"
}

// LOCK TABLE ... IN SHARE MODE on the Citus tables among relids, in ascending oid order, through SQL so that
// Citus propagates it. Needs an SPI connection.
void bk_citus_lock_for_capture(const Oid *relids, int n);

// definition with "capture_citus": {"table_type": ..., "distribution_column": ...} added when Citus manages
// relid (under the definition's seal). Tuple ids and xids read through Citus are per shard and per node, so a
// Citus table's capture records no position (bk_capture_position is not used for it) and the in-place
// shortcuts never apply. Needs an SPI connection.
Datum bk_definition_with_citus(Datum definition, Oid relid);
