// Distributed snapshots beyond hash-distributed tables on a coordinator-only cluster (issue 14, step 3 gaps):
// holding off the distributed commits that metadata-synced workers coordinate, the seal over the
// coordinator's map, the copies of reference tables, and the refusal of distributed snapshot ids by the
// functions of single-server snapshots. Used by citus_distributed_capture/_restore/_admin.cpp and by
// bk_snapshot_fetch.
#pragma once
extern "C"
{
#include "postgres.h"
}

// citus_nodes.hpp (libpq) is not included: storage includes this header for bk_dist_refuse_local_use.
struct BkNodeSet;

// Connections to every other active primary node holding Citus's metadata (MX workers): the nodes where
// distributed transactions can start and commit besides this one. An empty set without MX.
struct BkNodeSet *bk_dist_open_metadata_nodes(MemoryContext cxt);
// Holds off, on each of those nodes, commits of the distributed transactions it coordinates (its own
// transaction, open until bk_dist_release_commits_on), as the coordinator's locks do for the coordinator's.
void bk_dist_hold_commits_on(struct BkNodeSet *holders);
void bk_dist_release_commits_on(struct BkNodeSet *holders);

// Errors (XX001) when the nodes' copies of a reference table's shard were captured with different rows.
void bk_dist_check_reference_copies(int64 id);

// Writes the checksum over the map of distributed snapshot id (its row, tables, nodes and shards), once the
// whole map is written.
void bk_dist_seal_map(int64 id);
// Errors (XX001) when the map of distributed snapshot id has no checksum or no longer matches it.
void bk_dist_verify_map(int64 id);

// Errors (0A000) when snapshot_id names a distributed snapshot: called by the functions of single-server
// snapshots when they find no snapshot of that id. Requires SPI.
void bk_dist_refuse_local_use(int64 snapshot_id);

// Drops distributed snapshots ids: every node's part (unpinned, then dropped, with two-phase commit), then the
// coordinator's map. Each map is verified first.
void bk_dist_drop_snapshots(MemoryContext cxt, const int64 *ids, int n);

// "hash-distributed", "reference" or "single-shard", for a table_type of the map.
const char *bk_dist_table_type_words(const char *table_type);
