// backupkit.check_referential_integrity: counts the rows violating each foreign key, NOT VALID ones included
// (NOT ENFORCED ones, 18+, promise nothing and are left out).
extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include "pg/support/compat.hpp"
#include "pg/storage/storage.hpp"
#include "pg/support/operation.hpp"

extern "C"
{
	PG_FUNCTION_INFO_V1(bk_check_referential_integrity);
}

// Top-level foreign keys touching the tables ($1 NULL: every table outside extensions), with quoted names
// and the equality operators the constraint itself uses (PK type on the left, as the RI triggers do).
static const char *const fk_list_sql =
    "SELECT co.conname::text, format('%I.%I', cn.nspname, c.relname), format('%I.%I', pn.nspname, p.relname),"
    " c.relkind = 'p', p.relkind = 'p',"
    " ARRAY(SELECT quote_ident(a.attname) FROM unnest(co.conkey) WITH ORDINALITY u(n, o)"
    "       JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = u.n ORDER BY u.o),"
    " ARRAY(SELECT quote_ident(a.attname) FROM unnest(co.confkey) WITH ORDINALITY u(n, o)"
    "       JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = u.n ORDER BY u.o),"
    " ARRAY(SELECT format('OPERATOR(%I.%s)', opn.nspname, op.oprname) FROM unnest(co.conpfeqop) WITH ORDINALITY u(x, o)"
    "       JOIN pg_operator op ON op.oid = u.x JOIN pg_namespace opn ON opn.oid = op.oprnamespace ORDER BY u.o)"
    " FROM pg_constraint co"
    " JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace"
    " JOIN pg_class p ON p.oid = co.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace"
    " WHERE co.contype = 'f' AND co.conparentid = 0"
    "   AND CASE WHEN $1 IS NULL"
    "       THEN NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass"
    "                        AND d.objid = co.conrelid AND d.deptype = 'e')"
    "       ELSE co.conrelid = ANY ($1) OR co.confrelid = ANY ($1) END"
    "   AND " BK_SQL_FK_ENFORCED " ORDER BY 2, 1";

static char **
text_elements(Datum d, int *n)
{
	Datum *elems;
	bool *nulls;
	char **out;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	out = (char **) palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		out[i] = TextDatumGetCString(elems[i]);
	}
	return out;
}

Datum
bk_check_referential_integrity(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid argtypes[1] = {OIDARRAYOID};
	Datum values[1];
	char nulls[1] = {' '};
	int nfk;
	char **names, **childs, **parents;
	bool *child_part, *parent_part;
	Datum *cols, *refs, *ops;
	BkOperation op;

	if (PG_ARGISNULL(0))
	{
		values[0] = (Datum) 0;
		nulls[0] = 'n';
	}
	else
	{
		values[0] = PG_GETARG_DATUM(0);
	}
	InitMaterializedSRF(fcinfo, 0);
	bk_operation_begin(&op, "check_referential_integrity", 0, 0, NULL);
	bk_spi_exec(fk_list_sql, 1, argtypes, values, nulls, true, 0);
	nfk = (int) SPI_processed;
	names = (char **) palloc(sizeof(char *) * Max(nfk, 1));
	childs = (char **) palloc(sizeof(char *) * Max(nfk, 1));
	parents = (char **) palloc(sizeof(char *) * Max(nfk, 1));
	child_part = (bool *) palloc(sizeof(bool) * Max(nfk, 1));
	parent_part = (bool *) palloc(sizeof(bool) * Max(nfk, 1));
	cols = (Datum *) palloc(sizeof(Datum) * Max(nfk, 1));
	refs = (Datum *) palloc(sizeof(Datum) * Max(nfk, 1));
	ops = (Datum *) palloc(sizeof(Datum) * Max(nfk, 1));
	for (int i = 0; i < nfk; i++)
	{
		bool isnull;
		names[i] = bk_spi_get_text(i, 1);
		childs[i] = bk_spi_get_text(i, 2);
		parents[i] = bk_spi_get_text(i, 3);
		child_part[i] = DatumGetBool(bk_spi_get(i, 4, &isnull));
		parent_part[i] = DatumGetBool(bk_spi_get(i, 5, &isnull));
		cols[i] = SPI_datumTransfer(bk_spi_get(i, 6, &isnull), false, -1);
		refs[i] = SPI_datumTransfer(bk_spi_get(i, 7, &isnull), false, -1);
		ops[i] = SPI_datumTransfer(bk_spi_get(i, 8, &isnull), false, -1);
	}
	SPI_freetuptable(SPI_tuptable);

	for (int i = 0; i < nfk; i++)
	{
		int nc, nr, no;
		char **c = text_elements(cols[i], &nc);
		char **r = text_elements(refs[i], &nr);
		char **o = text_elements(ops[i], &no);
		StringInfoData sql;
		Datum out[5];
		bool outnulls[5] = {false, false, false, false, false};
		bool isnull;

		if (nc != nr || nc != no || nc == 0)
		{
			elog(ERROR, "foreign key \"%s\" has inconsistent column lists", names[i]);
		}
		// MATCH SIMPLE: a row with any NULL key column references nothing.
		initStringInfo(&sql);
		appendStringInfoString(&sql, "WITH o AS MATERIALIZED (SELECT ");
		for (int k = 0; k < nc; k++)
		{
			appendStringInfo(&sql, "%sc.%s", k ? ", " : "", c[k]);
		}
		appendStringInfo(&sql, " FROM %s%s c WHERE", child_part[i] ? "" : "ONLY ", childs[i]);
		for (int k = 0; k < nc; k++)
		{
			appendStringInfo(&sql, " c.%s IS NOT NULL AND", c[k]);
		}
		appendStringInfo(&sql, " NOT EXISTS (SELECT 1 FROM %s%s p WHERE ", parent_part[i] ? "" : "ONLY ", parents[i]);
		for (int k = 0; k < nc; k++)
		{
			appendStringInfo(&sql, "%sp.%s %s c.%s", k ? " AND " : "", r[k], o[k], c[k]);
		}
		// The sample is ordered so that repeated checks show the same keys.
		appendStringInfoString(
		    &sql, ")) SELECT count(*), coalesce((SELECT jsonb_agg(to_jsonb(s)) FROM (SELECT * FROM o ORDER BY ");
		for (int k = 0; k < nc; k++)
		{
			appendStringInfo(&sql, "%s%d", k ? ", " : "", k + 1);
		}
		appendStringInfoString(&sql, " LIMIT 5) s), '[]') FROM o");
		bk_spi_exec(sql.data, 0, NULL, NULL, NULL, true, 1);
		out[0] = CStringGetTextDatum(names[i]);
		out[1] = CStringGetTextDatum(childs[i]);
		out[2] = CStringGetTextDatum(parents[i]);
		out[3] = bk_spi_get(0, 1, &isnull);
		out[4] = bk_spi_get(0, 2, &isnull);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnulls);
		SPI_freetuptable(SPI_tuptable);
	}
	return bk_operation_end(&op, (Datum) 0, BK_OP_RESULT_AS_IS);
}
