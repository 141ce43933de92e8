// backupkit.validate_snapshot_integrity, backupkit.validate_all_snapshots and the quick chunk check restores run.
extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include "core/codec/checksum.hpp"
#include "core/codec/chunk_codec.hpp"
#include "core/codec/zstd_codec.hpp"
#include "pg/boundary/boundary.hpp"
#include "pg/support/compat.hpp"
#include "pg/storage/chunk_writer.hpp"
#include "pg/integrity/key_hash_check.hpp"
#include "pg/storage/metadata_checksum.hpp"
#include "pg/support/operation_log.hpp"
#include "pg/support/report_json.hpp"
#include "pg/storage/storage.hpp"
#include "pg/restore/unchanged_rows.hpp"
#include "pg/integrity/validate_checks.hpp"
#include "pg/integrity/validate_snapshot.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_validate_snapshot_integrity);
	PG_FUNCTION_INFO_V1(bk_validate_all_snapshots);
}

// Rows of the verified chunks, one text[] per row, for the key checks: on disk, not in memory.
#define ROWS_TABLE "pg_temp.backupkit_validate_rows"

typedef struct ValidateState
{
	List *errors;   // char *, one sentence each
	List *warnings; // char *
	bool compressed;
	bool load_rows;
	bk::ZstdDecompressor *decompressor; // freed by a reset callback
	MemoryContext chunk_cxt;            // reset per chunk
	SPIPlanPtr list_plan;
	SPIPlanPtr chunk_plan;
	SPIPlanPtr insert_plan;
	int table_index;  // of the table being verified
	BkKeyCheck *keys; // when set, needed rows are hashed into it instead of loaded into ROWS_TABLE
	BkTableEntry **entries;
} ValidateState;

typedef struct TableResult
{
	int64 rows_found;
	bool checksum_ok;
	bool decodable;
	bool loaded;
} TableResult;

typedef struct ForeignKey
{
	char *name;
	int child; // index into entries
	int parent;
	int ncols;
	int *child_pos; // 1-based positions among captured columns
	int *parent_pos;
	char **child_cols;
	int child_set; // key check sets
	int parent_set;
} ForeignKey;

static void
free_decompressor(void *arg)
{
	delete static_cast<bk::ZstdDecompressor *>(arg);
}

static char **
text_array_elements(Datum d, int *n)
{
	Datum *elems;
	bool *nulls;
	char **out;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	out = (char **) palloc0(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		out[i] = nulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
	}
	return out;
}

static int
entry_index(BkTableEntry **entries, int count, const char *schema, const char *table)
{
	for (int i = 0; i < count; i++)
	{
		if (strcmp(entries[i]->schema_name, schema) == 0 && strcmp(entries[i]->table_name, table) == 0)
		{
			return i;
		}
	}
	return -1;
}

// The enforced foreign keys between tables captured in the snapshot, with column positions in the chunks (a
// NOT ENFORCED key, 18+, promises nothing: rows outside it are no defect of the snapshot).
static List *
snapshot_foreign_keys(BkTableEntry **entries, int count)
{
	List *fks = NIL;
	Oid argtypes[1] = {JSONBOID};
	for (int i = 0; i < count; i++)
	{
		Datum values[1] = {JsonbPGetDatum(entries[i]->foreign_keys)};
		bk_spi_exec("SELECT fk->>'name', fk->>'ref_schema', fk->>'ref_table',"
		            " ARRAY(SELECT jsonb_array_elements_text(fk->'columns')),"
		            " ARRAY(SELECT jsonb_array_elements_text(fk->'ref_columns'))"
		            " FROM jsonb_array_elements($1) fk WHERE coalesce((fk->>'enforced')::boolean, true)",
		            1, argtypes, values, NULL, true, 0);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			ForeignKey *fk = (ForeignKey *) palloc0(sizeof(ForeignKey));
			bool isnull;
			int nc, np;
			char **cols, **refs;
			bool usable = true;
			fk->name = bk_spi_get_text((int) r, 1);
			fk->child = i;
			fk->parent = entry_index(entries, count, bk_spi_get_text((int) r, 2), bk_spi_get_text((int) r, 3));
			cols = text_array_elements(bk_spi_get((int) r, 4, &isnull), &nc);
			refs = text_array_elements(bk_spi_get((int) r, 5, &isnull), &np);
			if (fk->parent < 0 || nc != np || nc == 0)
			{
				continue;
			}
			fk->ncols = nc;
			fk->child_cols = cols;
			fk->child_pos = (int *) palloc(sizeof(int) * nc);
			fk->parent_pos = (int *) palloc(sizeof(int) * nc);
			for (int c = 0; c < nc; c++)
			{
				fk->child_pos[c] = bk_captured_position(entries[i], cols[c]);
				fk->parent_pos[c] = bk_captured_position(entries[fk->parent], refs[c]);
				usable = usable && fk->child_pos[c] > 0 && fk->parent_pos[c] > 0;
			}
			if (usable)
			{
				fks = lappend(fks, fk);
			}
		}
		SPI_freetuptable(SPI_tuptable);
	}
	return fks;
}

