// Recovery of what a crash of a distributed operation at any moment leaves behind (how operations commit is
// citus_two_phase.cpp; the order of commits is written at the top of citus_distributed.cpp). Just over 500
// lines as one job: recover_distributed() and the recovery each operation runs first share every step here.
//
// Recovery (backupkit.recover_distributed(), and at the start of every distributed operation on the nodes it
// connects to). A gid is backupkit_<snapshot>_<system identifier>_<database oid>_<coordinator xid8>_<group>_<n>:
// gids of another coordinator are left alone; so is one whose coordinator transaction is still in progress
// (pg_xact_status). Otherwise the transaction is over, and a decision row visible to a snapshot taken after
// that check means commit, none means roll back. Decision rows are deleted once their prepared transaction is
// gone from the node: a row visible to a snapshot taken before the node's prepared transactions were listed
// belongs to a transaction that committed, hence prepared, before the listing, so its absence there means
// it was committed.
//
// Node parts without a map (backupkit.distributed_snapshot_part lists, on each node, the snapshots that are
// parts of a distributed snapshot and of which coordinator): a part commits only after the coordinator's map
// did, so a part whose map row is not there under a fresh snapshot is an orphan (a coordinator restored from
// an older backup, a map edited by hand); recover_distributed() drops it. A map row whose part is missing
// cannot be repaired: recover_distributed() reports it and validate_distributed() fails on it.
extern "C"
{
#include "postgres.h"
#include "libpq-fe.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"
#include "utils/wait_event.h"
}

#include "pg/citus/citus_distributed.hpp"
#include "pg/citus/citus_recovery.hpp"
#include "pg/citus/citus_two_phase.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/operation.hpp"
#include "pg/support/spi.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_recover_distributed);
	PG_FUNCTION_INFO_V1(bk_register_distributed_part);
}

// ---- recovery ----

typedef struct Recovery
{
	bool dry_run;
	bool explicit_call; // recover_distributed(): report every gid; else (start of an operation) log changes
	bool superuser;
	Tuplestorestate *store;
	TupleDesc desc;
	// The (group, distributed snapshot) of every prepared transaction left prepared: a part not committed
	// yet is not missing.
	int nleft;
	int32 left_group[64];
	int64 left_snapshot[64];
} Recovery;

static void
note_left(Recovery *rec, int32 group, int64 snapshot_id)
{
	if (rec->nleft < (int) lengthof(rec->left_group))
	{
		rec->left_group[rec->nleft] = group;
		rec->left_snapshot[rec->nleft++] = snapshot_id;
	}
}

static bool
was_left(const Recovery *rec, int32 group, int64 snapshot_id)
{
	for (int i = 0; i < rec->nleft; i++)
	{
		if (rec->left_group[i] == group && rec->left_snapshot[i] == snapshot_id)
		{
			return true;
		}
	}
	return rec->nleft >= (int) lengthof(rec->left_group);
}

static void
report(Recovery *rec, const BkNode *node, const char *action, const char *gid, int64 snapshot_id, const char *detail)
{
	char *where = psprintf("%s:%d", node->name, node->port);
	if (rec->store)
	{
		Datum values[5];
		bool nulls[5] = {false, false, gid == NULL, snapshot_id < 0, detail == NULL};
		values[0] = CStringGetTextDatum(where);
		values[1] = CStringGetTextDatum(action);
		values[2] = gid ? CStringGetTextDatum(gid) : (Datum) 0;
		values[3] = Int64GetDatum(snapshot_id);
		values[4] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
		tuplestore_putvalues(rec->store, rec->desc, values, nulls);
	}
	else
	{
		ereport(LOG, (errmsg("backupkit recovery: %s prepared transaction \"%s\" on Citus node \"%s\"", action,
		                     gid ? gid : "", where)));
	}
}

// A query on the coordinator under a snapshot taken now, whatever the isolation level: what it reads was
// committed before this call. Runs as the extension owner.
static int
exec_latest(const char *sql, int nargs, Oid *argtypes, Datum *values)
{
	BkOwnerAccess access;
	SPIPlanPtr plan;
	int rc;

	bk_owner_begin(&access);
	plan = bk_spi_prepare(sql, nargs, argtypes);
	rc = SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(), InvalidSnapshot, false, false, 0);
	bk_owner_end(&access);
	if (rc < 0)
	{
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(rc));
	}
	SPI_freeplan(plan);
	return rc;
}

