// The staging tables of the staged path, and the two-pass key stage of merge and missing. A first pass loads
// every captured row's key, fingerprint and ordinal into a narrow key stage; one join with the live table lists
// the ordinals of rows that are absent (or, for merge, whose live fingerprint differs); a second pass loads just
// those rows into the full stage. An unchanged table thus costs a scan of each side and no write, where staging
// every row cost a full COPY.
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/restore_engine_internal.hpp"
#include "pg/restore/stage_table.hpp"

Oid
bk_restore_create_stage(Oid relid, const ColumnMap *map, char **stage_name)
{
	StringInfoData cols;
	ListCell *ln, *lt;
	bool first = true;

	initStringInfo(&cols);
	forboth(ln, map->attnames, lt, map->types)
	{
		appendStringInfo(&cols, "%s%s %s", first ? "" : ", ", quote_identifier(strVal(lfirst(ln))),
		                 (char *) lfirst(lt));
		first = false;
	}
	return bk_stage_table_create("backupkit_stage", relid, cols.data, stage_name);
}

// Stage only what merge and missing need. A first pass loads every captured row's key, fingerprint and
// ordinal into a narrow key stage; one join with the live table lists the ordinals of rows that are absent
// (or, for merge, whose live fingerprint differs); a second pass loads just those rows into the full stage.
// An unchanged table thus costs a scan of each side and no write, where staging every row cost a full COPY.
static const char *const fingerprint_column = "backupkit fingerprint";

static const char *const ordinal_column = "backupkit ordinal";

static const int ordinal_batch = 10000;

