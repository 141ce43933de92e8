// Parallel statements on Citus nodes over libpq (see citus_nodes.hpp).
#include <poll.h>

extern "C"
{
#include "postgres.h"
#include "libpq-fe.h"
#include "commands/dbcommands.h"
#include "common/string.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"
}

#include "pg/citus/citus_nodes.hpp"
#include "pg/support/compat.hpp"

// Runs on abort as on success: cancels statements still running (a node would otherwise finish a long
// capture for nothing before noticing the closed connection), then closes every connection.
static void
nodes_cleanup(void *arg)
{
	BkNodeSet *set = (BkNodeSet *) arg;
	for (int i = 0; i < set->count; i++)
	{
		BkNode *node = &set->nodes[i];
		if (node->result)
		{
			PQclear(node->result);
			node->result = NULL;
		}
		if (node->conn)
		{
			if (node->busy)
			{
				PGcancel *cancel = PQgetCancel(node->conn);
				char buf[256];
				if (cancel)
				{
					PQcancel(cancel, buf, sizeof(buf));
					PQfreeCancel(cancel);
				}
			}
			PQfinish(node->conn);
			node->conn = NULL;
		}
		node->busy = false;
	}
}

static PGconn *
connect_node(const char *name, int port)
{
	const char *keywords[64];
	const char *values[64];
	int n = 0;
	char portbuf[16];
	const char *conninfo = GetConfigOption("citus.node_conninfo", true, false);
	PQconninfoOption *options = NULL;
	PGconn *conn;

	// Citus's own connection options first (e.g. sslmode), then where and as whom.
	if (conninfo && conninfo[0])
	{
		char *err = NULL;
		options = PQconninfoParse(conninfo, &err);
		if (err)
		{
			PQfreemem(err);
		}
		for (PQconninfoOption *o = options; o && o->keyword && n < 56; o++)
		{
			if (o->val && o->val[0])
			{
				keywords[n] = o->keyword;
				values[n++] = o->val;
			}
		}
	}
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	keywords[n] = "host";
	values[n++] = name;
	keywords[n] = "port";
	values[n++] = portbuf;
	keywords[n] = "dbname";
	values[n++] = get_database_name(MyDatabaseId);
	keywords[n] = "user";
	values[n++] = GetUserNameFromId(GetUserId(), false);
	keywords[n] = "application_name";
	values[n++] = "backupkit";
	// Citus hides shards from pg_class on the nodes; backupkit reads the catalog rows of the shards it
	// captures and restores there.
	keywords[n] = "options";
	values[n++] = "-c citus.show_shards_for_app_name_prefixes=backupkit";
	keywords[n] = NULL;
	values[n] = NULL;
	conn = PQconnectdbParams(keywords, values, 0);
	if (options)
	{
		PQconninfoFree(options);
	}
	return conn;
}

BkNodeSet *
bk_nodes_open(MemoryContext cxt, int count, const int32 *groups, char *const *names, const int *ports)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	BkNodeSet *set = (BkNodeSet *) palloc0(sizeof(BkNodeSet));

	set->count = count;
	set->nodes = (BkNode *) palloc0(sizeof(BkNode) * Max(count, 1));
	set->cleanup.func = nodes_cleanup;
	set->cleanup.arg = set;
	MemoryContextRegisterResetCallback(cxt, &set->cleanup);
	for (int i = 0; i < count; i++)
	{
		BkNode *node = &set->nodes[i];
		node->group_id = groups[i];
		node->name = pstrdup(names[i]);
		node->port = ports[i];
		node->conn = connect_node(node->name, node->port);
		if (PQstatus(node->conn) != CONNECTION_OK)
		{
			char *reason = pstrdup(PQerrorMessage(node->conn));
			pg_strip_crlf(reason);
			ereport(ERROR, (errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
			                errmsg("could not connect to Citus node \"%s:%d\"", node->name, node->port),
			                errdetail_internal("%s", reason)));
		}
	}
	MemoryContextSwitchTo(old);
	return set;
}

BkNode *
bk_nodes_find(BkNodeSet *set, int32 group_id)
{
	for (int i = 0; i < set->count; i++)
	{
		if (set->nodes[i].group_id == group_id)
		{
			return &set->nodes[i];
		}
	}
	return NULL;
}

// Reads what has arrived; false once the node's statement is complete. The last result is kept: an error
// result wins over any later one, so the error is what the caller sees.
static bool
collect(BkNode *node)
{
	if (!PQconsumeInput(node->conn))
	{
		node->busy = false;
		return false;
	}
	while (!PQisBusy(node->conn))
	{
		PGresult *res = PQgetResult(node->conn);
		if (res == NULL)
		{
			node->busy = false;
			return false;
		}
		if (node->result && PQresultStatus(node->result) == PGRES_FATAL_ERROR)
		{
			PQclear(res);
			continue;
		}
		if (node->result)
		{
			PQclear(node->result);
		}
		node->result = res;
	}
	return true;
}

