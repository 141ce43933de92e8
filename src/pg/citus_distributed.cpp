// Distributed snapshots of hash-distributed Citus tables (issue 14, step 3): capture, restore, validate and
// drop, each shard handled by backupkit on the node that stores it (citus_nodes.hpp), the coordinator
// keeping only the map snapshot -> table -> shard -> node -> that node's own backupkit snapshot.
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
//
// Atomicity of a restore across nodes: each node restores in its own transaction, then every node prepares
// it (PREPARE TRANSACTION) and only when all have prepared are they committed (COMMIT PREPARED); a failure
// before that rolls every node back. The commit decision is made inside the call, so it refuses to run inside
// a transaction block whose later rollback could not undo the nodes.
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

#include "../core/options.hpp"
#include "boundary.hpp"
#include "citus_nodes.hpp"
#include "operation_log.hpp"
#include "snapshot_label.hpp"
#include "storage.hpp"
#include "table_list.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_snapshot_distributed);
	PG_FUNCTION_INFO_V1(bk_restore_distributed);
	PG_FUNCTION_INFO_V1(bk_validate_distributed);
	PG_FUNCTION_INFO_V1(bk_drop_distributed_snapshot);
}

// One shard of a distributed snapshot as the capture or a restore sees it.
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
	char *dist_column;
	int32 colocation_id;
} DistTable;

static bool nodes_can_prepare(BkNodeSet *nodes);
static void finish_on_nodes(BkNodeSet *nodes, int64 id, bool dry_run, bool two_phase);

static void
require_citus(void)
{
	if (!OidIsValid(get_extension_oid("citus", true)))
	{
		ereport(ERROR,
		        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("citus is not installed in this database"),
		         errdetail("Distributed snapshots capture the shards of Citus tables on the nodes that store them."),
		         errhint("Use backupkit.snapshot_tables() for tables of a single server.")));
	}
}

// The start of every distributed operation: refused inside a transaction block when it commits on the nodes
// itself (commits_on_nodes names what it commits), Citus required, then its memory context (returned, and
// current) and an SPI connection.
static MemoryContext
begin_operation(const char *function, const char *commits_on_nodes, const char *cxt_name, MemoryContext *old)
{
	MemoryContext op_cxt;
	if (commits_on_nodes && IsTransactionBlock())
	{
		ereport(ERROR, (errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
		                errmsg("backupkit.%s cannot run inside a transaction block", function),
		                errdetail("It commits %s on every node before it returns, which a later rollback of the "
		                          "transaction block could not undo.",
		                          commits_on_nodes)));
	}
	require_citus();
	// cxt_name is always a string literal (the context keeps the pointer).
	op_cxt = AllocSetContextCreateInternal(CurrentMemoryContext, cxt_name, ALLOCSET_DEFAULT_SIZES);
	*old = MemoryContextSwitchTo(op_cxt);
	bk_spi_connect();
	MemoryContextSwitchTo(op_cxt);
	return op_cxt;
}

static void
end_operation(MemoryContext op_cxt, MemoryContext old)
{
	bk_spi_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(op_cxt);
}

// end_operation for an operation returning a jsonb report built under SPI (which copied it into the
// operation's context): the report is copied out first.
static Datum
end_operation_with(MemoryContext op_cxt, MemoryContext old, Datum report)
{
	MemoryContextSwitchTo(old);
	report = datumCopy(report, false, -1);
	MemoryContextSwitchTo(op_cxt);
	end_operation(op_cxt, old);
	return report;
}

static double
ms_since(TimestampTz t)
{
	return (double) (GetCurrentTimestamp() - t) / 1000.0;
}

// A text[] literal of the given strings, for a parameter sent to a node.
static char *
text_array_literal(char **items, int n)
{
	StringInfoData buf;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
		{
			appendStringInfoChar(&buf, ',');
		}
		appendStringInfoChar(&buf, '"');
		for (const char *p = items[i]; *p; p++)
		{
			if (*p == '"' || *p == '\\')
			{
				appendStringInfoChar(&buf, '\\');
			}
			appendStringInfoChar(&buf, *p);
		}
		appendStringInfoChar(&buf, '"');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

// The hash-distributed table relid as pg_dist_partition describes it; errors for any other table.
static void
read_dist_table(Oid relid, DistTable *out)
{
	Oid argtypes[1] = {REGCLASSOID};
	Datum values[1] = {ObjectIdGetDatum(relid)};
	char *method;

	bk_spi_exec("SELECT p.partmethod::text, pg_catalog.column_to_column_name(p.logicalrelid, p.partkey), "
	            "p.colocationid, n.nspname, c.relname FROM pg_catalog.pg_dist_partition p "
	            "JOIN pg_catalog.pg_class c ON c.oid = p.logicalrelid "
	            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE p.logicalrelid = $1",
	            1, argtypes, values, NULL, true, 1);
	method = SPI_processed == 1 ? bk_spi_get_text(0, 1) : NULL;
	if (method == NULL || strcmp(method, "h") != 0 || bk_spi_get_text(0, 2) == NULL)
	{
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("table \"%s\" is not a hash-distributed Citus table", bk_rel_qualified_name(relid)),
		                errdetail("Distributed snapshots hold tables that Citus distributes by a column into shards."),
		                errhint("Capture other tables with backupkit.snapshot_tables().")));
	}
	out->relid = relid;
	out->dist_column = bk_spi_get_text(0, 2);
	out->colocation_id = pg_strtoint32(bk_spi_get_text(0, 3));
	out->schema_name = bk_spi_get_text(0, 4);
	out->table_name = bk_spi_get_text(0, 5);
}

