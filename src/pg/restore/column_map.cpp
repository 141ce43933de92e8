// How a captured table's columns meet the live table's (restore_engine_internal.hpp): which captured columns are
// kept, their live types, and the warnings a restore reports about dropped, generated or retyped columns.
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/restore_engine_internal.hpp"

void
bk_build_column_map(const BkTableEntry *entry, const BkTableMetadata *live, ColumnMap *map)
{
	int ci = 0;
	memset(map, 0, sizeof(*map));
	map->keep = (bool *) palloc0(sizeof(bool) * Max(entry->ncaptured, 1));
	for (int i = 0; i < entry->ncolumns; i++)
	{
		const BkColumn *col = &entry->columns[i];
		const BkLiveColumn *match = NULL;
		if (!col->captured)
		{
			continue;
		}
		for (int j = 0; j < live->ncolumns; j++)
		{
			if (strcmp(live->column_list[j].name, col->name) == 0)
			{
				match = &live->column_list[j];
				break;
			}
		}
		if (match == NULL)
		{
			map->warnings =
			    lappend(map->warnings, psprintf("column \"%s\" (%s at capture) no longer exists; its captured values "
			                                    "were skipped (schema => 'missing' or 'exact' re-creates it)",
			                                    col->name, col->type_name));
		}
		else if (!match->captured)
		{
			map->warnings = lappend(map->warnings,
			                        psprintf("column \"%s\" is now generated; its values were recomputed", col->name));
		}
		else
		{
			map->keep[ci] = true;
			map->attnames = lappend(map->attnames, makeString(pstrdup(col->name)));
			map->types = lappend(map->types, format_type_with_typemod(match->type_oid, match->typmod));
			map->nkept++;
			if (strcmp(match->type_oid == InvalidOid ? "" : format_type_with_typemod(match->type_oid, match->typmod),
			           col->type_name) != 0)
			{
				char *change = psprintf("column \"%s\" changed type from %s at capture to %s now", col->name,
				                        col->type_name, format_type_with_typemod(match->type_oid, match->typmod));
				map->warnings = lappend(map->warnings, psprintf("%s (schema => 'exact' converts it back)", change));
				map->retyped = map->retyped == NULL ? change : psprintf("%s; %s", map->retyped, change);
			}
		}
		ci++;
	}
	for (int j = 0; j < live->ncolumns; j++)
	{
		bool found = false;
		if (!live->column_list[j].captured)
		{
			continue;
		}
		for (int i = 0; i < entry->ncolumns && !found; i++)
		{
			found = strcmp(entry->columns[i].name, live->column_list[j].name) == 0;
		}
		if (!found)
		{
			map->warnings =
			    lappend(map->warnings, psprintf("column \"%s\" is not in the snapshot; restored rows get its default",
			                                    live->column_list[j].name));
		}
	}
}

bool
bk_key_is_kept(const BkTableEntry *entry, const ColumnMap *map)
{
	if (entry->npk == 0)
	{
		return false;
	}
	for (int i = 0; i < entry->npk; i++)
	{
		ListCell *lc;
		bool found = false;
		foreach (lc, map->attnames)
		{
			found = found || strcmp(strVal(lfirst(lc)), entry->pk[i]) == 0;
		}
		if (!found)
		{
			return false;
		}
	}
	return true;
}