static bool
wanted_refill(WantedRows *w)
{
	bool isnull;
	if (w->exhausted)
	{
		return false;
	}
	SPI_cursor_fetch(w->cursor, true, ordinal_batch);
	w->nbatch = (int) SPI_processed;
	w->next = 0;
	for (int i = 0; i < w->nbatch; i++)
	{
		w->batch[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	if (w->nbatch == 0)
	{
		w->exhausted = true;
		return false;
	}
	return true;
}

int64
bk_restore_wanted_filter(void *arg, int64 first_ordinal, int rows, bool *row_keep)
{
	WantedRows *w = (WantedRows *) arg;
	int64 kept = 0;
	for (;;)
	{
		if (w->next >= w->nbatch && !wanted_refill(w))
		{
			return kept > 0 ? kept : -1;
		}
		int64 ord = w->batch[w->next];
		if (ord >= first_ordinal + rows)
		{
			return kept;
		}
		if (ord >= first_ordinal)
		{
			row_keep[ord - first_ordinal] = true;
			kept++;
		}
		w->next++;
	}
}

// Index of each key column among the captured columns, or false when the key stage cannot be used.
static bool
key_stage_columns(const BkTablePlan *p, int *key_cols, List **key_types)
{
	if (p->entry->npk > bk::max_key_columns)
	{
		return false;
	}
	for (int k = 0; k < p->entry->npk; k++)
	{
		int ci = 0;
		ListCell *ln, *lt;
		key_cols[k] = -1;
		for (int i = 0; i < p->entry->ncolumns; i++)
		{
			if (!p->entry->columns[i].captured)
			{
				continue;
			}
			if (strcmp(p->entry->columns[i].name, p->entry->pk[k]) == 0)
			{
				key_cols[k] = ci;
			}
			ci++;
		}
		if (key_cols[k] < 0 || strcmp(p->entry->pk[k], fingerprint_column) == 0 ||
		    strcmp(p->entry->pk[k], ordinal_column) == 0)
		{
			return false;
		}
		forboth(ln, p->map.attnames, lt, p->map.types)
		{
			if (strcmp(strVal(lfirst(ln)), p->entry->pk[k]) == 0)
			{
				*key_types = lappend(*key_types, lfirst(lt));
			}
		}
	}
	return list_length(*key_types) == p->entry->npk;
}

bool
bk_restore_key_index_exists(const BkTablePlan *p, bool unique)
{
	Oid argtypes[3] = {OIDOID, TEXTARRAYOID, INT4OID};
	Datum values[3];
	Datum *names = (Datum *) palloc(sizeof(Datum) * p->entry->npk);
	bool isnull;
	for (int i = 0; i < p->entry->npk; i++)
	{
		names[i] = CStringGetTextDatum(p->entry->pk[i]);
	}
	values[0] = ObjectIdGetDatum(p->relid);
	values[1] = PointerGetDatum(construct_array(names, p->entry->npk, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = Int32GetDatum(p->entry->npk);
	bk_spi_exec(
	    psprintf("SELECT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = $1 AND i.indisvalid "
	             " AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts %s $3 %s"
	             " AND (SELECT pg_catalog.array_agg(a.attname::pg_catalog.text ORDER BY a.attname) "
	             "      FROM pg_catalog.unnest((i.indkey::pg_catalog.int2[])[0:$3 - 1]) k(attnum) "
	             "      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) "
	             "   OPERATOR(pg_catalog.=) (SELECT pg_catalog.array_agg(x ORDER BY x) FROM pg_catalog.unnest($2) x))",
	             unique ? "=" : ">=", unique ? "AND i.indisunique" : ""),
	    3, argtypes, values, NULL, true, 1);
	return DatumGetBool(bk_spi_get(0, 1, &isnull));
}

bool
bk_restore_few_staged(const BkTablePlan *p, int64 n)
{
	return n * 5 <= p->entry->row_count && bk_restore_key_index_exists(p, false);
}

char *
bk_restore_load_key_stage(BkTablePlan *p, bool every_key)
{
	int key_cols[bk::max_key_columns];
	List *key_types = NIL;
	List *stage_cols = NIL;
	StringInfoData cols;
	char *keys_table;
	Oid keys_oid;
	ListCell *lt;
	int k = 0;

	if (!key_stage_columns(p, key_cols, &key_types))
	{
		return NULL;
	}
	initStringInfo(&cols);
	foreach (lt, key_types)
	{
		appendStringInfo(&cols, "%s %s, ", quote_identifier(p->entry->pk[k]), (char *) lfirst(lt));
		stage_cols = lappend(stage_cols, makeString(p->entry->pk[k]));
		k++;
	}
	appendStringInfo(&cols, "%s bigint, %s bigint", quote_identifier(fingerprint_column),
	                 quote_identifier(ordinal_column));
	stage_cols = lappend(stage_cols, makeString(pstrdup(fingerprint_column)));
	stage_cols = lappend(stage_cols, makeString(pstrdup(ordinal_column)));
	keys_oid = bk_stage_table_create("backupkit_keys", p->relid, cols.data, &keys_table);

	bk_progress_table(0, p->target, p->entry->row_count);
	{
		// Rows still stored in the tuple they were captured from need no key, no comparison and no write. diff
		// (every_key) lists rows added since the capture through the key stage, so it needs every key.
		BkChunkReader *reader = bk_restore_open_chunks(p);
		BkUnchangedRows *unchanged = every_key ? NULL : bk_unchanged_rows_begin(p->entry, p->relid, reader);
		uint64 keys =
		    bk_copy_chunk_keys_into(keys_oid, stage_cols, reader, p->map.keep, key_cols, p->entry->npk, p->target,
		                            unchanged != NULL ? bk_unchanged_rows_filter : NULL, unchanged);
		if (unchanged != NULL)
		{
			p->unchanged_in_place = bk_unchanged_rows_end(unchanged, &p->in_place_complete);
		}
		p->probe_joins = bk_restore_few_staged(p, (int64) keys);
	}
	CommandCounterIncrement();
	// Row counts and key statistics, so that the join with the live table is planned for their real number.
	bk_stage_table_analyze(keys_table);
	return keys_table;
}

// Opens a cursor over the ordinals (ascending) of the key stage's rows that are absent from the live table or
// (merge) whose live row's fingerprint differs.
static Portal
open_wanted_cursor(const BkTablePlan *p, const char *keys_table)
{
	char *query;
	Portal cursor;
	bool scan_recent = p->opts->mode == bk::RestoreMode::missing && p->in_place_complete;
	{
		char *match = bk_sql_key_match(p->entry, "k", "t");
		const char *ord = quote_identifier(ordinal_column);
		if (scan_recent)
		{
			// Only tuples written since the capture can hold a staged row's key (bk_unchanged_rows_end): one
			// scan keeps those, whose xmin is no older than the capture's horizon, and a hash anti-join
			// replaces a probe of the key index per staged row (which, after a DELETE, visits every dead tuple).
			StringInfoData keys;
			initStringInfo(&keys);
			for (int i = 0; i < p->entry->npk; i++)
			{
				appendStringInfo(&keys, "%s%s", i > 0 ? ", " : "", quote_identifier(p->entry->pk[i]));
			}
			query = psprintf("SELECT k.%s FROM %s k WHERE NOT EXISTS (SELECT FROM (SELECT %s FROM %s%s WHERE %s"
			                 " OFFSET 0) t WHERE %s) ORDER BY 1",
			                 ord, keys_table, keys.data, p->only, p->target, bk_sql_written_since_capture(p), match);
		}
		else if (p->opts->mode == bk::RestoreMode::missing)
		{
			query = psprintf("SELECT k.%s FROM %s k WHERE NOT EXISTS (SELECT FROM %s%s t WHERE %s) ORDER BY 1", ord,
			                 keys_table, p->only, p->target, match);
		}
		else
		{
			query = psprintf("SELECT k.%s FROM %s k LEFT JOIN %s%s t ON %s WHERE t.%s IS NULL"
			                 " OR backupkit.row_fingerprint(ROW(%s)) OPERATOR(pg_catalog.<>) k.%s ORDER BY 1",
			                 ord, keys_table, p->only, p->target, match, quote_identifier(p->entry->pk[0]),
			                 bk_sql_column_list(&p->map, "t"), quote_identifier(fingerprint_column));
		}
	}
	{
		SPIPlanPtr plan = bk_spi_prepare(query, 0, NULL);
		int level = p->probe_joins && !scan_recent ? bk_index_probe_joins_push() : -1;
		cursor = SPI_cursor_open(NULL, plan, NULL, NULL, false); // planned here
		if (level >= 0)
		{
			bk_stable_settings_pop(level);
		}
	}
	return cursor;
}

void
bk_restore_wanted_open(WantedRows *w, const BkTablePlan *p, const char *keys_table)
{
	memset(w, 0, sizeof(*w));
	w->batch = (int64 *) palloc(sizeof(int64) * ordinal_batch);
	w->cursor = open_wanted_cursor(p, keys_table);
}

bool
bk_restore_stage_differing_rows(BkTablePlan *p, bool keep_keys)
{
	char *keys_table = bk_restore_load_key_stage(p, keep_keys);
	WantedRows wanted;

	if (keys_table == NULL)
	{
		return false;
	}
	bk_restore_wanted_open(&wanted, p, keys_table);
	{
		Oid stage_oid = bk_restore_create_stage(p->relid, &p->map, &p->stage);
		p->staged = (int64) bk_copy_chunk_rows_into(stage_oid, p->map.attnames, bk_restore_open_chunks(p), p->map.keep,
		                                            bk_restore_wanted_filter, &wanted, false, false, p->target,
		                                            bk_restore_key_names(p));
		p->stage_differs_only = true;
	}
	SPI_cursor_close(wanted.cursor);
	if (keep_keys)
	{
		p->keys_stage = keys_table;
	}
	else
	{
		bk_stage_table_drop(keys_table);
	}
	CommandCounterIncrement();
	return true;
}