// Where each shard of the tables (by their position in relids) is stored now: one row per shard, the
// placement on the lowest active primary group when a shard has several. Sorted by node, table, shard.
static DistShard *
read_placements(const Oid *relids, int n, int *count)
{
	Oid argtypes[1] = {OIDARRAYOID};
	Datum *elems = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	Datum values[1];
	DistShard *shards;

	for (int i = 0; i < n; i++)
	{
		elems[i] = ObjectIdGetDatum(relids[i]);
	}
	values[0] = PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	bk_spi_exec("SELECT table_no, shardid, name, groupid, minv, maxv FROM ("
	            " SELECT DISTINCT ON (s.shardid) t.ord - 1 AS table_no, s.shardid, "
	            " pg_catalog.shard_name(s.logicalrelid, s.shardid) AS name, p.groupid, "
	            " s.shardminvalue::integer AS minv, s.shardmaxvalue::integer AS maxv "
	            " FROM pg_catalog.unnest($1) WITH ORDINALITY t(relid, ord) "
	            " JOIN pg_catalog.pg_dist_shard s ON s.logicalrelid = t.relid "
	            " JOIN pg_catalog.pg_dist_placement p ON p.shardid = s.shardid "
	            " JOIN pg_catalog.pg_dist_node d ON d.groupid = p.groupid AND d.noderole = 'primary' AND d.isactive "
	            " ORDER BY s.shardid, p.groupid) x ORDER BY groupid, table_no, shardid",
	            1, argtypes, values, NULL, true, 0);
	*count = (int) SPI_processed;
	shards = (DistShard *) palloc0(sizeof(DistShard) * Max(*count, 1));
	for (int i = 0; i < *count; i++)
	{
		bool isnull;
		shards[i].table_no = DatumGetInt32(bk_spi_get(i, 1, &isnull));
		shards[i].shard_id = DatumGetInt64(bk_spi_get(i, 2, &isnull));
		shards[i].shard_name = bk_spi_get_text(i, 3);
		shards[i].group_id = DatumGetInt32(bk_spi_get(i, 4, &isnull));
		shards[i].current_group = shards[i].group_id;
		shards[i].min_value = DatumGetInt32(bk_spi_get(i, 5, &isnull));
		shards[i].has_range = !isnull;
		shards[i].max_value = DatumGetInt32(bk_spi_get(i, 6, &isnull));
	}
	return shards;
}

// Connections to the active primary nodes of the given groups (each listed once).
static BkNodeSet *
open_groups(MemoryContext cxt, const int32 *groups, int n)
{
	Oid argtypes[1] = {INT4ARRAYOID};
	Datum *elems = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	Datum values[1];
	int count;
	int32 *ids;
	char **names;
	int *ports;

	for (int i = 0; i < n; i++)
	{
		elems[i] = Int32GetDatum(groups[i]);
	}
	values[0] = PointerGetDatum(construct_array(elems, n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
	bk_spi_exec("SELECT DISTINCT ON (groupid) groupid, nodename, nodeport FROM pg_catalog.pg_dist_node "
	            "WHERE groupid = ANY ($1) AND noderole = 'primary' AND isactive ORDER BY groupid, nodeid",
	            1, argtypes, values, NULL, true, 0);
	count = (int) SPI_processed;
	ids = (int32 *) palloc(sizeof(int32) * Max(count, 1));
	names = (char **) palloc(sizeof(char *) * Max(count, 1));
	ports = (int *) palloc(sizeof(int) * Max(count, 1));
	for (int i = 0; i < count; i++)
	{
		bool isnull;
		ids[i] = DatumGetInt32(bk_spi_get(i, 1, &isnull));
		names[i] = bk_spi_get_text(i, 2);
		ports[i] = DatumGetInt32(bk_spi_get(i, 3, &isnull));
	}
	if (count != n)
	{
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("a Citus node group holding shards has no active primary node"),
		                errhint("Activate the node with citus_activate_node() and try again.")));
	}
	return bk_nodes_open(cxt, count, ids, names, ports);
}

