// Catalog queries describing a table at capture time. They run as the caller and with read_only = true, so
// they see the catalogs under the same MVCC snapshot as the captured rows.
extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
}

#include "pg/support/compat.hpp"
#include "pg/storage/storage.hpp"
#include "pg/schema/table_metadata.hpp"

// The restore key (k) is the primary key, else a unique index on not-null columns, and always a btree index:
// a WITHOUT OVERLAPS key (18+, GiST) keeps rows apart by range overlap, not by equality, so rows cannot be
// matched on it; such a table takes its key from another unique index or is keyless.
static const char *const table_metadata_sql =
    "SELECT n.nspname::text, c.relname::text, c.relkind::text,"
    " coalesce((SELECT jsonb_agg(jsonb_build_object("
    "   'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'type_oid', a.atttypid,"
    "   'typmod', a.atttypmod, 'not_null', a.attnotnull, 'default', pg_get_expr(d.adbin, d.adrelid),"
    "   'identity', CASE WHEN a.attidentity <> '' THEN a.attidentity::text END,"
    "   'generated', CASE WHEN a.attgenerated <> '' THEN a.attgenerated::text END,"
    "   'captured', a.attgenerated = '', 'attnum', a.attnum) ORDER BY a.attnum)"
    "   FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    "   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]'::jsonb),"
    " k.cols, k.kind,"
    " coalesce((SELECT jsonb_agg(jsonb_build_object("
    "   'name', co.conname, 'ref_schema', rn.nspname, 'ref_table', rc.relname, 'ref_relid', co.confrelid,"
    "   'columns', (SELECT jsonb_agg(a.attname ORDER BY u.ord) FROM unnest(co.conkey) WITH ORDINALITY u(n, ord)"
    "               JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = u.n),"
    "   'ref_columns', (SELECT jsonb_agg(a.attname ORDER BY u.ord) FROM unnest(co.confkey) WITH ORDINALITY u(n, ord)"
    "               JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = u.n),"
    "   'deferrable', co.condeferrable, 'deferred', co.condeferred, 'validated', co.convalidated,"
    "   'enforced', " BK_SQL_FK_ENFORCED ","
    "   'on_delete', co.confdeltype::text, 'on_update', co.confupdtype::text,"
    "   'definition', pg_get_constraintdef(co.oid)) ORDER BY co.conname)"
    "   FROM pg_constraint co JOIN pg_class rc ON rc.oid = co.confrelid"
    "   JOIN pg_namespace rn ON rn.oid = rc.relnamespace"
    "   WHERE co.conrelid = c.oid AND co.contype = 'f' AND co.conparentid = 0), '[]'::jsonb),"
    " coalesce((SELECT jsonb_agg(jsonb_build_object("
    "   'column', s.attname, 'schema', sn.nspname, 'name', sc.relname, 'relid', sc.oid,"
    "   'readable', has_sequence_privilege(sc.oid, 'SELECT,USAGE'),"
    "   'last_value', CASE WHEN has_sequence_privilege(sc.oid, 'SELECT,USAGE')"
    "                 THEN pg_sequence_last_value(sc.oid) END) ORDER BY s.attname, sc.relname)"
    "   FROM (SELECT a.attname, dep.refobjid AS seqid FROM pg_depend dep"
    "         JOIN pg_attrdef ad ON dep.classid = 'pg_attrdef'::regclass AND dep.objid = ad.oid"
    "         JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum"
    "         WHERE ad.adrelid = c.oid AND dep.refclassid = 'pg_class'::regclass"
    "         UNION"
    "         SELECT a.attname, dep.objid FROM pg_depend dep"
    "         JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid"
    "         WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass"
    "           AND dep.refobjid = c.oid AND dep.deptype IN ('a', 'i')) s"
    "   JOIN pg_class sc ON sc.oid = s.seqid AND sc.relkind = 'S'"
    "   JOIN pg_namespace sn ON sn.oid = sc.relnamespace), '[]'::jsonb)"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " LEFT JOIN LATERAL ("
    "   SELECT array_agg(a.attname::text ORDER BY x.ord) AS cols,"
    "          min(CASE WHEN i.indisprimary THEN 'primary key' ELSE 'unique' END) AS kind"
    "   FROM (SELECT i.* FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
    "         JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'"
    "         WHERE i.indrelid = c.oid AND i.indisvalid AND (i.indisprimary OR (i.indisunique AND i.indimmediate"
    "           AND i.indpred IS NULL AND i.indexprs IS NULL AND NOT EXISTS ("
    "             SELECT FROM unnest(i.indkey::int2[]) u(n) LEFT JOIN pg_attribute a"
    "             ON a.attrelid = i.indrelid AND a.attnum = u.n WHERE a.attnotnull IS NOT TRUE)))"
    "         ORDER BY i.indisprimary DESC, ic.relname LIMIT 1) i"
    "   CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY x(attnum, ord)"
    "   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.attnum) k ON k.cols IS NOT NULL"
    " WHERE c.oid = $1";

