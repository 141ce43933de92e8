// Validation's schema check: the captured shape of a table compared with the live table of the same name.
#include "core/codec/checksum.hpp"
#include "core/codec/chunk_codec.hpp"
#include "core/codec/zstd_codec.hpp"
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/integrity/validate_internal.hpp"
#include "pg/support/message_names.hpp"

// Writes reasons as the report's array key and returns them joined with "; " for the warning.
static char *
report_reasons(BkJson *j, const char *key, List *reasons)
{
	StringInfoData s;
	ListCell *lc;
	initStringInfo(&s);
	bk_json_begin_array(j, key);
	foreach (lc, reasons)
	{
		bk_json_str(j, NULL, (char *) lfirst(lc));
		appendStringInfo(&s, "%s%s", s.len ? "; " : "", (char *) lfirst(lc));
	}
	bk_json_end_array(j);
	return s.data;
}

void
bk_validate_schema(ValidateState *st, const BkTableEntry *e, BkJson *j)
{
	Oid argtypes[2] = {TEXTOID, TEXTOID};
	Datum values[2] = {CStringGetTextDatum(e->schema_name), CStringGetTextDatum(e->table_name)};
	const char *name = bk_entry_display_name(e); // for messages, in quotes
	List *drift = NIL;
	List *why = NIL;
	bool isnull;
	Oid relid;
	int nlive;
	char **live_name, **live_type;
	bool *live_required;
	int common_live = 0;
	bool order_same = true;

	bk_spi_exec("SELECT to_regclass(format('%I.%I', $1, $2))::oid", 2, argtypes, values, NULL, true, 1);
	relid = DatumGetObjectId(bk_spi_get(0, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	if (isnull)
	{
		bk_json_str(j, "schema", "missing");
		st->warnings = lappend(st->warnings, psprintf("Table \"%s\" no longer exists in the database.", name));
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
		bk_json_str(j, "schema", "incompatible");
		st->warnings = lappend(st->warnings, psprintf("Table \"%s\" cannot be restored as it is now: %s.", name,
		                                              report_reasons(j, "schema_why", why)));
	}
	else if (drift != NIL)
	{
		bk_json_str(j, "schema", "compatible");
		st->warnings = lappend(st->warnings, psprintf("Table \"%s\" changed since the snapshot: %s.", name,
		                                              report_reasons(j, "schema_drift", drift)));
	}
	else
	{
		bk_json_str(j, "schema", "identical");
	}
}