static int
distinct_groups(const DistShard *shards, int n, int32 *out)
{
	int count = 0;
	for (int i = 0; i < n; i++)
	{
		if (count == 0 || out[count - 1] != shards[i].group_id)
		{
			out[count++] = shards[i].group_id;
		}
	}
	return count;
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
	TimestampTz started = GetCurrentTimestamp(), block_requested, blocked;
	double block_wait_ms, blocked_ms;
	Oid *relids;
	int nrels, nshards, ngroups;
	DistTable *tables;
	DistShard *shards;
	int32 *groups;
	int64 id, total_rows = 0, total_stored = 0;
	int64 *table_rows;
	Oid locked[3];
	MemoryContext op_cxt, old;
	BkNodeSet *nodes;
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
	op_cxt = begin_operation("snapshot_distributed", "the snapshot's parts", "backupkit distributed snapshot", &old);
	tables = (DistTable *) palloc0(sizeof(DistTable) * nrels);
	table_rows = (int64 *) palloc0(sizeof(int64) * nrels);
	for (int i = 0; i < nrels; i++)
	{
		read_dist_table(relids[i], &tables[i]);
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
	shards = read_placements(relids, nrels, &nshards);
	groups = (int32 *) palloc(sizeof(int32) * Max(nshards, 1));
	ngroups = distinct_groups(shards, nshards, groups);
	nodes = open_groups(op_cxt, groups, ngroups);
	id = insert_snapshot_row(label, compression);
	worker_label = psprintf("distributed snapshot " INT64_FORMAT "%s%s", id, label ? ": " : "", label ? label : "");

	// The instant of the snapshot: commits of multi-node transactions are held off only while every node
	// takes its MVCC snapshot.
	block_requested = GetCurrentTimestamp();
	block_distributed_commits(locked);
	blocked = GetCurrentTimestamp();
	bk_nodes_run_all(nodes,
	                 "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT pg_catalog.pg_current_snapshot()::pg_catalog.text");
	unblock_distributed_commits(locked);
	blocked_ms = ms_since(blocked);
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
			node->params[0] = text_array_literal(names, k);
			node->params[1] = worker_label;
			node->params[2] = compression;
		}
		bk_nodes_run(nodes);
		char **worker_ids = (char **) palloc(sizeof(char *) * Max(ngroups, 1));
		for (int g = 0; g < ngroups; g++)
		{
			BkNode *node = &nodes->nodes[g];
			worker_ids[g] = bk_node_value(node, 0, 0);
			node->sql = "SELECT rows, stored_bytes, checksum FROM backupkit.snapshot_contents($1::pg_catalog.int8)";
			node->nparams = 1;
			node->params[0] = worker_ids[g];
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
			Oid argtypes[7] = {INT8OID, INT4OID, OIDOID, NAMEOID, NAMEOID, NAMEOID, INT4OID};
			Datum values[7] = {Int64GetDatum(id),
			                   Int32GetDatum(i),
			                   ObjectIdGetDatum(relids[i]),
			                   CStringGetDatum(tables[i].schema_name),
			                   CStringGetDatum(tables[i].table_name),
			                   CStringGetDatum(tables[i].dist_column),
			                   Int32GetDatum(tables[i].colocation_id)};
			bk_spi_exec("INSERT INTO backupkit.distributed_snapshot_table VALUES ($1, $2, $3, $4, $5, $6, $7, 0)", 7,
			            argtypes, values, NULL, false, 0);
		}
		for (int s = 0; s < nshards; s++)
		{
			BkNode *node = bk_nodes_find(nodes, shards[s].group_id);
			int64 rows = pg_strtoint64(bk_node_value(node, shards[s].worker_table_no, 0));
			int64 stored = pg_strtoint64(bk_node_value(node, shards[s].worker_table_no, 1));
			Oid argtypes[10] = {INT8OID, INT4OID, INT8OID, TEXTOID, INT4OID,
			                    INT4OID, INT4OID, INT4OID, INT8OID, TEXTOID};
			Datum values[10] = {Int64GetDatum(id),
			                    Int32GetDatum(shards[s].table_no),
			                    Int64GetDatum(shards[s].shard_id),
			                    CStringGetTextDatum(shards[s].shard_name),
			                    Int32GetDatum(shards[s].min_value),
			                    Int32GetDatum(shards[s].max_value),
			                    Int32GetDatum(shards[s].group_id),
			                    Int32GetDatum(shards[s].worker_table_no),
			                    Int64GetDatum(rows),
			                    CStringGetTextDatum(bk_node_value(node, shards[s].worker_table_no, 2))};
			char nulls[10] = {' ', ' ', ' ', ' ', shards[s].has_range ? ' ' : 'n', shards[s].has_range ? ' ' : 'n',
			                  ' ', ' ', ' ', ' '};
			bk_spi_exec(
			    "INSERT INTO backupkit.distributed_snapshot_shard VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 10,
			    argtypes, values, nulls, false, 0);
			table_rows[shards[s].table_no] += rows;
			total_rows += rows;
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
			                   Float8GetDatum(ms_since(started))};
			bk_spi_exec("UPDATE backupkit.distributed_snapshot SET table_count = $2, shard_count = $3, row_count = $4, "
			            "stored_bytes = $5, commits_blocked_ms = $6, block_wait_ms = $7, duration_ms = $8 "
			            "WHERE snapshot_id = $1",
			            8, argtypes, values, NULL, false, 0);
		}
		bk_owner_end(&access);
	}
	// Every node keeps its part, or none does (a capture uses no temporary table, so the nodes can prepare).
	finish_on_nodes(nodes, id, false, nodes_can_prepare(nodes));
	bk_nodes_close(nodes);
	bk_operation_log("distributed snapshot", id, "success", total_rows, ms_since(started),
	                 psprintf("{\"tables\": %d, \"shards\": %d, \"nodes\": %d, \"commits_blocked_ms\": %.3f, "
	                          "\"block_wait_ms\": %.3f}",
	                          nrels, nshards, ngroups, blocked_ms, block_wait_ms));
	end_operation(op_cxt, old);
	PG_RETURN_INT64(id);
}

