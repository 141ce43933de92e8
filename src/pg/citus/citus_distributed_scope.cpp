// Holding off distributed commits on metadata-synced workers, the map's seal, reference-table copies, and
// the refusal of distributed snapshot ids by single-server functions (see citus_distributed_scope.hpp).
#include "core/codec/metadata_seal.hpp"

extern "C"
{
#include "postgres.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timeout.h"
}

#include "pg/citus/citus_distributed.hpp"
#include "pg/citus/citus_distributed_scope.hpp"
#include "pg/citus/citus_nodes.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/spi.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_hold_distributed_commits);
}

// How long a node holds commits at most when the coordinator that asked goes quiet (its session is ended).
#define BK_HOLD_MAX_MS 10000

// The bound of a hold (any role that may capture can call hold_distributed_commits directly and keep its
// transaction busy): max_ms after the locks are taken, a timeout ends the session whatever it is doing, as
// PostgreSQL's SIGTERM handler does (ProcDiePending: the next CHECK_FOR_INTERRUPTS, or the wait for the
// client, ends it with FATAL, which releases the locks). ProcessInterrupts words that FATAL as an
// administrator's command; the log hook below words it as the hold's end instead, only in a session whose
// hold expired. The end of the transaction disarms the timeout, so the connection of a capture that released
// in time lives on.
static TimeoutId hold_timeout = MAX_TIMEOUTS;
static volatile sig_atomic_t hold_expired = false;
static int hold_max_ms = 0;
static emit_log_hook_type previous_emit_log_hook = NULL;

static void
hold_timeout_handler(void)
{
	hold_expired = true;
	ProcDiePending = true;
	InterruptPending = true;
	SetLatch(MyLatch);
}

static void
hold_emit_log(ErrorData *edata)
{
	if (hold_expired && edata->elevel == FATAL && edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
	{
		edata->message = psprintf("terminating connection because it held distributed commits for longer than "
		                          "%d ms",
		                          hold_max_ms);
		edata->detail = pstrdup("backupkit.hold_distributed_commits() holds them until its transaction ends, at "
		                        "most max_ms after it took its locks.");
		edata->hint = NULL;
	}
	if (previous_emit_log_hook)
	{
		previous_emit_log_hook(edata);
	}
}

static void
hold_xact_end(XactEvent event, void *arg)
{
	if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
	     event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT) &&
	    hold_timeout != MAX_TIMEOUTS && get_timeout_active(hold_timeout))
	{
		disable_timeout(hold_timeout, false);
	}
}

// Arms the bound once per transaction: a second call cannot move the deadline.
static void
hold_arm_timeout(int max_ms)
{
	if (hold_timeout == MAX_TIMEOUTS)
	{
		hold_timeout = RegisterTimeout(USER_TIMEOUT, hold_timeout_handler);
		RegisterXactCallback(hold_xact_end, NULL);
		previous_emit_log_hook = emit_log_hook;
		emit_log_hook = hold_emit_log;
	}
	if (!get_timeout_active(hold_timeout))
	{
		hold_max_ms = max_ms;
		enable_timeout_after(hold_timeout, max_ms);
	}
}

// On a metadata node: the locks citus_create_restore_point takes on the coordinator. Citus logs every
// distributed transaction this node coordinates in its pg_dist_transaction before preparing it and sends
// COMMIT PREPARED before that lock is released, so ExclusiveLock waits for commits under way and holds off
// new ones. Held until the caller's transaction ends, at most max_ms (hold_arm_timeout).
Datum
bk_hold_distributed_commits(PG_FUNCTION_ARGS)
{
	int32 max_ms = PG_GETARG_INT32(0);
	const char *names[3] = {"pg_dist_node", "pg_dist_partition", "pg_dist_transaction"};

	if (max_ms < 1 || max_ms > BK_HOLD_MAX_MS)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("max_ms must be between 1 and %d", BK_HOLD_MAX_MS)));
	}
	// An idle holder is ended too (also bounded by the timeout below, whichever comes first).
	(void) set_config_option("idle_in_transaction_session_timeout", psprintf("%d", max_ms), PGC_USERSET, PGC_S_SESSION,
	                         GUC_ACTION_LOCAL, true, 0, false);
	for (int i = 0; i < 3; i++)
	{
		Oid relid = get_relname_relid(names[i], PG_CATALOG_NAMESPACE);
		if (!OidIsValid(relid))
		{
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("citus is not installed in this database on this node")));
		}
		LockRelationOid(relid, ExclusiveLock);
	}
	hold_arm_timeout(max_ms);
	PG_RETURN_VOID();
}

