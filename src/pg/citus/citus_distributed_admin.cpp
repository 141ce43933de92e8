// backupkit.validate_distributed and backupkit.drop_distributed_snapshot: every node validates or drops its
// part of a distributed snapshot; the coordinator checks its map against the nodes' parts, or drops it.
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
#include "pg/citus/citus_distributed_scope.hpp"
#include "pg/citus/citus_nodes.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/operation.hpp"
#include "pg/support/spi.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_validate_distributed);
	PG_FUNCTION_INFO_V1(bk_drop_distributed_snapshot);
}

Datum
bk_validate_distributed(PG_FUNCTION_ARGS)
{
	int64 id = PG_GETARG_INT64(0);
	BkOperation op;
	DistShard *shards;
	int nshards, ngroups;
	int32 *groups;
	BkNodeSet *nodes;
	Datum report;
	int64 rows_checked = 0;

	bk_dist_begin_operation(&op, "validate_distributed", NULL, "distributed validate", id,
	                        "backupkit distributed validate");
	bk_dist_fetch_distributed_snapshot(id);
	bk_dist_verify_map(id);
	shards = bk_dist_read_snapshot_shards(id, NULL, 0, &nshards);
	groups = (int32 *) palloc(sizeof(int32) * Max(nshards, 1));
	ngroups = bk_dist_distinct_groups(shards, nshards, groups);
	nodes = bk_dist_open_groups(op.cxt, groups, ngroups);
	// Each node's part must be there (a part lost after the map committed cannot come back).
	for (int g = 0; g < ngroups; g++)
	{
		BkNode *node = &nodes->nodes[g];
		node->sql = "SELECT pg_catalog.count(*) FROM backupkit.snapshots WHERE id = $1::pg_catalog.int8";
		node->nparams = 1;
		node->params[0] = bk_dist_worker_snapshot_id(id, node->group_id);
	}
	bk_nodes_run(nodes);
	for (int g = 0; g < ngroups; g++)
	{
		BkNode *node = &nodes->nodes[g];
		char *found = bk_node_value(node, 0, 0);
		if (found == NULL || strcmp(found, "1") != 0)
		{
			ereport(ERROR,
			        (errcode(ERRCODE_DATA_CORRUPTED),
			         errmsg("the part of distributed snapshot " INT64_FORMAT " on Citus node \"%s:%d\" is missing", id,
			                node->name, node->port),
			         errdetail("The coordinator's map names snapshot %s on the node, which does not exist there.",
			                   bk_dist_worker_snapshot_id(id, node->group_id)),
			         errhint("The distributed snapshot cannot be restored; backupkit.drop_distributed_snapshot() "
			                 "drops what is left of it.")));
		}
	}
	// Each node verifies its part (chunk checksums, keys, row counts) and lists what it holds.
	for (int g = 0; g < ngroups; g++)
	{
		BkNode *node = &nodes->nodes[g];
		node->sql = "SELECT r, r ->> 'valid', r -> 'errors' ->> 0 "
		            "FROM backupkit.validate_snapshot_integrity($1::pg_catalog.int8) r";
		node->nparams = 1;
		node->params[0] = bk_dist_worker_snapshot_id(id, node->group_id);
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
		node->params[0] = bk_dist_worker_snapshot_id(id, node->group_id);
	}
	bk_nodes_run(nodes);
	bk_dist_check_reference_copies(id);
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
	bk_operation_log_success(&op, rows_checked, NULL);
	// The report is in the caller's context already (SPI_datumTransfer).
	PG_RETURN_DATUM(bk_operation_end(&op, report, BK_OP_RESULT_AS_IS));
}

Datum
bk_drop_distributed_snapshot(PG_FUNCTION_ARGS)
{
	int64 id = PG_GETARG_INT64(0);
	BkOperation op;

	bk_dist_begin_operation(&op, "drop_distributed_snapshot", "the drop", "distributed drop", id,
	                        "backupkit distributed drop");
	bk_dist_fetch_distributed_snapshot(id);
	bk_dist_drop_snapshots(op.cxt, &id, 1);
	bk_operation_log_success(&op, 0, NULL);
	PG_RETURN_DATUM(bk_operation_end(&op, BoolGetDatum(true), BK_OP_RESULT_AS_IS));
}