static const char *const column_list_sql =
    "SELECT a.attname::text, a.atttypid, a.atttypmod, a.attgenerated = '' FROM pg_attribute a"
    " WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";

void
bk_read_table_metadata(Oid relid, BkTableMetadata *out)
{
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(relid)};
	bool isnull;
	SPITupleTable *tt;

	bk_spi_exec(table_metadata_sql, 1, argtypes, values, NULL, true, 1);
	if (SPI_processed != 1)
	{
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relid)));
	}
	tt = SPI_tuptable;
	out->relid = relid;
	out->schema_name = SPI_getvalue(tt->vals[0], tt->tupdesc, 1);
	out->table_name = SPI_getvalue(tt->vals[0], tt->tupdesc, 2);
	out->relkind = SPI_getvalue(tt->vals[0], tt->tupdesc, 3)[0];
	out->columns = SPI_datumTransfer(SPI_getbinval(tt->vals[0], tt->tupdesc, 4, &isnull), false, -1);
	out->key_columns = SPI_getbinval(tt->vals[0], tt->tupdesc, 5, &isnull);
	out->key_columns = isnull ? (Datum) 0 : SPI_datumTransfer(out->key_columns, false, -1);
	out->key_kind = SPI_getvalue(tt->vals[0], tt->tupdesc, 6);
	out->foreign_keys = SPI_datumTransfer(SPI_getbinval(tt->vals[0], tt->tupdesc, 7, &isnull), false, -1);
	out->sequences = SPI_datumTransfer(SPI_getbinval(tt->vals[0], tt->tupdesc, 8, &isnull), false, -1);

	bk_spi_exec(column_list_sql, 1, argtypes, values, NULL, true, 0);
	tt = SPI_tuptable;
	out->ncolumns = (int) SPI_processed;
	out->column_list = (BkLiveColumn *) palloc0(sizeof(BkLiveColumn) * Max(out->ncolumns, 1));
	for (int i = 0; i < out->ncolumns; i++)
	{
		BkLiveColumn *c = &out->column_list[i];
		c->name = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
		c->type_oid = DatumGetObjectId(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
		c->typmod = DatumGetInt32(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull));
		c->captured = DatumGetBool(SPI_getbinval(tt->vals[i], tt->tupdesc, 4, &isnull));
	}
}

uint64
bk_foreign_key_column_pairs(const char *child, const char *conname)
{
	Oid argtypes[2] = {TEXTOID, TEXTOID};
	Datum values[2] = {CStringGetTextDatum(child), CStringGetTextDatum(conname)};

	bk_spi_exec("SELECT a.attname::text, r.attname::text FROM pg_constraint c,"
	            " unnest(c.conkey, c.confkey) AS k(child_att, parent_att)"
	            " JOIN pg_attribute a ON a.attrelid = $1::regclass AND a.attnum = k.child_att"
	            " JOIN pg_attribute r ON r.attrelid = (SELECT confrelid FROM pg_constraint"
	            "   WHERE conrelid = $1::regclass AND conname = $2) AND r.attnum = k.parent_att"
	            " WHERE c.conrelid = $1::regclass AND c.conname = $2",
	            2, argtypes, values, NULL, true, 0);
	return SPI_processed;
}
