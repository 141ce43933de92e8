// Metadata checksums over backupkit.snapshot_table entries and backupkit.snapshot rows (see
// metadata_checksum.hpp). Every field is read back as text by one SQL expression, so what is hashed is
// exactly what is stored, whoever wrote it (capture, import, pg_dump); src/core/codec/metadata_seal.hpp hashes it.
extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
}

#include "core/codec/metadata_seal.hpp"
#include "pg/storage/metadata_checksum.hpp"
#include "pg/support/message_names.hpp"

typedef struct SealField
{
	const char *name; // as named in errors: the storage column, or table_entries
	const char *expr; // text expression over t (snapshot_table) or s (snapshot)
	bool local;       // means something only in this database: not in the seals an export carries
	uint8 since;      // first seal version that covers the field (fields are only ever appended)
} SealField;

// What a restore relies on in a table entry: where the table was and what it looked like (names, kind,
// columns with their types, order and flags, key, foreign keys, sequences), the totals and checksum that
// prove its chunks whole, and the capture position that lets merge and missing skip rows still in place.
// Version 1 of the seal; version 2 appends the table's complete definition (schema-aware snapshots).
static const SealField table_fields[] = {
    {"snapshot_id", "t.snapshot_id::text", true, 1},
    {"table_no", "t.table_no::text", false, 1},
    {"schema_name", "t.schema_name::text", false, 1},
    {"table_name", "t.table_name::text", false, 1},
    {"relid", "t.relid::text", false, 1},
    {"relkind", "t.relkind::text", false, 1},
    {"columns", "t.columns::text", false, 1},
    {"key_columns", "pg_catalog.to_jsonb(t.key_columns)::text", false, 1},
    {"key_kind", "t.key_kind", false, 1},
    {"foreign_keys", "t.foreign_keys::text", false, 1},
    {"sequences", "t.sequences::text", false, 1},
    {"row_count", "t.row_count::text", false, 1},
    {"chunk_count", "t.chunk_count::text", false, 1},
    {"raw_bytes", "t.raw_bytes::text", false, 1},
    {"stored_bytes", "t.stored_bytes::text", false, 1},
    {"checksum", "t.checksum", false, 1},
    {"capture_xmin", "t.capture_xmin::text", true, 1},
    {"capture_xid", "t.capture_xid::text", true, 1},
    {"capture_relfilenode", "t.capture_relfilenode::text", true, 1},
    {"capture_layout", "t.capture_layout::text", true, 1},
    {"definition", "t.definition::text", false, 2},
};
#define N_TABLE_FIELDS ((int) lengthof(table_fields))

// The snapshot row: who may use it, what it is (label, time, origin), how its chunks are stored and its
// totals; table_entries chains the seals of its entries in table_no order, so an entry removed, added,
// moved or re-sealed shows. Not covered: pinned (pin_snapshot changes it) and duration_ms (informative).
static const SealField snapshot_fields[] = {
    {"snapshot_id", "s.snapshot_id::text", true, 1},
    {"label", "s.label", false, 1},
    {"created_at", "pg_catalog.to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')", false, 1},
    {"created_by", "s.created_by::text", true, 1},
    {"created_by_name", "s.created_by_name::text", true, 1},
    {"status", "s.status", false, 1},
    {"compression", "s.compression", false, 1},
    {"format_version", "s.format_version::text", false, 1},
    {"server_version_num", "s.server_version_num::text", false, 1},
    {"server_version", "s.server_version", false, 1},
    {"database_name", "s.database_name::text", false, 1},
    {"table_count", "s.table_count::text", false, 1},
    {"row_count", "s.row_count::text", false, 1},
    {"raw_bytes", "s.raw_bytes::text", false, 1},
    {"stored_bytes", "s.stored_bytes::text", false, 1},
    {"origin", "s.origin::text", true, 1},
    {"table_entries",
     "(SELECT pg_catalog.string_agg(x.table_no::text || ':' || coalesce(pg_catalog.encode(x.metadata_checksum, "
     "'hex'), 'null'), ',' ORDER BY x.table_no) FROM backupkit.snapshot_table x WHERE x.snapshot_id = s.snapshot_id)",
     false, 1},
};
#define N_SNAPSHOT_FIELDS ((int) lengthof(snapshot_fields))

