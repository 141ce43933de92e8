// Sequences owned by a restored table's columns: replace puts them back to the captured value (or higher when
// the restored rows need it); merge and missing never move a sequence backwards.
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/restore_engine_internal.hpp"

void
bk_restore_sequences(const BkTableEntry *entry, Oid relid, const ColumnMap *map, bool replace)
{
	Oid argtypes[1] = {JSONBOID};
	Datum values[1] = {PointerGetDatum(entry->sequences)};
	SPITupleTable *tt;
	uint64 n;

	if (entry->sequences == NULL)
	{
		return;
	}
	bk_spi_exec("SELECT s->>'column', to_regclass(quote_ident(s->>'schema') || '.' || quote_ident(s->>'name')),"
	            " s->>'last_value' FROM jsonb_array_elements($1) s",
	            1, argtypes, values, NULL, true, 0);
	tt = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		bool isnull;
		char *column = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
		Datum seq = SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull);
		char *captured = SPI_getvalue(tt->vals[i], tt->tupdesc, 3);
		const char *max_expr = "NULL::bigint";
		ListCell *lc;
		Oid seq_args[2] = {OIDOID, INT8OID};
		Datum seq_vals[2];
		char seq_nulls[2] = {' ', ' '};

		if (isnull)
		{
			continue;
		}
		foreach (lc, map->attnames)
		{
			if (strcmp(strVal(lfirst(lc)), column) == 0)
			{
				Oid typ = get_atttype(relid, get_attnum(relid, column));
				if (typ == INT2OID || typ == INT4OID || typ == INT8OID)
				{
					max_expr = psprintf("(SELECT max(%s)::bigint FROM %s)", quote_identifier(column),
					                    bk_rel_qualified_name(relid));
				}
			}
		}
		seq_vals[0] = seq;
		seq_vals[1] = captured ? DirectFunctionCall1(int8in, CStringGetDatum(captured)) : (Datum) 0;
		seq_nulls[1] = captured ? ' ' : 'n';
		// replace: back to the captured value unless rows need more; other modes: never move backwards.
		bk_spi_exec(psprintf("SELECT pg_catalog.setval($1, v, true) FROM (SELECT greatest(%s, %s) AS v) x"
		                     " WHERE v IS NOT NULL",
		                     replace ? "$2" : "pg_catalog.pg_sequence_last_value($1)", max_expr),
		            2, seq_args, seq_vals, seq_nulls, false, 0);
	}
}