static void
delete_decision(const char *gid)
{
	Oid argtypes[1] = {TEXTOID};
	Datum values[1] = {CStringGetTextDatum(gid)};
	BkOwnerAccess access;
	bk_owner_begin(&access);
	bk_spi_exec("DELETE FROM backupkit.distributed_transaction WHERE gid = $1", 1, argtypes, values, NULL, false, 0);
	bk_owner_end(&access);
}

// Whether the coordinator transaction xid8 is "in progress" (else it is over, and its decision row says how).
// A transaction killed before its WAL reached disk is lost in crash recovery, and the xid counter goes back
// below it: its xid8 is then "in the future", or reused by a later transaction, possibly this one. None of
// those can have committed it (a commit flushes the WAL first), and the decision row, which only the original
// transaction writes, stays the judge; a reused xid only makes recovery wait for that other transaction.
static const char *
coordinator_xact_status(uint64 xid8, const char *gid)
{
	Oid argtypes[1] = {TEXTOID};
	Datum values[1];
	FullTransactionId mine = GetTopFullTransactionIdIfAny();

	if (xid8 >= U64FromFullTransactionId(ReadNextFullTransactionId()))
	{
		return "lost in a crash";
	}
	if (FullTransactionIdIsValid(mine) && U64FromFullTransactionId(mine) == xid8 && !bk_dist_gid_pending(gid))
	{
		return "reused";
	}
	values[0] = CStringGetTextDatum(psprintf(UINT64_FORMAT, xid8));
	bk_spi_exec("SELECT pg_catalog.pg_xact_status($1::pg_catalog.xid8)", 1, argtypes, values, NULL, true, 1);
	return bk_spi_get_text(0, 1);
}