#define CHECK_HINT "Run backupkit.validate_snapshot_integrity(" INT64_FORMAT ") for a full report."
#define IMPORT_HINT "Export the snapshot again and copy all its frames, in order, without modification."

// One sealed record as read back: its fields as text and the seal stored with it.
typedef struct SealRecord
{
	int table_no;   // -1 for the snapshot row
	char *name;     // schema-qualified table name (for messages)
	bytea *stored;  // metadata_checksum, NULL when absent
	bytea *current; // seal of the fields as they are now
	int nfields;
	bk::MetadataField *fields;
	uint8 *since; // per field, the first seal version covering it
} SealRecord;

static const char *
record_kind(const SealRecord *r)
{
	return r->table_no < 0 ? "snapshot" : "table";
}

static bytea *
compute_seal(const SealRecord *r)
{
	size_t size = bk::metadata_seal_size((size_t) r->nfields);
	bytea *b = (bytea *) palloc(VARHDRSZ + size);
	SET_VARSIZE(b, VARHDRSZ + size);
	bk::metadata_seal(bk::metadata_seal_version, record_kind(r), r->fields, (size_t) r->nfields,
	                  (unsigned char *) VARDATA(b));
	return b;
}

// Reads the fields of SPI row row (columns from first_col, one per field) into r.
static void
read_fields(SealRecord *r, const SealField *defs, int ndefs, int row, int first_col, bool portable)
{
	r->fields = (bk::MetadataField *) palloc0(sizeof(bk::MetadataField) * ndefs);
	r->since = (uint8 *) palloc0(sizeof(uint8) * ndefs);
	r->nfields = 0;
	for (int f = 0; f < ndefs; f++)
	{
		bk::MetadataField *mf;
		if (portable && defs[f].local)
		{
			continue;
		}
		r->since[r->nfields] = defs[f].since;
		mf = &r->fields[r->nfields++];
		mf->name = defs[f].name;
		mf->value = defs[f].expr ? bk_spi_get_text(row, first_col + f) : NULL;
		mf->len = mf->value ? strlen(mf->value) : 0;
	}
}

static bytea *
stored_seal(int row, int col)
{
	bool isnull;
	Datum d = bk_spi_get(row, col, &isnull);
	return isnull ? NULL : (bytea *) PG_DETOAST_DATUM_COPY(d);
}

static char *
select_list(const SealField *defs, int ndefs)
{
	StringInfoData s;
	initStringInfo(&s);
	for (int f = 0; f < ndefs; f++)
	{
		appendStringInfo(&s, ", %s", defs[f].expr ? defs[f].expr : "NULL::text");
	}
	return s.data;
}

// The entries of a snapshot in table_no order (only table_no when it is >= 0).
static SealRecord *
load_tables(int64 snapshot_id, int table_no, bool portable, int *count)
{
	Oid argtypes[2] = {INT8OID, INT4OID};
	Datum values[2] = {Int64GetDatum(snapshot_id), Int32GetDatum(table_no)};
	BkOwnerAccess access;
	SealRecord *records;
	int n;

	bk_owner_begin(&access);
	bk_spi_exec(psprintf("SELECT t.table_no, t.schema_name::text, t.table_name::text, t.metadata_checksum%s"
	                     " FROM backupkit.snapshot_table t WHERE t.snapshot_id = $1 AND ($2 < 0 OR t.table_no = $2)"
	                     " ORDER BY t.table_no",
	                     select_list(table_fields, N_TABLE_FIELDS)),
	            2, argtypes, values, NULL, false, 0);
	bk_owner_end(&access);
	n = (int) SPI_processed;
	records = (SealRecord *) palloc0(sizeof(SealRecord) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		SealRecord *r = &records[i];
		bool isnull;
		r->table_no = DatumGetInt32(bk_spi_get(i, 1, &isnull));
		r->name = quote_qualified_identifier(bk_spi_get_text(i, 2), bk_spi_get_text(i, 3));
		r->stored = stored_seal(i, 4);
		read_fields(r, table_fields, N_TABLE_FIELDS, i, 5, portable);
		r->current = compute_seal(r);
	}
	*count = n;
	return records;
}

