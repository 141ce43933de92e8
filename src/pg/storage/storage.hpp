// Access to backupkit's own tables (schema backupkit): running as the extension owner while touching them
// (storage.cpp) and snapshot look-ups (snapshot_catalog.cpp).
#pragma once

extern "C"
{
#include "postgres.h"
#include "executor/spi.h"
#include "utils/jsonb.h"
}

// Every user of backupkit's tables also runs SPI under the fixed settings.
#include "pg/support/settings.hpp"
#include "pg/support/spi.hpp"

#define BK_FORMAT_VERSION 1

// Extension tables are readable only by their owner; while backupkit reads or writes them it runs as that
// owner, in a security-restricted operation (never while running user code such as type I/O functions or
// triggers).
typedef struct BkOwnerAccess
{
	Oid saved_user;
	int saved_sec_context;
} BkOwnerAccess;

void bk_owner_begin(BkOwnerAccess *access);
void bk_owner_end(const BkOwnerAccess *access);
Oid bk_extension_owner(void);

// The catalog row of a snapshot, after checking that the caller may see it.
typedef struct BkSnapshot
{
	int64 snapshot_id;
	Oid created_by;
	char *label;
	char *compression;
	char *status;
	int format_version;
	int table_count;
	bool pinned;
} BkSnapshot;

// Errors (42704 when absent, 42501 when the caller is not a member of the creator role) unless it may.
void bk_snapshot_fetch(int64 snapshot_id, BkSnapshot *out);
int64 bk_snapshot_id_arg(FunctionCallInfo fcinfo, int argno);
// The regclass argument table_name; errors (22004) when it is null.
Oid bk_table_name_arg(FunctionCallInfo fcinfo, int argno);
// Errors unless the caller may see the captured rows of relid: it must be able to SELECT the table now, and
// the rows must be read under the policies they were captured under (rls_scope.hpp).
void bk_check_snapshot_readable(const BkSnapshot *snapshot, Oid relid);

typedef struct BkColumn
{
	char *name;
	char *type_name; // format_type() at capture time
	bool captured;   // present in the chunks (generated columns are not)
	bool not_null;
	char identity; // 'a', 'd' or '\0'
} BkColumn;

typedef struct BkTableEntry
{
	int64 snapshot_id;
	int table_no;
	char *schema_name;
	char *table_name;
	Oid relid; // at capture time
	char relkind;
	int ncolumns;
	BkColumn *columns;
	int ncaptured;
	int npk;
	char **pk; // primary key (or unique not-null key) column names
	int64 row_count;
	int chunk_count;
	int64 raw_bytes;
	int64 stored_bytes;
	char *checksum;
	Jsonb *sequences;
	Jsonb *foreign_keys;
	// Where the rows lay at capture (see src/pg/restore/unchanged_rows.hpp); has_capture_position is false when the
	// entry holds none or was not written by the capture itself (copied, imported).
	bool has_capture_position;
	uint64 capture_xmin; // FullTransactionId
	Oid capture_relfilenode;
	int64 capture_layout;
} BkTableEntry;

// All entries of a snapshot in table_no order.
BkTableEntry **bk_table_entries(int64 snapshot_id, int *count);
// The entry of live table relid: same oid first, then same schema-qualified name. NULL when absent.
BkTableEntry *bk_table_entry_for(int64 snapshot_id, Oid relid, bool *matched_by_oid);
// The same, for operations on one table of the snapshot: errors (42P01) when the snapshot does not hold it.
BkTableEntry *bk_table_entry_required(int64 snapshot_id, Oid relid, bool *matched_by_oid);
// Position (1-based) of a column among the captured columns of an entry; 0 when it was not captured.
int bk_captured_position(const BkTableEntry *e, const char *name);

// The entry captured under name, schema-qualified as format('%I.%I') writes it or as plain schema.table
// (the table may no longer exist). NULL when absent.
BkTableEntry *bk_table_entry_named(int64 snapshot_id, const char *name);
char *bk_entry_qualified_name(const BkTableEntry *entry);
// The live table an entry stands for: its captured oid while that names a table of the same kind, else the
// table of the same schema-qualified name; InvalidOid when neither exists.
Oid bk_entry_live_relid(const BkTableEntry *entry);
char *bk_rel_qualified_name(Oid relid);