// The coordinator's row of a distributed snapshot, after checking the caller may use it.
static void
fetch_distributed_snapshot(int64 id)
{
	Oid argtypes[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(id)};
	BkOwnerAccess access;
	bool isnull;
	Oid creator;

	bk_owner_begin(&access);
	bk_spi_exec("SELECT created_by FROM backupkit.distributed_snapshot WHERE snapshot_id = $1 FOR KEY SHARE", 1,
	            argtypes, values, NULL, false, 1);
	bk_owner_end(&access);
	if (SPI_processed == 0)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
		                errmsg("distributed snapshot " INT64_FORMAT " does not exist", id)));
	}
	creator = DatumGetObjectId(bk_spi_get(0, 1, &isnull));
	if (!is_member_of_role(GetUserId(), creator))
	{
		const char *name = GetUserNameFromId(creator, true);
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("permission denied for distributed snapshot " INT64_FORMAT, id),
		                errdetail("Only members of role \"%s\", which created the snapshot, may use it.",
		                          name ? name : "(dropped role)")));
	}
}

// The shards of the snapshot's tables table_nos (NULL: all), with the group that stores each now (0 when
// no active placement), sorted by the node that captured them; sets each node's worker snapshot id.
static DistShard *
read_snapshot_shards(int64 id, const int32 *table_nos, int ntables, int *count)
{
	Oid argtypes[2] = {INT8OID, INT4ARRAYOID};
	Datum values[2];
	char nulls[2] = {' ', table_nos ? ' ' : 'n'};
	DistShard *shards;
	BkOwnerAccess access;

	values[0] = Int64GetDatum(id);
	if (table_nos)
	{
		Datum *elems = (Datum *) palloc(sizeof(Datum) * Max(ntables, 1));
		for (int i = 0; i < ntables; i++)
		{
			elems[i] = Int32GetDatum(table_nos[i]);
		}
		values[1] = PointerGetDatum(construct_array(elems, ntables, INT4OID, sizeof(int32), true, TYPALIGN_INT));
	}
	bk_owner_begin(&access);
	bk_spi_exec("SELECT s.table_no, s.shard_id, s.shard_name, s.group_id, s.worker_table_no, "
	            " coalesce((SELECT min(p.groupid) FROM pg_catalog.pg_dist_placement p "
	            "  JOIN pg_catalog.pg_dist_node d ON d.groupid = p.groupid AND d.noderole = 'primary' AND d.isactive "
	            "  WHERE p.shardid = s.shard_id), -1) "
	            "FROM backupkit.distributed_snapshot_shard s WHERE s.snapshot_id = $1 "
	            "AND ($2 IS NULL OR s.table_no = ANY ($2)) ORDER BY s.group_id, s.table_no, s.shard_id",
	            2, argtypes, values, nulls, true, 0);
	bk_owner_end(&access);
	*count = (int) SPI_processed;
	shards = (DistShard *) palloc0(sizeof(DistShard) * Max(*count, 1));
	for (int i = 0; i < *count; i++)
	{
		bool isnull;
		shards[i].table_no = DatumGetInt32(bk_spi_get(i, 1, &isnull));
		shards[i].shard_id = DatumGetInt64(bk_spi_get(i, 2, &isnull));
		shards[i].shard_name = bk_spi_get_text(i, 3);
		shards[i].group_id = DatumGetInt32(bk_spi_get(i, 4, &isnull));
		shards[i].worker_table_no = DatumGetInt32(bk_spi_get(i, 5, &isnull));
		shards[i].current_group = DatumGetInt32(bk_spi_get(i, 6, &isnull));
	}
	return shards;
}

static char *
worker_snapshot_id(int64 id, int32 group)
{
	Oid argtypes[2] = {INT8OID, INT4OID};
	Datum values[2] = {Int64GetDatum(id), Int32GetDatum(group)};
	BkOwnerAccess access;
	char *result;

	bk_owner_begin(&access);
	bk_spi_exec("SELECT worker_snapshot_id::text FROM backupkit.distributed_snapshot_node "
	            "WHERE snapshot_id = $1 AND group_id = $2",
	            2, argtypes, values, NULL, true, 1);
	bk_owner_end(&access);
	result = SPI_processed == 1 ? bk_spi_get_text(0, 1) : NULL;
	if (result == NULL)
	{
		elog(ERROR, "distributed snapshot " INT64_FORMAT " has no part on node group %d", id, group);
	}
	return result;
}

// Whether every node's open transaction can be prepared: PostgreSQL cannot PREPARE a transaction that used
// temporary tables, which backupkit's staged restore paths (merge, missing) create. Each connection is
// new, so a temporary schema exists in its session only if this transaction made one.
static bool
nodes_can_prepare(BkNodeSet *nodes)
{
	bk_nodes_run_all(nodes, "SELECT pg_catalog.pg_my_temp_schema() = 0");
	for (int g = 0; g < nodes->count; g++)
	{
		char *v = bk_node_value(&nodes->nodes[g], 0, 0);
		if (v == NULL || strcmp(v, "t") != 0)
		{
			return false;
		}
	}
	return true;
}

