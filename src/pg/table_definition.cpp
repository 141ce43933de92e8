// The complete definition of a captured table (see table_definition.hpp), read from the catalogs by one
// statement. The format is described in doc/table-definition.md; bump its "format" for incompatible changes.
extern "C"
{
#include "postgres.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
}

#include "storage.hpp"
#include "table_definition.hpp"

// Runs with backupkit's pinned settings (search_path = pg_catalog, pg_temp), so every pg_get_* text names
// user objects schema-qualified. Names, not OIDs, find objects again; the OIDs recorded ("relid", "oid")
// are only hints for matching renamed objects in the database the snapshot was taken in.
static const char *const table_definition_sql =
    "WITH rels AS (\n"
    "  SELECT $1::oid AS oid, 0 AS level\n"
    "  UNION ALL\n"
    "  SELECT t.relid, t.level FROM pg_partition_tree($1) t WHERE t.level > 0\n"
    "), cons AS (\n"
    "  SELECT co.*, pg_get_constraintdef(co.oid) AS def FROM pg_constraint co WHERE co.conrelid IN (SELECT oid FROM rels)\n"
    "), seqs AS (\n"
    "  SELECT DISTINCT a.attrelid AS relid, a.attname, sc.oid AS seqid, dep.deptype\n"
    "    FROM pg_depend dep\n"
    "    JOIN pg_class sc ON sc.oid = dep.objid AND sc.relkind = 'S'\n"
    "    JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid\n"
    "   WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass\n"
    "     AND dep.refobjid IN (SELECT oid FROM rels) AND dep.deptype IN ('a', 'i')\n"
    "), views AS (\n"
    "  -- Views and materialized views over the table (or its partitions), and views over those, with depth.\n"
    "  SELECT DISTINCT ON (v.oid) v.oid, v.depth FROM (\n"
    "    WITH RECURSIVE dv(oid, depth) AS (\n"
    "      SELECT DISTINCT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid\n"
    "       WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass\n"
    "         AND d.refobjid IN (SELECT oid FROM rels) AND r.ev_class NOT IN (SELECT oid FROM rels)\n"
    "      UNION\n"
    "      SELECT r.ev_class, dv.depth + 1 FROM dv JOIN pg_depend d ON d.refobjid = dv.oid AND d.refclassid = 'pg_class'::regclass\n"
    "        JOIN pg_rewrite r ON r.oid = d.objid AND d.classid = 'pg_rewrite'::regclass\n"
    "       WHERE r.ev_class <> dv.oid AND dv.depth < 20\n"
    "    ) SELECT * FROM dv) v ORDER BY v.oid, v.depth DESC\n"
    ")\n"
    "SELECT jsonb_build_object(\n"
    "  'format', 1,\n"
    "  'relations', (SELECT jsonb_agg(jsonb_build_object(\n"
    "     'relid', c.oid, 'schema', n.nspname, 'name', c.relname, 'relkind', c.relkind, 'level', r.level,\n"
    "     'persistence', c.relpersistence, 'owner', pg_get_userbyid(c.relowner),\n"
    "     'tablespace', (SELECT spcname FROM pg_tablespace WHERE oid = c.reltablespace),\n"
    "     'access_method', (SELECT amname FROM pg_am WHERE oid = c.relam AND amname <> 'heap'),\n"
    "     'reloptions', to_jsonb(c.reloptions),\n"
    "     'replica_identity', c.relreplident,\n"
    "     'rls', c.relrowsecurity, 'rls_forced', c.relforcerowsecurity,\n"
    "     'comment', obj_description(c.oid, 'pg_class'),\n"
    "     'acl', to_jsonb(c.relacl::text[]),\n"
    "     'grants', (SELECT jsonb_agg(jsonb_build_object('grantee', CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,\n"
    "                  'grantor', pg_get_userbyid(x.grantor), 'privilege', x.privilege_type, 'grantable', x.is_grantable) ORDER BY x.grantee, x.privilege_type)\n"
    "                FROM aclexplode(c.relacl) x),\n"
    "     'partition_key', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,\n"
    "     'parent', (SELECT jsonb_build_object('schema', pn.nspname, 'name', pc.relname, 'relid', pc.oid)\n"
    "                  FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace\n"
    "                 WHERE i.inhrelid = c.oid AND c.relispartition),\n"
    "     'partition_bound', CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,\n"
    "     'inherits', (SELECT jsonb_agg(jsonb_build_object('schema', pn.nspname, 'name', pc.relname) ORDER BY i.inhseqno)\n"
    "                   FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace\n"
    "                  WHERE i.inhrelid = c.oid AND NOT c.relispartition),\n"
    "     'columns', (SELECT jsonb_agg(jsonb_build_object(\n"
    "         'name', a.attname, 'attnum', a.attnum,\n"
    "         'type', format_type(a.atttypid, a.atttypmod), 'type_schema', tn.nspname, 'type_name', t.typname,\n"
    "         'collation', CASE WHEN a.attcollation <> t.typcollation THEN\n"
    "                        (SELECT jsonb_build_object('schema', cn.nspname, 'name', cl.collname)\n"
    "                           FROM pg_collation cl JOIN pg_namespace cn ON cn.oid = cl.collnamespace WHERE cl.oid = a.attcollation) END,\n"
    "         'not_null', a.attnotnull, 'local', a.attislocal,\n"
    "         'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,\n"
    "         'generated', CASE WHEN a.attgenerated <> '' THEN jsonb_build_object('kind', a.attgenerated, 'expression', pg_get_expr(d.adbin, d.adrelid)) END,\n"
    "         'identity', CASE WHEN a.attidentity <> '' THEN (\n"
    "            SELECT jsonb_build_object('kind', a.attidentity, 'sequence', jsonb_build_object('schema', sn.nspname, 'name', sc.relname, 'relid', sc.oid,\n"
    "                     'type', format_type(sq.seqtypid, NULL), 'start', sq.seqstart, 'increment', sq.seqincrement, 'min', sq.seqmin, 'max', sq.seqmax,\n"
    "                     'cache', sq.seqcache, 'cycle', sq.seqcycle,\n"
    "                     'last_value', CASE WHEN has_sequence_privilege(sc.oid, 'SELECT,USAGE') THEN pg_sequence_last_value(sc.oid) END))\n"
    "              FROM seqs s JOIN pg_class sc ON sc.oid = s.seqid JOIN pg_namespace sn ON sn.oid = sc.relnamespace\n"
    "              JOIN pg_sequence sq ON sq.seqrelid = sc.oid\n"
    "             WHERE s.relid = a.attrelid AND s.attname = a.attname AND s.deptype = 'i' LIMIT 1) END,\n"
    "         'storage', a.attstorage, 'type_storage', t.typstorage,\n"
    "         'compression', NULLIF(a.attcompression, ''),\n"
    "         'statistics', a.attstattarget,\n"
    "         'comment', col_description(c.oid, a.attnum),\n"
    "         'acl', to_jsonb(a.attacl::text[]),\n"
    "         'grants', (SELECT jsonb_agg(jsonb_build_object('grantee', CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,\n"
    "                      'grantor', pg_get_userbyid(x.grantor), 'privilege', x.privilege_type, 'grantable', x.is_grantable) ORDER BY x.grantee, x.privilege_type)\n"
    "                    FROM aclexplode(a.attacl) x)\n"
    "       ) ORDER BY a.attnum)\n"
    "       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace\n"
    "       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum\n"
    "      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),\n"
    "     'dropped_columns', (SELECT jsonb_agg(a.attnum ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attisdropped),\n"
    "     'constraints', (SELECT jsonb_agg(jsonb_build_object(\n"
    "         'oid', co.oid, 'name', co.conname, 'kind', co.contype, 'definition', co.def,\n"
    "         'columns', (SELECT jsonb_agg(a.attname ORDER BY u.ord) FROM unnest(co.conkey) WITH ORDINALITY u(k, ord)\n"
    "                       JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = u.k),\n"
    "         'deferrable', co.condeferrable, 'deferred', co.condeferred, 'validated', co.convalidated,\n"
    "         'local', co.conislocal, 'inherited', co.coninhcount > 0, 'no_inherit', co.connoinherit,\n"
    "         'parent_index', (SELECT jsonb_build_object('schema', pn.nspname, 'name', pi.relname)\n"
    "                            FROM pg_inherits i JOIN pg_class pi ON pi.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pi.relnamespace\n"
    "                           WHERE i.inhrelid = co.conindid AND co.contype IN ('p', 'u', 'x')),\n"
    "         'from_parent', co.conparentid <> 0,\n"
    "         'index', (SELECT ic.relname FROM pg_class ic WHERE ic.oid = co.conindid AND co.contype IN ('p', 'u', 'x')),\n"
    "         'references', CASE WHEN co.contype = 'f' THEN (SELECT jsonb_build_object('schema', rn.nspname, 'name', rc.relname, 'relid', rc.oid)\n"
    "                            FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace WHERE rc.oid = co.confrelid) END,\n"
    "         'comment', obj_description(co.oid, 'pg_constraint')) ORDER BY co.contype, co.conname)\n"
    "       FROM cons co WHERE co.conrelid = c.oid),\n"
    "     'indexes', (SELECT jsonb_agg(jsonb_build_object(\n"
    "         'oid', ic.oid, 'name', ic.relname, 'definition', pg_get_indexdef(ic.oid),\n"
    "         'constraint', EXISTS (SELECT FROM pg_constraint x WHERE x.conindid = ic.oid AND x.conrelid = c.oid AND x.contype IN ('p', 'u', 'x')),\n"
    "         'replica_identity', i.indisreplident, 'clustered', i.indisclustered,\n"
    "         'tablespace', (SELECT spcname FROM pg_tablespace WHERE oid = ic.reltablespace),\n"
    "         'parent_index', (SELECT jsonb_build_object('schema', pn.nspname, 'name', pi.relname)\n"
    "                            FROM pg_inherits ih JOIN pg_class pi ON pi.oid = ih.inhparent JOIN pg_namespace pn ON pn.oid = pi.relnamespace\n"
    "                           WHERE ih.inhrelid = ic.oid),\n"
    "         'statistics', (SELECT jsonb_agg(jsonb_build_object('attnum', ia.attnum, 'target', ia.attstattarget)) FROM pg_attribute ia\n"
    "                         WHERE ia.attrelid = ic.oid AND ia.attstattarget >= 0),\n"
    "         'comment', obj_description(ic.oid, 'pg_class')) ORDER BY ic.relname)\n"
    "       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid),\n"
    "     'triggers', (SELECT jsonb_agg(jsonb_build_object(\n"
    "         'oid', tg.oid, 'name', tg.tgname, 'definition', pg_get_triggerdef(tg.oid), 'enabled', tg.tgenabled,\n"
    "         'function', jsonb_build_object('schema', fn.nspname, 'name', f.proname),\n"
    "         'comment', obj_description(tg.oid, 'pg_trigger')) ORDER BY tg.tgname)\n"
    "       FROM pg_trigger tg JOIN pg_proc f ON f.oid = tg.tgfoid JOIN pg_namespace fn ON fn.oid = f.pronamespace\n"
    "      WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal AND tg.tgparentid = 0),\n"
    "     'policies', (SELECT jsonb_agg(jsonb_build_object(\n"
    "         'oid', p.oid, 'name', p.polname, 'command', p.polcmd, 'permissive', p.polpermissive,\n"
    "         'roles', (SELECT jsonb_agg(CASE WHEN rr = 0 THEN 'public' ELSE pg_get_userbyid(rr) END ORDER BY rr) FROM unnest(p.polroles) rr),\n"
    "         'using', pg_get_expr(p.polqual, p.polrelid), 'with_check', pg_get_expr(p.polwithcheck, p.polrelid),\n"
    "         'comment', obj_description(p.oid, 'pg_policy')) ORDER BY p.polname)\n"
    "       FROM pg_policy p WHERE p.polrelid = c.oid)\n"
    "   ) ORDER BY r.level, n.nspname, c.relname)\n"
    "   FROM rels r JOIN pg_class c ON c.oid = r.oid JOIN pg_namespace n ON n.oid = c.relnamespace),\n"
    "  'sequences', (SELECT jsonb_agg(jsonb_build_object(\n"
    "     'relid', sc.oid, 'schema', sn.nspname, 'name', sc.relname, 'identity', s.deptype = 'i',\n"
    "     'table', jsonb_build_object('schema', tn.nspname, 'name', tc.relname), 'column', s.attname,\n"
    "     'owner', pg_get_userbyid(sc.relowner), 'persistence', sc.relpersistence,\n"
    "     'type', format_type(sq.seqtypid, NULL), 'start', sq.seqstart, 'increment', sq.seqincrement, 'min', sq.seqmin, 'max', sq.seqmax,\n"
    "     'cache', sq.seqcache, 'cycle', sq.seqcycle,\n"
    "     'readable', has_sequence_privilege(sc.oid, 'SELECT,USAGE'),\n"
    "     'last_value', CASE WHEN has_sequence_privilege(sc.oid, 'SELECT,USAGE') THEN pg_sequence_last_value(sc.oid) END,\n"
    "     'comment', obj_description(sc.oid, 'pg_class'), 'acl', to_jsonb(sc.relacl::text[]),\n"
    "     'grants', (SELECT jsonb_agg(jsonb_build_object('grantee', CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,\n"
    "                  'grantor', pg_get_userbyid(x.grantor), 'privilege', x.privilege_type, 'grantable', x.is_grantable) ORDER BY x.grantee, x.privilege_type)\n"
    "                FROM aclexplode(sc.relacl) x)) ORDER BY sn.nspname, sc.relname)\n"
    "   FROM seqs s JOIN pg_class sc ON sc.oid = s.seqid JOIN pg_namespace sn ON sn.oid = sc.relnamespace\n"
    "   JOIN pg_sequence sq ON sq.seqrelid = sc.oid\n"
    "   JOIN pg_class tc ON tc.oid = s.relid JOIN pg_namespace tn ON tn.oid = tc.relnamespace),\n"
    "  'outside_foreign_keys', (SELECT jsonb_agg(jsonb_build_object(\n"
    "     'oid', co.oid, 'name', co.conname, 'definition', pg_get_constraintdef(co.oid), 'relid', oc.oid,\n"
    "     'schema', onn.nspname, 'table', oc.relname, 'comment', obj_description(co.oid, 'pg_constraint'),\n"
    "     'deferrable', co.condeferrable, 'deferred', co.condeferred, 'validated', co.convalidated) ORDER BY onn.nspname, oc.relname, co.conname)\n"
    "   FROM pg_constraint co JOIN pg_class oc ON oc.oid = co.conrelid JOIN pg_namespace onn ON onn.oid = oc.relnamespace\n"
    "   WHERE co.contype = 'f' AND co.confrelid IN (SELECT oid FROM rels) AND co.conrelid NOT IN (SELECT oid FROM rels)\n"
    "     AND co.conparentid = 0),\n"
    "  'functions', (SELECT jsonb_agg(jsonb_build_object(\n"
    "     'oid', f.oid, 'schema', fn.nspname, 'name', f.proname, 'kind', f.prokind,\n"
    "     'arguments', pg_get_function_identity_arguments(f.oid), 'definition', pg_get_functiondef(f.oid),\n"
    "     'owner', pg_get_userbyid(f.proowner), 'comment', obj_description(f.oid, 'pg_proc'), 'acl', to_jsonb(f.proacl::text[]),\n"
    "     'grants', (SELECT jsonb_agg(jsonb_build_object('grantee', CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,\n"
    "                  'grantor', pg_get_userbyid(x.grantor), 'privilege', x.privilege_type, 'grantable', x.is_grantable) ORDER BY x.grantee, x.privilege_type)\n"
    "                FROM aclexplode(f.proacl) x)) ORDER BY fn.nspname, f.proname, f.oid)\n"
    "   FROM pg_proc f JOIN pg_namespace fn ON fn.oid = f.pronamespace\n"
    "   WHERE f.prokind IN ('f', 'p') AND f.oid IN (\n"
    "     SELECT d.objid FROM pg_depend d JOIN pg_class rc ON rc.reltype = d.refobjid\n"
    "      WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_type'::regclass AND d.deptype = 'n'\n"
    "        AND rc.oid IN (SELECT oid FROM rels))),\n"
    "  'views', (SELECT jsonb_agg(jsonb_build_object(\n"
    "     'relid', vc.oid, 'schema', vn.nspname, 'name', vc.relname, 'relkind', vc.relkind, 'depth', v.depth,\n"
    "     'definition', pg_get_viewdef(vc.oid), 'owner', pg_get_userbyid(vc.relowner), 'reloptions', to_jsonb(vc.reloptions),\n"
    "     'comment', obj_description(vc.oid, 'pg_class'), 'acl', to_jsonb(vc.relacl::text[]),\n"
    "     'grants', (SELECT jsonb_agg(jsonb_build_object('grantee', CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,\n"
    "                  'grantor', pg_get_userbyid(x.grantor), 'privilege', x.privilege_type, 'grantable', x.is_grantable) ORDER BY x.grantee, x.privilege_type)\n"
    "                FROM aclexplode(vc.relacl) x),\n"
    "     'indexes', (SELECT jsonb_agg(jsonb_build_object('name', ic.relname, 'definition', pg_get_indexdef(ic.oid),\n"
    "                   'comment', obj_description(ic.oid, 'pg_class')) ORDER BY ic.relname)\n"
    "                   FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = vc.oid),\n"
    "     'column_comments', (SELECT jsonb_agg(jsonb_build_object('name', a.attname, 'comment', col_description(vc.oid, a.attnum)) ORDER BY a.attnum)\n"
    "                   FROM pg_attribute a WHERE a.attrelid = vc.oid AND a.attnum > 0 AND col_description(vc.oid, a.attnum) IS NOT NULL)\n"
    "     ) ORDER BY v.depth, vn.nspname, vc.relname)\n"
    "   FROM views v JOIN pg_class vc ON vc.oid = v.oid AND vc.relkind IN ('v', 'm') JOIN pg_namespace vn ON vn.oid = vc.relnamespace)\n"
    ")\n";

// Prepared once per backend with a generic plan: planning this statement costs more than running it.
static SPIPlanPtr definition_plan = NULL;

Datum
bk_read_table_definition(Oid relid)
{
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(relid)};
	bool isnull;
	Datum d;

	if (definition_plan == NULL)
	{
		MemoryContext cxt = CurrentMemoryContext;
		SPIPlanPtr plan = SPI_prepare_cursor(table_definition_sql, 1, argtypes, CURSOR_OPT_GENERIC_PLAN);
		MemoryContextSwitchTo(cxt);
		if (plan == NULL)
		{
			elog(ERROR, "SPI_prepare failed for the table definition query: %s", SPI_result_code_string(SPI_result));
		}
		if (SPI_keepplan(plan) != 0)
		{
			elog(ERROR, "SPI_keepplan failed for the table definition query");
		}
		definition_plan = plan;
	}
	bk_spi_exec_plan(definition_plan, values, NULL, true, 1);
	if (SPI_processed != 1)
	{
		elog(ERROR, "table definition query returned " UINT64_FORMAT " rows for relation %u", SPI_processed, relid);
	}
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
	{
		elog(ERROR, "table definition query returned NULL for relation %u", relid);
	}
	return SPI_datumTransfer(d, false, -1);
}
