// Snapshot look-ups in backupkit's tables (storage.hpp): a snapshot's catalog row after the access checks, its
// table entries with their columns, and the names and live tables they stand for.
extern "C"
{
#include "postgres.h"
#include "access/htup_details.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "access/table.h"
#include "access/genam.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/memutils.h"
}

#include "pg/citus/citus_distributed_scope.hpp"
#include "pg/support/rls_scope.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/version_check.hpp"
#include "pg/support/message_names.hpp"

int64
bk_snapshot_id_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("snapshot_id must not be null")));
	}
	return PG_GETARG_INT64(argno);
}

Oid
bk_table_name_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
	{
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("table_name must not be null")));
	}
	return PG_GETARG_OID(argno);
}

void
bk_snapshot_fetch(int64 snapshot_id, BkSnapshot *out)
{
	Oid argtypes[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(snapshot_id)};
	BkOwnerAccess access;
	bool isnull;

	bk_owner_begin(&access);
	bk_spi_exec("SELECT created_by, label, compression, status, format_version, table_count, pinned "
	            "FROM backupkit.snapshot WHERE snapshot_id = $1 FOR KEY SHARE",
	            1, argtypes, values, NULL, false, 1);
	bk_owner_end(&access);
	if (SPI_processed == 0)
	{
		bk_dist_refuse_local_use(snapshot_id); // a distributed snapshot's id: 0A000 naming the functions for it
		ereport(ERROR,
		        (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("snapshot " INT64_FORMAT " does not exist", snapshot_id)));
	}
	out->snapshot_id = snapshot_id;
	out->created_by = DatumGetObjectId(bk_spi_get(0, 1, &isnull));
	out->label = bk_spi_get_text(0, 2);
	out->compression = bk_spi_get_text(0, 3);
	out->status = bk_spi_get_text(0, 4);
	out->format_version = DatumGetInt32(bk_spi_get(0, 5, &isnull));
	out->table_count = DatumGetInt32(bk_spi_get(0, 6, &isnull));
	out->pinned = DatumGetBool(bk_spi_get(0, 7, &isnull));

	if (!is_member_of_role(GetUserId(), out->created_by))
	{
		const char *creator = GetUserNameFromId(out->created_by, true);
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("permission denied for snapshot " INT64_FORMAT, snapshot_id),
		                errdetail("Only members of role \"%s\", which created the snapshot, may use it.",
		                          creator ? creator : "(dropped role)")));
	}
	if (out->format_version > BK_FORMAT_VERSION)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		         errmsg("snapshot " INT64_FORMAT " has storage format version %d", snapshot_id, out->format_version),
		         errdetail("This version of backupkit reads format versions up to %d.", BK_FORMAT_VERSION),
		         errhint("Update the backupkit extension with ALTER EXTENSION backupkit UPDATE.")));
	}
}

static void
load_entry(int row, BkTableEntry *e)
{
	bool isnull;
	Datum d;

	e->snapshot_id = DatumGetInt64(bk_spi_get(row, 1, &isnull));
	e->table_no = DatumGetInt32(bk_spi_get(row, 2, &isnull));
	e->schema_name = bk_spi_get_text(row, 3);
	e->table_name = bk_spi_get_text(row, 4);
	e->relid = DatumGetObjectId(bk_spi_get(row, 5, &isnull));
	e->relkind = bk_spi_get_text(row, 6)[0];
	e->row_count = DatumGetInt64(bk_spi_get(row, 7, &isnull));
	e->chunk_count = DatumGetInt32(bk_spi_get(row, 8, &isnull));
	e->raw_bytes = DatumGetInt64(bk_spi_get(row, 9, &isnull));
	e->stored_bytes = DatumGetInt64(bk_spi_get(row, 10, &isnull));
	e->checksum = bk_spi_get_text(row, 11);
	d = bk_spi_get(row, 12, &isnull);
	e->sequences = isnull ? NULL : DatumGetJsonbPCopy(d);
	d = bk_spi_get(row, 13, &isnull);
	e->foreign_keys = isnull ? NULL : DatumGetJsonbPCopy(d);
	d = bk_spi_get(row, 14, &isnull);
	e->npk = 0;
	e->pk = NULL;
	if (!isnull)
	{
		Datum *elems;
		bool *nulls;
		int n;
		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		e->npk = n;
		e->pk = (char **) palloc(sizeof(char *) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			e->pk[i] = TextDatumGetCString(elems[i]);
		}
	}
	e->has_capture_position = DatumGetBool(bk_spi_get(row, 15, &isnull)) && !isnull;
	if (e->has_capture_position)
	{
		bool n1, n2, n3;
		e->capture_xmin = (uint64) DatumGetInt64(bk_spi_get(row, 16, &n1));
		e->capture_relfilenode = DatumGetObjectId(bk_spi_get(row, 17, &n2));
		e->capture_layout = DatumGetInt64(bk_spi_get(row, 18, &n3));
		e->has_capture_position = !n1 && !n2 && !n3;
	}
}

