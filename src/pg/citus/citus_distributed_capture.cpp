// backupkit.snapshot_distributed: captures hash-distributed Citus tables shard by shard on the nodes that
// store them, consistent across nodes, and records the map on the coordinator (citus_distributed.hpp).
//
// Consistency of a capture: Citus commits a transaction that wrote on several nodes with two-phase commit,
// logging it in pg_dist_transaction on the coordinator before COMMIT PREPARED goes out, and it sends
// COMMIT PREPARED to every node before its coordinator transaction releases its locks. Taking ExclusiveLock
// on pg_dist_transaction (with pg_dist_node and pg_dist_partition, as citus_create_restore_point does)
// therefore waits until every such commit has finished on every node and holds off new ones. While it is
// held, every node opens a REPEATABLE READ transaction and takes its snapshot; the lock is then released
// and each node captures its shards under that snapshot. A multi-node transaction is thus committed
// everywhere before all the snapshots or nowhere before any of them. Transactions that wrote on one node
// commit without 2PC and are atomic in that node's snapshot anyway.
// With metadata-synced workers (MX, Citus's default), a worker coordinates the distributed transactions
// that start on it, logging them in its own pg_dist_transaction: citus_create_restore_point (13.2.2) does
// not hold those off, the capture does, by taking the same locks on every metadata node over a connection of
// its own (backupkit.hold_distributed_commits there) before any node takes its snapshot.
// Reference tables are written on every placement with two-phase commit, so every node's copy is the same
// in these snapshots: each node captures its own copy, which lets it restore that copy in the same
// transaction as the shards whose foreign keys reference it.
//
// Each node then captures its shards with its own backupkit.snapshot_tables, all nodes in parallel, so no
// row passes through the coordinator; every node keeps its part or none does (two-phase commit decided by the
// coordinator's own commit, see the top of citus_distributed.cpp).
#include "core/error.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

#include "pg/capture/snapshot_label.hpp"
#include "pg/citus/citus_distributed.hpp"
#include "pg/citus/citus_distributed_scope.hpp"
#include "pg/citus/citus_nodes.hpp"
#include "pg/citus/citus_recovery.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/operation.hpp"
#include "pg/support/spi.hpp"
#include "pg/support/table_list.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_snapshot_distributed);
}

// Blocks commits of distributed transactions (see the top of this file); returns the OIDs locked.
static void
block_distributed_commits(Oid *locked)
{
	const char *names[3] = {"pg_dist_node", "pg_dist_partition", "pg_dist_transaction"};
	for (int i = 0; i < 3; i++)
	{
		locked[i] = get_relname_relid(names[i], PG_CATALOG_NAMESPACE);
		if (!OidIsValid(locked[i]))
		{
			elog(ERROR, "Citus catalog table %s is missing", names[i]);
		}
		LockRelationOid(locked[i], ExclusiveLock);
	}
}

static void
unblock_distributed_commits(const Oid *locked)
{
	for (int i = 2; i >= 0; i--)
	{
		UnlockRelationOid(locked[i], ExclusiveLock);
	}
}

// The first row of shards (sorted by node, table, shard) for the shard of row s: a reference table's shard has
// one row per node.
static int
first_placement(const DistShard *shards, int s)
{
	for (int i = 0; i < s; i++)
	{
		if (shards[i].shard_id == shards[s].shard_id)
		{
			return i;
		}
	}
	return s;
}

