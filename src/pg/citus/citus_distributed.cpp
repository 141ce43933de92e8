// The map of distributed snapshots and the steps their operations share (see citus_distributed.hpp).
//
// Order of commits (what a crash at any moment leaves, and how it is recovered):
//  1. Every node does all its work in its own open transaction (capture: its part, registered in its
//     backupkit.distributed_snapshot_part; restore: its shards; drop: the drop of its part).
//  2. The coordinator writes, in its own transaction, the map (capture) or deletes it (drop), and one decision
//     row per node in backupkit.distributed_transaction naming the node's prepared transaction.
//  3. Every node prepares (PREPARE TRANSACTION). A failure here rolls every node back, and the coordinator.
//  4. The coordinator's transaction commits: this is the decision, durable before any node commits.
//  5. After the commit, every node gets COMMIT PREPARED (ROLLBACK PREPARED when the coordinator's transaction
//     or subtransaction aborted instead).
// A crash before 4 leaves prepared transactions without decision rows: recovery rolls them back, and the
// map never existed. A crash after 4 leaves prepared transactions with decision rows: recovery commits them,
// and the map and the node parts agree again. backupkit.recover_distributed() does this on every node; every
// distributed operation does it first on the nodes it connects to, for the transactions its role may finish
// (a transaction left prepared keeps its locks: the next restore of those shards would wait on it forever).
// Node parts never commit before the map, so a part without a map row is an orphan (coordinator restored
// from an older backup, map edited by hand): recover_distributed() drops it (citus_recovery.cpp).
// Staged restores (merge, missing) stage on the nodes in unlogged tables their transaction drops, not in
// temporary tables (which PostgreSQL refuses to prepare): restore_distributed sets backupkit.two_phase_stages
// on its node connections (src/pg/restore/stage_table.cpp), so every mode prepares. A node transaction that
// still made a temporary object commits one after another with the others (bk_dist_nodes_can_prepare).
#include "core/plan/citus_table_type.hpp"

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

#include "pg/citus/citus_distributed.hpp"
#include "pg/citus/citus_nodes.hpp"
#include "pg/citus/citus_recovery.hpp"
#include "pg/citus/citus_tables.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/operation.hpp"
#include "pg/support/spi.hpp"

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

// The operation under way, for the decision rows of its nodes (bk_dist_finish_on_nodes).
static const char *current_operation = "distributed operation";

// The start of every distributed operation: refused inside a transaction block when it commits on the nodes
// itself (commits_on_nodes names what it commits), Citus required, then the entry-point wrapper
// (support/operation: failure watch, the operation's memory context, SPI, fixed settings).
void
bk_dist_begin_operation(BkOperation *op, const char *function, const char *commits_on_nodes, const char *operation,
                        int64 id, const char *cxt_name)
{
	if (commits_on_nodes && IsTransactionBlock())
	{
		ereport(ERROR, (errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
		                errmsg("backupkit.%s cannot run inside a transaction block", function),
		                errdetail("It commits %s on every node before it returns, which a later rollback of the "
		                          "transaction block could not undo.",
		                          commits_on_nodes)));
	}
	require_citus();
	bk_operation_begin(op, operation, id, BK_OP_WATCH, cxt_name);
	current_operation = operation;
}

double
bk_dist_ms_since(TimestampTz t)
{
	return (double) (GetCurrentTimestamp() - t) / 1000.0;
}

// A text[] literal of the given strings, for a parameter sent to a node.
char *
bk_dist_text_array_literal(char **items, int n)
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

