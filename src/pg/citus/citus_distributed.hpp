// The map of distributed snapshots (issue 14, step 3) and the steps their operations share: reading Citus's
// catalog (hash-distributed tables, shard placements, node groups), the coordinator's map (backupkit.
// distributed_snapshot*), and ending the nodes' transactions together. The operations themselves are in
// citus_distributed_capture.cpp, citus_distributed_restore.cpp and citus_distributed_admin.cpp; each shard is
// handled by backupkit on the node that stores it (citus_nodes.hpp).
#pragma once
extern "C"
{
#include "postgres.h"
#include "fmgr.h"
#include "utils/timestamp.h"
}

#include "pg/citus/citus_nodes.hpp"
#include "pg/support/operation.hpp"

typedef struct DistShard
{
	int table_no;
	int64 shard_id;
	char *shard_name; // schema-qualified, quoted as shard_name() returns it
	int32 group_id;   // the node that captured it
	int32 current_group;
	int worker_table_no;
	bool has_range;
	int32 min_value, max_value;
} DistShard;

typedef struct DistTable
{
	Oid relid;
	char *schema_name;
	char *table_name;
	char *dist_column; // NULL for reference and single-shard tables
	int32 colocation_id;
	const char *table_type; // "hash", "reference" or "single_shard", as the map records it
} DistTable;

// The start of every distributed operation: refused inside a transaction block when it commits on the nodes
// itself (commits_on_nodes says what), Citus required, then bk_operation_begin(op, operation, id, BK_OP_WATCH,
// cxt_name) (support/operation.hpp); the operation ends with bk_operation_end. cxt_name must be a string literal.
void bk_dist_begin_operation(BkOperation *op, const char *function, const char *commits_on_nodes, const char *operation,
                             int64 id, const char *cxt_name);
double bk_dist_ms_since(TimestampTz t);
// A text[] literal of the given strings, for a parameter sent to a node.
char *bk_dist_text_array_literal(char **items, int n);
// The hash-distributed, reference or single-shard table relid as pg_dist_partition describes it; errors
// (0A000) for any other table.
void bk_dist_read_dist_table(Oid relid, DistTable *out);
// Where each shard of the tables (by position in relids) is stored now, sorted by node, table, shard: one
// placement per shard, every placement of a reference table's shard.
DistShard *bk_dist_read_placements(const Oid *relids, int n, int *count);
// Connections to the active primary nodes of the given groups (each listed once).
BkNodeSet *bk_dist_open_groups(MemoryContext cxt, const int32 *groups, int n);
// The groups of shards sorted by group, each once; returns how many.
int bk_dist_distinct_groups(const DistShard *shards, int n, int32 *out);
// Errors unless the distributed snapshot exists and the caller may use it.
void bk_dist_fetch_distributed_snapshot(int64 id);
// The snapshot's shards of tables table_nos (NULL: all), with where each is stored now.
DistShard *bk_dist_read_snapshot_shards(int64 id, const int32 *table_nos, int ntables, int *count);
// The id of the node's own backupkit snapshot holding its part of distributed snapshot id.
char *bk_dist_worker_snapshot_id(int64 id, int32 group);
// Whether every node's open transaction can be prepared (it used no temporary table).
bool bk_dist_nodes_can_prepare(BkNodeSet *nodes);
// Ends the open transaction on every node: rolled back for a dry run, else prepared now and committed when
// the coordinator's transaction commits (two_phase; order of commits at the top of citus_distributed.cpp),
// or committed node after node.
void bk_dist_finish_on_nodes(BkNodeSet *nodes, int64 id, bool dry_run, bool two_phase);