// The snapshot row; in portable scope table_entries is given (the chain of the entries' portable seals).
static SealRecord *
load_snapshot(int64 snapshot_id, bool portable, const char *portable_entries)
{
	Oid argtypes[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(snapshot_id)};
	BkOwnerAccess access;
	SealRecord *r = (SealRecord *) palloc0(sizeof(SealRecord));

	bk_owner_begin(&access);
	bk_spi_exec(psprintf("SELECT s.metadata_checksum%s FROM backupkit.snapshot s WHERE s.snapshot_id = $1",
	                     select_list(snapshot_fields, N_SNAPSHOT_FIELDS)),
	            1, argtypes, values, NULL, false, 1);
	bk_owner_end(&access);
	if (SPI_processed != 1)
	{
		elog(ERROR, "snapshot " INT64_FORMAT " vanished while its metadata was checked", snapshot_id);
	}
	r->table_no = -1;
	r->stored = stored_seal(0, 1);
	read_fields(r, snapshot_fields, N_SNAPSHOT_FIELDS, 0, 2, portable);
	if (portable)
	{
		r->fields[r->nfields - 1].value = portable_entries;
		r->fields[r->nfields - 1].len = portable_entries ? strlen(portable_entries) : 0;
	}
	r->current = compute_seal(r);
	return r;
}

// table_entries as the SQL expression computes it, from seals given here.
static char *
entries_chain(const SealRecord *tables, int n, bool use_stored)
{
	StringInfoData s;
	if (n == 0)
	{
		return NULL;
	}
	initStringInfo(&s);
	for (int i = 0; i < n; i++)
	{
		bytea *seal = use_stored ? tables[i].stored : tables[i].current;
		appendStringInfo(&s, "%s%d:", i ? "," : "", tables[i].table_no);
		if (seal == NULL)
		{
			appendStringInfoString(&s, "null");
		}
		else
		{
			size_t len = VARSIZE_ANY_EXHDR(seal);
			enlargeStringInfo(&s, (int) (2 * len + 1));
			s.len += (int) hex_encode(VARDATA_ANY(seal), len, s.data + s.len);
			s.data[s.len] = '\0';
		}
	}
	return s.data;
}

// NULL when the record matches its stored seal, else a sentence saying what differs.
static char *
seal_problem(const SealRecord *r)
{
	const unsigned char *seal;
	size_t len;
	uint8 version;
	bool *differs;
	int nsealed;
	StringInfoData s;

	if (r->stored == NULL)
	{
		return pstrdup("It has no metadata checksum.");
	}
	seal = (const unsigned char *) VARDATA_ANY(r->stored);
	len = VARSIZE_ANY_EXHDR(r->stored);
	version = bk::metadata_seal_version_of(seal, len);
	if (version > bk::metadata_seal_version)
	{
		return psprintf("Its metadata checksum has version %d; this backupkit knows versions up to %d.", version,
		                bk::metadata_seal_version);
	}
	if (version == 0)
	{
		return pstrdup("The metadata checksum itself is damaged.");
	}
	// A seal of an older version covers the fields of that version; a field it does not cover must still be
	// empty (NULL), or someone added it after the seal was written (e.g. a definition forged onto an entry).
	nsealed = 0;
	while (nsealed < r->nfields && r->since[nsealed] <= version)
	{
		nsealed++;
	}
	for (int f = nsealed; f < r->nfields; f++)
	{
		if (r->fields[f].value != NULL)
		{
			return psprintf("Stored fields that differ from those sealed when it was written: %s (absent when "
			                "its version %d checksum was written).",
			                r->fields[f].name, version);
		}
	}
	differs = (bool *) palloc0(sizeof(bool) * Max(r->nfields, 1));
	switch (bk::metadata_seal_verify(record_kind(r), r->fields, (size_t) nsealed, seal, len, differs))
	{
		case bk::SealVerdict::intact:
			return NULL;
		case bk::SealVerdict::seal_damaged:
			return pstrdup("The metadata checksum itself is damaged.");
		case bk::SealVerdict::fields_differ:
			break;
	}
	initStringInfo(&s);
	for (int f = 0; f < r->nfields; f++)
	{
		if (differs[f])
		{
			appendStringInfo(&s, "%s%s", s.len ? ", " : "", r->fields[f].name);
		}
	}
	return psprintf("Stored fields that differ from those sealed when it was written: %s.", s.data);
}

