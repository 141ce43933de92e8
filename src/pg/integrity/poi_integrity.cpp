// backupkit.check_poi_integrity: set-based checks of the POI evolution tables (states, transitions, histories).
extern "C"
{
#include "postgres.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

#include "pg/storage/storage.hpp"
#include "pg/support/message_names.hpp"
#include "pg/support/operation.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_check_poi_integrity);
}

// The table given as argument argno, or the default name looked up on the caller's search_path now.
static Oid
poi_table_arg(FunctionCallInfo fcinfo, int argno, const char *default_name, const char *argname)
{
	Oid relid;
	if (!PG_ARGISNULL(argno))
	{
		return PG_GETARG_OID(argno);
	}
	relid = RangeVarGetRelid(makeRangeVar(NULL, pstrdup(default_name), -1), NoLock, true);
	if (!OidIsValid(relid))
	{
		ereport(ERROR,
		        (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation \"%s\" does not exist", default_name),
		         errdetail("Argument %s is NULL, so \"%s\" is looked up on the search_path.", argname, default_name),
		         errhint("Pass the table as argument %s or add its schema to the search_path.", argname)));
	}
	return relid;
}

static void
require_columns(Oid relid, const char *const *columns, int n)
{
	for (int i = 0; i < n; i++)
	{
		if (get_attnum(relid, columns[i]) == InvalidAttrNumber)
		{
			ereport(ERROR,
			        (errcode(ERRCODE_UNDEFINED_COLUMN),
			         errmsg("column \"%s\" of relation \"%s\" does not exist", columns[i], bk_rel_display_name(relid)),
			         errdetail("backupkit.check_poi_integrity needs the columns id, poi_id, valid_from and "
			                   "valid_to in states; id, poi_id, from_state_id and to_state_id in transitions; "
			                   "id, poi_id, state_id and transition_id in histories.")));
		}
	}
}