// The hash-distributed, reference or single-shard table relid as pg_dist_partition describes it; errors for
// any other table.
void
bk_dist_read_dist_table(Oid relid, DistTable *out)
{
	Oid argtypes[1] = {REGCLASSOID};
	Datum values[1] = {ObjectIdGetDatum(relid)};
	BkCitusTable info;
	char *method;

	if (!bk_citus_table(relid, &info) ||
	    !(info.type == bk::CitusTableType::reference || info.type == bk::CitusTableType::single_shard ||
	      (info.type == bk::CitusTableType::distributed && info.partmethod == 'h')))
	{
		ereport(ERROR,
		        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		         errmsg("table \"%s\" is not a hash-distributed, reference or single-shard Citus table",
		                bk_rel_qualified_name(relid)),
		         errdetail("Distributed snapshots hold the tables whose rows Citus stores in shards on its nodes."),
		         errhint("Capture other tables with backupkit.snapshot_tables().")));
	}
	bk_spi_exec("SELECT p.partmethod::text, pg_catalog.column_to_column_name(p.logicalrelid, p.partkey), "
	            "p.colocationid, n.nspname, c.relname FROM pg_catalog.pg_dist_partition p "
	            "JOIN pg_catalog.pg_class c ON c.oid = p.logicalrelid "
	            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE p.logicalrelid = $1",
	            1, argtypes, values, NULL, true, 1);
	method = SPI_processed == 1 ? bk_spi_get_text(0, 1) : NULL;
	if (method == NULL)
	{
		elog(ERROR, "table \"%s\" vanished from pg_dist_partition", bk_rel_qualified_name(relid));
	}
	out->relid = relid;
	out->dist_column = info.type == bk::CitusTableType::distributed ? bk_spi_get_text(0, 2) : NULL;
	out->colocation_id = pg_strtoint32(bk_spi_get_text(0, 3));
	out->schema_name = bk_spi_get_text(0, 4);
	out->table_name = bk_spi_get_text(0, 5);
	out->table_type = info.type == bk::CitusTableType::reference
	                      ? "reference"
	                      : (info.type == bk::CitusTableType::single_shard ? "single_shard" : "hash");
}

// The shards an SPI query returned, its first columns being table_no, shard id, shard name and group.
static DistShard *
shards_from_spi(int *count)
{
	DistShard *shards;
	*count = (int) SPI_processed;
	shards = (DistShard *) palloc0(sizeof(DistShard) * Max(*count, 1));
	for (int i = 0; i < *count; i++)
	{
		bool isnull;
		shards[i].table_no = DatumGetInt32(bk_spi_get(i, 1, &isnull));
		shards[i].shard_id = DatumGetInt64(bk_spi_get(i, 2, &isnull));
		shards[i].shard_name = bk_spi_get_text(i, 3);
		shards[i].group_id = DatumGetInt32(bk_spi_get(i, 4, &isnull));
	}
	return shards;
}

// Where each shard of the tables (by their position in relids) is stored now: one row per shard, the
// placement on the lowest active primary group when a shard has several. Sorted by node, table, shard.
DistShard *
bk_dist_read_placements(const Oid *relids, int n, int *count)
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
	// A reference table's shard once per node (DISTINCT ON the group too): each node captures its copy.
	bk_spi_exec("SELECT table_no, shardid, name, groupid, minv, maxv FROM ("
	            " SELECT DISTINCT ON (s.shardid, CASE WHEN x.repmodel = 't' THEN p.groupid END) "
	            " t.ord - 1 AS table_no, s.shardid, "
	            " pg_catalog.shard_name(s.logicalrelid, s.shardid) AS name, p.groupid, "
	            " s.shardminvalue::integer AS minv, s.shardmaxvalue::integer AS maxv "
	            " FROM pg_catalog.unnest($1) WITH ORDINALITY t(relid, ord) "
	            " JOIN pg_catalog.pg_dist_shard s ON s.logicalrelid = t.relid "
	            " JOIN pg_catalog.pg_dist_partition x ON x.logicalrelid = t.relid "
	            " JOIN pg_catalog.pg_dist_placement p ON p.shardid = s.shardid "
	            " JOIN pg_catalog.pg_dist_node d ON d.groupid = p.groupid AND d.noderole = 'primary' "
	            " ORDER BY s.shardid, CASE WHEN x.repmodel = 't' THEN p.groupid END, d.isactive DESC, p.groupid) y "
	            "ORDER BY groupid, table_no, shardid",
	            1, argtypes, values, NULL, true, 0);
	shards = shards_from_spi(count);
	for (int i = 0; i < *count; i++)
	{
		bool isnull;
		shards[i].current_group = shards[i].group_id;
		shards[i].min_value = DatumGetInt32(bk_spi_get(i, 5, &isnull));
		shards[i].has_range = !isnull;
		shards[i].max_value = DatumGetInt32(bk_spi_get(i, 6, &isnull));
	}
	return shards;
}