BkNodeSet *
bk_dist_open_metadata_nodes(MemoryContext cxt)
{
	int count;
	int32 *groups;
	char **names;
	int *ports;

	bk_spi_exec("SELECT groupid, nodename, nodeport FROM pg_catalog.pg_dist_node WHERE hasmetadata AND "
	            "metadatasynced AND isactive AND noderole = 'primary' AND groupid <> (SELECT groupid FROM "
	            "pg_catalog.pg_dist_local_group) ORDER BY groupid, nodeid",
	            0, NULL, NULL, NULL, true, 0);
	count = (int) SPI_processed;
	groups = (int32 *) palloc(sizeof(int32) * Max(count, 1));
	names = (char **) palloc(sizeof(char *) * Max(count, 1));
	ports = (int *) palloc(sizeof(int) * Max(count, 1));
	for (int i = 0; i < count; i++)
	{
		bool isnull;
		groups[i] = DatumGetInt32(bk_spi_get(i, 1, &isnull));
		names[i] = bk_spi_get_text(i, 2);
		ports[i] = DatumGetInt32(bk_spi_get(i, 3, &isnull));
	}
	return bk_nodes_open(cxt, count, groups, names, ports);
}

void
bk_dist_hold_commits_on(BkNodeSet *holders)
{
	bk_nodes_run_all(holders, psprintf("BEGIN; SELECT backupkit.hold_distributed_commits(%d)", (int) BK_HOLD_MAX_MS));
}

void
bk_dist_release_commits_on(BkNodeSet *holders)
{
	bk_nodes_run_all(holders, "ROLLBACK");
}

void
bk_dist_check_reference_copies(int64 id)
{
	Oid argtypes[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(id)};
	BkOwnerAccess access;

	bk_owner_begin(&access);
	bk_spi_exec("SELECT s.shard_id, min(s.shard_name), pg_catalog.count(*)::text, "
	            "pg_catalog.string_agg(s.group_id || ': ' || s.row_count || ' rows, fingerprint ' || "
	            "coalesce(s.content_fingerprint, 'none'), '; ' ORDER BY s.group_id) "
	            "FROM backupkit.distributed_snapshot_shard s WHERE s.snapshot_id = $1 "
	            "GROUP BY s.shard_id HAVING pg_catalog.count(*) > 1 AND "
	            "(pg_catalog.count(DISTINCT coalesce(s.content_fingerprint, '')) > 1 "
	            "OR pg_catalog.count(DISTINCT s.row_count) > 1) ORDER BY s.shard_id LIMIT 1",
	            1, argtypes, values, NULL, false, 1); // not read-only: the map may have been written just now
	bk_owner_end(&access);
	if (SPI_processed > 0)
	{
		ereport(
		    ERROR,
		    (errcode(ERRCODE_DATA_CORRUPTED),
		     errmsg("the copies of reference table shard %s differ between nodes in distributed snapshot " INT64_FORMAT,
		            bk_spi_get_text(0, 2), id),
		     errdetail("Node groups %s.", bk_spi_get_text(0, 4)),
		     errhint("Citus writes every copy of a reference table together; copies that differ were "
		             "changed on one node directly.")));
	}
}

// The parts of the map, as text: the row's fields a restore relies on (not the timings), the tables, the
// nodes and the shards, each in a fixed order and format.
#define MAP_PARTS 4
static const char *const map_part_names[MAP_PARTS] = {"snapshot row", "tables", "nodes", "shards"};