// %1$s states, %2$s transitions, %3$s histories (qualified identifiers); $1, $2, $3 their names as text.
static const char *const poi_checks_sql =
    "SELECT * FROM ("
    // transitions
    "SELECT 'transition_missing_from_state' AS check_name, $2 AS table_name, t.id::text AS row_id,"
    " format('Transition %%s of POI %%s starts from state %%s, which does not exist.', t.id, t.poi_id,"
    "  t.from_state_id) AS detail"
    " FROM %2$s t WHERE t.from_state_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %1$s s WHERE s.id = t.from_state_id)"
    " UNION ALL "
    "SELECT 'transition_missing_to_state', $2, t.id::text,"
    " format('Transition %%s of POI %%s leads to state %%s, which does not exist.', t.id, t.poi_id,"
    "  coalesce(t.to_state_id::text, 'NULL'))"
    " FROM %2$s t WHERE t.to_state_id IS NULL OR NOT EXISTS (SELECT 1 FROM %1$s s WHERE s.id = t.to_state_id)"
    " UNION ALL "
    "SELECT 'transition_state_of_other_poi', $2, t.id::text,"
    " format('Transition %%s of POI %%s %%s.', t.id, t.poi_id, concat_ws(' and ',"
    "  CASE WHEN f.id IS NOT NULL AND f.poi_id IS DISTINCT FROM t.poi_id"
    "   THEN format('starts from state %%s of POI %%s', f.id, f.poi_id) "
    "END,"
    "  CASE WHEN g.id IS NOT NULL AND g.poi_id IS DISTINCT FROM t.poi_id"
    "   THEN format('leads to state %%s of POI %%s', g.id, g.poi_id) END))"
    " FROM %2$s t LEFT JOIN %1$s f ON f.id = t.from_state_id LEFT JOIN %1$s g ON g.id = t.to_state_id"
    " WHERE (f.id IS NOT NULL AND f.poi_id IS DISTINCT FROM t.poi_id)"
    "    OR (g.id IS NOT NULL AND g.poi_id IS DISTINCT FROM t.poi_id)"
    " UNION ALL "
    // histories
    "SELECT 'history_missing_state', $3, h.id::text,"
    " format('History %%s of POI %%s records state %%s, which does not exist.', h.id, h.poi_id,"
    "  coalesce(h.state_id::text, 'NULL'))"
    " FROM %3$s h WHERE h.state_id IS NULL OR NOT EXISTS (SELECT 1 FROM %1$s s WHERE s.id = h.state_id)"
    " UNION ALL "
    "SELECT 'history_missing_transition', $3, h.id::text,"
    " format('History %%s of POI %%s records transition %%s, which does not exist.', h.id, h.poi_id, h.transition_id)"
    " FROM %3$s h WHERE h.transition_id IS NOT NULL"
    "   AND NOT EXISTS (SELECT 1 FROM %2$s t WHERE t.id = h.transition_id)"
    " UNION ALL "
    "SELECT 'history_state_of_other_poi', $3, h.id::text,"
    " format('History %%s of POI %%s records state %%s of POI %%s.', h.id, h.poi_id, s.id, s.poi_id)"
    " FROM %3$s h JOIN %1$s s ON s.id = h.state_id WHERE s.poi_id IS DISTINCT FROM h.poi_id"
    " UNION ALL "
    "SELECT 'history_transition_of_other_poi', $3, h.id::text,"
    " format('History %%s of POI %%s records transition %%s of POI %%s.', h.id, h.poi_id, t.id, t.poi_id)"
    " FROM %3$s h JOIN %2$s t ON t.id = h.transition_id WHERE t.poi_id IS DISTINCT FROM h.poi_id"
    " UNION ALL "
    // states
    "SELECT 'orphaned_state', $1, r.id::text,"
    " format('State %%s of POI %%s is neither the first state of its POI nor the target of a transition.',"
    "  r.id, r.poi_id)"
    " FROM (SELECT s.id, s.poi_id,"
    "        row_number() OVER (PARTITION BY s.poi_id ORDER BY s.valid_from, s.id) AS rn FROM %1$s s) r"
    " WHERE r.rn > 1 AND NOT EXISTS (SELECT 1 FROM %2$s t WHERE t.to_state_id = r.id)"
    " UNION ALL "
    "SELECT CASE WHEN c.current_states = 0 THEN 'poi_without_current_state'"
    "            ELSE 'poi_with_several_current_states' END, $1, c.poi_id::text,"
    " format('POI %%s has %%s current states (valid_to IS NULL) instead of one.', c.poi_id, c.current_states)"
    " FROM (SELECT s.poi_id, count(*) FILTER (WHERE s.valid_to IS NULL) AS current_states"
    "       FROM %1$s s GROUP BY s.poi_id) c WHERE c.current_states <> 1"
    " UNION ALL "
    "SELECT 'inverted_interval', $1, s.id::text,"
    " format('State %%s of POI %%s ends (%%s) before it begins (%%s).', s.id, s.poi_id, s.valid_to, s.valid_from)"
    " FROM %1$s s WHERE s.valid_to < s.valid_from"
    " UNION ALL "
    "SELECT 'overlapping_interval', $1, o.id::text,"
    " format('State %%s of POI %%s begins (%%s) before an earlier state of the POI ends.', o.id, o.poi_id,"
    "  o.valid_from)"
    " FROM (SELECT s.id, s.poi_id, s.valid_from, s.valid_to,"
    "        max(coalesce(s.valid_to, 'infinity')) OVER (PARTITION BY s.poi_id ORDER BY s.valid_from, s.id"
    "          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier_end"
    "       FROM %1$s s WHERE s.valid_from IS NOT NULL AND (s.valid_to IS NULL OR s.valid_to >= s.valid_from)) o"
    " WHERE o.earlier_end > o.valid_from"
    // two open states are reported once, as several current states
    "   AND NOT (o.valid_to IS NULL AND o.earlier_end = 'infinity')"
    ") x ORDER BY check_name, table_name, length(row_id), row_id";

Datum
bk_check_poi_integrity(PG_FUNCTION_ARGS)
{
	static const char *const state_cols[] = {"id", "poi_id", "valid_from", "valid_to"};
	static const char *const transition_cols[] = {"id", "poi_id", "from_state_id", "to_state_id"};
	static const char *const history_cols[] = {"id", "poi_id", "state_id", "transition_id"};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid rel[3];
	char *names[3];
	Oid argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum values[3];
	StringInfoData sql;
	Portal portal;
	BkOperation op;

	// Resolved before the search_path is locked: NULL means the caller's tables.
	rel[0] = poi_table_arg(fcinfo, 0, "poi_states", "states");
	rel[1] = poi_table_arg(fcinfo, 1, "poi_transitions", "transitions");
	rel[2] = poi_table_arg(fcinfo, 2, "poi_histories", "histories");
	require_columns(rel[0], state_cols, 4);
	require_columns(rel[1], transition_cols, 4);
	require_columns(rel[2], history_cols, 4);

	InitMaterializedSRF(fcinfo, 0);
	bk_operation_begin(&op, "check_poi_integrity", 0, 0, NULL);
	for (int i = 0; i < 3; i++)
	{
		names[i] = bk_rel_qualified_name(rel[i]);
		values[i] = CStringGetTextDatum(names[i]);
	}
	initStringInfo(&sql);
	appendStringInfo(&sql, poi_checks_sql, names[0], names[1], names[2]);
	portal = SPI_cursor_open_with_args(NULL, sql.data, 3, argtypes, values, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
		{
			break;
		}
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			Datum out[4];
			bool nulls[4];
			for (int c = 0; c < 4; c++)
			{
				out[c] = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 1, &nulls[c]);
			}
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	return bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
}
