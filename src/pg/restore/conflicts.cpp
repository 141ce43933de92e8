// Rows merge and missing set aside instead of failing: staged rows a CHECK constraint rejects or that collide
// with another row on a unique index other than the key. They are removed from the stage (dry run or not, so
// both count the same) and listed in the report, up to conflict_report_limit of them.
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/restore_engine_internal.hpp"

static const int conflict_report_limit = 100;

// Records the rows of the last SPI result (key json text, total count) as conflicts with reason.
static void
record_conflicts(BkTablePlan *p, const char *reason, int64 total)
{
	for (uint64 i = 0; i < SPI_processed && list_length(p->conflict_rows) < conflict_report_limit; i++)
	{
		p->conflict_rows =
		    lappend(p->conflict_rows, psprintf("{\"key\": %s, \"reason\": %s}", bk_spi_get_text((int) i, 1), reason));
	}
	p->conflicts += total;
}

void
bk_restore_collect_unique_conflicts(BkTablePlan *p, const char *absent_in_target)
{
	int64 total = 0;
	bool isnull;
	bk_spi_exec(psprintf("SELECT %s::text, count(*) OVER () FROM %s s WHERE %s LIMIT %d", bk_sql_stage_key_json(p),
	                     p->stage, absent_in_target, conflict_report_limit),
	            0, NULL, NULL, NULL, false, 0);
	if (SPI_processed > 0)
	{
		total = DatumGetInt64(bk_spi_get(0, 2, &isnull));
	}
	record_conflicts(p, bk_sql_json_string("unique constraint other than the key"), total);
}

// The condition under which staged row s would collide, on a unique index other than the key, with an existing
// row of another key (merge and missing may not change that row), or NULL when no such index applies.
// Collisions between two staged rows are left to ON CONFLICT DO NOTHING (see bk_restore_collect_unique_conflicts): the
// snapshot held them together, so they only arise from a unique constraint added since the capture. Where
// ON CONFLICT is refused (restore_rules.hpp), among_staged gives the condition of colliding with an earlier
// staged row instead, the one ON CONFLICT DO NOTHING would have kept (INSERT ... SELECT reads the stage in order).
static char *
unique_collision_condition(const BkTablePlan *p, bool among_staged)
{
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(p->relid)};
	SPITupleTable *tt;
	uint64 n;
	StringInfoData cond;

	bk_spi_exec("SELECT ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) k"
	            "       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k)"
	            " FROM pg_index i WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid"
	            "   AND i.indexprs IS NULL AND i.indpred IS NULL",
	            1, argtypes, values, NULL, true, 0);
	tt = SPI_tuptable;
	n = SPI_processed;
	initStringInfo(&cond);
	for (uint64 r = 0; r < n; r++)
	{
		bool isnull;
		Datum *elems;
		bool *nulls;
		int ncols;
		bool usable = true;
		bool is_key;
		StringInfoData match;

		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &isnull)), TEXTOID, -1, false,
		                  TYPALIGN_INT, &elems, &nulls, &ncols);
		is_key = ncols == p->entry->npk;
		initStringInfo(&match);
		for (int c = 0; c < ncols && usable; c++)
		{
			char *name = TextDatumGetCString(elems[c]);
			ListCell *lc;
			bool staged = false;
			bool in_key = false;
			foreach (lc, p->map.attnames)
			{
				staged = staged || strcmp(strVal(lfirst(lc)), name) == 0;
			}
			for (int k = 0; k < p->entry->npk; k++)
			{
				in_key = in_key || strcmp(p->entry->pk[k], name) == 0;
			}
			is_key = is_key && in_key;
			usable = staged;
			appendStringInfo(&match, "%st.%s OPERATOR(pg_catalog.=) s.%s", c ? " AND " : "", quote_identifier(name),
			                 quote_identifier(name));
		}
		if (!usable || is_key)
		{
			continue;
		}
		if (among_staged)
		{
			appendStringInfo(&cond, "%sEXISTS (SELECT FROM %s t WHERE %s AND t.ctid OPERATOR(pg_catalog.<) s.ctid)",
			                 cond.len ? " OR " : "", p->stage, match.data);
		}
		else
		{
			appendStringInfo(&cond, "%sEXISTS (SELECT FROM %s%s t WHERE %s AND NOT (%s))", cond.len ? " OR " : "",
			                 p->only, p->target, match.data, bk_sql_key_match(p->entry, "s", "t"));
		}
	}
	return cond.len ? cond.data : NULL;
}

