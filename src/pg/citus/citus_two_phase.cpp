// Two-phase commit of distributed operations, decided by the coordinator's own commit (the order of commits
// is written at the top of citus_distributed.cpp; recovery of what a crash leaves is citus_recovery.cpp).
//
// The decision. Before any node prepares, the operation writes one row per node into
// backupkit.distributed_transaction in the coordinator's transaction, named by the node's prepared
// transaction (gid). The nodes prepare; the coordinator's transaction then commits or aborts, and that is
// the decision: the rows exist, durably, exactly when the coordinator committed. Only after the commit does
// an end-of-transaction callback send COMMIT PREPARED (ROLLBACK PREPARED on abort, also of the subtransaction
// that prepared them). A crash, kill -9, lost connection or pg_terminate_backend anywhere leaves prepared
// transactions whose fate the coordinator's table already says.
#include <signal.h>

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
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"
}

#include "pg/citus/citus_distributed.hpp"
#include "pg/citus/citus_recovery.hpp"
#include "pg/citus/citus_two_phase.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/operation.hpp"
#include "pg/support/spi.hpp"

// ---- fault injection (tests only) ----

static char *fault_injection = NULL;
static const char *const fault_values[] = {"prepared:kill", "prepared:sleep", "committed:kill", "committed:disconnect",
                                           "node_committed:kill"};

static bool
check_fault_injection(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		return true;
	}
	for (size_t i = 0; i < lengthof(fault_values); i++)
	{
		if (strcmp(*newval, fault_values[i]) == 0)
		{
			return true;
		}
	}
	GUC_check_errdetail("Valid values are \"\", \"prepared:kill\", \"prepared:sleep\", \"committed:kill\", "
	                    "\"committed:disconnect\" and \"node_committed:kill\".");
	return false;
}

void
bk_dist_recovery_init(void)
{
	DefineCustomStringVariable(
	    "backupkit.fault_injection", "Stops a distributed operation at a point of its two-phase commit (tests only).",
	    "point:action, the point being prepared (every node prepared, the coordinator not yet "
	    "committed), committed (the coordinator committed, no node yet) or node_committed (one "
	    "node committed).",
	    &fault_injection, "", PGC_SUSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE, check_fault_injection, NULL, NULL);
}

// The action the fault setting asks for at point, or NULL.
static const char *
fault_action(const char *point)
{
	size_t len = strlen(point);
	if (fault_injection == NULL || strncmp(fault_injection, point, len) != 0 || fault_injection[len] != ':')
	{
		return NULL;
	}
	return fault_injection + len + 1;
}

// kill: the backend dies as under kill -9 (no abort, no callback). sleep (only where interrupts may be
// served): waits up to a minute for a cancel or pg_terminate_backend. Both log the point first, so a test
// knows when it is there.
void
bk_dist_fault(const char *point)
{
	const char *action = fault_action(point);
	if (action == NULL)
	{
		return;
	}
	elog(LOG, "backupkit fault injection: %s at %s", action, point);
	if (strcmp(action, "kill") == 0)
	{
		kill(MyProcPid, SIGKILL);
		for (;;)
		{
			pg_usleep(1000000L);
		}
	}
	if (strcmp(action, "sleep") == 0)
	{
		for (int i = 0; i < 600; i++)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100L, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
}

// ---- identity of this coordinator ----

char *
bk_dist_coordinator_id(void)
{
	return psprintf(UINT64_FORMAT ":%u", GetSystemIdentifier(), MyDatabaseId);
}

// Whether gid is one this coordinator (system and database) made; fills out.
bool
bk_dist_parse_gid(const char *gid, ParsedGid *out)
{
	long long id;
	unsigned long long sysid, xid8;
	unsigned int dboid;
	int group, n;
	char *again;

	if (sscanf(gid, "backupkit_%lld_%llu_%u_%llu_%d_%d", &id, &sysid, &dboid, &xid8, &group, &n) != 6)
	{
		return false;
	}
	again = psprintf("backupkit_%lld_%llu_%u_%llu_%d_%d", id, sysid, dboid, xid8, group, n);
	if (strcmp(again, gid) != 0 || sysid != (unsigned long long) GetSystemIdentifier() || dboid != MyDatabaseId)
	{
		return false;
	}
	out->snapshot_id = (int64) id;
	out->xid8 = (uint64) xid8;
	out->group_id = group;
	return true;
}

// ---- statements on one node, errors kept instead of raised ----

// Waits for the node's statement; false when the connection broke. interruptible: serves cancels (never
// inside the end-of-transaction callbacks, where an error would be a PANIC); else gives up after timeout_s.
static bool
wait_node(PGconn *conn, bool interruptible, int timeout_s)
{
	TimestampTz deadline = GetCurrentTimestamp() + (TimestampTz) timeout_s * 1000000;
	while (PQisBusy(conn))
	{
		int rc;
		if (!interruptible && GetCurrentTimestamp() > deadline)
		{
			return false;
		}
		rc = WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_SOCKET_READABLE | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
		                       PQsocket(conn), 100L, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
		}
		if (interruptible)
		{
			CHECK_FOR_INTERRUPTS();
		}
		if (!PQconsumeInput(conn))
		{
			return false;
		}
	}
	return true;
}

