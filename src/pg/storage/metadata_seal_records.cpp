// Reading sealed records back (metadata_seal_records.hpp): every field as text by one SQL expression, so what is
// hashed is exactly what is stored, whoever wrote it (capture, import, pg_dump); the seal computed over it
// (src/core/codec/metadata_seal.hpp) and compared with the stored one.
#include "core/codec/metadata_seal.hpp"

#include "pg/storage/metadata_seal_records.hpp"

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

SealRecord *
bk_seal_load_tables(int64 snapshot_id, int table_no, bool portable, int *count)
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

SealRecord *
bk_seal_load_snapshot(int64 snapshot_id, bool portable, const char *portable_entries)
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

char *
bk_seal_entries_chain(const SealRecord *tables, int n, bool use_stored)
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

char *
bk_seal_problem(const SealRecord *r)
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