// The positions in the node's part (worker_table_no, an int[] literal) of the copies of reference tables that
// node group captures.
static char *
reference_table_nos(const DistShard *shards, int nshards, const DistTable *tables, int32 group)
{
	StringInfoData buf;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int s = 0; s < nshards; s++)
	{
		if (shards[s].group_id == group && strcmp(tables[shards[s].table_no].table_type, "reference") == 0)
		{
			appendStringInfo(&buf, "%s%d", buf.len > 1 ? "," : "", shards[s].worker_table_no);
		}
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static int64
insert_snapshot_row(const char *label, const char *compression)
{
	Oid argtypes[4] = {TEXTOID, OIDOID, NAMEOID, TEXTOID};
	Datum values[4];
	char nulls[4] = {label ? ' ' : 'n', ' ', ' ', ' '};
	BkOwnerAccess access;
	bool isnull;
	int64 id;

	values[0] = label ? CStringGetTextDatum(label) : (Datum) 0;
	values[1] = ObjectIdGetDatum(GetUserId());
	values[2] = CStringGetDatum(GetUserNameFromId(GetUserId(), false));
	values[3] = CStringGetTextDatum(compression);
	bk_owner_begin(&access);
	bk_spi_exec("INSERT INTO backupkit.distributed_snapshot (label, created_by, created_by_name, compression) "
	            "VALUES ($1, $2, $3, $4) RETURNING snapshot_id",
	            4, argtypes, values, nulls, false, 1);
	id = DatumGetInt64(bk_spi_get(0, 1, &isnull));
	bk_owner_end(&access);
	return id;
}

Datum
bk_snapshot_distributed(PG_FUNCTION_ARGS)
{
	char *label = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	const char *compression;
	TimestampTz block_requested, blocked;
	double block_wait_ms, blocked_ms;
	Oid *relids;
	int nrels, nshards, ngroups;
	DistTable *tables;
	DistShard *shards;
	int32 *groups;
	int64 id, total_rows = 0, total_stored = 0;
	int64 *table_rows;
	Oid locked[3];
	BkOperation op;
	BkNodeSet *nodes, *holders;
	char *worker_label;
	BkOwnerAccess access;

	if (PG_ARGISNULL(2))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("compression must not be null"),
		                errhint("Valid values are \"zstd\" and \"none\".")));
	}
	{
		char *method = text_to_cstring(PG_GETARG_TEXT_PP(2));
		bk::Compression c = bk::Compression::zstd;
		BK_CORE(c = bk::parse_compression(method));
		compression = bk::compression_name(c);
	}
	bk_check_label(label);
	relids = bk_table_list_arg(fcinfo, 0, "tables", &nrels);
	bk_dist_begin_operation(&op, "snapshot_distributed", "the snapshot's parts", "distributed snapshot", 0,
	                        "backupkit distributed snapshot");
	tables = (DistTable *) palloc0(sizeof(DistTable) * nrels);
	table_rows = (int64 *) palloc0(sizeof(int64) * nrels);
	for (int i = 0; i < nrels; i++)
	{
		bk_dist_read_dist_table(relids[i], &tables[i]);
		if (pg_class_aclcheck(relids[i], GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		{
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("permission denied for table \"%s\"", bk_rel_qualified_name(relids[i]))));
		}
	}
	// Tables are locked as a snapshot locks them, so that no shard moves or DDL happens during the capture.
	for (int i = 0; i < nrels; i++)
	{
		LockRelationOid(relids[i], AccessShareLock);
	}
	shards = bk_dist_read_placements(relids, nrels, &nshards);
	groups = (int32 *) palloc(sizeof(int32) * Max(nshards, 1));
	ngroups = bk_dist_distinct_groups(shards, nshards, groups);
	nodes = bk_dist_open_groups(op.cxt, groups, ngroups);
	holders = bk_dist_open_metadata_nodes(op.cxt);
	id = insert_snapshot_row(label, compression);
	worker_label = psprintf("distributed snapshot " INT64_FORMAT "%s%s", id, label ? ": " : "", label ? label : "");

	// The instant of the snapshot: commits of multi-node transactions are held off only while every node
	// takes its MVCC snapshot.
	block_requested = GetCurrentTimestamp();
	block_distributed_commits(locked);
	blocked = GetCurrentTimestamp(); // the pause counts from here: the metadata nodes' holds are part of it
	bk_dist_hold_commits_on(holders);
	bk_nodes_run_all(nodes,
	                 "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT pg_catalog.pg_current_snapshot()::pg_catalog.text");
	bk_dist_release_commits_on(holders);
	unblock_distributed_commits(locked);
	blocked_ms = bk_dist_ms_since(blocked);
	block_wait_ms = (double) (blocked - block_requested) / 1000.0;
	{
		char **node_snapshot = (char **) palloc(sizeof(char *) * Max(ngroups, 1));
		for (int g = 0; g < ngroups; g++)
		{
			node_snapshot[g] = bk_node_value(&nodes->nodes[g], 0, 0);
		}

		// Each node captures its shards with its own backupkit, under the snapshot it just took.
		for (int g = 0; g < ngroups; g++)
		{
			BkNode *node = &nodes->nodes[g];
			char **names = (char **) palloc(sizeof(char *) * Max(nshards, 1));
			int k = 0;
			for (int s = 0; s < nshards; s++)
			{
				if (shards[s].group_id == node->group_id)
				{
					shards[s].worker_table_no = k;
					names[k++] = shards[s].shard_name;
				}
			}
			node->sql = "SELECT backupkit.snapshot_tables($1::pg_catalog.text[]::pg_catalog.regclass[], $2, $3)";
			node->nparams = 3;
			node->params[0] = bk_dist_text_array_literal(names, k);
			node->params[1] = worker_label;
			node->params[2] = compression;
		}
		bk_nodes_run(nodes);
		char **worker_ids = (char **) palloc(sizeof(char *) * Max(ngroups, 1));
		for (int g = 0; g < ngroups; g++)
		{
			BkNode *node = &nodes->nodes[g];
			worker_ids[g] = bk_node_value(node, 0, 0);
			// The node's part is pinned there: a prune or drop_snapshot on the node must not take it away.
			// A copy of a reference table also gets its order-independent fingerprint (see below).
			node->sql =
			    "SELECT c.rows, c.stored_bytes, c.checksum, CASE WHEN c.ordinality - 1 = ANY ($2::pg_catalog.int4[]) "
			    "THEN backupkit.content_fingerprint(c.table_name::pg_catalog.regclass) END "
			    "FROM backupkit.pin_snapshot($1::pg_catalog.int8) p, "
			    "backupkit.snapshot_contents($1::pg_catalog.int8) WITH ORDINALITY c";
			node->nparams = 2;
			node->params[0] = worker_ids[g];
			node->params[1] = reference_table_nos(shards, nshards, tables, node->group_id);
		}
		bk_nodes_run(nodes);

		// The map, written before the nodes commit: a failure here leaves nothing behind on them.
		bk_owner_begin(&access);
		for (int g = 0; g < ngroups; g++)
		{
			Oid argtypes[6] = {INT8OID, INT4OID, TEXTOID, INT4OID, INT8OID, TEXTOID};
			Datum values[6] = {Int64GetDatum(id),
			                   Int32GetDatum(nodes->nodes[g].group_id),
			                   CStringGetTextDatum(nodes->nodes[g].name),
			                   Int32GetDatum(nodes->nodes[g].port),
			                   Int64GetDatum(pg_strtoint64(worker_ids[g])),
			                   CStringGetTextDatum(node_snapshot[g])};
			bk_spi_exec("INSERT INTO backupkit.distributed_snapshot_node VALUES ($1, $2, $3, $4, $5, $6)", 6, argtypes,
			            values, NULL, false, 0);
		}
		for (int i = 0; i < nrels; i++)
		{
			Oid argtypes[8] = {INT8OID, INT4OID, OIDOID, NAMEOID, NAMEOID, NAMEOID, INT4OID, TEXTOID};
			Datum values[8] = {Int64GetDatum(id),
			                   Int32GetDatum(i),
			                   ObjectIdGetDatum(relids[i]),
			                   CStringGetDatum(tables[i].schema_name),
			                   CStringGetDatum(tables[i].table_name),
			                   tables[i].dist_column ? CStringGetDatum(tables[i].dist_column) : (Datum) 0,
			                   Int32GetDatum(tables[i].colocation_id),
			                   CStringGetTextDatum(tables[i].table_type)};
			char nulls[8] = {' ', ' ', ' ', ' ', ' ', tables[i].dist_column ? ' ' : 'n', ' ', ' '};
			bk_spi_exec("INSERT INTO backupkit.distributed_snapshot_table (snapshot_id, table_no, relid, schema_name, "
			            "table_name, distribution_column, colocation_id, row_count, table_type) "
			            "VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
			            8, argtypes, values, nulls, false, 0);
		}
		for (int s = 0; s < nshards; s++)
		{
			BkNode *node = bk_nodes_find(nodes, shards[s].group_id);
			int64 rows = pg_strtoint64(bk_node_value(node, shards[s].worker_table_no, 0));
			int64 stored = pg_strtoint64(bk_node_value(node, shards[s].worker_table_no, 1));
			char *fingerprint = bk_node_value(node, shards[s].worker_table_no, 3);
			Oid argtypes[11] = {INT8OID, INT4OID, INT8OID, TEXTOID, INT4OID, INT4OID,
			                    INT4OID, INT4OID, INT8OID, TEXTOID, TEXTOID};
			Datum values[11] = {Int64GetDatum(id),
			                    Int32GetDatum(shards[s].table_no),
			                    Int64GetDatum(shards[s].shard_id),
			                    CStringGetTextDatum(shards[s].shard_name),
			                    Int32GetDatum(shards[s].min_value),
			                    Int32GetDatum(shards[s].max_value),
			                    Int32GetDatum(shards[s].group_id),
			                    Int32GetDatum(shards[s].worker_table_no),
			                    Int64GetDatum(rows),
			                    CStringGetTextDatum(bk_node_value(node, shards[s].worker_table_no, 2)),
			                    fingerprint ? CStringGetTextDatum(fingerprint) : (Datum) 0};
			char nulls[11] = {' ', ' ', ' ', ' ', shards[s].has_range ? ' ' : 'n', shards[s].has_range ? ' ' : 'n',
			                  ' ', ' ', ' ', ' ', fingerprint ? ' ' : 'n'};
			bk_spi_exec("INSERT INTO backupkit.distributed_snapshot_shard VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
			            "$10, $11)",
			            11, argtypes, values, nulls, false, 0);
			// A reference table's rows count once (every node holds the same copy); its bytes on every node.
			if (strcmp(tables[shards[s].table_no].table_type, "reference") != 0 || s == first_placement(shards, s))
			{
				table_rows[shards[s].table_no] += rows;
				total_rows += rows;
			}
			total_stored += stored;
		}
		for (int i = 0; i < nrels; i++)
		{
			Oid argtypes[3] = {INT8OID, INT4OID, INT8OID};
			Datum values[3] = {Int64GetDatum(id), Int32GetDatum(i), Int64GetDatum(table_rows[i])};
			bk_spi_exec("UPDATE backupkit.distributed_snapshot_table SET row_count = $3 "
			            "WHERE snapshot_id = $1 AND table_no = $2",
			            3, argtypes, values, NULL, false, 0);
		}
		{
			Oid argtypes[8] = {INT8OID, INT4OID, INT4OID, INT8OID, INT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID};
			Datum values[8] = {Int64GetDatum(id),
			                   Int32GetDatum(nrels),
			                   Int32GetDatum(nshards),
			                   Int64GetDatum(total_rows),
			                   Int64GetDatum(total_stored),
			                   Float8GetDatum(blocked_ms),
			                   Float8GetDatum(block_wait_ms),
			                   Float8GetDatum(bk_dist_ms_since(op.started))};
			bk_spi_exec("UPDATE backupkit.distributed_snapshot SET table_count = $2, shard_count = $3, row_count = $4, "
			            "stored_bytes = $5, commits_blocked_ms = $6, block_wait_ms = $7, duration_ms = $8 "
			            "WHERE snapshot_id = $1",
			            8, argtypes, values, NULL, false, 0);
		}
		// Every copy of a reference table was read at one instant of distributed commits: they must agree.
		bk_dist_check_reference_copies(id);
		bk_dist_seal_map(id);
		bk_owner_end(&access);
		bk_dist_register_parts(nodes, id, worker_ids);
	}
	// Every node keeps its part, or none does: always two-phase, the coordinator's commit deciding (a capture
	// uses no temporary table, so the nodes can prepare; a part must never commit before the map).
	bk_dist_finish_on_nodes(nodes, id, false, true);
	bk_nodes_close(nodes);
	op.snapshot_id = id; // known once the map's row exists
	bk_operation_log_success(&op, total_rows,
	                         psprintf("{\"tables\": %d, \"shards\": %d, \"nodes\": %d, \"commits_blocked_ms\": %.3f, "
	                                  "\"block_wait_ms\": %.3f}",
	                                  nrels, nshards, ngroups, blocked_ms, block_wait_ms));
	PG_RETURN_DATUM(bk_operation_end(&op, Int64GetDatum(id), BK_OP_RESULT_AS_IS));
}
