// backupkit.restore_distributed: restores distributed tables from a distributed snapshot shard by shard on
// the nodes that captured them, every mode and dry runs, or only the rows of one tenant (one distribution
// column value) on the node holding its shard group.
//
// Atomicity of a restore across nodes: each node restores in its own transaction, then every node prepares
// it (PREPARE TRANSACTION) and only when all have prepared, and the coordinator's transaction has committed,
// are they committed (COMMIT PREPARED; see the top of citus_distributed.cpp); a failure before that rolls
// every node back. The commit decision is made inside the call, so it refuses to run inside
// a transaction block whose later rollback could not undo the nodes.
// When a node used temporary tables (backupkit's staged merge and missing paths), PostgreSQL cannot prepare
// it: the nodes then commit one after another, once every node has done all its work.
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

#include "pg/citus/citus_distributed.hpp"
#include "pg/citus/citus_distributed_scope.hpp"
#include "pg/citus/citus_nodes.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/operation.hpp"
#include "pg/support/spi.hpp"
#include "pg/support/table_list.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_restore_distributed);
}

// What is left to do once the shards captured no longer hold the table's rows.
#define RESHARDED_HINT                                                                                                 \
	"The captured rows can still be read on each node with backupkit.snapshot_rows() on the node's part "              \
	"(backupkit.distributed_snapshot_node.worker_snapshot_id)."

// The table a snapshot's table (alias a of distributed_snapshot_table) is now, as restores of single-server
// snapshots find it: by its captured name, else by its oid (renamed since); NULL when neither exists. Citus's
// undistribute_table and alter_distributed_table re-create a table under its name with a new oid.
static char *
live_relid_sql(const char *a)
{
	return psprintf("coalesce((SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid "
	                "OPERATOR(pg_catalog.=) c.relnamespace WHERE n.nspname OPERATOR(pg_catalog.=) %s.schema_name AND "
	                "c.relname OPERATOR(pg_catalog.=) %s.table_name), (SELECT c.oid FROM pg_catalog.pg_class c WHERE "
	                "c.oid OPERATOR(pg_catalog.=) %s.relid))",
	                a, a, a);
}

// With tenant, the listed reference tables first: on every node holding a copy, the captured rows the copy
// lacks (mode 'missing'), so that the tenant's rows restored next find what they reference. Returns each
// node's report (NULL for a node without a copy to restore).
static char **
restore_tenant_references(BkNodeSet *nodes, int64 id, const DistShard *shards, int nshards, int ntables,
                          const int32 *table_nos, char *const *table_types, bool dry_run)
{
	char **reports = (char **) palloc0(sizeof(char *) * Max(nodes->count, 1));
	bool any = false;
	for (int g = 0; g < nodes->count; g++)
	{
		BkNode *node = &nodes->nodes[g];
		char **names = (char **) palloc(sizeof(char *) * Max(nshards, 1));
		int k = 0;
		for (int i = 0; i < ntables; i++)
		{
			for (int s = 0; s < nshards; s++)
			{
				if (shards[s].group_id == node->group_id && shards[s].table_no == table_nos[i] &&
				    strcmp(table_types[i], "reference") == 0)
				{
					names[k++] = shards[s].shard_name;
				}
			}
		}
		node->sql = NULL;
		if (k > 0)
		{
			node->sql = "SELECT backupkit.restore_snapshot($1::pg_catalog.int8, "
			            "$2::pg_catalog.text[]::pg_catalog.regclass[], 'missing', $3::pg_catalog.bool)";
			node->params[0] = bk_dist_worker_snapshot_id(id, node->group_id);
			node->params[1] = bk_dist_text_array_literal(names, k);
			node->params[2] = dry_run ? "true" : "false";
			node->nparams = 3;
			any = true;
		}
	}
	if (!any)
	{
		return NULL;
	}
	bk_nodes_run(nodes);
	for (int g = 0; g < nodes->count; g++)
	{
		reports[g] = bk_node_value(&nodes->nodes[g], 0, 0);
	}
	return reports;
}