// Ends the open transaction on every node. With two_phase, prepares it everywhere, then commits all; rolls
// all back when one cannot prepare. Without, commits node after node: every node has already done all its
// work, so only a node failing at COMMIT itself (crash, lost connection) can leave the others committed.
// dry_run rolls back at once.
static void
finish_on_nodes(BkNodeSet *nodes, int64 id, bool dry_run, bool two_phase)
{
	char **gids;

	if (dry_run)
	{
		bk_nodes_run_all(nodes, "ROLLBACK");
		return;
	}
	if (!two_phase)
	{
		bk_nodes_run_all(nodes, "COMMIT");
		return;
	}
	gids = (char **) palloc(sizeof(char *) * Max(nodes->count, 1));
	for (int g = 0; g < nodes->count; g++)
	{
		BkNode *node = &nodes->nodes[g];
		gids[g] = psprintf("backupkit_" INT64_FORMAT "_%d_" INT64_FORMAT "_%d", id, MyProcPid,
		                   (int64) GetCurrentTimestamp(), node->group_id);
		node->sql = psprintf("PREPARE TRANSACTION %s", quote_literal_cstr(gids[g]));
	}
	PG_TRY();
	{
		bk_nodes_run(nodes);
	}
	PG_CATCH();
	{
		// Nodes that prepared keep their transaction after the connection closes: roll those back by name.
		// A node that failed to prepare has already rolled back.
		for (int g = 0; g < nodes->count; g++)
		{
			BkNode *node = &nodes->nodes[g];
			if (PQstatus(node->conn) == CONNECTION_OK)
			{
				PGresult *r = PQexec(node->conn, psprintf("ROLLBACK PREPARED %s", quote_literal_cstr(gids[g])));
				PQclear(r);
			}
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	for (int g = 0; g < nodes->count; g++)
	{
		nodes->nodes[g].sql = psprintf("COMMIT PREPARED %s", quote_literal_cstr(gids[g]));
	}
	bk_nodes_run(nodes);
}

Datum
bk_restore_distributed(PG_FUNCTION_ARGS)
{
	int64 id;
	char *mode_text;
	bk::RestoreMode mode = bk::RestoreMode::replace;
	bool dry_run = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	char *tenant = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	TimestampTz started = GetCurrentTimestamp();
	MemoryContext op_cxt, old;
	int ntables;
	int32 *table_nos;
	Oid *table_relids;
	char **dist_columns;
	int nshards, ngroups;
	DistShard *shards;
	int32 *groups;
	BkNodeSet *nodes;
	Datum report;
	bool two_phase;

	if (PG_ARGISNULL(0))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("snapshot_id must not be null")));
	}
	id = PG_GETARG_INT64(0);
	if (PG_ARGISNULL(2))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("mode must not be null"),
		                errhint("Valid values are \"replace\", \"merge\" and \"missing\".")));
	}
	mode_text = text_to_cstring(PG_GETARG_TEXT_PP(2));
	BK_CORE(mode = bk::parse_restore_mode(mode_text));
	op_cxt = begin_operation("restore_distributed", "the restore", "backupkit distributed restore", &old);
	fetch_distributed_snapshot(id);

	// The tables, parents first: the listed ones (each must be in the snapshot), else all of the snapshot.
	{
		Oid argtypes[2] = {INT8OID, REGCLASSARRAYOID};
		Datum values[2] = {Int64GetDatum(id), PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1)};
		char nulls[2] = {' ', PG_ARGISNULL(1) ? 'n' : ' '};
		BkOwnerAccess access;
		if (!PG_ARGISNULL(1))
		{
			int n;
			(void) bk_table_list_arg(fcinfo, 1, "tables", &n);
			bk_owner_begin(&access);
			bk_spi_exec("SELECT l.t::text FROM pg_catalog.unnest($2) l(t) WHERE NOT EXISTS (SELECT FROM "
			            "backupkit.distributed_snapshot_table d WHERE d.snapshot_id = $1 AND d.relid = l.t)",
			            2, argtypes, values, nulls, true, 1);
			bk_owner_end(&access);
			if (SPI_processed > 0)
			{
				ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
				                errmsg("table \"%s\" is not part of distributed snapshot " INT64_FORMAT,
				                       bk_spi_get_text(0, 1), id)));
			}
		}
		bk_owner_begin(&access);
		bk_spi_exec("SELECT d.table_no, d.relid, d.distribution_column FROM backupkit.distributed_snapshot_table d "
		            "WHERE d.snapshot_id = $1 AND ($2 IS NULL OR d.relid = ANY ($2)) AND "
		            "pg_catalog.to_regclass(d.relid::pg_catalog.regclass::text) IS NOT NULL "
		            "ORDER BY pg_catalog.array_position(backupkit.get_table_restoration_order(ARRAY(SELECT "
		            "x.relid::pg_catalog.regclass FROM backupkit.distributed_snapshot_table x WHERE x.snapshot_id = $1 "
		            "AND ($2 IS NULL OR x.relid = ANY ($2)))), d.relid::pg_catalog.regclass)",
		            2, argtypes, values, nulls, true, 0);
		bk_owner_end(&access);
		ntables = (int) SPI_processed;
		table_nos = (int32 *) palloc(sizeof(int32) * Max(ntables, 1));
		table_relids = (Oid *) palloc(sizeof(Oid) * Max(ntables, 1));
		dist_columns = (char **) palloc(sizeof(char *) * Max(ntables, 1));
		for (int i = 0; i < ntables; i++)
		{
			bool isnull;
			table_nos[i] = DatumGetInt32(bk_spi_get(i, 1, &isnull));
			table_relids[i] = DatumGetObjectId(bk_spi_get(i, 2, &isnull));
			dist_columns[i] = bk_spi_get_text(i, 3);
		}
	}
	for (int i = 0; i < ntables; i++)
	{
		DistTable t;
		read_dist_table(table_relids[i], &t);
		if (strcmp(t.dist_column, dist_columns[i]) != 0)
		{
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("table \"%s\" is distributed by column \"%s\" now, not by \"%s\" as when captured",
			                       bk_rel_qualified_name(table_relids[i]), t.dist_column, dist_columns[i]),
			                errhint("Restore it through the coordinator with backupkit.restore_snapshot().")));
		}
		LockRelationOid(table_relids[i], dry_run ? AccessShareLock : RowExclusiveLock);
	}
	shards = read_snapshot_shards(id, table_nos, ntables, &nshards);
	// Every captured shard must still be where it was captured, and no shard added (a split or a move
	// would leave rows or shards the node's part does not hold).
	for (int s = 0; s < nshards; s++)
	{
		if (shards[s].current_group != shards[s].group_id)
		{
			ereport(ERROR,
			        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			         errmsg("shard " INT64_FORMAT " is no longer on the node that captured it", shards[s].shard_id),
			         errdetail("Distributed snapshot " INT64_FORMAT " holds shard %s on node group %d; Citus has "
			                   "moved or split it since.",
			                   id, shards[s].shard_name, shards[s].group_id),
			         errhint("Move the shard back with citus_move_shard_placement(), or restore through the "
			                 "coordinator.")));
		}
	}
	{
		int now;
		(void) read_placements(table_relids, ntables, &now);
		if (now != nshards)
		{
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("the tables have %d shards now, distributed snapshot " INT64_FORMAT " holds %d", now,
			                       id, nshards),
			                errhint("Restore through the coordinator.")));
		}
	}
	// One tenant: only the shards of its shard group.
	if (tenant)
	{
		int keep = 0;
		int32 group = -1;
		for (int i = 0; i < ntables; i++)
		{
			Oid argtypes[2] = {REGCLASSOID, TEXTOID};
			Datum values[2] = {ObjectIdGetDatum(table_relids[i]), CStringGetTextDatum(tenant)};
			bool isnull;
			int64 shard_id;
			bk_spi_exec("SELECT pg_catalog.get_shard_id_for_distribution_column($1, $2)", 2, argtypes, values, NULL,
			            true, 1);
			shard_id = DatumGetInt64(bk_spi_get(0, 1, &isnull));
			for (int s = 0; s < nshards; s++)
			{
				if (shards[s].shard_id == shard_id)
				{
					if (group >= 0 && shards[s].group_id != group)
					{
						ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						                errmsg("the tables of a tenant restore must be co-located"),
						                errdetail("The rows of tenant \"%s\" are on more than one node.", tenant)));
					}
					group = shards[s].group_id;
					shards[s].has_range = true; // marks the tenant's shard
				}
			}
		}
		for (int s = 0; s < nshards; s++)
		{
			if (shards[s].has_range)
			{
				shards[keep++] = shards[s];
			}
		}
		nshards = keep;
	}
	groups = (int32 *) palloc(sizeof(int32) * Max(nshards, 1));
	ngroups = distinct_groups(shards, nshards, groups);
	nodes = open_groups(op_cxt, groups, ngroups);
	bk_nodes_run_all(nodes, "BEGIN; SET LOCAL citus.enable_manual_changes_to_shards = on");
	for (int g = 0; g < ngroups; g++)
	{
		BkNode *node = &nodes->nodes[g];
		char **names = (char **) palloc(sizeof(char *) * Max(nshards, 1));
		char **columns = (char **) palloc(sizeof(char *) * Max(nshards, 1));
		int k = 0;
		// Parents first, as the tables are ordered.
		for (int i = 0; i < ntables; i++)
		{
			for (int s = 0; s < nshards; s++)
			{
				if (shards[s].group_id == node->group_id && shards[s].table_no == table_nos[i])
				{
					columns[k] = dist_columns[i];
					names[k++] = shards[s].shard_name;
				}
			}
		}
		node->params[0] = worker_snapshot_id(id, node->group_id);
		node->params[1] = text_array_literal(names, k);
		node->params[2] = bk::restore_mode_name(mode);
		if (tenant)
		{
			node->sql = "SELECT backupkit.restore_tenant_shards($1::pg_catalog.int8, "
			            "$2::pg_catalog.text[]::pg_catalog.regclass[], $4::pg_catalog.name[], $5, $3)";
			node->params[3] = text_array_literal(columns, k);
			node->params[4] = tenant;
			node->nparams = 5;
		}
		else
		{
			node->sql = "SELECT backupkit.restore_snapshot($1::pg_catalog.int8, "
			            "$2::pg_catalog.text[]::pg_catalog.regclass[], $3, $4::pg_catalog.bool)";
			node->params[3] = dry_run ? "true" : "false";
			node->nparams = 4;
		}
	}
	bk_nodes_run(nodes);
	{
		char **node_names = (char **) palloc(sizeof(char *) * Max(ngroups, 1));
		char **reports = (char **) palloc(sizeof(char *) * Max(ngroups, 1));
		Oid argtypes[8] = {INT8OID, TEXTOID, BOOLOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, FLOAT8OID, TEXTOID};
		Datum values[8];
		char nulls[8] = {' ', ' ', ' ', tenant ? ' ' : 'n', ' ', ' ', ' ', ' '};
		bool isnull;
		Datum *n_elems = (Datum *) palloc(sizeof(Datum) * Max(ngroups, 1));
		Datum *r_elems = (Datum *) palloc(sizeof(Datum) * Max(ngroups, 1));
		for (int g = 0; g < ngroups; g++)
		{
			node_names[g] = psprintf("%s:%d", nodes->nodes[g].name, nodes->nodes[g].port);
			reports[g] = bk_node_value(&nodes->nodes[g], 0, 0);
			n_elems[g] = CStringGetTextDatum(node_names[g]);
			r_elems[g] = CStringGetTextDatum(reports[g] ? reports[g] : "null");
		}
		two_phase = dry_run || nodes_can_prepare(nodes);
		values[0] = Int64GetDatum(id);
		values[1] = CStringGetTextDatum(bk::restore_mode_name(mode));
		values[2] = BoolGetDatum(dry_run);
		values[3] = tenant ? CStringGetTextDatum(tenant) : (Datum) 0;
		values[4] = PointerGetDatum(construct_array(n_elems, ngroups, TEXTOID, -1, false, TYPALIGN_INT));
		values[5] = PointerGetDatum(construct_array(r_elems, ngroups, TEXTOID, -1, false, TYPALIGN_INT));
		values[6] = Float8GetDatum(ms_since(started));
		values[7] = CStringGetTextDatum(dry_run ? "rolled back" : (two_phase ? "two-phase" : "one node after another"));
		bk_spi_exec(
		    "SELECT pg_catalog.jsonb_build_object('snapshot_id', $1, 'mode', $2, 'dry_run', $3, 'tenant', $4, "
		    "'shards', (SELECT pg_catalog.count(*) FROM pg_catalog.unnest($6) r, "
		    "pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(r::jsonb) = 'array' THEN "
		    "r::jsonb ELSE r::jsonb -> 'tables' END) e), "
		    "'nodes', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('node', n, 'report', r::jsonb)) "
		    "FROM unnest($5, $6) u(n, r)), 'commit', $8, 'duration_ms', $7)",
		    8, argtypes, values, nulls, true, 1);
		report = SPI_datumTransfer(bk_spi_get(0, 1, &isnull), false, -1);
	}
	// Last: nothing after the nodes commit can fail but the operation log.
	finish_on_nodes(nodes, id, dry_run, two_phase);
	bk_nodes_close(nodes);
	bk_operation_log(
	    dry_run ? "distributed dry_run" : "distributed restore", id, "success", 0, ms_since(started),
	    psprintf("{\"mode\": \"%s\", \"nodes\": %d, \"shards\": %d}", bk::restore_mode_name(mode), ngroups, nshards));
	PG_RETURN_DATUM(end_operation_with(op_cxt, old, report));
}