[[noreturn]] static void
raise_corrupted(int64 snapshot_id, const SealRecord *r, const char *detail, bool import)
{
	if (import)
	{
		if (r->table_no < 0)
		{
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
			                errmsg("export stream is corrupted: the snapshot's metadata does not match its checksum"),
			                errdetail_internal("%s", detail), errhint(IMPORT_HINT)));
		}
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("export stream is corrupted: metadata of table \"%s\" does not match its checksum",
		                       bk_display_name_of(r->name)),
		                errdetail_internal("%s", detail), errhint(IMPORT_HINT)));
	}
	if (r->table_no < 0)
	{
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("snapshot " INT64_FORMAT " is corrupted: its metadata does not match its checksum",
		                       snapshot_id),
		                errdetail_internal("%s", detail), errhint(CHECK_HINT, snapshot_id)));
	}
	ereport(ERROR,
	        (errcode(ERRCODE_DATA_CORRUPTED),
	         errmsg("snapshot " INT64_FORMAT " is corrupted: metadata of table \"%s\" does not match its checksum",
	                snapshot_id, bk_display_name_of(r->name)),
	         errdetail_internal("%s", detail), errhint(CHECK_HINT, snapshot_id)));
}

static const char *
unsealed_warning(int64 snapshot_id)
{
	return psprintf("snapshot " INT64_FORMAT " predates metadata checksums: its stored table description was not "
	                "verified",
	                snapshot_id);
}

// Verifies the given entries, then the snapshot row (whose checksum chains every entry's); false (nothing
// raised) when the snapshot predates seals. Entries first: their errors say more than "table_entries".
static bool
verify_stored(int64 snapshot_id, const SealRecord *tables, int n)
{
	SealRecord *snap = load_snapshot(snapshot_id, false, NULL);
	char *problem;

	if (snap->stored == NULL)
	{
		for (int i = 0; i < n; i++)
		{
			if (tables[i].stored != NULL)
			{
				raise_corrupted(snapshot_id, snap,
				                "The snapshot row has lost its metadata checksum: its table entries have one.", false);
			}
		}
		return false;
	}
	for (int i = 0; i < n; i++)
	{
		problem = seal_problem(&tables[i]);
		if (problem != NULL)
		{
			raise_corrupted(snapshot_id, &tables[i], problem, false);
		}
	}
	problem = seal_problem(snap);
	if (problem != NULL)
	{
		raise_corrupted(snapshot_id, snap, problem, false);
	}
	return true;
}

void
bk_metadata_seal(int64 snapshot_id)
{
	Oid argtypes[3] = {INT8OID, INT4ARRAYOID, BYTEAARRAYOID};
	Datum values[3];
	BkOwnerAccess access;
	int n;
	SealRecord *tables = load_tables(snapshot_id, -1, false, &n);
	SealRecord *snap;
	Datum *nos = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	Datum *seals = (Datum *) palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		nos[i] = Int32GetDatum(tables[i].table_no);
		seals[i] = PointerGetDatum(tables[i].current);
	}
	values[0] = Int64GetDatum(snapshot_id);
	values[1] = PointerGetDatum(construct_array(nos, n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(seals, n, BYTEAOID, -1, false, TYPALIGN_INT));
	bk_owner_begin(&access);
	bk_spi_exec("UPDATE backupkit.snapshot_table t SET metadata_checksum = u.seal"
	            " FROM ROWS FROM (pg_catalog.unnest($2::integer[]), pg_catalog.unnest($3::bytea[])) AS u(no, seal)"
	            " WHERE t.snapshot_id = $1 AND t.table_no = u.no",
	            3, argtypes, values, NULL, false, 0);
	bk_owner_end(&access);

	// Read after the entries' seals are stored: table_entries chains them.
	snap = load_snapshot(snapshot_id, false, NULL);
	values[1] = PointerGetDatum(snap->current);
	argtypes[1] = BYTEAOID;
	bk_owner_begin(&access);
	bk_spi_exec("UPDATE backupkit.snapshot SET metadata_checksum = $2 WHERE snapshot_id = $1", 2, argtypes, values,
	            NULL, false, 0);
	bk_owner_end(&access);
}