Datum
bk_restore_distributed(PG_FUNCTION_ARGS)
{
	int64 id;
	char *mode_text;
	bk::RestoreMode mode = bk::RestoreMode::replace;
	bool dry_run = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	char *tenant = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	BkOperation op;
	int ntables;
	int32 *table_nos;
	Oid *table_relids;
	char **dist_columns;
	char **table_types;
	bool *keep;
	char **reference_reports = NULL;
	int nshards, ngroups;
	DistShard *shards;
	int32 *groups;
	BkNodeSet *nodes;
	Datum report;
	bool two_phase;
	int32 first_colocation = -1;
	Oid first_relid = InvalidOid;

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
	bk_dist_begin_operation(&op, "restore_distributed", "the restore",
	                        dry_run ? "distributed dry_run" : "distributed restore", id,
	                        "backupkit distributed restore");
	bk_dist_fetch_distributed_snapshot(id);
	bk_dist_verify_map(id);

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
			bk_spi_exec(psprintf("SELECT l.t::text FROM pg_catalog.unnest($2) l(t) WHERE NOT EXISTS (SELECT FROM "
			                     "backupkit.distributed_snapshot_table d WHERE d.snapshot_id = $1 AND %s = l.t)",
			                     live_relid_sql("d")),
			            2, argtypes, values, nulls, true, 1);
			bk_owner_end(&access);
			if (SPI_processed > 0)
			{
				ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
				                errmsg("table \"%s\" is not part of distributed snapshot " INT64_FORMAT,
				                       bk_spi_get_text(0, 1), id)));
			}
		}
		// A table captured by the snapshot and gone since is an error, not a table left out in silence. A table
		// re-created since under its name (Citus's undistribute_table and alter_distributed_table give it a new
		// oid) is found by name, and the checks below say what changed.
		bk_owner_begin(&access);
		bk_spi_exec(psprintf("SELECT pg_catalog.format('%%s.%%s', d.schema_name, d.table_name) FROM "
		                     "backupkit.distributed_snapshot_table d WHERE d.snapshot_id = $1 AND %s IS NULL "
		                     "ORDER BY d.table_no",
		                     live_relid_sql("d")),
		            1, argtypes, values, nulls, true, 1);
		bk_owner_end(&access);
		if (SPI_processed > 0 && PG_ARGISNULL(1))
		{
			ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
			                errmsg("table \"%s\" of distributed snapshot " INT64_FORMAT " no longer exists",
			                       bk_spi_get_text(0, 1), id),
			                errhint("Re-create the table, or list the tables to restore.")));
		}
		bk_owner_begin(&access);
		bk_spi_exec(
		    psprintf("SELECT d.table_no, %s, d.distribution_column, d.table_type "
		             "FROM backupkit.distributed_snapshot_table d "
		             "WHERE d.snapshot_id = $1 AND ($2 IS NULL OR %s = ANY ($2)) AND %s IS NOT NULL "
		             "ORDER BY pg_catalog.array_position(backupkit.get_table_restoration_order(ARRAY(SELECT "
		             "%s::pg_catalog.regclass FROM backupkit.distributed_snapshot_table x WHERE x.snapshot_id = "
		             "$1 AND %s IS NOT NULL AND ($2 IS NULL OR %s = ANY ($2)))), %s::pg_catalog.regclass)",
		             live_relid_sql("d"), live_relid_sql("d"), live_relid_sql("d"), live_relid_sql("x"),
		             live_relid_sql("x"), live_relid_sql("x"), live_relid_sql("d")),
		    2, argtypes, values, nulls, true, 0);
		bk_owner_end(&access);
		ntables = (int) SPI_processed;
		table_nos = (int32 *) palloc(sizeof(int32) * Max(ntables, 1));
		table_relids = (Oid *) palloc(sizeof(Oid) * Max(ntables, 1));
		dist_columns = (char **) palloc(sizeof(char *) * Max(ntables, 1));
		table_types = (char **) palloc(sizeof(char *) * Max(ntables, 1));
		for (int i = 0; i < ntables; i++)
		{
			bool isnull;
			table_nos[i] = DatumGetInt32(bk_spi_get(i, 1, &isnull));
			table_relids[i] = DatumGetObjectId(bk_spi_get(i, 2, &isnull));
			dist_columns[i] = bk_spi_get_text(i, 3);
			table_types[i] = bk_spi_get_text(i, 4);
		}
	}
	for (int i = 0; i < ntables; i++)
	{
		DistTable t;
		bk_dist_read_dist_table(table_relids[i], &t);
		if (strcmp(t.table_type, table_types[i]) != 0)
		{
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("Citus table \"%s\" is of type \"%s\" now, not \"%s\" as when captured",
			                       bk_rel_qualified_name(table_relids[i]), bk_dist_table_type_words(t.table_type),
			                       bk_dist_table_type_words(table_types[i])),
			                errdetail("Each node restores the copies and shards it captured, and the table's rows are "
			                          "placed differently now."),
			                errhint(RESHARDED_HINT)));
		}
		// One tenant's rows are on one node only while every table distributed by a column is co-located with
		// the others (reference and single-shard tables are placed by other rules, below).
		if (tenant && strcmp(t.table_type, "hash") == 0)
		{
			if (first_colocation < 0)
			{
				first_colocation = t.colocation_id;
				first_relid = table_relids[i];
			}
			else if (t.colocation_id != first_colocation)
			{
				ereport(ERROR,
				        (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				         errmsg("the tables of a tenant restore must be co-located"),
				         errdetail("Tables \"%s\" and \"%s\" are in different Citus co-location groups.",
				                   bk_rel_qualified_name(first_relid), bk_rel_qualified_name(table_relids[i])),
				         errhint("Restore the tenant of each table in its own call, or co-locate the tables with "
				                 "alter_distributed_table(colocate_with => ...).")));
			}
		}
		if (t.dist_column && strcmp(t.dist_column, dist_columns[i]) != 0)
		{
			ereport(ERROR,
			        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			         errmsg("table \"%s\" is distributed by column \"%s\" now, not by \"%s\" as when captured",
			                bk_rel_qualified_name(table_relids[i]), t.dist_column, dist_columns[i]),
			         errdetail("Each node restores the shards it captured, and the rows of the table are in other "
			                   "shards now."),
			         errhint(RESHARDED_HINT)));
		}
		LockRelationOid(table_relids[i], dry_run ? AccessShareLock : RowExclusiveLock);
	}
	shards = bk_dist_read_snapshot_shards(id, table_nos, ntables, &nshards);
	// No shard added or removed (a split, or alter_distributed_table(shard_count => ...)), then every captured
	// shard still where it was captured (a move): either would leave rows or shards the node's part does not hold.
	{
		int now;
		(void) bk_dist_read_placements(table_relids, ntables, &now);
		if (now != nshards)
		{
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("the tables have %d shards now, distributed snapshot " INT64_FORMAT " holds %d", now,
			                       id, nshards),
			                errdetail("Each node restores the shards it captured, and Citus has re-sharded the tables "
			                          "since."),
			                errhint(RESHARDED_HINT)));
		}
	}
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
	// One tenant: only the shards of its shard group, in the tables distributed by a column. A reference
	// table's rows are shared by every tenant: it is left alone unless listed, and then only the captured rows it
	// lacks are put back, on every node (mode 'missing'), so that the tenant's rows find the rows they
	// reference. A single-shard table has no tenant column: refused when listed, left alone otherwise.
	keep = (bool *) palloc0(sizeof(bool) * Max(nshards, 1));
	if (tenant)
	{
		int kept = 0;
		int32 group = -1;
		for (int i = 0; i < ntables; i++)
		{
			Oid argtypes[2] = {REGCLASSOID, TEXTOID};
			Datum values[2] = {ObjectIdGetDatum(table_relids[i]), CStringGetTextDatum(tenant)};
			bool isnull;
			int64 shard_id;
			if (strcmp(table_types[i], "hash") != 0)
			{
				if (strcmp(table_types[i], "single_shard") == 0 && !PG_ARGISNULL(1))
				{
					ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					                errmsg("table \"%s\" has no distribution column to restore tenant \"%s\" by",
					                       bk_rel_qualified_name(table_relids[i]), tenant),
					                errdetail("It is a single-shard Citus table: all its rows are in one shard."),
					                errhint("Restore it without tenant, in a call of its own.")));
				}
				for (int s2 = 0; s2 < nshards; s2++)
				{
					keep[s2] = keep[s2] || (shards[s2].table_no == table_nos[i] &&
					                        strcmp(table_types[i], "reference") == 0 && !PG_ARGISNULL(1));
				}
				continue;
			}
			bk_spi_exec("SELECT pg_catalog.get_shard_id_for_distribution_column($1, $2)", 2, argtypes, values, NULL,
			            true, 1);
			shard_id = DatumGetInt64(bk_spi_get(0, 1, &isnull));
			for (int s2 = 0; s2 < nshards; s2++)
			{
				if (shards[s2].shard_id == shard_id)
				{
					if (group >= 0 && shards[s2].group_id != group)
					{
						ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						                errmsg("the tables of a tenant restore must be co-located"),
						                errdetail("The rows of tenant \"%s\" are on more than one node.", tenant)));
					}
					group = shards[s2].group_id;
					keep[s2] = true;
				}
			}
		}
		for (int s2 = 0; s2 < nshards; s2++)
		{
			if (keep[s2])
			{
				shards[kept++] = shards[s2];
			}
		}
		nshards = kept;
	}
	groups = (int32 *) palloc(sizeof(int32) * Max(nshards, 1));
	ngroups = bk_dist_distinct_groups(shards, nshards, groups);
	nodes = bk_dist_open_groups(op.cxt, groups, ngroups);
	// Staged paths use unlogged tables the transaction drops, not temporary ones, so that every node can
	// prepare (src/pg/restore/stage_table.cpp).
	bk_nodes_run_all(nodes, "BEGIN; SET LOCAL citus.enable_manual_changes_to_shards = on; "
	                        "SET LOCAL backupkit.two_phase_stages = on");
	if (tenant)
	{
		reference_reports =
		    restore_tenant_references(nodes, id, shards, nshards, ntables, table_nos, table_types, dry_run);
	}
	for (int g = 0; g < ngroups; g++)
	{
		BkNode *node = &nodes->nodes[g];
		char **names = (char **) palloc(sizeof(char *) * Max(nshards, 1));
		char **columns = (char **) palloc(sizeof(char *) * Max(nshards, 1));
		int k = 0;
		// Parents first, as the tables are ordered (with tenant, its shards only: references went first).
		for (int i = 0; i < ntables; i++)
		{
			for (int s = 0; s < nshards; s++)
			{
				if (shards[s].group_id == node->group_id && shards[s].table_no == table_nos[i] &&
				    !(tenant && strcmp(table_types[i], "hash") != 0))
				{
					columns[k] = dist_columns[i];
					names[k++] = shards[s].shard_name;
				}
			}
		}
		node->params[0] = bk_dist_worker_snapshot_id(id, node->group_id);
		node->params[1] = bk_dist_text_array_literal(names, k);
		node->params[2] = bk::restore_mode_name(mode);
		if (tenant && k == 0)
		{
			node->sql = NULL; // holds only copies of reference tables, restored above
		}
		else if (tenant)
		{
			node->sql = "SELECT backupkit.restore_tenant_shards($1::pg_catalog.int8, "
			            "$2::pg_catalog.text[]::pg_catalog.regclass[], $4::pg_catalog.name[], $5, $3)";
			node->params[3] = bk_dist_text_array_literal(columns, k);
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
			if (reference_reports && reference_reports[g])
			{
				// With tenant, a node's report is its reference copies' restore, then its tenant shards'.
				reports[g] = psprintf("{\"reference_tables\": %s, \"tenant_shards\": %s}", reference_reports[g],
				                      reports[g] ? reports[g] : "[]");
			}
			n_elems[g] = CStringGetTextDatum(node_names[g]);
			r_elems[g] = CStringGetTextDatum(reports[g] ? reports[g] : "null");
		}
		two_phase = dry_run || bk_dist_nodes_can_prepare(nodes);
		values[0] = Int64GetDatum(id);
		values[1] = CStringGetTextDatum(bk::restore_mode_name(mode));
		values[2] = BoolGetDatum(dry_run);
		values[3] = tenant ? CStringGetTextDatum(tenant) : (Datum) 0;
		values[4] = PointerGetDatum(construct_array(n_elems, ngroups, TEXTOID, -1, false, TYPALIGN_INT));
		values[5] = PointerGetDatum(construct_array(r_elems, ngroups, TEXTOID, -1, false, TYPALIGN_INT));
		values[6] = Float8GetDatum(bk_dist_ms_since(op.started));
		values[7] = CStringGetTextDatum(dry_run ? "rolled back" : (two_phase ? "two-phase" : "one node after another"));
		bk_spi_exec(
		    "SELECT pg_catalog.jsonb_build_object('snapshot_id', $1, 'mode', $2, 'dry_run', $3, 'tenant', $4, "
		    "'shards', (SELECT pg_catalog.count(*) FROM pg_catalog.unnest($6) r, "
		    "pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(r::jsonb) = 'array' THEN "
		    "r::jsonb WHEN r::jsonb ? 'tenant_shards' THEN r::jsonb -> 'tenant_shards' ELSE r::jsonb -> 'tables' "
		    "END) e), "
		    "'nodes', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('node', n, 'report', r::jsonb)) "
		    "FROM unnest($5, $6) u(n, r)), 'commit', $8, 'duration_ms', $7)",
		    8, argtypes, values, nulls, true, 1);
		report = SPI_datumTransfer(bk_spi_get(0, 1, &isnull), false, -1);
	}
	// Last: nothing after the nodes commit can fail but the operation log.
	bk_dist_finish_on_nodes(nodes, id, dry_run, two_phase);
	bk_nodes_close(nodes);
	bk_operation_log_success(
	    &op, 0,
	    psprintf("{\"mode\": \"%s\", \"nodes\": %d, \"shards\": %d}", bk::restore_mode_name(mode), ngroups, nshards));
	// The report is in the caller's context already (SPI_datumTransfer).
	PG_RETURN_DATUM(bk_operation_end(&op, report, BK_OP_RESULT_AS_IS));
}
