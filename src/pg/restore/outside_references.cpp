// Foreign keys from tables outside the restored set: which ones reference a restored table (they decide the
// path and forbid replacing an unkeyed table), and the check that a keyed replace deletes no row they still
// reference.
#include "core/codec/row_fingerprint.hpp"
#include "core/error.hpp"
#include "core/plan/citus_table_type.hpp"
#include "core/plan/options.hpp"
#include "pg/boundary/boundary.hpp"

#include "pg/restore/restore_engine_internal.hpp"
#include "pg/support/message_names.hpp"

void
bk_outside_references(Oid relid, const BkRestoreOptions *opts, List **children, List **constraints, bool *any)
{
	Oid argtypes[2] = {OIDOID, OIDARRAYOID};
	Datum values[2] = {ObjectIdGetDatum(relid), bk_spi_oid_array(opts->set_relids, opts->set_count)};
	bk_spi_exec("SELECT c.conrelid::regclass::text, c.conname::text, " BK_SQL_FK_ENFORCED " FROM pg_constraint c"
	            " WHERE c.contype = 'f' AND c.confrelid = $1 AND (c.conparentid = 0 OR EXISTS (SELECT FROM"
	            "   pg_constraint p WHERE p.oid = c.conparentid AND p.conrelid = c.conrelid))"
	            "   AND c.conrelid <> ALL ($2) AND c.conrelid <> $1"
	            "   AND NOT EXISTS (SELECT FROM pg_partition_ancestors(c.conrelid) a WHERE a.relid = ANY ($2))"
	            " ORDER BY 1, 2",
	            2, argtypes, values, NULL, true, 0);
	*children = NIL;
	*constraints = NIL;
	*any = SPI_processed > 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool isnull;
		if (DatumGetBool(bk_spi_get((int) i, 3, &isnull)))
		{
			*children = lappend(*children, bk_spi_get_text((int) i, 1));
			*constraints = lappend(*constraints, bk_spi_get_text((int) i, 2));
		}
	}
}

void
bk_check_outside_child(const char *target, const char *only, const char *stage, const char *child, const char *conname)
{
	StringInfoData fk_match, stage_match, shown;
	SPITupleTable *tt;

	(void) bk_foreign_key_column_pairs(child, conname);
	tt = SPI_tuptable;
	initStringInfo(&fk_match);
	initStringInfo(&stage_match);
	initStringInfo(&shown);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		const char *c = quote_identifier(SPI_getvalue(tt->vals[i], tt->tupdesc, 1));
		const char *p = quote_identifier(SPI_getvalue(tt->vals[i], tt->tupdesc, 2));
		appendStringInfo(&fk_match, "%st.%s OPERATOR(pg_catalog.=) c.%s", i ? " AND " : "", p, c);
		appendStringInfo(&stage_match, "%ss.%s OPERATOR(pg_catalog.=) c.%s", i ? " AND " : "", p, c);
		appendStringInfo(&shown, "%sc.%s", i ? " || ', ' || " : "", c);
	}
	// Not read-only: a read-only query runs under the statement's snapshot, which cannot see the rows just
	// copied into the stage, so every referenced key would look absent from the snapshot. No LIMIT: it would
	// make the planner bet on finding an offender early and pick a nested-loop anti-join, quadratic in the
	// usual case where there is none (150,000 referenced rows took over 10 minutes); SPI stops at one row.
	bk_spi_exec(psprintf("SELECT (%s)::text FROM %s c WHERE EXISTS (SELECT FROM %s%s t WHERE %s)"
	                     " AND NOT EXISTS (SELECT FROM %s s WHERE %s)",
	                     shown.data, child, only, target, fk_match.data, stage, stage_match.data),
	            0, NULL, NULL, NULL, false, 1);
	if (SPI_processed > 0)
	{
		ereport(ERROR,
		        (errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
		         errmsg("restoring table \"%s\" would remove rows referenced from table \"%s\"",
		                bk_display_name_of(target), bk_display_name_of(child)),
		         errdetail("Key (%s) of a row absent from the snapshot is still referenced through foreign key \"%s\".",
		                   bk_spi_get_text(0, 1), conname),
		         errhint("Restore table \"%s\" in the same call, or use mode => 'merge'.", bk_display_name_of(child))));
	}
}