void
bk_metadata_verify(const BkSnapshot *snapshot, const BkTableEntry *entry, List **warnings)
{
	int n;
	SealRecord *tables = load_tables(snapshot->snapshot_id, entry->table_no, false, &n);
	if (!verify_stored(snapshot->snapshot_id, tables, n) && warnings != NULL)
	{
		*warnings = lappend(*warnings, (void *) unsealed_warning(snapshot->snapshot_id));
	}
}

void
bk_metadata_verify_all(int64 snapshot_id)
{
	int n;
	SealRecord *tables = load_tables(snapshot_id, -1, false, &n);
	(void) verify_stored(snapshot_id, tables, n);
}

void
bk_metadata_check(int64 snapshot_id, int count, List **errors, List **warnings, const char **snapshot_status,
                  const char **table_status)
{
	int n;
	SealRecord *tables = load_tables(snapshot_id, -1, false, &n);
	SealRecord *snap = load_snapshot(snapshot_id, false, NULL);
	bool sealed = snap->stored != NULL;
	char *problem;

	for (int i = 0; i < count; i++)
	{
		table_status[i] = "not checksummed";
	}
	*snapshot_status = "not checksummed";
	if (!sealed)
	{
		bool any = false;
		for (int i = 0; i < n; i++)
		{
			any = any || tables[i].stored != NULL;
		}
		if (!any)
		{
			*warnings = lappend(*warnings, psprintf("Snapshot " INT64_FORMAT " predates metadata checksums: its "
			                                        "stored table descriptions (columns, keys, counts) are not "
			                                        "verified.",
			                                        snapshot_id));
			return;
		}
		*snapshot_status = "mismatch";
		*errors = lappend(*errors, psprintf("The metadata of snapshot " INT64_FORMAT " has lost its checksum, though "
		                                    "its table entries have one.",
		                                    snapshot_id));
	}
	else
	{
		problem = seal_problem(snap);
		*snapshot_status = problem ? "mismatch" : "ok";
		if (problem != NULL)
		{
			*errors = lappend(*errors, psprintf("The metadata of snapshot " INT64_FORMAT " does not match its "
			                                    "checksum. %s",
			                                    snapshot_id, problem));
		}
	}
	for (int i = 0; i < n && i < count; i++)
	{
		problem = seal_problem(&tables[i]);
		table_status[i] = problem ? "mismatch" : "ok";
		if (problem != NULL)
		{
			*errors = lappend(
			    *errors, psprintf("The metadata of table %s does not match its checksum. %s", tables[i].name, problem));
		}
	}
}

bytea *
bk_metadata_portable_seals(int64 snapshot_id, int *count, int **table_nos, bytea ***table_seals)
{
	int n;
	SealRecord *tables;
	SealRecord *snap;

	bk_metadata_verify_all(snapshot_id);
	tables = load_tables(snapshot_id, -1, true, &n);
	snap = load_snapshot(snapshot_id, true, entries_chain(tables, n, false));
	*count = n;
	*table_nos = (int *) palloc(sizeof(int) * Max(n, 1));
	*table_seals = (bytea **) palloc(sizeof(bytea *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		(*table_nos)[i] = tables[i].table_no;
		(*table_seals)[i] = tables[i].current;
	}
	return snap->current;
}

void
bk_metadata_verify_import(int64 snapshot_id)
{
	int n;
	SealRecord *tables = load_tables(snapshot_id, -1, true, &n);
	SealRecord *snap;
	char *problem;

	for (int i = 0; i < n; i++)
	{
		problem = seal_problem(&tables[i]);
		if (problem != NULL)
		{
			raise_corrupted(snapshot_id, &tables[i], problem, true);
		}
	}
	// The entries' seals are now known to be the carried ones.
	snap = load_snapshot(snapshot_id, true, entries_chain(tables, n, true));
	problem = seal_problem(snap);
	if (problem != NULL)
	{
		raise_corrupted(snapshot_id, snap, problem, true);
	}
}