static void
load_columns(BkTableEntry *e)
{
	Oid argtypes[2] = {INT8OID, INT4OID};
	Datum values[2] = {Int64GetDatum(e->snapshot_id), Int32GetDatum(e->table_no)};
	bool isnull;

	bk_spi_exec("SELECT c->>'name', c->>'type', (c->>'captured')::boolean, (c->>'not_null')::boolean, "
	            "coalesce(c->>'identity', '') "
	            "FROM backupkit.snapshot_table t, jsonb_array_elements(t.columns) WITH ORDINALITY AS x(c, n) "
	            "WHERE t.snapshot_id = $1 AND t.table_no = $2 ORDER BY x.n",
	            2, argtypes, values, NULL, false, 0);
	e->ncolumns = (int) SPI_processed;
	e->columns = (BkColumn *) palloc0(sizeof(BkColumn) * Max(e->ncolumns, 1));
	e->ncaptured = 0;
	for (int i = 0; i < e->ncolumns; i++)
	{
		BkColumn *c = &e->columns[i];
		char *identity;
		c->name = bk_spi_get_text(i, 1);
		c->type_name = bk_spi_get_text(i, 2);
		c->captured = DatumGetBool(bk_spi_get(i, 3, &isnull));
		c->not_null = DatumGetBool(bk_spi_get(i, 4, &isnull));
		identity = bk_spi_get_text(i, 5);
		c->identity = identity[0];
		if (c->captured)
		{
			e->ncaptured++;
		}
	}
}

#define ENTRY_COLUMNS                                                                                                  \
	"snapshot_id, table_no, schema_name, table_name, relid, relkind, row_count, chunk_count, raw_bytes, "              \
	"stored_bytes, checksum, sequences, foreign_keys, key_columns, "                                                   \
	"capture_xid IS NOT NULL AND capture_xid OPERATOR(pg_catalog.=) xmin, capture_xmin, capture_relfilenode, "         \
	"capture_layout "

static BkTableEntry **
load_entries(const char *where_order, int nargs, Oid *argtypes, Datum *values, int *count)
{
	BkOwnerAccess access;
	char *sql = psprintf("SELECT " ENTRY_COLUMNS "FROM backupkit.snapshot_table WHERE %s", where_order);
	BkTableEntry **entries;
	int n;

	bk_owner_begin(&access);
	// Not read-only: a snapshot taken earlier in the same statement must be visible.
	bk_spi_exec(sql, nargs, argtypes, values, NULL, false, 0);
	n = (int) SPI_processed;
	entries = (BkTableEntry **) palloc(sizeof(BkTableEntry *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		entries[i] = (BkTableEntry *) palloc0(sizeof(BkTableEntry));
	}
	{
		SPITupleTable *tt = SPI_tuptable;
		for (int i = 0; i < n; i++)
		{
			SPI_tuptable = tt;
			load_entry(i, entries[i]);
		}
		for (int i = 0; i < n; i++)
		{
			load_columns(entries[i]);
		}
	}
	bk_owner_end(&access);
	*count = n;
	return entries;
}

BkTableEntry **
bk_table_entries(int64 snapshot_id, int *count)
{
	Oid argtypes[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(snapshot_id)};
	return load_entries("snapshot_id = $1 ORDER BY table_no", 1, argtypes, values, count);
}

BkTableEntry *
bk_table_entry_for(int64 snapshot_id, Oid relid, bool *matched_by_oid)
{
	Oid argtypes[4] = {INT8OID, OIDOID, NAMEOID, NAMEOID};
	Datum values[4];
	char *nsp = get_namespace_name(get_rel_namespace(relid));
	char *rel = get_rel_name(relid);
	BkTableEntry **entries;
	int n;

	if (nsp == NULL || rel == NULL)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relid)));
	}
	values[0] = Int64GetDatum(snapshot_id);
	values[1] = ObjectIdGetDatum(relid);
	values[2] = CStringGetDatum(nsp);
	values[3] = CStringGetDatum(rel);
	// An oid match wins over a name match: a renamed table keeps its oid, a re-created one gets a new one.
	entries = load_entries("snapshot_id = $1 AND (relid = $2 OR (schema_name = $3 AND table_name = $4)) "
	                       "ORDER BY (relid = $2) DESC LIMIT 1",
	                       4, argtypes, values, &n);
	if (n == 0)
	{
		return NULL;
	}
	*matched_by_oid = entries[0]->relid == relid;
	return entries[0];
}

