// Metadata checksums over backupkit.snapshot_table entries and backupkit.snapshot rows (see
// metadata_checksum.hpp): sealing a snapshot, verifying it before a restore, reporting it to validation and
// import. The records and how they are read back and hashed are in metadata_seal_records.cpp.
#include "core/codec/metadata_seal.hpp"
#include "pg/storage/metadata_checksum.hpp"
#include "pg/support/message_names.hpp"

#include "pg/storage/metadata_seal_records.hpp"

#define CHECK_HINT "Run backupkit.validate_snapshot_integrity(" INT64_FORMAT ") for a full report."

#define IMPORT_HINT "Export the snapshot again and copy all its frames, in order, without modification."

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
	SealRecord *snap = bk_seal_load_snapshot(snapshot_id, false, NULL);
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
		problem = bk_seal_problem(&tables[i]);
		if (problem != NULL)
		{
			raise_corrupted(snapshot_id, &tables[i], problem, false);
		}
	}
	problem = bk_seal_problem(snap);
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
	SealRecord *tables = bk_seal_load_tables(snapshot_id, -1, false, &n);
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
	snap = bk_seal_load_snapshot(snapshot_id, false, NULL);
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
	SealRecord *tables = bk_seal_load_tables(snapshot->snapshot_id, entry->table_no, false, &n);
	if (!verify_stored(snapshot->snapshot_id, tables, n) && warnings != NULL)
	{
		*warnings = lappend(*warnings, (void *) unsealed_warning(snapshot->snapshot_id));
	}
}

void
bk_metadata_verify_all(int64 snapshot_id)
{
	int n;
	SealRecord *tables = bk_seal_load_tables(snapshot_id, -1, false, &n);
	(void) verify_stored(snapshot_id, tables, n);
}

void
bk_metadata_check(int64 snapshot_id, int count, List **errors, List **warnings, const char **snapshot_status,
                  const char **table_status)
{
	int n;
	SealRecord *tables = bk_seal_load_tables(snapshot_id, -1, false, &n);
	SealRecord *snap = bk_seal_load_snapshot(snapshot_id, false, NULL);
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
		problem = bk_seal_problem(snap);
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
		problem = bk_seal_problem(&tables[i]);
		table_status[i] = problem ? "mismatch" : "ok";
		if (problem != NULL)
		{
			*errors = lappend(*errors, psprintf("The metadata of table \"%s\" does not match its checksum. %s",
			                                    bk_display_name_of(tables[i].name), problem));
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
	tables = bk_seal_load_tables(snapshot_id, -1, true, &n);
	snap = bk_seal_load_snapshot(snapshot_id, true, bk_seal_entries_chain(tables, n, false));
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
	SealRecord *tables = bk_seal_load_tables(snapshot_id, -1, true, &n);
	SealRecord *snap;
	char *problem;

	for (int i = 0; i < n; i++)
	{
		problem = bk_seal_problem(&tables[i]);
		if (problem != NULL)
		{
			raise_corrupted(snapshot_id, &tables[i], problem, true);
		}
	}
	// The entries' seals are now known to be the carried ones.
	snap = bk_seal_load_snapshot(snapshot_id, true, bk_seal_entries_chain(tables, n, true));
	problem = bk_seal_problem(snap);
	if (problem != NULL)
	{
		raise_corrupted(snapshot_id, snap, problem, true);
	}
}