// A PGresult error field copied into palloc'd memory (NULL when absent), line ends stripped.
static char *
node_error_field(const BkNode *node, int field)
{
	const char *value = node->result ? PQresultErrorField(node->result, field) : NULL;
	char *copy;
	if (value == NULL)
	{
		return NULL;
	}
	copy = pstrdup(value);
	pg_strip_crlf(copy);
	return copy;
}

// The node's error as the node raised it: its SQLSTATE, message, detail, hint and context (which names the
// shard when the node's statement did), the schema, table and constraint it names, then a context line
// naming the node. A failure without a result (a lost connection) is a connection failure.
static void
raise_node_error(BkNode *node)
{
	char *state = node_error_field(node, PG_DIAG_SQLSTATE);
	char *message = node_error_field(node, PG_DIAG_MESSAGE_PRIMARY);
	char *detail = node_error_field(node, PG_DIAG_MESSAGE_DETAIL);
	char *hint = node_error_field(node, PG_DIAG_MESSAGE_HINT);
	char *context = node_error_field(node, PG_DIAG_CONTEXT);
	char *schema = node_error_field(node, PG_DIAG_SCHEMA_NAME);
	char *table = node_error_field(node, PG_DIAG_TABLE_NAME);
	char *constraint = node_error_field(node, PG_DIAG_CONSTRAINT_NAME);
	int code = ERRCODE_CONNECTION_FAILURE;

	if (state && strlen(state) == 5)
	{
		code = MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]);
	}
	if (message == NULL)
	{
		message = pstrdup(PQerrorMessage(node->conn));
		pg_strip_crlf(message);
	}
	ereport(ERROR, (errcode(code), errmsg_internal("%s", message), detail ? errdetail_internal("%s", detail) : 0,
	                hint ? errhint("%s", hint) : 0, context ? errcontext("%s", context) : 0,
	                schema ? err_generic_string(PG_DIAG_SCHEMA_NAME, schema) : 0,
	                table ? err_generic_string(PG_DIAG_TABLE_NAME, table) : 0,
	                constraint ? err_generic_string(PG_DIAG_CONSTRAINT_NAME, constraint) : 0,
	                errcontext("on Citus node \"%s:%d\"", node->name, node->port)));
}

void
bk_nodes_run(BkNodeSet *set)
{
	struct pollfd *fds = (struct pollfd *) palloc(sizeof(struct pollfd) * Max(set->count, 1));
	BkNode *failed = NULL;

	for (int i = 0; i < set->count; i++)
	{
		BkNode *node = &set->nodes[i];
		if (node->result)
		{
			PQclear(node->result);
			node->result = NULL;
		}
		if (!node->sql)
		{
			continue;
		}
		// Without parameters, the simple protocol: several statements may go at once.
		if (!(node->nparams == 0
		          ? PQsendQuery(node->conn, node->sql)
		          : PQsendQueryParams(node->conn, node->sql, node->nparams, NULL, node->params, NULL, NULL, 0)))
		{
			failed = failed ? failed : node;
			continue;
		}
		node->busy = true;
	}
	for (;;)
	{
		int waiting = 0;
		for (int i = 0; i < set->count; i++)
		{
			BkNode *node = &set->nodes[i];
			if (node->busy && collect(node))
			{
				fds[waiting].fd = PQsocket(node->conn);
				fds[waiting].events = POLLIN;
				fds[waiting].revents = 0;
				waiting++;
			}
		}
		if (waiting == 0)
		{
			break;
		}
		(void) poll(fds, waiting, 100);
		CHECK_FOR_INTERRUPTS();
	}
	for (int i = 0; i < set->count && !failed; i++)
	{
		BkNode *node = &set->nodes[i];
		if (node->sql && (node->result == NULL ? PQstatus(node->conn) != CONNECTION_OK
		                                       : PQresultStatus(node->result) == PGRES_FATAL_ERROR))
		{
			failed = node;
		}
	}
	pfree(fds);
	for (int i = 0; i < set->count; i++)
	{
		set->nodes[i].sql = NULL;
		set->nodes[i].nparams = 0;
	}
	if (failed)
	{
		raise_node_error(failed);
	}
}

void
bk_nodes_run_all(BkNodeSet *set, const char *sql)
{
	for (int i = 0; i < set->count; i++)
	{
		set->nodes[i].sql = sql;
		set->nodes[i].nparams = 0;
	}
	bk_nodes_run(set);
}

char *
bk_node_value(const BkNode *node, int row, int col)
{
	if (!node->result || row >= PQntuples(node->result) || col >= PQnfields(node->result) ||
	    PQgetisnull(node->result, row, col))
	{
		return NULL;
	}
	return pstrdup(PQgetvalue(node->result, row, col));
}

void
bk_nodes_close(BkNodeSet *set)
{
	nodes_cleanup(set);
}