static void
load_rows(ValidateState *st, const BkTableEntry *e, const char *json, size_t len)
{
	Oid argtypes[2] = {INT4OID, TEXTOID};
	Datum values[2];
	MemoryContext old;
	if (st->insert_plan == NULL)
	{
		st->insert_plan = bk_spi_prepare("INSERT INTO " ROWS_TABLE " (table_no, r)"
		                                 " SELECT $1, ARRAY(SELECT jsonb_array_elements_text(e))"
		                                 " FROM jsonb_array_elements($2::jsonb) e",
		                                 2, argtypes);
	}
	old = MemoryContextSwitchTo(st->chunk_cxt);
	values[0] = Int32GetDatum(e->table_no);
	values[1] = PointerGetDatum(cstring_to_text_with_len(json, (int) len));
	MemoryContextSwitchTo(old);
	bk_spi_exec_plan(st->insert_plan, values, NULL, false, 0);
}

// Reads and verifies every chunk of one table, recording each problem as one sentence; never raises for
// what it finds in the storage.
static void
verify_table_chunks(ValidateState *st, const BkTableEntry *e, bool load, TableResult *res)
{
	Oid argtypes[3] = {INT8OID, INT4OID, INT4OID};
	Datum values[3] = {Int64GetDatum(e->snapshot_id), Int32GetDatum(e->table_no), Int32GetDatum(0)};
	const char *name = bk_entry_qualified_name(e);
	int errors_before = list_length(st->errors);
	BkOwnerAccess access;
	int n;
	int *nos;
	int64 *sums;
	uint64 *content_sums;
	int *rows_stored;
	bool *content_ok;
	uint64 combined = 0;
	bool isnull;

	res->rows_found = 0;
	res->decodable = true;
	res->loaded = load;
	if (st->list_plan == NULL)
	{
		st->list_plan = bk_spi_prepare("SELECT chunk_no, checksum, row_count FROM backupkit.snapshot_chunk"
		                               " WHERE snapshot_id = $1 AND table_no = $2 ORDER BY chunk_no",
		                               2, argtypes);
		st->chunk_plan = bk_spi_prepare("SELECT row_count, raw_bytes, checksum, payload_zstd, payload::text, row_tids"
		                                " FROM backupkit.snapshot_chunk"
		                                " WHERE snapshot_id = $1 AND table_no = $2 AND chunk_no = $3",
		                                3, argtypes);
	}
	bk_owner_begin(&access);
	bk_spi_exec_plan(st->list_plan, values, NULL, true, 0);
	bk_owner_end(&access);
	n = (int) SPI_processed;
	nos = (int *) palloc0(sizeof(int) * Max(n, 1));
	sums = (int64 *) palloc0(sizeof(int64) * Max(n, 1));
	rows_stored = (int *) palloc0(sizeof(int) * Max(n, 1));
	content_sums = (uint64 *) palloc0(sizeof(uint64) * Max(n, 1));
	content_ok = (bool *) palloc0(sizeof(bool) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		nos[i] = DatumGetInt32(bk_spi_get(i, 1, &isnull));
		sums[i] = DatumGetInt64(bk_spi_get(i, 2, &isnull));
		rows_stored[i] = DatumGetInt32(bk_spi_get(i, 3, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	// Presence: chunks 0 .. chunk_count - 1, no more.
	for (int c = 0, i = 0; c < e->chunk_count; c++)
	{
		while (i < n && nos[i] < c)
		{
			i++;
		}
		if (i >= n || nos[i] != c)
		{
			st->errors = lappend(st->errors, psprintf("Chunk %d of table %s is missing.", c, name));
		}
	}
	for (int i = 0; i < n; i++)
	{
		if (nos[i] < 0 || nos[i] >= e->chunk_count)
		{
			st->errors = lappend(st->errors, psprintf("Chunk %d of table %s is not recorded by the table's entry, "
			                                          "which has %d chunks.",
			                                          nos[i], name, e->chunk_count));
		}
	}

	for (int i = 0; i < n; i++)
	{
		int rows, raw_bytes;
		int64 stored_sum;
		bool zstd;
		Datum d;
		char *json = NULL;
		size_t len = 0;
		uint64 sum;
		size_t decoded = 0;
		bytea *tids;
		BkErrorInfo err;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(st->chunk_cxt);
		values[2] = Int32GetDatum(nos[i]);
		bk_owner_begin(&access);
		bk_spi_exec_plan(st->chunk_plan, values, NULL, true, 1);
		bk_owner_end(&access);
		if (SPI_processed == 0)
		{
			SPI_freetuptable(SPI_tuptable);
			continue;
		}
		rows = DatumGetInt32(bk_spi_get(0, 1, &isnull));
		raw_bytes = DatumGetInt32(bk_spi_get(0, 2, &isnull));
		stored_sum = DatumGetInt64(bk_spi_get(0, 3, &isnull));
		d = bk_spi_get(0, 4, &isnull);
		zstd = !isnull;
		if (isnull)
		{
			d = bk_spi_get(0, 5, &isnull);
		}
		{
			MemoryContext old = MemoryContextSwitchTo(st->chunk_cxt);
			Datum t = bk_spi_get(0, 6, &isnull);
			d = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
			tids = isnull ? NULL : (bytea *) PG_DETOAST_DATUM_COPY(t);
			MemoryContextSwitchTo(old);
		}
		SPI_freetuptable(SPI_tuptable);
		if (tids != NULL && rows >= 0)
		{
			// Only a hint (see unchanged_rows.hpp): a damaged list costs merge and missing their shortcut.
			MemoryContext old = MemoryContextSwitchTo(st->chunk_cxt);
			bool valid = bk_tid_list_valid(tids, rows, &err);
			MemoryContextSwitchTo(old);
			if (!valid)
			{
				st->warnings = lappend(st->warnings,
				                       psprintf("The tuple id list of chunk %d of table %s is damaged (%s): merge and "
				                                "missing compare that chunk's rows by content.",
				                                nos[i], name, err.message));
			}
		}

		if (zstd != st->compressed)
		{
			st->errors = lappend(st->errors, psprintf("Chunk %d of table %s is stored %s but the snapshot is %s.",
			                                          nos[i], name, zstd ? "compressed" : "uncompressed",
			                                          st->compressed ? "compressed" : "uncompressed"));
			res->decodable = false;
			continue;
		}
		if (raw_bytes < 0)
		{
			st->errors = lappend(st->errors, psprintf("Chunk %d of table %s records a negative size.", nos[i], name));
			res->decodable = false;
			continue;
		}
		if (zstd)
		{
			bytea *b = (bytea *) DatumGetPointer(d);
			bk::ZstdDecompressor *dec = st->decompressor;
			const char *src = VARDATA_ANY(b);
			size_t srclen = VARSIZE_ANY_EXHDR(b);
			size_t expected = (size_t) raw_bytes;
			char *out = (char *) MemoryContextAlloc(st->chunk_cxt, expected + 1);
			if (!bk_try([&]() { dec->decompress(src, srclen, out, expected); }, &err))
			{
				st->errors = lappend(st->errors, psprintf("Chunk %d of table %s cannot be decompressed: %s.", nos[i],
				                                          name, err.message));
				res->decodable = false;
				continue;
			}
			out[expected] = '\0';
			json = out;
			len = expected;
		}
		else
		{
			text *t = (text *) DatumGetPointer(d);
			len = VARSIZE_ANY_EXHDR(t);
			json = (char *) MemoryContextAlloc(st->chunk_cxt, len + 1);
			memcpy(json, VARDATA_ANY(t), len);
			json[len] = '\0';
			if (len != (size_t) raw_bytes)
			{
				st->errors = lappend(st->errors, psprintf("Chunk %d of table %s holds %zu bytes but records %d.",
				                                          nos[i], name, len, raw_bytes));
			}
		}
		sum = bk::checksum64(json, len);
		content_sums[i] = sum;
		if ((int64) sum != stored_sum)
		{
			st->errors = lappend(st->errors, psprintf("Chunk %d of table %s does not match its checksum: its content "
			                                          "was changed.",
			                                          nos[i], name));
		}
		{
			int ncols = e->ncaptured;
			const char *src = json;
			size_t srclen = len;
			if (!bk_try([&]() { decoded = bk::chunk_count_rows(src, srclen, ncols); }, &err))
			{
				st->errors = lappend(st->errors,
				                     psprintf("Chunk %d of table %s does not decode: %s.", nos[i], name, err.message));
				res->decodable = false;
				continue;
			}
		}
		if (decoded != (size_t) rows)
		{
			st->errors = lappend(st->errors, psprintf("Chunk %d of table %s holds %zu rows but records %d.", nos[i],
			                                          name, decoded, rows));
		}
		res->rows_found += (int64) decoded;
		if ((int64) sum != stored_sum)
		{
			continue;
		}
		content_ok[i] = true;
		if (load && st->keys != NULL)
		{
			char *error = NULL;
			if (!bk_key_check_rows(st->keys, st->table_index, e->ncaptured, json, len, (int) decoded, &error))
			{
				st->errors =
				    lappend(st->errors, psprintf("Chunk %d of table %s does not decode: %s.", nos[i], name, error));
				res->decodable = false;
			}
		}
		else if (load)
		{
			load_rows(st, e, json, len);
		}
	}
	MemoryContextReset(st->chunk_cxt);

	// The table's totals: its checksum covers every chunk in order, so order, duplicates and additions show.
	for (int i = 0; i < n; i++)
	{
		if (nos[i] >= 0 && nos[i] < e->chunk_count)
		{
			combined = bk::checksum_combine(combined, content_ok[i] ? content_sums[i] : (uint64) sums[i],
			                                (uint64) rows_stored[i]);
		}
	}
	res->checksum_ok = (n == e->chunk_count) && strcmp(bk_checksum_text(combined), e->checksum) == 0 &&
	                   list_length(st->errors) == errors_before;
	if (!res->checksum_ok)
	{
		// Identical chunks are legitimate in a table whose checksum matches; here they explain the mismatch.
		for (int i = 0; i < n; i++)
		{
			for (int j = 0; j < i; j++)
			{
				if (sums[j] == sums[i] && rows_stored[j] == rows_stored[i])
				{
					st->errors = lappend(st->errors,
					                     psprintf("Chunk %d of table %s duplicates chunk %d.", nos[i], name, nos[j]));
					break;
				}
			}
		}
		if (list_length(st->errors) == errors_before)
		{
			st->errors = lappend(st->errors,
			                     psprintf("The checksum of table %s does not match its chunks: chunks were reordered "
			                              "or replaced.",
			                              name));
		}
	}
	if (res->rows_found != e->row_count)
	{
		st->errors =
		    lappend(st->errors, psprintf("Table %s holds " INT64_FORMAT " rows in its readable chunks but its entry "
		                                 "records " INT64_FORMAT ".",
		                                 name, res->rows_found, e->row_count));
	}
}

// Compares the captured shape with the live table of the same name; writes the schema keys of the report.
static void
check_schema(ValidateState *st, const BkTableEntry *e, BkJson *j)
{
	Oid argtypes[2] = {TEXTOID, TEXTOID};
	Datum values[2] = {CStringGetTextDatum(e->schema_name), CStringGetTextDatum(e->table_name)};
	const char *name = bk_entry_qualified_name(e);
	List *drift = NIL;
	List *why = NIL;
	bool isnull;
	Oid relid;
	int nlive;
	char **live_name, **live_type;
	bool *live_required;
	int common_live = 0;
	bool order_same = true;
	ListCell *lc;

	bk_spi_exec("SELECT to_regclass(format('%I.%I', $1, $2))::oid", 2, argtypes, values, NULL, true, 1);
	relid = DatumGetObjectId(bk_spi_get(0, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	if (isnull)
	{
		bk_json_str(j, "schema", "missing");
		st->warnings = lappend(st->warnings, psprintf("Table %s no longer exists in the database.", name));
		return;
	}
	{
		Oid t[1] = {OIDOID};
		Datum v[1] = {ObjectIdGetDatum(relid)};
		bk_spi_exec("SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),"
		            " a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = ''"
		            " FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped"
		            " ORDER BY a.attnum",
		            1, t, v, NULL, true, 0);
	}
	nlive = (int) SPI_processed;
	live_name = (char **) palloc0(sizeof(char *) * Max(nlive, 1));
	live_type = (char **) palloc0(sizeof(char *) * Max(nlive, 1));
	live_required = (bool *) palloc0(sizeof(bool) * Max(nlive, 1));
	for (int i = 0; i < nlive; i++)
	{
		live_name[i] = bk_spi_get_text(i, 1);
		live_type[i] = bk_spi_get_text(i, 2);
		live_required[i] = DatumGetBool(bk_spi_get(i, 3, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	for (int c = 0; c < e->ncolumns; c++)
	{
		int found = -1;
		for (int i = 0; i < nlive; i++)
		{
			if (strcmp(live_name[i], e->columns[c].name) == 0)
			{
				found = i;
				break;
			}
		}
		if (found < 0)
		{
			why = lappend(why, psprintf("column \"%s\" is missing from the live table", e->columns[c].name));
			continue;
		}
		if (found < common_live)
		{
			order_same = false;
		}
		common_live = found;
		if (strcmp(live_type[found], e->columns[c].type_name) != 0)
		{
			why = lappend(why, psprintf("column \"%s\" is %s in the snapshot but %s in the live table",
			                            e->columns[c].name, e->columns[c].type_name, live_type[found]));
		}
	}
	for (int i = 0; i < nlive; i++)
	{
		bool known = false;
		for (int c = 0; c < e->ncolumns && !known; c++)
		{
			known = strcmp(live_name[i], e->columns[c].name) == 0;
		}
		if (known)
		{
			continue;
		}
		if (live_required[i])
		{
			why = lappend(why, psprintf("live column \"%s\" is NOT NULL without a default", live_name[i]));
		}
		else
		{
			drift = lappend(drift, psprintf("column \"%s\" was added", live_name[i]));
		}
	}
	if (!order_same)
	{
		drift = lappend(drift, pstrdup("the columns are in a different order"));
	}
	if (why != NIL)
	{
		StringInfoData s;
		initStringInfo(&s);
		bk_json_str(j, "schema", "incompatible");
		bk_json_begin_array(j, "schema_why");
		foreach (lc, why)
		{
			bk_json_str(j, NULL, (char *) lfirst(lc));
			appendStringInfo(&s, "%s%s", s.len ? "; " : "", (char *) lfirst(lc));
		}
		bk_json_end_array(j);
		st->warnings = lappend(st->warnings, psprintf("Table %s cannot be restored as it is now: %s.", name, s.data));
	}
	else if (drift != NIL)
	{
		StringInfoData s;
		initStringInfo(&s);
		bk_json_str(j, "schema", "compatible");
		bk_json_begin_array(j, "schema_drift");
		foreach (lc, drift)
		{
			bk_json_str(j, NULL, (char *) lfirst(lc));
			appendStringInfo(&s, "%s%s", s.len ? "; " : "", (char *) lfirst(lc));
		}
		bk_json_end_array(j);
		st->warnings = lappend(st->warnings, psprintf("Table %s changed since the snapshot: %s.", name, s.data));
	}
	else
	{
		bk_json_str(j, "schema", "identical");
	}
}

static void
check_primary_key(ValidateState *st, const BkTableEntry *e, BkJson *j)
{
	StringInfoData sql;
	Oid argtypes[1] = {INT4OID};
	Datum values[1] = {Int32GetDatum(e->table_no)};
	int64 dups;
	bool isnull;
	char *sample;

	if (e->npk == 0)
	{
		bk_json_raw(j, "primary_key_unique", "null");
		return;
	}
	initStringInfo(&sql);
	appendStringInfoString(&sql, "WITH d AS (SELECT ");
	for (int k = 0; k < e->npk; k++)
	{
		appendStringInfo(&sql, "%sr[%d] AS %s", k ? ", " : "", bk_captured_position(e, e->pk[k]),
		                 quote_identifier(e->pk[k]));
	}
	appendStringInfoString(&sql, " FROM " ROWS_TABLE " WHERE table_no = $1 GROUP BY ");
	for (int k = 0; k < e->npk; k++)
	{
		appendStringInfo(&sql, "%s%d", k ? ", " : "", k + 1);
	}
	appendStringInfoString(&sql, " HAVING count(*) > 1)"
	                             " SELECT count(*), (SELECT jsonb_agg(to_jsonb(s)) FROM (SELECT * FROM d LIMIT 5) s)"
	                             " FROM d");
	bk_spi_exec(sql.data, 1, argtypes, values, NULL, false, 1);
	dups = DatumGetInt64(bk_spi_get(0, 1, &isnull));
	sample = bk_spi_get_text(0, 2);
	SPI_freetuptable(SPI_tuptable);
	bk_json_bool(j, "primary_key_unique", dups == 0);
	if (dups > 0)
	{
		bk_json_int(j, "duplicate_keys", dups);
		bk_json_raw(j, "duplicate_sample", sample);
		st->errors = lappend(st->errors,
		                     psprintf("Table %s holds " INT64_FORMAT " duplicated primary key values, for example %s.",
		                              bk_entry_qualified_name(e), dups, sample));
	}
}

static void
check_foreign_keys(ValidateState *st, BkTableEntry **entries, int index, List *fks, BkJson *j)
{
	ListCell *lc;
	bk_json_begin_array(j, "foreign_keys");
	foreach (lc, fks)
	{
		ForeignKey *fk = (ForeignKey *) lfirst(lc);
		StringInfoData sql;
		Oid argtypes[2] = {INT4OID, INT4OID};
		Datum values[2];
		int64 orphans;
		bool isnull;
		char *sample;
		const char *child = bk_entry_qualified_name(entries[fk->child]);
		const char *parent = bk_entry_qualified_name(entries[fk->parent]);

		if (fk->child != index)
		{
			continue;
		}
		values[0] = Int32GetDatum(entries[fk->child]->table_no);
		values[1] = Int32GetDatum(entries[fk->parent]->table_no);
		initStringInfo(&sql);
		appendStringInfoString(&sql, "WITH o AS (SELECT ");
		for (int c = 0; c < fk->ncols; c++)
		{
			appendStringInfo(&sql, "%sc.r[%d] AS %s", c ? ", " : "", fk->child_pos[c],
			                 quote_identifier(fk->child_cols[c]));
		}
		appendStringInfoString(&sql, " FROM " ROWS_TABLE " c WHERE c.table_no = $1");
		for (int c = 0; c < fk->ncols; c++)
		{
			appendStringInfo(&sql, " AND c.r[%d] IS NOT NULL", fk->child_pos[c]);
		}
		appendStringInfoString(&sql, " AND NOT EXISTS (SELECT 1 FROM " ROWS_TABLE " p WHERE p.table_no = $2");
		for (int c = 0; c < fk->ncols; c++)
		{
			appendStringInfo(&sql, " AND p.r[%d] = c.r[%d]", fk->parent_pos[c], fk->child_pos[c]);
		}
		appendStringInfoString(&sql,
		                       "))"
		                       " SELECT count(*), (SELECT jsonb_agg(to_jsonb(s)) FROM (SELECT * FROM o LIMIT 5) s)"
		                       " FROM o");
		bk_spi_exec(sql.data, 2, argtypes, values, NULL, false, 1);
		orphans = DatumGetInt64(bk_spi_get(0, 1, &isnull));
		sample = bk_spi_get_text(0, 2);
		SPI_freetuptable(SPI_tuptable);
		bk_json_begin_object(j, NULL);
		bk_json_str(j, "constraint", fk->name);
		bk_json_str(j, "parent_table", parent);
		bk_json_bool(j, "closed", orphans == 0);
		bk_json_int(j, "orphan_rows", orphans);
		bk_json_raw(j, "sample_keys", sample ? sample : "[]");
		bk_json_end_object(j);
		if (orphans > 0)
		{
			st->errors = lappend(st->errors, psprintf("Table %s holds " INT64_FORMAT " rows whose key in %s (foreign "
			                                          "key \"%s\") is absent from the snapshot, for example %s.",
			                                          child, orphans, parent, fk->name, sample));
		}
	}
	bk_json_end_array(j);
}

// Sets up the hashed key checks: a primary-key set per keyed table, a child and a parent set per foreign key.
// Returns, per table, whether its rows are needed, and in pk_set the primary-key set of each table or -1.
static BkKeyCheck *
plan_key_checks(BkTableEntry **entries, int count, List *fks, bool *needs_rows, int *pk_set)
{
	BkKeyCheck *kc = bk_key_check_begin(count);
	ListCell *lc;
	for (int i = 0; i < count; i++)
	{
		BkTableEntry *e = entries[i];
		pk_set[i] = -1;
		if (e->npk > 0)
		{
			int *pos = (int *) palloc(sizeof(int) * e->npk);
			bool usable = true;
			for (int k = 0; k < e->npk; k++)
			{
				pos[k] = bk_captured_position(e, e->pk[k]) - 1;
				usable = usable && pos[k] >= 0;
			}
			if (usable)
			{
				pk_set[i] = bk_key_check_add_set(kc, i, pos, e->npk, false);
			}
		}
	}
	foreach (lc, fks)
	{
		ForeignKey *fk = (ForeignKey *) lfirst(lc);
		int *cpos = (int *) palloc(sizeof(int) * fk->ncols);
		int *ppos = (int *) palloc(sizeof(int) * fk->ncols);
		for (int c = 0; c < fk->ncols; c++)
		{
			cpos[c] = fk->child_pos[c] - 1;
			ppos[c] = fk->parent_pos[c] - 1;
		}
		fk->child_set = bk_key_check_add_set(kc, fk->child, cpos, fk->ncols, true);
		fk->parent_set = bk_key_check_add_set(kc, fk->parent, ppos, fk->ncols, false);
	}
	for (int i = 0; i < count; i++)
	{
		needs_rows[i] = bk_key_check_has_sets(kc, i);
	}
	return kc;
}

// Runs the hashed checks; true when every key is unique and every foreign key closed.
static bool
key_checks_pass(BkKeyCheck *kc, int count, List *fks, const int *pk_set)
{
	ListCell *lc;
	for (int i = 0; i < count; i++)
	{
		if (pk_set[i] >= 0 && !bk_key_check_unique(kc, pk_set[i]))
		{
			return false;
		}
	}
	foreach (lc, fks)
	{
		ForeignKey *fk = (ForeignKey *) lfirst(lc);
		if (!bk_key_check_contained(kc, fk->child_set, fk->parent_set))
		{
			return false;
		}
	}
	return true;
}

// The report of check_primary_key and check_foreign_keys when the hashed checks proved the keys sound.
static void
report_keys_sound(BkTableEntry **entries, int index, List *fks, BkJson *j)
{
	ListCell *lc;
	if (entries[index]->npk == 0)
	{
		bk_json_raw(j, "primary_key_unique", "null");
	}
	else
	{
		bk_json_bool(j, "primary_key_unique", true);
	}
	bk_json_begin_array(j, "foreign_keys");
	foreach (lc, fks)
	{
		ForeignKey *fk = (ForeignKey *) lfirst(lc);
		if (fk->child != index)
		{
			continue;
		}
		bk_json_begin_object(j, NULL);
		bk_json_str(j, "constraint", fk->name);
		bk_json_str(j, "parent_table", bk_entry_qualified_name(entries[fk->parent]));
		bk_json_bool(j, "closed", true);
		bk_json_int(j, "orphan_rows", 0);
		bk_json_raw(j, "sample_keys", "[]");
		bk_json_end_object(j);
	}
	bk_json_end_array(j);
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
		cb->func = free_decompressor;
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
		fks = snapshot_foreign_keys(entries, count);
		pk_set = (int *) palloc(sizeof(int) * Max(count, 1));
		st.keys = plan_key_checks(entries, count, fks, needs_rows, pk_set);
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
			verify_table_chunks(&st, entries[i], needs_rows[i], &results[i]);
			total_rows += results[i].rows_found;
		}
		if (st.keys != NULL)
		{
			keys_sound = key_checks_pass(st.keys, count, fks, pk_set);
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
					verify_table_chunks(&st, entries[i], needs_rows[i], &results[i]);
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
				check_schema(&st, e, json);
				bk_validate_check_constraints(&snap, e, &st.warnings);
				if (keys_sound)
				{
					report_keys_sound(entries, i, fks, json);
				}
				else
				{
					check_primary_key(&st, e, json);
					check_foreign_keys(&st, entries, i, fks, json);
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
	int guc_level;

	bk_spi_connect();
	guc_level = bk_stable_settings_push();
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
	bk_stable_settings_pop(guc_level);
	bk_spi_finish();
	PG_RETURN_DATUM(result);
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
	int guc_level;

	InitMaterializedSRF(fcinfo, 0);
	bk_spi_connect();
	guc_level = bk_stable_settings_push();
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
	bk_stable_settings_pop(guc_level);
	bk_spi_finish();
	return (Datum) 0;
}