// Finishes the prepared transactions this coordinator left on the nodes (connections idle, outside a
// transaction) and deletes the decision rows of those already finished.
static void
recover_prepared(BkNodeSet *nodes, Recovery *rec)
{
	int ndecided;
	char **decided_gid;
	int32 *decided_group;
	char ***listed;
	bool **owned;
	int *nlisted;

	// 1. Decision rows committed before the nodes are listed.
	{
		Oid argtypes[1] = {INT4ARRAYOID};
		Datum *elems = (Datum *) palloc(sizeof(Datum) * Max(nodes->count, 1));
		Datum values[1];
		for (int g = 0; g < nodes->count; g++)
		{
			elems[g] = Int32GetDatum(nodes->nodes[g].group_id);
		}
		values[0] = PointerGetDatum(construct_array(elems, nodes->count, INT4OID, sizeof(int32), true, TYPALIGN_INT));
		exec_latest("SELECT gid, group_id FROM backupkit.distributed_transaction WHERE group_id = ANY ($1)", 1,
		            argtypes, values);
		ndecided = (int) SPI_processed;
		decided_gid = (char **) palloc(sizeof(char *) * Max(ndecided, 1));
		decided_group = (int32 *) palloc(sizeof(int32) * Max(ndecided, 1));
		for (int i = 0; i < ndecided; i++)
		{
			bool isnull;
			decided_gid[i] = bk_spi_get_text(i, 1);
			decided_group[i] = DatumGetInt32(bk_spi_get(i, 2, &isnull));
		}
	}
	// 2. The prepared transactions of backupkit on every node, in this database.
	bk_nodes_run_all(nodes, "SELECT gid, owner::pg_catalog.text = current_user FROM pg_catalog.pg_prepared_xacts "
	                        "WHERE database = pg_catalog.current_database() AND gid LIKE 'backupkit\\_%' ORDER BY gid");
	listed = (char ***) palloc(sizeof(char **) * Max(nodes->count, 1));
	owned = (bool **) palloc(sizeof(bool *) * Max(nodes->count, 1));
	nlisted = (int *) palloc(sizeof(int) * Max(nodes->count, 1));
	for (int g = 0; g < nodes->count; g++)
	{
		BkNode *node = &nodes->nodes[g];
		nlisted[g] = PQntuples(node->result);
		listed[g] = (char **) palloc(sizeof(char *) * Max(nlisted[g], 1));
		owned[g] = (bool *) palloc(sizeof(bool) * Max(nlisted[g], 1));
		for (int i = 0; i < nlisted[g]; i++)
		{
			char *mine = bk_node_value(node, i, 1);
			listed[g][i] = bk_node_value(node, i, 0);
			owned[g][i] = mine && strcmp(mine, "t") == 0;
		}
	}
	// 3. Each one as its coordinator transaction decided.
	for (int g = 0; g < nodes->count; g++)
	{
		BkNode *node = &nodes->nodes[g];
		for (int i = 0; i < nlisted[g]; i++)
		{
			ParsedGid parsed;
			const char *status;
			bool commit;
			char sqlstate[6];
			char *error;
			const char *gid = listed[g][i];

			if (!bk_dist_parse_gid(gid, &parsed))
			{
				if (rec->explicit_call)
				{
					report(rec, node, "left alone", gid, -1, "Not prepared by this coordinator and database.");
				}
				continue;
			}
			status = coordinator_xact_status(parsed.xid8, gid);
			if (status && strcmp(status, "in progress") == 0)
			{
				note_left(rec, node->group_id, parsed.snapshot_id);
				if (rec->explicit_call)
				{
					report(rec, node, "left running", gid, parsed.snapshot_id,
					       "The coordinator transaction that prepared it is still in progress.");
				}
				continue;
			}
			// Over: a decision row visible now means it committed.
			{
				Oid argtypes[1] = {TEXTOID};
				Datum values[1] = {CStringGetTextDatum(gid)};
				exec_latest("SELECT FROM backupkit.distributed_transaction WHERE gid = $1", 1, argtypes, values);
				commit = SPI_processed > 0;
			}
			if (!owned[g][i] && !rec->superuser)
			{
				note_left(rec, node->group_id, parsed.snapshot_id);
				if (rec->explicit_call)
				{
					report(rec, node, commit ? "left to commit" : "left to roll back", gid, parsed.snapshot_id,
					       "Another role prepared it: only a superuser may finish it.");
				}
				continue;
			}
			if (rec->dry_run)
			{
				note_left(rec, node->group_id, parsed.snapshot_id);
				report(rec, node, commit ? "would commit" : "would roll back", gid, parsed.snapshot_id, NULL);
				continue;
			}
			error = bk_node_exec_kept(
			    node->conn, psprintf("%s PREPARED %s", commit ? "COMMIT" : "ROLLBACK", quote_literal_cstr(gid)), NULL,
			    true, sqlstate);
			if (error && !bk_dist_finished_elsewhere(sqlstate))
			{
				note_left(rec, node->group_id, parsed.snapshot_id);
				report(rec, node, "failed", gid, parsed.snapshot_id, error);
				continue;
			}
			report(rec, node, error ? "finished meanwhile" : (commit ? "committed" : "rolled back"), gid,
			       parsed.snapshot_id, NULL);
			if (commit && !error)
			{
				delete_decision(gid);
			}
		}
	}
	// 4. Decision rows whose prepared transaction is gone: it was committed.
	for (int d = 0; d < ndecided && !rec->dry_run; d++)
	{
		BkNode *node = bk_nodes_find(nodes, decided_group[d]);
		bool found = false;
		int g = node ? (int) (node - nodes->nodes) : 0;
		for (int i = 0; node && i < nlisted[g] && !found; i++)
		{
			found = strcmp(listed[g][i], decided_gid[d]) == 0;
		}
		if (node && !found)
		{
			delete_decision(decided_gid[d]);
		}
	}
}

void
bk_dist_recover_on_nodes(BkNodeSet *nodes)
{
	Recovery rec;
	memset(&rec, 0, sizeof(rec));
	rec.superuser = superuser();
	recover_prepared(nodes, &rec);
}