Datum
bk_validate_distributed(PG_FUNCTION_ARGS)
{
	int64 id = PG_GETARG_INT64(0);
	TimestampTz started = GetCurrentTimestamp();
	MemoryContext op_cxt, old;
	DistShard *shards;
	int nshards, ngroups;
	int32 *groups;
	BkNodeSet *nodes;
	Datum report;
	int64 rows_checked = 0;

	op_cxt = begin_operation("validate_distributed", NULL, "backupkit distributed validate", &old);
	fetch_distributed_snapshot(id);
	shards = read_snapshot_shards(id, NULL, 0, &nshards);
	groups = (int32 *) palloc(sizeof(int32) * Max(nshards, 1));
	ngroups = distinct_groups(shards, nshards, groups);
	nodes = open_groups(op_cxt, groups, ngroups);
	// Each node verifies its part (chunk checksums, keys, row counts) and lists what it holds.
	for (int g = 0; g < ngroups; g++)
	{
		BkNode *node = &nodes->nodes[g];
		node->sql = "SELECT r, r ->> 'valid', r -> 'errors' ->> 0 "
		            "FROM backupkit.validate_snapshot_integrity($1::pg_catalog.int8) r";
		node->nparams = 1;
		node->params[0] = worker_snapshot_id(id, node->group_id);
	}
	bk_nodes_run(nodes);
	char **validations = (char **) palloc(sizeof(char *) * Max(ngroups, 1));
	for (int g = 0; g < ngroups; g++)
	{
		BkNode *node = &nodes->nodes[g];
		validations[g] = bk_node_value(node, 0, 0);
		if (strcmp(bk_node_value(node, 0, 1), "true") != 0)
		{
			char *first = bk_node_value(node, 0, 2);
			ereport(ERROR,
			        (errcode(ERRCODE_DATA_CORRUPTED),
			         errmsg("the part of distributed snapshot " INT64_FORMAT " on Citus node \"%s:%d\" is not valid",
			                id, node->name, node->port),
			         first ? errdetail("%s", first) : 0));
		}
		node->sql = "SELECT rows, checksum FROM backupkit.snapshot_contents($1::pg_catalog.int8)";
		node->nparams = 1;
		node->params[0] = worker_snapshot_id(id, node->group_id);
	}
	bk_nodes_run(nodes);
	// The coordinator's map and each node's part must agree shard by shard.
	{
		Oid argtypes[1] = {INT8OID};
		Datum values[1] = {Int64GetDatum(id)};
		BkOwnerAccess access;
		bk_owner_begin(&access);
		bk_spi_exec("SELECT s.shard_id, s.group_id, s.worker_table_no, s.row_count, s.checksum, s.shard_name "
		            "FROM backupkit.distributed_snapshot_shard s WHERE s.snapshot_id = $1 ORDER BY s.shard_id",
		            1, argtypes, values, NULL, true, 0);
		bk_owner_end(&access);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool isnull;
			int64 shard_id = DatumGetInt64(bk_spi_get(i, 1, &isnull));
			BkNode *node = bk_nodes_find(nodes, DatumGetInt32(bk_spi_get(i, 2, &isnull)));
			int wt = DatumGetInt32(bk_spi_get(i, 3, &isnull));
			int64 rows = DatumGetInt64(bk_spi_get(i, 4, &isnull));
			char *checksum = bk_spi_get_text(i, 5);
			char *node_rows = node ? bk_node_value(node, wt, 0) : NULL;
			char *node_checksum = node ? bk_node_value(node, wt, 1) : NULL;
			if (node_rows == NULL || pg_strtoint64(node_rows) != rows || node_checksum == NULL ||
			    strcmp(node_checksum, checksum) != 0)
			{
				ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
				                errmsg("shard " INT64_FORMAT " of distributed snapshot " INT64_FORMAT
				                       " does not match its node's part",
				                       shard_id, id),
				                errdetail("The coordinator recorded " INT64_FORMAT " rows with checksum %s for %s; the "
				                          "node holds %s rows with checksum %s.",
				                          rows, checksum, bk_spi_get_text(i, 6), node_rows ? node_rows : "no",
				                          node_checksum ? node_checksum : "none")));
			}
			rows_checked += rows;
		}
	}
	{
		Oid argtypes[4] = {INT8OID, INT4OID, INT8OID, TEXTARRAYOID};
		Datum values[4];
		Datum *elems = (Datum *) palloc(sizeof(Datum) * Max(ngroups, 1));
		bool isnull;
		for (int g = 0; g < ngroups; g++)
		{
			elems[g] = CStringGetTextDatum(validations[g] ? validations[g] : "null");
		}
		values[0] = Int64GetDatum(id);
		values[1] = Int32GetDatum(nshards);
		values[2] = Int64GetDatum(rows_checked);
		values[3] = PointerGetDatum(construct_array(elems, ngroups, TEXTOID, -1, false, TYPALIGN_INT));
		bk_spi_exec("SELECT pg_catalog.jsonb_build_object('snapshot_id', $1, 'valid', true, 'shards', $2, 'rows', $3, "
		            "'nodes', (SELECT pg_catalog.jsonb_agg(r::jsonb) FROM pg_catalog.unnest($4) r))",
		            4, argtypes, values, NULL, true, 1);
		report = SPI_datumTransfer(bk_spi_get(0, 1, &isnull), false, -1);
	}
	bk_nodes_close(nodes);
	bk_operation_log("distributed validate", id, "success", rows_checked, ms_since(started), NULL);
	PG_RETURN_DATUM(end_operation_with(op_cxt, old, report));
}

