// What the two-phase commit of distributed operations (citus_two_phase.cpp) shares with the recovery of
// what they leave behind (citus_recovery.cpp): the names of prepared transactions, statements on one node
// whose errors are kept instead of raised, and the prepared transactions of this backend's open transaction.
#pragma once
extern "C"
{
#include "postgres.h"
#include "libpq-fe.h"
}

typedef struct ParsedGid
{
	int64 snapshot_id;
	uint64 xid8;
	int32 group_id;
} ParsedGid;

// "<system identifier>:<database oid>": which coordinator a node part or prepared transaction belongs to.
char *bk_dist_coordinator_id(void);
// Whether gid is one this coordinator (system and database) made; fills out.
bool bk_dist_parse_gid(const char *gid, ParsedGid *out);
// Runs sql (one parameter or none) on conn and returns NULL on success, else the error text (palloc'd); sets
// *sqlstate to its SQLSTATE ("" when the connection failed). interruptible: serves cancels (never inside the
// end-of-transaction callbacks, where an error would be a PANIC); else gives up after 30 s.
char *bk_node_exec_kept(PGconn *conn, const char *sql, const char *param, bool interruptible, char *sqlstate);
// A prepared transaction finished by someone else meanwhile (another recovery, the coordinator's own
// callback): "does not exist" or "is busy".
bool bk_dist_finished_elsewhere(const char *sqlstate);
// Whether gid is a prepared transaction of this backend's open transaction (its coordinator is running).
bool bk_dist_gid_pending(const char *gid);
