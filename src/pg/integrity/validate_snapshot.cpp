// backupkit.validate_snapshot_integrity, backupkit.validate_all_snapshots and the quick chunk check restores run:
// the validation itself (validate_snapshot), which runs the chunk check (validate_chunks.cpp), the schema check
// (validate_schema.cpp) and the key checks (validate_keys.cpp) and writes the report.
#include "core/codec/checksum.hpp"
#include "core/codec/chunk_codec.hpp"
#include "core/codec/zstd_codec.hpp"
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/integrity/validate_internal.hpp"
#include "pg/support/operation.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_validate_snapshot_integrity);
	PG_FUNCTION_INFO_V1(bk_validate_all_snapshots);
}

// The validation itself. With json, the full report (schema, keys, foreign keys); without, chunks only.
// Returns whether the snapshot is valid; *first_error gets the first problem found.
static bool
validate_snapshot(int64 snapshot_id, BkJson *json, bool log, char **first_error)
{
	BkSnapshot snap;
	BkTableEntry **entries;
	int count;
	ValidateState st;
	List *fks = NIL;
	bool *needs_rows;
	int *pk_set = NULL;
	bool keys_sound = false;
	TimestampTz started = GetCurrentTimestamp();
	int64 total_rows = 0;
	ListCell *lc;
	bool valid;
	MemoryContext op_cxt, old_cxt;
	const char **metadata_status;
	const char *snapshot_metadata = NULL;

	op_cxt = AllocSetContextCreate(CurrentMemoryContext, "backupkit validate", ALLOCSET_DEFAULT_SIZES);
	old_cxt = MemoryContextSwitchTo(op_cxt);
	memset(&st, 0, sizeof(st));
	bk_snapshot_fetch(snapshot_id, &snap);
	entries = bk_table_entries(snapshot_id, &count);
	st.compressed = strcmp(snap.compression, "zstd") == 0;
	st.chunk_cxt = AllocSetContextCreate(op_cxt, "backupkit validate chunk", ALLOCSET_DEFAULT_SIZES);
	if (st.compressed)
	{
		MemoryContextCallback *cb = (MemoryContextCallback *) palloc0(sizeof(MemoryContextCallback));
		bk::ZstdDecompressor *d = nullptr;
		BK_CORE(d = new bk::ZstdDecompressor());
		st.decompressor = d;
		cb->func = bk_validate_free_decompressor;
		cb->arg = d;
		MemoryContextRegisterResetCallback(op_cxt, cb);
	}
	// Everything below reads the entries: first prove they are the ones written. A restore's quick check
	// refuses right here, naming the table and the fields that changed.
	metadata_status = (const char **) palloc0(sizeof(char *) * Max(count, 1));
	if (json == NULL)
	{
		bk_metadata_verify_all(snapshot_id);
	}
	else
	{
		bk_metadata_check(snapshot_id, count, &st.errors, &st.warnings, &snapshot_metadata, metadata_status);
	}
	if (strcmp(snap.status, "complete") != 0)
	{
		st.errors = lappend(
		    st.errors, psprintf("Snapshot " INT64_FORMAT " is not complete (status %s).", snapshot_id, snap.status));
	}
	if (snap.table_count != count)
	{
		st.errors = lappend(st.errors, psprintf("Snapshot " INT64_FORMAT " records %d tables but holds %d.",
		                                        snapshot_id, snap.table_count, count));
	}
	needs_rows = (bool *) palloc0(sizeof(bool) * Max(count, 1));
	if (json != NULL)
	{
		fks = bk_validate_foreign_keys_of(entries, count);
		pk_set = (int *) palloc(sizeof(int) * Max(count, 1));
		st.keys = bk_validate_plan_key_checks(entries, count, fks, needs_rows, pk_set);
	}

	if (json != NULL)
	{
		bk_json_bool(json, "valid", false); // placeholder replaced below
	}
	{
		TableResult *results = (TableResult *) palloc0(sizeof(TableResult) * Max(count, 1));
		List *snapshot_errors = list_copy(st.errors);
		List *snapshot_warnings = list_copy(st.warnings);
		for (int i = 0; i < count; i++)
		{
			st.table_index = i;
			bk_validate_table_chunks(&st, entries[i], needs_rows[i], &results[i]);
			total_rows += results[i].rows_found;
		}
		if (st.keys != NULL)
		{
			keys_sound = bk_validate_key_checks_pass(st.keys, count, fks, pk_set);
			bk_key_check_end(st.keys);
			st.keys = NULL;
			if (!keys_sound)
			{
				// Some key is duplicated or some row orphaned (or, with probability 2^-64, two hashes collided):
				// read the chunks again into a temporary table, where SQL finds and shows the offending keys.
				st.errors = snapshot_errors;
				st.warnings = snapshot_warnings;
				total_rows = 0;
				bk_spi_exec("CREATE TEMP TABLE IF NOT EXISTS backupkit_validate_rows (table_no integer NOT NULL,"
				            " r text[] NOT NULL)",
				            0, NULL, NULL, NULL, false, 0);
				bk_spi_exec("TRUNCATE " ROWS_TABLE, 0, NULL, NULL, NULL, false, 0);
				st.load_rows = true;
				for (int i = 0; i < count; i++)
				{
					st.table_index = i;
					bk_validate_table_chunks(&st, entries[i], needs_rows[i], &results[i]);
					total_rows += results[i].rows_found;
				}
				bk_spi_exec("ANALYZE " ROWS_TABLE, 0, NULL, NULL, NULL, false, 0);
			}
		}
		if (json != NULL)
		{
			bk_json_int(json, "snapshot_id", snapshot_id);
			bk_json_str(json, "label", snap.label);
			bk_json_str(json, "checked_at", timestamptz_to_str(started));
			// One word for the stored metadata of the snapshot and all its entries; errors name the tables.
			for (int i = 0; i < count; i++)
			{
				if (strcmp(metadata_status[i], "mismatch") == 0)
				{
					snapshot_metadata = metadata_status[i];
				}
			}
			bk_json_str(json, "metadata", snapshot_metadata);
			bk_json_begin_array(json, "tables");
			for (int i = 0; i < count; i++)
			{
				BkTableEntry *e = entries[i];
				bk_json_begin_object(json, NULL);
				bk_json_str(json, "table", bk_entry_qualified_name(e));
				bk_json_int(json, "rows_expected", e->row_count);
				bk_json_int(json, "rows_found", results[i].rows_found);
				bk_json_int(json, "chunks", e->chunk_count);
				bk_json_str(json, "checksum", results[i].checksum_ok ? "ok" : "mismatch");
				bk_json_bool(json, "decodable", results[i].decodable);
				bk_validate_schema(&st, e, json);
				bk_validate_check_constraints(&snap, e, &st.warnings);
				if (keys_sound)
				{
					bk_validate_report_keys_sound(entries, i, fks, json);
				}
				else
				{
					bk_validate_primary_key(&st, e, json);
					bk_validate_foreign_key_closure(&st, entries, i, fks, json);
				}
				bk_json_end_object(json);
			}
			bk_json_end_array(json);
			if (!keys_sound)
			{
				bk_spi_exec("DROP TABLE " ROWS_TABLE, 0, NULL, NULL, NULL, false, 0);
			}
		}
	}
	valid = st.errors == NIL;
	if (json != NULL)
	{
		bk_json_begin_array(json, "errors");
		foreach (lc, st.errors)
		{
			bk_json_str(json, NULL, (char *) lfirst(lc));
		}
		bk_json_end_array(json);
		bk_json_begin_array(json, "warnings");
		foreach (lc, st.warnings)
		{
			bk_json_str(json, NULL, (char *) lfirst(lc));
		}
		bk_json_end_array(json);
	}
	if (log)
	{
		BkJson details;
		bk_json_init(&details);
		bk_json_begin_object(&details, NULL);
		bk_json_bool(&details, "valid", valid);
		bk_json_int(&details, "errors", list_length(st.errors));
		bk_json_int(&details, "warnings", list_length(st.warnings));
		bk_json_end_object(&details);
		bk_operation_log("validate", snapshot_id, valid ? "success" : "invalid", total_rows,
		                 (double) (GetCurrentTimestamp() - started) / 1000.0, details.buf.data);
	}
	MemoryContextSwitchTo(old_cxt);
	*first_error = valid ? NULL : pstrdup((char *) linitial(st.errors));
	MemoryContextDelete(op_cxt);
	return valid;
}