// Connections to the active primary nodes of the given groups (each listed once).
BkNodeSet *
bk_dist_open_groups(MemoryContext cxt, const int32 *groups, int n)
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
		int32 missing = -1;
		for (int i = 0; i < n && missing < 0; i++)
		{
			bool found = false;
			for (int j = 0; j < count; j++)
			{
				found = found || ids[j] == groups[i];
			}
			missing = found ? -1 : groups[i];
		}
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("a Citus node group holding shards has no active primary node"),
		                errdetail("No primary node of group %d, which holds shards of the tables, is active.", missing),
		                errhint("Activate the node with citus_activate_node() and try again.")));
	}
	{
		BkNodeSet *set = bk_nodes_open(cxt, count, ids, names, ports);
		// What earlier operations left prepared on these nodes holds locks this one may need.
		bk_dist_recover_on_nodes(set);
		return set;
	}
}

int
bk_dist_distinct_groups(const DistShard *shards, int n, int32 *out)
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

// The coordinator's row of a distributed snapshot, after checking the caller may use it.
void
bk_dist_fetch_distributed_snapshot(int64 id)
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
DistShard *
bk_dist_read_snapshot_shards(int64 id, const int32 *table_nos, int ntables, int *count)
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
	            " coalesce((SELECT p.groupid FROM pg_catalog.pg_dist_placement p "
	            "  JOIN pg_catalog.pg_dist_node d ON d.groupid = p.groupid AND d.noderole = 'primary' "
	            "  WHERE p.shardid = s.shard_id ORDER BY p.groupid = s.group_id DESC, d.isactive DESC, p.groupid "
	            "  LIMIT 1), -1) "
	            "FROM backupkit.distributed_snapshot_shard s WHERE s.snapshot_id = $1 "
	            "AND ($2 IS NULL OR s.table_no = ANY ($2)) ORDER BY s.group_id, s.table_no, s.shard_id",
	            2, argtypes, values, nulls, true, 0);
	bk_owner_end(&access);
	shards = shards_from_spi(count);
	for (int i = 0; i < *count; i++)
	{
		bool isnull;
		shards[i].worker_table_no = DatumGetInt32(bk_spi_get(i, 5, &isnull));
		shards[i].current_group = DatumGetInt32(bk_spi_get(i, 6, &isnull));
	}
	return shards;
}

char *
bk_dist_worker_snapshot_id(int64 id, int32 group)
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
// temporary tables (the staged paths avoid them on nodes: stage_table.cpp). Each connection is new, so a
// temporary schema exists in its session only if this transaction made one.
bool
bk_dist_nodes_can_prepare(BkNodeSet *nodes)
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

// Ends the open transaction on every node. With two_phase, prepares it everywhere and leaves the commit to
// the coordinator's (citus_two_phase.cpp; rolls all back when one cannot prepare). Without, commits node
// after node: every node has already done all its work, so only a node failing at COMMIT itself (crash,
// lost connection) or a crash of the coordinator between them can leave the others committed. dry_run rolls
// back at once.
void
bk_dist_finish_on_nodes(BkNodeSet *nodes, int64 id, bool dry_run, bool two_phase)
{
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
	bk_dist_prepare_on_nodes(nodes, id, current_operation);
}