// Runs sql (one parameter or none) on conn and returns NULL on success, else the error text (palloc'd); sets
// *sqlstate to its SQLSTATE ("" when the connection failed).
char *
bk_node_exec_kept(PGconn *conn, const char *sql, const char *param, bool interruptible, char *sqlstate)
{
	PGresult *res, *last = NULL;
	char *error = NULL;

	sqlstate[0] = '\0';
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK ||
	    !(param ? PQsendQueryParams(conn, sql, 1, NULL, &param, NULL, NULL, 0) : PQsendQuery(conn, sql)) ||
	    !wait_node(conn, interruptible, 30))
	{
		return pstrdup(conn ? PQerrorMessage(conn) : "no connection");
	}
	while ((res = PQgetResult(conn)) != NULL)
	{
		if (last)
		{
			PQclear(last);
		}
		last = res;
	}
	if (last == NULL || (PQresultStatus(last) != PGRES_COMMAND_OK && PQresultStatus(last) != PGRES_TUPLES_OK))
	{
		const char *state = last ? PQresultErrorField(last, PG_DIAG_SQLSTATE) : NULL;
		const char *msg = last ? PQresultErrorField(last, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		error = pstrdup(msg ? msg : PQerrorMessage(conn));
		if (state)
		{
			strlcpy(sqlstate, state, 6);
		}
	}
	if (last)
	{
		PQclear(last);
	}
	return error;
}

// A prepared transaction finished by someone else meanwhile (another recovery, the coordinator's own
// callback): "does not exist" or "is busy".
bool
bk_dist_finished_elsewhere(const char *sqlstate)
{
	return strcmp(sqlstate, "42704") == 0 || strcmp(sqlstate, "55000") == 0;
}

// ---- the prepared transactions of the coordinator's transaction ----

typedef struct PendingNode
{
	PGconn *conn; // NULL once finished
	bool lost;    // the connection was lost before the node was finished (committed:disconnect)
	char *gid;
	char *node;
	SubTransactionId subid;
} PendingNode;

// In TopTransactionContext; reset at the end of every transaction that prepared.
static PendingNode *pending = NULL;
static int npending = 0, maxpending = 0;
static bool callbacks_registered = false;
static int gid_counter = 0;

static void
finish_pending(PendingNode *p, bool commit)
{
	char sqlstate[6];
	char *error;
	char *sql = psprintf("%s PREPARED %s", commit ? "COMMIT" : "ROLLBACK", quote_literal_cstr(p->gid));

	error = bk_node_exec_kept(p->conn, sql, NULL, false, sqlstate);
	if (error && !bk_dist_finished_elsewhere(sqlstate))
	{
		// One whole message per decision (no verb inserted into a sentence).
		if (commit)
			ereport(WARNING,
			        (errmsg("could not commit prepared transaction \"%s\" on Citus node \"%s\"", p->gid, p->node),
			         errdetail_internal("%s", error),
			         errhint("It holds its locks on the node until backupkit.recover_distributed() commits it, as "
			                 "the coordinator decided.")));
		else
			ereport(WARNING,
			        (errmsg("could not roll back prepared transaction \"%s\" on Citus node \"%s\"", p->gid, p->node),
			         errdetail_internal("%s", error),
			         errhint("It holds its locks on the node until backupkit.recover_distributed() rolls it back, "
			                 "as the coordinator decided.")));
	}
	if (p->conn)
	{
		PQfinish(p->conn);
	}
	p->conn = NULL;
}

// Nothing here may raise an error: on commit the coordinator's transaction is already committed.
static void
finish_all_pending(bool commit)
{
	if (commit)
	{
		bk_dist_fault("committed");
		if (fault_action("committed") && npending > 0)
		{
			// committed:disconnect: the connection to the first node is lost before its COMMIT PREPARED.
			PQfinish(pending[0].conn);
			pending[0].conn = NULL;
			pending[0].lost = true;
		}
	}
	for (int i = 0; i < npending; i++)
	{
		if (pending[i].conn || pending[i].lost)
		{
			finish_pending(&pending[i], commit);
		}
		if (commit && i == 0 && npending > 1)
		{
			bk_dist_fault("node_committed");
		}
	}
	pending = NULL;
	npending = maxpending = 0;
}