bool
bk_validate_snapshot_quick(int64 snapshot_id, char **first_error)
{
	MemoryContext caller = CurrentMemoryContext;
	char *err = NULL;
	bool valid;
	int guc_level;

	bk_spi_connect();
	guc_level = bk_stable_settings_push();
	valid = validate_snapshot(snapshot_id, NULL, false, &err);
	bk_stable_settings_pop(guc_level);
	*first_error = err ? MemoryContextStrdup(caller, err) : NULL;
	bk_spi_finish();
	return valid;
}

Datum
bk_validate_snapshot_integrity(PG_FUNCTION_ARGS)
{
	int64 snapshot_id = bk_snapshot_id_arg(fcinfo, 0);
	BkJson json;
	char *first_error;
	bool valid;
	Datum result;
	BkOperation op;

	bk_operation_begin(&op, "validate_snapshot_integrity", 0, 0, NULL);
	bk_json_init(&json);
	bk_json_begin_object(&json, NULL);
	valid = validate_snapshot(snapshot_id, &json, true, &first_error);
	bk_json_end_object(&json);
	result = bk_json_finish(&json);
	// The first key was written before the outcome was known.
	{
		Oid argtypes[2] = {JSONBOID, BOOLOID};
		Datum values[2] = {result, BoolGetDatum(valid)};
		bool isnull;
		bk_spi_exec("SELECT jsonb_set($1, '{valid}', to_jsonb($2))", 2, argtypes, values, NULL, true, 1);
		result = SPI_datumTransfer(bk_spi_get(0, 1, &isnull), false, -1);
	}
	return bk_operation_end(&op, result, BK_OP_RESULT_AS_IS);
}

