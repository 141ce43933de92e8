// Connections from the coordinator to Citus nodes, for work that must run on the node storing a shard
// (capture and restore of shards by the node's own backupkit). Statements are sent to every node at once and
// awaited together, so nodes work in parallel; the backend stays interruptible while it waits.
//
// Connections are libpq connections owned by a memory context: a reset callback cancels what is still
// running and closes them, so an error or a cancel anywhere closes every connection, and each node rolls
// back what it had not committed.
#pragma once
extern "C"
{
#include "postgres.h"
#include "libpq-fe.h"
}

#define BK_NODE_MAX_PARAMS 6

typedef struct BkNode
{
	int32 group_id;
	char *name;
	int port;
	PGconn *conn;
	// The statement bk_nodes_run sends next (NULL: nothing for this node) and its text parameters.
	const char *sql;
	int nparams;
	const char *params[BK_NODE_MAX_PARAMS];
	// The last result of the statement, until the next bk_nodes_run (NULL when it returned no rows).
	PGresult *result;
	bool busy;
} BkNode;

typedef struct BkNodeSet
{
	int count;
	BkNode *nodes;
	MemoryContextCallback cleanup;
} BkNodeSet;

// Connects to each node (name and port as pg_dist_node lists them) as the current user, to the current
// database, with citus.node_conninfo's options as Citus does. The set lives as long as cxt.
BkNodeSet *bk_nodes_open(MemoryContext cxt, int count, const int32 *groups, char *const *names, const int *ports);
// The node of group_id, or NULL.
BkNode *bk_nodes_find(BkNodeSet *set, int32 group_id);
// Sends each node its sql (with its params) at once and waits for all of them; when any failed, raises the
// first node's error (its SQLSTATE, message, detail and hint, with the node named in the context) after
// every node has finished.
void bk_nodes_run(BkNodeSet *set);
// The same statement, without parameters, on every node.
void bk_nodes_run_all(BkNodeSet *set, const char *sql);
// Text of a result value (row, column), palloc'd in the current context; NULL for SQL NULL.
char *bk_node_value(const BkNode *node, int row, int col);
// Closes the connections now (the callback then has nothing left to do).
void bk_nodes_close(BkNodeSet *set);