static void
xact_callback(XactEvent event, void *arg)
{
	if (npending == 0)
	{
		return;
	}
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			// Distributed operations refuse to run in a transaction block, so this cannot happen.
			elog(ERROR, "cannot prepare a transaction that prepared transactions on Citus nodes");
			break;
		case XACT_EVENT_COMMIT:
			finish_all_pending(true);
			break;
		case XACT_EVENT_ABORT:
			finish_all_pending(false);
			break;
		default:
			break;
	}
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	for (int i = 0; i < npending; i++)
	{
		if (pending[i].conn == NULL || pending[i].subid != mySubid)
		{
			continue;
		}
		if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			// The decision rows went with the subtransaction: the nodes roll back now.
			finish_pending(&pending[i], false);
		}
		else if (event == SUBXACT_EVENT_COMMIT_SUB)
		{
			pending[i].subid = parentSubid;
		}
	}
}

void
bk_dist_prepare_on_nodes(BkNodeSet *nodes, int64 id, const char *operation)
{
	char **gids = (char **) palloc(sizeof(char *) * Max(nodes->count, 1));
	FullTransactionId fxid = GetTopFullTransactionId();
	BkOwnerAccess access;

	if (!callbacks_registered)
	{
		RegisterXactCallback(xact_callback, NULL);
		RegisterSubXactCallback(subxact_callback, NULL);
		callbacks_registered = true;
	}
	// The decision rows first, in the coordinator's transaction: they commit with it or not at all.
	bk_owner_begin(&access);
	for (int g = 0; g < nodes->count; g++)
	{
		BkNode *node = &nodes->nodes[g];
		Oid argtypes[7] = {TEXTOID, INT4OID, TEXTOID, INT4OID, TEXTOID, INT8OID, OIDOID};
		Datum values[7];
		gids[g] = psprintf("backupkit_" INT64_FORMAT "_" UINT64_FORMAT "_%u_" UINT64_FORMAT "_%d_%d", id,
		                   GetSystemIdentifier(), MyDatabaseId, U64FromFullTransactionId(fxid), node->group_id,
		                   ++gid_counter);
		values[0] = CStringGetTextDatum(gids[g]);
		values[1] = Int32GetDatum(node->group_id);
		values[2] = CStringGetTextDatum(node->name);
		values[3] = Int32GetDatum(node->port);
		values[4] = CStringGetTextDatum(operation);
		values[5] = Int64GetDatum(id);
		values[6] = ObjectIdGetDatum(GetUserId());
		bk_spi_exec("INSERT INTO backupkit.distributed_transaction (gid, group_id, node_name, node_port, operation, "
		            "snapshot_id, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		            7, argtypes, values, NULL, false, 0);
		node->sql = psprintf("PREPARE TRANSACTION %s", quote_literal_cstr(gids[g]));
	}
	bk_owner_end(&access);
	PG_TRY();
	{
		bk_nodes_run(nodes);
	}
	PG_CATCH();
	{
		// Nodes that prepared keep their transaction after the connection closes: roll those back by name
		// (recovery would, the decision rows being rolled back). A node that failed to prepare rolled back.
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
	// The connections now belong to the coordinator's transaction, which finishes the nodes when it ends.
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
		if (npending + nodes->count > maxpending)
		{
			int size = Max(8, (npending + nodes->count) * 2);
			pending = pending ? (PendingNode *) repalloc(pending, sizeof(PendingNode) * size)
			                  : (PendingNode *) palloc(sizeof(PendingNode) * size);
			maxpending = size;
		}
		for (int g = 0; g < nodes->count; g++)
		{
			BkNode *node = &nodes->nodes[g];
			PendingNode *p = &pending[npending++];
			p->conn = node->conn;
			p->lost = false;
			p->gid = pstrdup(gids[g]);
			p->node = psprintf("%s:%d", node->name, node->port);
			p->subid = GetCurrentSubTransactionId();
			node->conn = NULL;
		}
		MemoryContextSwitchTo(old);
	}
	bk_dist_fault("prepared");
}

// Whether gid is a prepared transaction of this backend's open transaction (its coordinator is running).
bool
bk_dist_gid_pending(const char *gid)
{
	for (int i = 0; i < npending; i++)
	{
		if (pending[i].conn && strcmp(pending[i].gid, gid) == 0)
		{
			return true;
		}
	}
	return false;
}