Datum
bk_validate_all_snapshots(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(GetUserId())};
	BkOwnerAccess access;
	int n;
	int64 *ids;
	char **labels;
	Datum *created;
	BkOperation op;

	InitMaterializedSRF(fcinfo, 0);
	bk_operation_begin(&op, "validate_all_snapshots", 0, 0, NULL);
	bk_owner_begin(&access);
	bk_spi_exec("SELECT snapshot_id, label, created_at FROM backupkit.snapshot"
	            " WHERE pg_has_role($1, created_by, 'MEMBER') ORDER BY snapshot_id",
	            1, argtypes, values, NULL, true, 0);
	bk_owner_end(&access);
	n = (int) SPI_processed;
	ids = (int64 *) palloc(sizeof(int64) * Max(n, 1));
	labels = (char **) palloc(sizeof(char *) * Max(n, 1));
	created = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool isnull;
		ids[i] = DatumGetInt64(bk_spi_get(i, 1, &isnull));
		labels[i] = bk_spi_get_text(i, 2);
		created[i] = bk_spi_get(i, 3, &isnull);
	}
	SPI_freetuptable(SPI_tuptable);
	for (int i = 0; i < n; i++)
	{
		Datum out[5];
		bool nulls[5] = {false, false, false, false, false};
		char *first_error = NULL;
		BkJson json;
		bool valid;

		bk_json_init(&json);
		bk_json_begin_object(&json, NULL);
		valid = validate_snapshot(ids[i], &json, true, &first_error);
		out[0] = Int64GetDatum(ids[i]);
		out[1] = labels[i] ? CStringGetTextDatum(labels[i]) : (Datum) 0;
		nulls[1] = labels[i] == NULL;
		out[2] = created[i];
		out[3] = BoolGetDatum(valid);
		out[4] = first_error ? CStringGetTextDatum(first_error) : (Datum) 0;
		nulls[4] = first_error == NULL;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
		pfree(json.buf.data);
	}
	return bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
}
