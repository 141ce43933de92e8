// The SQL text the restore engine writes, gathered in one file so that its quoting can be audited in one place:
// every identifier goes through quote_identifier, every literal through quote_literal_cstr or a parameter, every
// operator is schema-qualified (OPERATOR(pg_catalog.=)) so that the caller's search_path cannot redirect it.
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/restore_engine_internal.hpp"

char *
bk_sql_column_list(const ColumnMap *map, const char *alias)
{
	StringInfoData s;
	ListCell *lc;
	bool first = true;
	initStringInfo(&s);
	foreach (lc, map->attnames)
	{
		if (!first)
		{
			appendStringInfoString(&s, ", ");
		}
		if (alias)
		{
			appendStringInfo(&s, "%s.", alias);
		}
		appendStringInfoString(&s, quote_identifier(strVal(lfirst(lc))));
		first = false;
	}
	return s.data;
}

char *
bk_sql_key_match(const BkTableEntry *entry, const char *a, const char *b)
{
	StringInfoData s;
	initStringInfo(&s);
	for (int i = 0; i < entry->npk; i++)
	{
		const char *k = quote_identifier(entry->pk[i]);
		appendStringInfo(&s, "%s%s.%s OPERATOR(pg_catalog.=) %s.%s", i > 0 ? " AND " : "", a, k, b, k);
	}
	return s.data;
}

char *
bk_sql_update_set(const BkTableEntry *entry, const ColumnMap *map, int *nset)
{
	StringInfoData lhs, rhs;
	ListCell *lc;
	initStringInfo(&lhs);
	initStringInfo(&rhs);
	*nset = 0;
	foreach (lc, map->attnames)
	{
		const char *name = strVal(lfirst(lc));
		bool is_key = false;
		for (int i = 0; i < entry->npk; i++)
		{
			is_key = is_key || strcmp(entry->pk[i], name) == 0;
		}
		if (is_key)
		{
			continue;
		}
		appendStringInfo(&lhs, "%s%s", *nset ? ", " : "", quote_identifier(name));
		appendStringInfo(&rhs, "%ss.%s", *nset ? ", " : "", quote_identifier(name));
		(*nset)++;
	}
	return psprintf("(%s) = ROW(%s)", lhs.data, rhs.data);
}

char *
bk_sql_stage_key_json(const BkTablePlan *p)
{
	StringInfoData key;
	initStringInfo(&key);
	for (int i = 0; i < p->entry->npk; i++)
	{
		appendStringInfo(&key, "%s%s, s.%s", i ? ", " : "", quote_literal_cstr(p->entry->pk[i]),
		                 quote_identifier(p->entry->pk[i]));
	}
	return psprintf("jsonb_build_object(%s)", key.data);
}

char *
bk_sql_json_string(const char *text)
{
	StringInfoData s;
	initStringInfo(&s);
	escape_json(&s, text);
	return s.data;
}

char *
bk_sql_written_since_capture(const BkTablePlan *p)
{
	return psprintf("pg_catalog.age(xmin) OPERATOR(pg_catalog.<=) pg_catalog.age('%u'::pg_catalog.xid)",
	                (TransactionId) p->entry->capture_xmin);
}