// Node parts of this coordinator's distributed snapshots without a map row (dropped unless dry_run), and map
// rows whose node part is missing (reported).
static void
recover_parts(BkNodeSet *nodes, Recovery *rec)
{
	char *coordinator = bk_dist_coordinator_id();

	for (int g = 0; g < nodes->count; g++)
	{
		BkNode *node = &nodes->nodes[g];
		int nparts, nmap;
		int64 *part_worker, *part_snapshot;
		int32 *part_group;
		Oid argtypes[3] = {INT8OID, INT4OID, INT8OID};
		Datum values[3];

		// The map of this node first: a row committed before the node's parts are listed.
		values[0] = Int32GetDatum(node->group_id);
		{
			Oid margtypes[1] = {INT4OID};
			exec_latest("SELECT snapshot_id, worker_snapshot_id FROM backupkit.distributed_snapshot_node "
			            "WHERE group_id = $1 ORDER BY snapshot_id",
			            1, margtypes, values);
		}
		nmap = (int) SPI_processed;
		int64 *map_snapshot = (int64 *) palloc(sizeof(int64) * Max(nmap, 1));
		int64 *map_worker = (int64 *) palloc(sizeof(int64) * Max(nmap, 1));
		for (int i = 0; i < nmap; i++)
		{
			bool isnull;
			map_snapshot[i] = DatumGetInt64(bk_spi_get(i, 1, &isnull));
			map_worker[i] = DatumGetInt64(bk_spi_get(i, 2, &isnull));
		}
		node->sql = "SELECT worker_snapshot_id, snapshot_id, group_id FROM backupkit.distributed_snapshot_part "
		            "WHERE coordinator = $1 ORDER BY worker_snapshot_id";
		node->nparams = 1;
		node->params[0] = coordinator;
		{
			BkNodeSet one = *nodes;
			one.count = 1;
			one.nodes = node;
			bk_nodes_run(&one);
		}
		nparts = PQntuples(node->result);
		part_worker = (int64 *) palloc(sizeof(int64) * Max(nparts, 1));
		part_snapshot = (int64 *) palloc(sizeof(int64) * Max(nparts, 1));
		part_group = (int32 *) palloc(sizeof(int32) * Max(nparts, 1));
		for (int i = 0; i < nparts; i++)
		{
			part_worker[i] = pg_strtoint64(bk_node_value(node, i, 0));
			part_snapshot[i] = pg_strtoint64(bk_node_value(node, i, 1));
			part_group[i] = pg_strtoint32(bk_node_value(node, i, 2));
		}
		for (int i = 0; i < nmap; i++)
		{
			bool found = false;
			for (int k = 0; k < nparts && !found; k++)
			{
				found = part_worker[k] == map_worker[i] && part_snapshot[k] == map_snapshot[i];
			}
			if (!found && !was_left(rec, node->group_id, map_snapshot[i]))
			{
				report(rec, node, "missing part", NULL, map_snapshot[i],
				       psprintf("The map names snapshot " INT64_FORMAT " on the node, which is not there: the "
				                "distributed snapshot cannot be restored.",
				                map_worker[i]));
			}
		}
		// A part commits after its map row (two-phase commit decided by the coordinator): one without a map
		// row visible now is an orphan.
		for (int k = 0; k < nparts; k++)
		{
			char sqlstate[6];
			char *error;
			char *worker = psprintf(INT64_FORMAT, part_worker[k]);
			values[0] = Int64GetDatum(part_snapshot[k]);
			values[1] = Int32GetDatum(part_group[k]);
			values[2] = Int64GetDatum(part_worker[k]);
			exec_latest("SELECT FROM backupkit.distributed_snapshot_node WHERE snapshot_id = $1 AND group_id = $2 "
			            "AND worker_snapshot_id = $3",
			            3, argtypes, values);
			if (SPI_processed > 0)
			{
				continue;
			}
			if (rec->dry_run)
			{
				report(rec, node, "would drop orphan part", NULL, part_snapshot[k],
				       psprintf("Snapshot %s on the node has no row in the coordinator's map.", worker));
				continue;
			}
			error = bk_node_exec_kept(node->conn,
			                          // Parts are pinned on their node: unpinned, then dropped.
			                          "SELECT backupkit.drop_snapshot(x.w) FROM (SELECT $1::pg_catalog.int8 AS w) x, "
			                          "LATERAL backupkit.pin_snapshot(x.w, false) p",
			                          worker, true, sqlstate);
			report(rec, node, error ? "failed" : "dropped orphan part", NULL, part_snapshot[k],
			       error ? error : psprintf("Snapshot %s on the node had no row in the coordinator's map.", worker));
		}
	}
}

static bool
node_accepts_connections(const char *name, int port)
{
	const char *keywords[4] = {"host", "port", "connect_timeout", NULL};
	const char *values[4];
	char portbuf[16];
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	values[0] = name;
	values[1] = portbuf;
	values[2] = "10";
	values[3] = NULL;
	return PQpingParams(keywords, values, 0) == PQPING_OK;
}