Datum
bk_drop_distributed_snapshot(PG_FUNCTION_ARGS)
{
	int64 id = PG_GETARG_INT64(0);
	MemoryContext op_cxt, old;
	BkNodeSet *nodes;
	int ngroups;
	int32 *groups;
	char **worker_ids;
	BkOwnerAccess access;
	Oid argtypes[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(id)};

	op_cxt = begin_operation("drop_distributed_snapshot", "the drop", "backupkit distributed drop", &old);
	fetch_distributed_snapshot(id);
	bk_owner_begin(&access);
	bk_spi_exec("SELECT group_id, worker_snapshot_id::text FROM backupkit.distributed_snapshot_node "
	            "WHERE snapshot_id = $1 ORDER BY group_id",
	            1, argtypes, values, NULL, true, 0);
	bk_owner_end(&access);
	ngroups = (int) SPI_processed;
	groups = (int32 *) palloc(sizeof(int32) * Max(ngroups, 1));
	worker_ids = (char **) palloc(sizeof(char *) * Max(ngroups, 1));
	for (int g = 0; g < ngroups; g++)
	{
		bool isnull;
		groups[g] = DatumGetInt32(bk_spi_get(g, 1, &isnull));
		worker_ids[g] = bk_spi_get_text(g, 2);
	}
	nodes = open_groups(op_cxt, groups, ngroups);
	bk_nodes_run_all(nodes, "BEGIN");
	for (int g = 0; g < ngroups; g++)
	{
		BkNode *node = bk_nodes_find(nodes, groups[g]);
		node->sql = "SELECT backupkit.drop_snapshot($1::pg_catalog.int8)";
		node->nparams = 1;
		node->params[0] = worker_ids[g];
	}
	bk_nodes_run(nodes);
	bk_owner_begin(&access);
	bk_spi_exec("DELETE FROM backupkit.distributed_snapshot WHERE snapshot_id = $1", 1, argtypes, values, NULL, false,
	            0);
	bk_owner_end(&access);
	finish_on_nodes(nodes, id, false, true);
	bk_nodes_close(nodes);
	bk_operation_log("distributed drop", id, "success", 0, 0, NULL);
	end_operation(op_cxt, old);
	PG_RETURN_BOOL(true);
}