void
bk_restore_skip_unique_conflicts(BkTablePlan *p, const char *absent_in_target, bool among_staged)
{
	char *collides = unique_collision_condition(p, among_staged);
	bool isnull;
	int64 total = 0;

	if (collides == NULL)
	{
		return;
	}
	bk_spi_exec(psprintf("WITH gone AS (DELETE FROM %s s WHERE (%s)%s%s RETURNING %s AS k)"
	                     " SELECT k::text, count(*) OVER () FROM gone LIMIT %d",
	                     p->stage, collides, p->opts->mode == bk::RestoreMode::missing ? " AND " : "",
	                     p->opts->mode == bk::RestoreMode::missing ? absent_in_target : "", bk_sql_stage_key_json(p),
	                     conflict_report_limit),
	            0, NULL, NULL, NULL, false, 0);
	if (SPI_processed > 0)
	{
		total = DatumGetInt64(bk_spi_get(0, 2, &isnull));
	}
	record_conflicts(p, bk_sql_json_string("unique constraint other than the key"), total);
}

void
bk_restore_skip_check_conflicts(BkTablePlan *p)
{
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(p->relid)};
	SPITupleTable *checks;
	uint64 nchecks;

	bk_spi_exec("SELECT c.conname::text, pg_get_expr(c.conbin, c.conrelid),"
	            " ARRAY(SELECT a.attname::text FROM unnest(c.conkey) k JOIN pg_attribute a"
	            "       ON a.attrelid = c.conrelid AND a.attnum = k)"
	            " FROM pg_constraint c WHERE c.conrelid = $1 AND c.contype = 'c' ORDER BY c.conname",
	            1, argtypes, values, NULL, true, 0);
	checks = SPI_tuptable;
	nchecks = SPI_processed;
	for (uint64 i = 0; i < nchecks; i++)
	{
		char *conname = SPI_getvalue(checks->vals[i], checks->tupdesc, 1);
		char *expr = SPI_getvalue(checks->vals[i], checks->tupdesc, 2);
		bool isnull;
		Datum cols = SPI_getbinval(checks->vals[i], checks->tupdesc, 3, &isnull);
		Datum *elems;
		bool *nulls;
		int ncols;
		bool staged = true;
		int64 total = 0;

		deconstruct_array(DatumGetArrayTypeP(cols), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &ncols);
		for (int c = 0; c < ncols && staged; c++)
		{
			ListCell *lc;
			bool found = false;
			char *name = TextDatumGetCString(elems[c]);
			foreach (lc, p->map.attnames)
			{
				found = found || strcmp(strVal(lfirst(lc)), name) == 0;
			}
			staged = found;
		}
		if (!staged)
		{
			continue;
		}
		// The stage has the target's column names and types, so the constraint's expression reads it as is.
		bk_spi_exec(psprintf("WITH gone AS (DELETE FROM %s s WHERE (%s) IS FALSE RETURNING %s AS k)"
		                     " SELECT k::text, count(*) OVER () FROM gone LIMIT %d",
		                     p->stage, expr, bk_sql_stage_key_json(p), conflict_report_limit),
		            0, NULL, NULL, NULL, false, 0);
		if (SPI_processed > 0)
		{
			total = DatumGetInt64(bk_spi_get(0, 2, &isnull));
		}
		record_conflicts(p, bk_sql_json_string(psprintf("check constraint \"%s\"", conname)), total);
	}
}

void
bk_restore_set_aside_citus_conflicts(void *arg, const char *rows, const char *live)
{
	BkTablePlan *p = (BkTablePlan *) arg;
	char *stage = p->stage;
	const char *target = p->target;
	const char *only = p->only;
	char *absent_in_live =
	    psprintf("NOT EXISTS (SELECT FROM %s t WHERE %s)", live, bk_sql_key_match(p->entry, "s", "t"));

	// The checks read p->stage as the rows to insert and p->target as the table: both local tables here.
	p->stage = pstrdup(rows);
	p->target = live;
	p->only = "";
	bk_restore_skip_check_conflicts(p);
	bk_restore_skip_unique_conflicts(p, absent_in_live, false);
	// Two rows to write colliding with each other: the later one is set aside, as the staged path's INSERT ...
	// ON CONFLICT DO NOTHING leaves it (Citus writes every row with an arbiter on the key only).
	bk_restore_skip_unique_conflicts(p, absent_in_live, true);
	p->stage = stage;
	p->target = target;
	p->only = only;
}