// backupkit.recover_distributed(dry_run): every node of the cluster that accepts connections.
Datum
bk_recover_distributed(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Recovery rec;
	BkOperation op;
	BkNodeSet *nodes;
	int count;
	int32 *groups;
	char **names;
	int *ports;

	memset(&rec, 0, sizeof(rec));
	rec.dry_run = PG_ARGISNULL(0) ? false : PG_GETARG_BOOL(0);
	rec.explicit_call = true;
	rec.superuser = superuser();
	InitMaterializedSRF(fcinfo, 0);
	rec.store = rsinfo->setResult;
	rec.desc = rsinfo->setDesc;
	bk_dist_begin_operation(&op, "recover_distributed", "or rolls back prepared transactions",
	                        rec.dry_run ? "distributed recovery dry_run" : "distributed recovery", 0,
	                        "backupkit distributed recovery");
	bk_spi_exec("SELECT DISTINCT ON (groupid) groupid, nodename, nodeport FROM pg_catalog.pg_dist_node "
	            "WHERE noderole = 'primary' AND isactive ORDER BY groupid, nodeid",
	            0, NULL, NULL, NULL, true, 0);
	count = (int) SPI_processed;
	groups = (int32 *) palloc(sizeof(int32) * Max(count, 1));
	names = (char **) palloc(sizeof(char *) * Max(count, 1));
	ports = (int *) palloc(sizeof(int) * Max(count, 1));
	{
		int reachable = 0;
		for (int i = 0; i < count; i++)
		{
			bool isnull;
			groups[reachable] = DatumGetInt32(bk_spi_get(i, 1, &isnull));
			names[reachable] = bk_spi_get_text(i, 2);
			ports[reachable] = DatumGetInt32(bk_spi_get(i, 3, &isnull));
			// A node that is down must not keep the others from being recovered.
			if (node_accepts_connections(names[reachable], ports[reachable]))
			{
				reachable++;
			}
			else
			{
				BkNode down;
				memset(&down, 0, sizeof(down));
				down.name = names[reachable];
				down.port = ports[reachable];
				report(&rec, &down, "unreachable", NULL, -1,
				       "The node does not accept connections: what is left there waits for the next recovery.");
			}
		}
		count = reachable;
	}
	nodes = bk_nodes_open(op.cxt, count, groups, names, ports);
	recover_prepared(nodes, &rec);
	if (rec.superuser)
	{
		recover_parts(nodes, &rec);
	}
	bk_nodes_close(nodes);
	bk_operation_log_success(&op, 0, NULL);
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
	return (Datum) 0;
}

void
bk_dist_register_parts(BkNodeSet *nodes, int64 id, char **worker_ids)
{
	char *coordinator = bk_dist_coordinator_id();
	char *snapshot = psprintf(INT64_FORMAT, id);
	for (int g = 0; g < nodes->count; g++)
	{
		BkNode *node = &nodes->nodes[g];
		node->sql = "SELECT backupkit.register_distributed_part($1::pg_catalog.int8, $2::pg_catalog.int8, "
		            "$3::pg_catalog.int4, $4)";
		node->nparams = 4;
		node->params[0] = worker_ids[g];
		node->params[1] = snapshot;
		node->params[2] = psprintf("%d", node->group_id);
		node->params[3] = coordinator;
	}
	bk_nodes_run(nodes);
}

// backupkit.register_distributed_part, on a node: the caller must be allowed to use the snapshot.
Datum
bk_register_distributed_part(PG_FUNCTION_ARGS)
{
	int64 worker_id = bk_snapshot_id_arg(fcinfo, 0);
	BkSnapshot snap;
	BkOwnerAccess access;
	BkOperation op;
	Oid argtypes[4] = {INT8OID, INT8OID, INT4OID, TEXTOID};
	Datum values[4];

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		PG_RETURN_VOID();
	}
	bk_operation_begin(&op, "register_distributed_part", worker_id, BK_OP_NO_SETTINGS, NULL);
	bk_snapshot_fetch(worker_id, &snap);
	values[0] = Int64GetDatum(worker_id);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PG_GETARG_DATUM(2);
	values[3] = PG_GETARG_DATUM(3);
	bk_owner_begin(&access);
	bk_spi_exec("INSERT INTO backupkit.distributed_snapshot_part (worker_snapshot_id, snapshot_id, group_id, "
	            "coordinator) VALUES ($1, $2, $3, $4)",
	            4, argtypes, values, NULL, false, 0);
	bk_owner_end(&access);
	(void) bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
	PG_RETURN_VOID();
}