static bytea *
read_map(int64 id, bk::MetadataField *fields)
{
	Oid argtypes[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(id)};
	BkOwnerAccess access;
	bool isnull;
	Datum seal;

	bk_owner_begin(&access);
	bk_spi_exec(
	    "SELECT pg_catalog.jsonb_build_object('snapshot_id', s.snapshot_id, 'label', s.label, 'created_at', "
	    " pg_catalog.to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), 'created_by', "
	    " s.created_by, 'created_by_name', s.created_by_name, 'compression', s.compression, 'table_count', "
	    " s.table_count, 'shard_count', s.shard_count, 'row_count', s.row_count, 'stored_bytes', "
	    "s.stored_bytes)::text, "
	    "(SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(t.table_no, t.relid, t.schema_name, t.table_name, "
	    " t.distribution_column, t.colocation_id, t.row_count, t.table_type) ORDER BY t.table_no)::text "
	    " FROM backupkit.distributed_snapshot_table t WHERE t.snapshot_id = s.snapshot_id), "
	    "(SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(n.group_id, n.node_name, n.node_port, "
	    " n.worker_snapshot_id, n.node_snapshot) ORDER BY n.group_id)::text "
	    " FROM backupkit.distributed_snapshot_node n WHERE n.snapshot_id = s.snapshot_id), "
	    "(SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(x.shard_id, x.group_id, x.table_no, x.shard_name, "
	    " x.shard_min_value, x.shard_max_value, x.worker_table_no, x.row_count, x.checksum, x.content_fingerprint) "
	    " ORDER BY x.shard_id, x.group_id)::text "
	    " FROM backupkit.distributed_snapshot_shard x WHERE x.snapshot_id = s.snapshot_id), "
	    "s.map_checksum FROM backupkit.distributed_snapshot s WHERE s.snapshot_id = $1",
	    1, argtypes, values, NULL, false, 1); // not read-only: the map may have been written just now
	bk_owner_end(&access);
	if (SPI_processed != 1)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
		                errmsg("distributed snapshot " INT64_FORMAT " does not exist", id)));
	}
	for (int f = 0; f < MAP_PARTS; f++)
	{
		fields[f].name = map_part_names[f];
		fields[f].value = bk_spi_get_text(0, f + 1);
		fields[f].len = fields[f].value ? strlen(fields[f].value) : 0;
	}
	seal = bk_spi_get(0, MAP_PARTS + 1, &isnull);
	return isnull ? NULL : (bytea *) PG_DETOAST_DATUM_COPY(seal);
}

void
bk_dist_seal_map(int64 id)
{
	bk::MetadataField fields[MAP_PARTS];
	size_t size = bk::metadata_seal_size(MAP_PARTS);
	bytea *seal = (bytea *) palloc(VARHDRSZ + size);
	Oid argtypes[2] = {INT8OID, BYTEAOID};
	Datum values[2];
	BkOwnerAccess access;

	(void) read_map(id, fields);
	SET_VARSIZE(seal, VARHDRSZ + size);
	bk::metadata_seal(bk::metadata_seal_version, "distributed snapshot", fields, MAP_PARTS,
	                  (unsigned char *) VARDATA(seal));
	values[0] = Int64GetDatum(id);
	values[1] = PointerGetDatum(seal);
	bk_owner_begin(&access);
	bk_spi_exec("UPDATE backupkit.distributed_snapshot SET map_checksum = $2 WHERE snapshot_id = $1", 2, argtypes,
	            values, NULL, false, 0);
	bk_owner_end(&access);
}

void
bk_dist_verify_map(int64 id)
{
	bk::MetadataField fields[MAP_PARTS];
	bool differs[MAP_PARTS];
	bytea *seal = read_map(id, fields);
	bk::SealVerdict verdict;
	StringInfoData changed;

	if (seal == NULL)
	{
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("distributed snapshot " INT64_FORMAT " is corrupted: its map has no checksum", id),
		                errdetail("The map was not completely written, or its checksum was removed."),
		                errhint("Drop it with backupkit.drop_distributed_snapshot() only after checking its parts "
		                        "on the nodes by hand; take a new distributed snapshot.")));
	}
	verdict = bk::metadata_seal_verify("distributed snapshot", fields, MAP_PARTS,
	                                   (const unsigned char *) VARDATA_ANY(seal), VARSIZE_ANY_EXHDR(seal), differs);
	if (verdict == bk::SealVerdict::intact)
	{
		return;
	}
	initStringInfo(&changed);
	for (int f = 0; f < MAP_PARTS && verdict == bk::SealVerdict::fields_differ; f++)
	{
		if (differs[f])
		{
			appendStringInfo(&changed, "%s%s", changed.len ? ", " : "", map_part_names[f]);
		}
	}
	ereport(ERROR,
	        (errcode(ERRCODE_DATA_CORRUPTED),
	         errmsg("distributed snapshot " INT64_FORMAT " is corrupted: its map does not match its checksum", id),
	         verdict == bk::SealVerdict::fields_differ ? errdetail("Changed since the capture: %s.", changed.data)
	                                                   : errdetail("The map's checksum itself is damaged."),
	         errhint("Nothing was read from or written to the nodes; take a new distributed snapshot.")));
}

