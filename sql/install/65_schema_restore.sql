-- Undoing a migration (second phase of issue 10): restore_snapshot(..., schema => 'missing') first runs what
-- backupkit.definitions_ddl(defs, true) generates from the captured definitions, then restores the contents.

-- Whether the live catalog lacks an object of a captured definition. rel is a quoted qualified name (a routine's
-- object_name: its identity arguments); an object of a table that does not exist is missing.
CREATE FUNCTION backupkit.object_missing(kind text, rel text, object_name text DEFAULT NULL)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT CASE kind
       WHEN 'relation' THEN pg_catalog.to_regclass(rel) IS NULL
       WHEN 'routine' THEN NOT EXISTS (SELECT FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                                        WHERE pg_catalog.format('%I.%I', n.nspname, p.proname) = rel
                                          AND pg_catalog.pg_get_function_identity_arguments(p.oid) = object_name)
       WHEN 'column' THEN NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                                       WHERE a.attrelid = pg_catalog.to_regclass(rel) AND a.attname = object_name
                                         AND a.attnum > 0 AND NOT a.attisdropped)
       WHEN 'constraint' THEN NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c
                                           WHERE c.conrelid = pg_catalog.to_regclass(rel) AND c.conname = object_name)
       WHEN 'trigger' THEN NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
                                        WHERE t.tgrelid = pg_catalog.to_regclass(rel) AND t.tgname = object_name)
       WHEN 'policy' THEN NOT EXISTS (SELECT FROM pg_catalog.pg_policy p
                                       WHERE p.polrelid = pg_catalog.to_regclass(rel) AND p.polname = object_name)
       WHEN 'table_comment' THEN pg_catalog.obj_description(pg_catalog.to_regclass(rel), 'pg_class') IS NULL
       WHEN 'column_comment' THEN pg_catalog.col_description(pg_catalog.to_regclass(rel),
                                      (SELECT a.attnum FROM pg_catalog.pg_attribute a
                                        WHERE a.attrelid = pg_catalog.to_regclass(rel) AND a.attname = object_name
                                          AND NOT a.attisdropped)) IS NULL
       END
$$;
COMMENT ON FUNCTION backupkit.object_missing(text, text, text) IS 'Internal: whether the live catalog lacks an object of a captured definition';

-- Whether index_name of a captured relation is a partition's index whose parent index exists: ATTACH PARTITION
-- creates (or adopts) it, so schema => 'missing' neither creates nor attaches it.
CREATE FUNCTION backupkit.index_from_live_parent(rel jsonb, index_name text)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT EXISTS (SELECT FROM backupkit.json_list(rel->'indexes') i
                WHERE i->>'name' = index_name AND pg_catalog.jsonb_typeof(i->'parent_index') = 'object'
                  AND NOT backupkit.object_missing('relation', pg_catalog.format('%I.%I', i->'parent_index'->>'schema', i->'parent_index'->>'name')))
$$;
COMMENT ON FUNCTION backupkit.index_from_live_parent(jsonb, text) IS 'Internal: whether a captured partition index comes with ATTACH PARTITION onto a live parent index';
