// Validation's key checks: primary-key uniqueness and foreign-key closure among the tables of a snapshot, through
// the hashed checks of key_hash_check.hpp when they apply and over the loaded rows otherwise.
#include "core/codec/checksum.hpp"
#include "core/codec/chunk_codec.hpp"
#include "core/codec/zstd_codec.hpp"
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/integrity/validate_internal.hpp"
#include "pg/support/message_names.hpp"

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

List *
bk_validate_foreign_keys_of(BkTableEntry **entries, int count)
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

// Finishes sql, which opens a CTE named hits and leaves it to close, with the count of its rows and up to five
// of them as a jsonb array (*sample, NULL when there is none); runs it and returns the count.
static int64
count_with_sample(StringInfo sql, int nargs, Oid *argtypes, Datum *values, char **sample)
{
	bool isnull;
	int64 n;
	appendStringInfoString(sql, ") SELECT count(*), (SELECT jsonb_agg(to_jsonb(s)) FROM (SELECT * FROM hits LIMIT 5) s)"
	                            " FROM hits");
	bk_spi_exec(sql->data, nargs, argtypes, values, NULL, false, 1);
	n = DatumGetInt64(bk_spi_get(0, 1, &isnull));
	*sample = bk_spi_get_text(0, 2);
	SPI_freetuptable(SPI_tuptable);
	return n;
}

void
bk_validate_primary_key(ValidateState *st, const BkTableEntry *e, BkJson *j)
{
	StringInfoData sql;
	Oid argtypes[1] = {INT4OID};
	Datum values[1] = {Int32GetDatum(e->table_no)};
	int64 dups;
	char *sample;

	if (e->npk == 0)
	{
		bk_json_raw(j, "primary_key_unique", "null");
		return;
	}
	initStringInfo(&sql);
	appendStringInfoString(&sql, "WITH hits AS (SELECT ");
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
	appendStringInfoString(&sql, " HAVING count(*) > 1");
	dups = count_with_sample(&sql, 1, argtypes, values, &sample);
	bk_json_bool(j, "primary_key_unique", dups == 0);
	if (dups > 0)
	{
		bk_json_int(j, "duplicate_keys", dups);
		bk_json_raw(j, "duplicate_sample", sample);
		st->errors = lappend(st->errors, psprintf("Table \"%s\" holds " INT64_FORMAT
		                                          " duplicated primary key values, for example %s.",
		                                          bk_entry_display_name(e), dups, sample));
	}
}

void
bk_validate_foreign_key_closure(ValidateState *st, BkTableEntry **entries, int index, List *fks, BkJson *j)
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
		char *sample;
		const char *parent = bk_entry_qualified_name(entries[fk->parent]);

		if (fk->child != index)
		{
			continue;
		}
		values[0] = Int32GetDatum(entries[fk->child]->table_no);
		values[1] = Int32GetDatum(entries[fk->parent]->table_no);
		initStringInfo(&sql);
		appendStringInfoString(&sql, "WITH hits AS (SELECT ");
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
		appendStringInfoString(&sql, ")");
		orphans = count_with_sample(&sql, 2, argtypes, values, &sample);
		bk_json_begin_object(j, NULL);
		bk_json_str(j, "constraint", fk->name);
		bk_json_str(j, "parent_table", parent);
		bk_json_bool(j, "closed", orphans == 0);
		bk_json_int(j, "orphan_rows", orphans);
		bk_json_raw(j, "sample_keys", sample ? sample : "[]");
		bk_json_end_object(j);
		if (orphans > 0)
		{
			st->errors =
			    lappend(st->errors, psprintf("Table \"%s\" holds " INT64_FORMAT " rows whose key in table \"%s\" "
			                                 "(foreign key \"%s\") is absent from the snapshot, for example %s.",
			                                 bk_entry_display_name(entries[fk->child]), orphans,
			                                 bk_entry_display_name(entries[fk->parent]), fk->name, sample));
		}
	}
	bk_json_end_array(j);
}

BkKeyCheck *
bk_validate_plan_key_checks(BkTableEntry **entries, int count, List *fks, bool *needs_rows, int *pk_set)
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

bool
bk_validate_key_checks_pass(BkKeyCheck *kc, int count, List *fks, const int *pk_set)
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

void
bk_validate_report_keys_sound(BkTableEntry **entries, int index, List *fks, BkJson *j)
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