void
bk_dist_refuse_local_use(int64 snapshot_id)
{
	Oid argtypes[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(snapshot_id)};
	BkOwnerAccess access;
	bool found;

	if (!OidIsValid(get_relname_relid("distributed_snapshot", get_namespace_oid("backupkit", true))))
	{
		return;
	}
	bk_owner_begin(&access);
	bk_spi_exec("SELECT FROM backupkit.distributed_snapshot WHERE snapshot_id = $1", 1, argtypes, values, NULL, true,
	            1);
	bk_owner_end(&access);
	found = SPI_processed > 0;
	if (found)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		         errmsg("snapshot " INT64_FORMAT " is a distributed snapshot", snapshot_id),
		         errdetail("Its rows are stored in parts on the Citus nodes, which the functions for snapshots of one "
		                   "server do not read, export, pin or drop."),
		         errhint("Use backupkit.restore_distributed(), backupkit.validate_distributed(), "
		                 "backupkit.prune_distributed_snapshots() or backupkit.drop_distributed_snapshot().")));
	}
}

void
bk_dist_drop_snapshots(MemoryContext cxt, const int64 *ids, int n)
{
	Oid argtypes[1] = {INT8ARRAYOID};
	Datum values[1];
	Datum *elems = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	BkOwnerAccess access;
	BkNodeSet *nodes;
	int ngroups;
	int32 *groups;
	char **worker_ids;

	if (n == 0)
	{
		return;
	}
	for (int i = 0; i < n; i++)
	{
		// A map that does not match its checksum could name parts of other snapshots.
		bk_dist_verify_map(ids[i]);
		elems[i] = Int64GetDatum(ids[i]);
	}
	values[0] = PointerGetDatum(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	bk_owner_begin(&access);
	bk_spi_exec("SELECT group_id, '{' || pg_catalog.string_agg(worker_snapshot_id::text, ',') || '}' "
	            "FROM backupkit.distributed_snapshot_node WHERE snapshot_id = ANY ($1) GROUP BY group_id "
	            "ORDER BY group_id",
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
	nodes = bk_dist_open_groups(cxt, groups, ngroups);
	bk_nodes_run_all(nodes, "BEGIN");
	for (int g = 0; g < ngroups; g++)
	{
		BkNode *node = bk_nodes_find(nodes, groups[g]);
		// Parts are pinned on their node (so that the node's own prune leaves them): unpinned, then dropped. A
		// part that is missing (validate_distributed reports it) leaves nothing to drop on its node.
		node->sql =
		    "SELECT backupkit.drop_snapshot(x.w) FROM (SELECT w FROM pg_catalog.unnest($1::pg_catalog.int8[]) w "
		    "WHERE EXISTS (SELECT FROM backupkit.snapshots s WHERE s.id = w)) x, "
		    "LATERAL backupkit.pin_snapshot(x.w, false) p";
		node->nparams = 1;
		node->params[0] = worker_ids[g];
	}
	bk_nodes_run(nodes);
	bk_owner_begin(&access);
	bk_spi_exec("DELETE FROM backupkit.distributed_snapshot WHERE snapshot_id = ANY ($1)", 1, argtypes, values, NULL,
	            false, 0);
	bk_owner_end(&access);
	bk_dist_finish_on_nodes(nodes, ids[0], false, true);
	bk_nodes_close(nodes);
}

const char *
bk_dist_table_type_words(const char *table_type)
{
	if (strcmp(table_type, "hash") == 0)
	{
		return "hash-distributed";
	}
	return strcmp(table_type, "single_shard") == 0 ? "single-shard" : table_type;
}