BkTableEntry *
bk_table_entry_required(int64 snapshot_id, Oid relid, bool *matched_by_oid)
{
	BkTableEntry *entry = bk_table_entry_for(snapshot_id, relid, matched_by_oid);
	if (entry == NULL)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_UNDEFINED_TABLE),
		         errmsg("table \"%s\" is not part of snapshot " INT64_FORMAT, bk_rel_display_name(relid), snapshot_id),
		         errhint("See the tables it holds with SELECT * FROM backupkit.snapshot_contents(" INT64_FORMAT ").",
		                 snapshot_id)));
	}
	return entry;
}

int
bk_captured_position(const BkTableEntry *e, const char *name)
{
	int pos = 0;
	for (int i = 0; i < e->ncolumns; i++)
	{
		if (!e->columns[i].captured)
		{
			continue;
		}
		pos++;
		if (strcmp(e->columns[i].name, name) == 0)
		{
			return pos;
		}
	}
	return 0;
}

BkTableEntry *
bk_table_entry_named(int64 snapshot_id, const char *name)
{
	Oid argtypes[2] = {INT8OID, TEXTOID};
	Datum values[2] = {Int64GetDatum(snapshot_id), CStringGetTextDatum(name)};
	BkTableEntry **entries;
	int n;

	entries = load_entries("snapshot_id = $1 AND (pg_catalog.format('%I.%I', schema_name, table_name) = $2"
	                       " OR schema_name::text || '.' || table_name::text = $2) ORDER BY table_no LIMIT 1",
	                       2, argtypes, values, &n);
	return n == 0 ? NULL : entries[0];
}

char *
bk_entry_qualified_name(const BkTableEntry *entry)
{
	return quote_qualified_identifier(entry->schema_name, entry->table_name);
}

char *
bk_rel_qualified_name(Oid relid)
{
	char *nsp = get_namespace_name(get_rel_namespace(relid));
	char *rel = get_rel_name(relid);
	if (nsp == NULL || rel == NULL)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relid)));
	}
	return quote_qualified_identifier(nsp, rel);
}

void
bk_check_snapshot_readable(const BkSnapshot *snapshot, Oid relid)
{
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
	{
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("permission denied for table \"%s\"", bk_rel_display_name(relid))));
	}
	bk_check_capture_policies(snapshot, relid, BK_TABLE_READ);
}

Oid
bk_entry_live_relid(const BkTableEntry *entry)
{
	Oid nsp;
	Oid relid;

	// The oid wins while it still names a table of the same kind (renamed or moved since capture).
	if (get_rel_relkind(entry->relid) == entry->relkind)
	{
		return entry->relid;
	}
	nsp = get_namespace_oid(entry->schema_name, true);
	if (!OidIsValid(nsp))
	{
		return InvalidOid;
	}
	relid = get_relname_relid(entry->table_name, nsp);
	if (!OidIsValid(relid) || get_rel_relkind(relid) != entry->relkind)
	{
		return InvalidOid;
	}
	return relid;
}
