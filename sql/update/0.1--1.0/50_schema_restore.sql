-- Undoing a migration, second phase of issue 10: restore_snapshot gains schema text DEFAULT 'keep' (a new
-- signature), snapshot_ddl's body becomes definitions_ddl(defs, only_missing), which schema => 'missing' reuses.
DROP FUNCTION backupkit.restore_snapshot(bigint, regclass[], text, boolean, boolean, boolean);
CREATE FUNCTION backupkit.restore_snapshot(snapshot_id bigint, tables regclass[] DEFAULT NULL, mode text DEFAULT 'replace', dry_run boolean DEFAULT false, fire_triggers boolean DEFAULT false, validate boolean DEFAULT true, schema text DEFAULT 'keep')
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'bk_restore_snapshot';
COMMENT ON FUNCTION backupkit.restore_snapshot(bigint, regclass[], text, boolean, boolean, boolean, text) IS 'Restores several tables of a snapshot (all when tables is NULL) in foreign-key order, all or nothing; schema => ''missing'' first re-creates what a migration removed; returns a report';

-- The DDL of a list of definitions. With only_missing, just what the live catalog lacks (restore_snapshot's
-- schema => 'missing'): objects that exist are left alone, a table that exists gets its missing columns with
-- ALTER TABLE ADD COLUMN. Then a NULL row, the statements to run after the contents are restored (NOT NULL
-- and primary keys on re-added columns), another NULL row and the warnings.
CREATE FUNCTION backupkit.definitions_ddl(defs jsonb[], only_missing boolean DEFAULT false)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
    m boolean := only_missing;
    fresh text[] := '{}';   -- the relations this DDL creates
    after text[] := '{}';
    warnings text[] := '{}';
    d jsonb;
    r jsonb;
    c jsonb;
    x jsonb;
    t text;       -- the relation, quoted
    cols text;
    col text;
    parts text[];
    done text[] := '{}';
    captured text[];
    rels jsonb := '[]';
BEGIN
    IF defs IS NULL THEN
        RETURN;
    END IF;
    -- Every relation of the definitions, once, in capture order (no temporary table: this runs on a standby too).
    FOREACH d IN ARRAY defs LOOP
        FOR r IN SELECT e FROM pg_catalog.jsonb_array_elements(d->'relations') e LOOP
            IF NOT pg_catalog.format('%I.%I', r->>'schema', r->>'name') = ANY (done) THEN
                done := done || pg_catalog.format('%I.%I', r->>'schema', r->>'name');
                rels := rels || jsonb_build_array(r);
            END IF;
        END LOOP;
    END LOOP;
    captured := done;
    IF m THEN
        -- A table renamed since (found by its OID hint under another name) is left as it is.
        FOR r IN SELECT e FROM pg_catalog.jsonb_array_elements(rels) e LOOP
            t := pg_catalog.format('%I.%I', r->>'schema', r->>'name');
            SELECT cl.oid::regclass::text INTO col FROM pg_catalog.pg_class cl
             WHERE cl.oid = (r->>'relid')::oid AND cl.relkind::text = r->>'relkind' AND cl.oid IS DISTINCT FROM pg_catalog.to_regclass(t);
            IF FOUND THEN
                warnings := warnings || pg_catalog.format('table %s was renamed to %s since the capture; schema => ''missing'' leaves it as it is', t, col);
                rels := (SELECT pg_catalog.jsonb_agg(e) FROM pg_catalog.jsonb_array_elements(rels) e
                          WHERE pg_catalog.format('%I.%I', e->>'schema', e->>'name') <> t);
            END IF;
        END LOOP;
        rels := coalesce(rels, '[]');
    END IF;
    fresh := CASE WHEN m THEN ARRAY(SELECT n FROM pg_catalog.unnest(captured) n WHERE pg_catalog.to_regclass(n) IS NULL
                                      AND n IN (SELECT pg_catalog.format('%I.%I', e->>'schema', e->>'name') FROM pg_catalog.jsonb_array_elements(rels) e))
                  ELSE captured END;

    -- 1. Sequences owned by a column through a default (serial); identity sequences come with their column.
    FOREACH d IN ARRAY defs LOOP
        FOR x IN SELECT e FROM backupkit.json_list(d->'sequences') e WHERE NOT (e->>'identity')::boolean
                   AND (NOT m OR backupkit.object_missing('relation', pg_catalog.format('%I.%I', e->>'schema', e->>'name'))) LOOP
            RETURN NEXT pg_catalog.format('CREATE %sSEQUENCE %I.%I %s', CASE WHEN x->>'persistence' = 'u' THEN 'UNLOGGED ' ELSE '' END,
                                          x->>'schema', x->>'name', backupkit.sequence_options(x));
        END LOOP;
    END LOOP;

    -- 2. Tables with their columns, parents before partitions.
    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(rels) WITH ORDINALITY AS b(rel, ord) ORDER BY (b.rel->>'level')::int, b.ord LOOP
        cols := NULL;
        t := pg_catalog.format('%I.%I', r->>'schema', r->>'name');
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
            -- A partition that exists gets its parent's new columns with them.
            CONTINUE WHEN NOT t = ANY (fresh) AND (r->'parent' <> 'null' OR NOT backupkit.object_missing('column', t, c->>'name'));
            col := pg_catalog.format('%I %s', c->>'name', c->>'type');
            IF c->'collation' IS NOT NULL AND c->'collation' <> 'null' THEN
                col := col || pg_catalog.format(' COLLATE %I.%I', c->'collation'->>'schema', c->'collation'->>'name');
            END IF;
            IF c->'generated' IS NOT NULL AND c->'generated' <> 'null' THEN
                col := col || pg_catalog.format(' GENERATED ALWAYS AS (%s) STORED', c->'generated'->>'expression');
            ELSIF c->'identity' IS NOT NULL AND c->'identity' <> 'null' AND r->'parent' = 'null' THEN
                col := col || pg_catalog.format(' GENERATED %s AS IDENTITY (SEQUENCE NAME %I.%I %s)',
                                                CASE WHEN c->'identity'->>'kind' = 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END,
                                                c->'identity'->'sequence'->>'schema', c->'identity'->'sequence'->>'name',
                                                backupkit.sequence_options(c->'identity'->'sequence', false));
            ELSIF c->>'default' IS NOT NULL THEN
                col := col || ' DEFAULT ' || (c->>'default');
            END IF;
            IF (c->>'not_null')::boolean AND t = ANY (fresh) THEN
                col := col || ' NOT NULL';
            ELSIF (c->>'not_null')::boolean THEN
                -- Set once the column holds its captured values.
                after := after || pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', t, c->>'name');
            END IF;
            IF t = ANY (fresh) THEN
                cols := CASE WHEN cols IS NULL THEN col ELSE cols || ', ' || col END;
            ELSE
                RETURN NEXT pg_catalog.format('ALTER TABLE %s ADD COLUMN %s', t, col);
            END IF;
        END LOOP;
        IF t = ANY (fresh) THEN
            RETURN NEXT pg_catalog.format('CREATE %sTABLE %I.%I (%s)%s%s%s%s',
                CASE WHEN r->>'persistence' = 'u' THEN 'UNLOGGED ' ELSE '' END, r->>'schema', r->>'name', coalesce(cols, ''),
                CASE WHEN r->>'partition_key' IS NOT NULL THEN ' PARTITION BY ' || (r->>'partition_key') ELSE '' END,
                CASE WHEN r->>'access_method' IS NOT NULL THEN pg_catalog.format(' USING %I', r->>'access_method') ELSE '' END,
                CASE WHEN jsonb_typeof(r->'reloptions') = 'array' THEN ' WITH (' || backupkit.reloptions_clause(r->'reloptions') || ')' ELSE '' END,
                CASE WHEN r->>'tablespace' IS NOT NULL THEN pg_catalog.format(' TABLESPACE %I', r->>'tablespace') ELSE '' END);
        END IF;
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
            CONTINUE WHEN NOT t = ANY (fresh) AND NOT backupkit.object_missing('column', t, c->>'name');
            IF c->>'storage' <> c->>'type_storage' THEN
                RETURN NEXT pg_catalog.format('ALTER TABLE ONLY %s ALTER COLUMN %I SET STORAGE %s', t, c->>'name',
                    CASE c->>'storage' WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END);
            END IF;
            IF c->>'compression' IS NOT NULL THEN
                RETURN NEXT pg_catalog.format('ALTER TABLE ONLY %s ALTER COLUMN %I SET COMPRESSION %s', t, c->>'name',
                    CASE c->>'compression' WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' ELSE 'default' END);
            END IF;
            IF (c->>'statistics')::int >= 0 THEN
                RETURN NEXT pg_catalog.format('ALTER TABLE ONLY %s ALTER COLUMN %I SET STATISTICS %s', t, c->>'name', (c->>'statistics')::int);
            END IF;
        END LOOP;
        -- Check constraints before partitions are attached (a partition must have its parent's).
        FOR x IN SELECT e FROM backupkit.json_list(r->'constraints') e WHERE e->>'kind' = 'c'
                   AND (NOT m OR backupkit.object_missing('constraint', t, e->>'name')) LOOP
            RETURN NEXT pg_catalog.format('ALTER TABLE %s%s ADD CONSTRAINT %I %s', CASE WHEN r->>'relkind' = 'p' AND r->'parent' <> 'null' THEN '' ELSE 'ONLY ' END,
                                          t, x->>'name', x->>'definition');
        END LOOP;
    END LOOP;

    -- Functions whose signature uses a captured table's row type (DROP TABLE ... CASCADE drops them).
    done := '{}';
    FOREACH d IN ARRAY defs LOOP
        FOR x IN SELECT e FROM backupkit.json_list(d->'functions') e LOOP
            t := pg_catalog.format('%I.%I(%s)', x->>'schema', x->>'name', x->>'arguments');
            CONTINUE WHEN t = ANY (done)
                          OR (m AND NOT backupkit.object_missing('routine', pg_catalog.format('%I.%I', x->>'schema', x->>'name'), x->>'arguments'));
            done := done || t;
            RETURN NEXT pg_catalog.rtrim(x->>'definition', E'\n');
            RETURN NEXT pg_catalog.format('ALTER %s %s OWNER TO %I', CASE WHEN x->>'kind' = 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, t, x->>'owner');
            IF x->>'comment' IS NOT NULL THEN
                RETURN NEXT pg_catalog.format('COMMENT ON %s %s IS %L', CASE WHEN x->>'kind' = 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, t, x->>'comment');
            END IF;
            IF jsonb_typeof(x->'acl') = 'array' THEN
                RETURN NEXT pg_catalog.format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', t);
                RETURN NEXT pg_catalog.format('REVOKE ALL ON ROUTINE %s FROM %I', t, x->>'owner');
                RETURN QUERY SELECT backupkit.grant_statements(x->'grants', 'ROUTINE ' || t);
            END IF;
        END LOOP;
    END LOOP;

    -- 3. Partitions attached to their parents.
    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(rels) WITH ORDINALITY AS b(rel, ord) WHERE b.rel->'parent' <> 'null' ORDER BY (b.rel->>'level')::int, b.ord LOOP
        CONTINUE WHEN NOT pg_catalog.format('%I.%I', r->>'schema', r->>'name') = ANY (fresh);
        RETURN NEXT pg_catalog.format('ALTER TABLE ONLY %I.%I ATTACH PARTITION %I.%I %s', r->'parent'->>'schema', r->'parent'->>'name',
                                      r->>'schema', r->>'name', r->>'partition_bound');
    END LOOP;

    -- 4. Sequence positions.
    FOREACH d IN ARRAY defs LOOP
        FOR x IN SELECT e FROM backupkit.json_list(d->'sequences') e WHERE e->>'last_value' IS NOT NULL
                   AND (NOT m OR backupkit.object_missing('relation', pg_catalog.format('%I.%I', e->>'schema', e->>'name'))) LOOP
            RETURN NEXT pg_catalog.format('SELECT pg_catalog.setval(%L, %s, true)', pg_catalog.format('%I.%I', x->>'schema', x->>'name'), x->>'last_value');
        END LOOP;
    END LOOP;

    -- 5. Primary key, unique and exclusion constraints, then the other indexes, then index partitions.
    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(rels) WITH ORDINALITY AS b(rel, ord) ORDER BY (b.rel->>'level')::int, b.ord LOOP
        t := pg_catalog.format('%I.%I', r->>'schema', r->>'name');
        FOR x IN SELECT e FROM backupkit.json_list(r->'constraints') e WHERE e->>'kind' IN ('p', 'u', 'x')
                   AND (NOT m OR backupkit.object_missing('constraint', pg_catalog.format('%I.%I', r->>'schema', r->>'name'), e->>'name'))
                   AND NOT (m AND backupkit.index_from_live_parent(r, e->>'name')) LOOP
            IF x->>'kind' = 'p' AND NOT t = ANY (fresh) THEN
                -- Its columns may be re-added ones, NULL until the contents are restored.
                after := after || pg_catalog.format('ALTER TABLE ONLY %s ADD CONSTRAINT %I %s', t, x->>'name', x->>'definition');
            ELSE
                RETURN NEXT pg_catalog.format('ALTER TABLE ONLY %s ADD CONSTRAINT %I %s', t, x->>'name', x->>'definition');
            END IF;
        END LOOP;
    END LOOP;
    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(rels) WITH ORDINALITY AS b(rel, ord) ORDER BY (b.rel->>'level')::int, b.ord LOOP
        FOR x IN SELECT e FROM backupkit.json_list(r->'indexes') e WHERE NOT (e->>'constraint')::boolean
                   AND (NOT m OR backupkit.object_missing('relation', pg_catalog.format('%I.%I', r->>'schema', e->>'name')))
                   AND NOT (m AND backupkit.index_from_live_parent(r, e->>'name')) LOOP
            RETURN NEXT x->>'definition';
        END LOOP;
    END LOOP;
    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(rels) WITH ORDINALITY AS b(rel, ord) ORDER BY (b.rel->>'level')::int DESC, b.ord LOOP
        FOR x IN SELECT e FROM backupkit.json_list(r->'indexes') e WHERE e->'parent_index' <> 'null'
                   AND (NOT m OR backupkit.object_missing('relation', pg_catalog.format('%I.%I', r->>'schema', e->>'name')))
                   AND NOT (m AND backupkit.index_from_live_parent(r, e->>'name')) LOOP
            RETURN NEXT pg_catalog.format('ALTER INDEX %I.%I ATTACH PARTITION %I.%I', x->'parent_index'->>'schema', x->'parent_index'->>'name',
                                          r->>'schema', x->>'name');
        END LOOP;
    END LOOP;
    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(rels) WITH ORDINALITY AS b(rel, ord) ORDER BY b.ord LOOP
        t := pg_catalog.format('%I.%I', r->>'schema', r->>'name');
        CONTINUE WHEN NOT t = ANY (fresh);
        FOR x IN SELECT e FROM backupkit.json_list(r->'indexes') e LOOP
            IF (x->>'replica_identity')::boolean THEN
                RETURN NEXT pg_catalog.format('ALTER TABLE ONLY %s REPLICA IDENTITY USING INDEX %I', t, x->>'name');
            END IF;
            IF (x->>'clustered')::boolean THEN
                RETURN NEXT pg_catalog.format('ALTER TABLE ONLY %s CLUSTER ON %I', t, x->>'name');
            END IF;
        END LOOP;
        IF r->>'replica_identity' IN ('f', 'n') THEN
            RETURN NEXT pg_catalog.format('ALTER TABLE ONLY %s REPLICA IDENTITY %s', t, CASE r->>'replica_identity' WHEN 'f' THEN 'FULL' ELSE 'NOTHING' END);
        END IF;
    END LOOP;

    -- 6. Foreign keys of the captured tables (a partition's come from its parent).
    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(rels) WITH ORDINALITY AS b(rel, ord) ORDER BY b.ord LOOP
        FOR x IN SELECT e FROM backupkit.json_list(r->'constraints') e WHERE e->>'kind' = 'f' AND NOT (e->>'from_parent')::boolean
                   AND (NOT m OR backupkit.object_missing('constraint', pg_catalog.format('%I.%I', r->>'schema', r->>'name'), e->>'name')) LOOP
            RETURN NEXT pg_catalog.format('ALTER TABLE %s%I.%I ADD CONSTRAINT %I %s', CASE WHEN r->>'relkind' = 'p' THEN '' ELSE 'ONLY ' END,
                                          r->>'schema', r->>'name', x->>'name', x->>'definition');
        END LOOP;
    END LOOP;

    -- 7. Triggers and their firing state; row-level security and policies.
    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(rels) WITH ORDINALITY AS b(rel, ord) ORDER BY b.ord LOOP
        t := pg_catalog.format('%I.%I', r->>'schema', r->>'name');
        FOR x IN SELECT e FROM backupkit.json_list(r->'triggers') e WHERE NOT m OR backupkit.object_missing('trigger', t, e->>'name') LOOP
            RETURN NEXT x->>'definition';
            IF x->>'enabled' <> 'O' THEN
                RETURN NEXT pg_catalog.format('ALTER TABLE %s %s TRIGGER %I', t,
                    CASE x->>'enabled' WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' ELSE 'ENABLE ALWAYS' END, x->>'name');
            END IF;
        END LOOP;
        IF (r->>'rls')::boolean AND t = ANY (fresh) THEN
            RETURN NEXT pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        END IF;
        IF (r->>'rls_forced')::boolean AND t = ANY (fresh) THEN
            RETURN NEXT pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
        END IF;
        FOR x IN SELECT e FROM backupkit.json_list(r->'policies') e WHERE NOT m OR backupkit.object_missing('policy', t, e->>'name') LOOP
            RETURN NEXT pg_catalog.format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', x->>'name', t,
                CASE WHEN (x->>'permissive')::boolean THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                CASE x->>'command' WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                (SELECT pg_catalog.string_agg(CASE WHEN g = 'public' THEN 'PUBLIC' ELSE pg_catalog.quote_ident(g) END, ', ')
                   FROM pg_catalog.jsonb_array_elements_text(x->'roles') g),
                CASE WHEN x->>'using' IS NOT NULL THEN ' USING (' || (x->>'using') || ')' ELSE '' END,
                CASE WHEN x->>'with_check' IS NOT NULL THEN ' WITH CHECK (' || (x->>'with_check') || ')' ELSE '' END);
        END LOOP;
    END LOOP;

    -- 8. Comments, owners, privileges, sequence ownership.
    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(rels) WITH ORDINALITY AS b(rel, ord) ORDER BY b.ord LOOP
        t := pg_catalog.format('%I.%I', r->>'schema', r->>'name');
        IF r->>'comment' IS NOT NULL AND (NOT m OR backupkit.object_missing('table_comment', t, NULL)) THEN
            RETURN NEXT pg_catalog.format('COMMENT ON TABLE %s IS %L', t, r->>'comment');
        END IF;
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e WHERE e->>'comment' IS NOT NULL
                   AND (NOT m OR backupkit.object_missing('column_comment', t, e->>'name')) LOOP
            RETURN NEXT pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', t, c->>'name', c->>'comment');
        END LOOP;
        FOR x IN SELECT e FROM backupkit.json_list(r->'constraints') e WHERE e->>'comment' IS NOT NULL
                   AND (NOT m OR backupkit.object_missing('constraint', t, e->>'name')) LOOP
            RETURN NEXT pg_catalog.format('COMMENT ON CONSTRAINT %I ON %s IS %L', x->>'name', t, x->>'comment');
        END LOOP;
        FOR x IN SELECT e FROM backupkit.json_list(r->'indexes') e WHERE e->>'comment' IS NOT NULL
                   AND (NOT m OR backupkit.object_missing('relation', pg_catalog.format('%I.%I', r->>'schema', e->>'name'))) LOOP
            RETURN NEXT pg_catalog.format('COMMENT ON INDEX %I.%I IS %L', r->>'schema', x->>'name', x->>'comment');
        END LOOP;
        FOR x IN SELECT e FROM backupkit.json_list(r->'triggers') e WHERE e->>'comment' IS NOT NULL
                   AND (NOT m OR backupkit.object_missing('trigger', t, e->>'name')) LOOP
            RETURN NEXT pg_catalog.format('COMMENT ON TRIGGER %I ON %s IS %L', x->>'name', t, x->>'comment');
        END LOOP;
        FOR x IN SELECT e FROM backupkit.json_list(r->'policies') e WHERE e->>'comment' IS NOT NULL
                   AND (NOT m OR backupkit.object_missing('policy', t, e->>'name')) LOOP
            RETURN NEXT pg_catalog.format('COMMENT ON POLICY %I ON %s IS %L', x->>'name', t, x->>'comment');
        END LOOP;
        IF t = ANY (fresh) AND m AND NOT pg_catalog.pg_has_role(CURRENT_USER, r->>'owner', 'MEMBER') THEN
            warnings := warnings || pg_catalog.format('table %s is owned by %I, not by its captured owner %I, of which the current role is not a member',
                                                      t, CURRENT_USER, r->>'owner');
        ELSIF t = ANY (fresh) THEN
            RETURN NEXT pg_catalog.format('ALTER TABLE %s OWNER TO %I', t, r->>'owner');
        END IF;
        IF jsonb_typeof(r->'acl') = 'array' AND t = ANY (fresh) THEN
            RETURN NEXT pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', t, r->>'owner');
            RETURN QUERY SELECT backupkit.grant_statements(r->'grants', 'TABLE ' || t);
        END IF;
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e WHERE jsonb_typeof(e->'grants') = 'array'
                   AND (t = ANY (fresh) OR backupkit.object_missing('column', t, e->>'name')) LOOP
            RETURN QUERY SELECT backupkit.grant_statements(c->'grants', 'TABLE ' || t, pg_catalog.format(' (%I)', c->>'name'));
        END LOOP;
    END LOOP;
    FOREACH d IN ARRAY defs LOOP
        FOR x IN SELECT e FROM backupkit.json_list(d->'sequences') e WHERE NOT (e->>'identity')::boolean
                   AND (NOT m OR backupkit.object_missing('relation', pg_catalog.format('%I.%I', e->>'schema', e->>'name'))) LOOP
            t := pg_catalog.format('%I.%I', x->>'schema', x->>'name');
            IF x->>'comment' IS NOT NULL THEN
                RETURN NEXT pg_catalog.format('COMMENT ON SEQUENCE %s IS %L', t, x->>'comment');
            END IF;
            IF NOT m OR pg_catalog.pg_has_role(CURRENT_USER, x->>'owner', 'MEMBER') THEN
                RETURN NEXT pg_catalog.format('ALTER SEQUENCE %s OWNER TO %I', t, x->>'owner');
            END IF;
            IF jsonb_typeof(x->'acl') = 'array' THEN
                RETURN NEXT pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %I', t, x->>'owner');
                RETURN QUERY SELECT backupkit.grant_statements(x->'grants', 'SEQUENCE ' || t);
            END IF;
            RETURN NEXT pg_catalog.format('ALTER SEQUENCE %s OWNED BY %I.%I.%I', t, x->'table'->>'schema', x->'table'->>'name', x->>'column');
        END LOOP;
    END LOOP;

    -- 9. Foreign keys of tables outside the snapshot that reference a captured table.
    done := '{}';
    FOREACH d IN ARRAY defs LOOP
        FOR x IN SELECT e FROM backupkit.json_list(d->'outside_foreign_keys') e LOOP
            t := pg_catalog.format('%I.%I', x->>'schema', x->>'table');
            CONTINUE WHEN t = ANY (captured) OR (t || '.' || pg_catalog.quote_ident(x->>'name')) = ANY (done)
                          OR (m AND NOT backupkit.object_missing('constraint', t, x->>'name'));
            done := done || (t || '.' || pg_catalog.quote_ident(x->>'name'));
            IF m THEN
                -- Checked once the referenced table holds its rows again.
                after := after || pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', t, x->>'name', x->>'definition');
                IF x->>'comment' IS NOT NULL THEN
                    after := after || pg_catalog.format('COMMENT ON CONSTRAINT %I ON %s IS %L', x->>'name', t, x->>'comment');
                END IF;
                CONTINUE;
            END IF;
            RETURN NEXT pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', t, x->>'name', x->>'definition');
            IF x->>'comment' IS NOT NULL THEN
                RETURN NEXT pg_catalog.format('COMMENT ON CONSTRAINT %I ON %s IS %L', x->>'name', t, x->>'comment');
            END IF;
        END LOOP;
    END LOOP;

    -- 10. Views and materialized views over the captured tables, those over other views after them.
    done := '{}';
    FOR x IN SELECT DISTINCT ON (e->>'schema', e->>'name') e
               FROM pg_catalog.unnest(defs) dd, backupkit.json_list(dd->'views') e
              ORDER BY e->>'schema', e->>'name', (e->>'depth')::int DESC LOOP
        done := done || x::text;
    END LOOP;
    FOR x IN SELECT v::jsonb FROM pg_catalog.unnest(done) v ORDER BY (v::jsonb->>'depth')::int, v::jsonb->>'schema', v::jsonb->>'name' LOOP
        t := pg_catalog.format('%I.%I', x->>'schema', x->>'name');
        CONTINUE WHEN m AND NOT backupkit.object_missing('relation', t, NULL);
        RETURN NEXT pg_catalog.format('CREATE %s %s%s AS %s%s', CASE WHEN x->>'relkind' = 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END, t,
            CASE WHEN jsonb_typeof(x->'reloptions') = 'array' THEN ' WITH (' || backupkit.reloptions_clause(x->'reloptions') || ')' ELSE '' END,
            pg_catalog.rtrim(pg_catalog.rtrim(x->>'definition'), ';'),
            CASE WHEN x->>'relkind' = 'm' THEN ' WITH DATA' ELSE '' END);
        FOR c IN SELECT e FROM backupkit.json_list(x->'indexes') e LOOP
            RETURN NEXT c->>'definition';
            IF c->>'comment' IS NOT NULL THEN
                RETURN NEXT pg_catalog.format('COMMENT ON INDEX %I.%I IS %L', x->>'schema', c->>'name', c->>'comment');
            END IF;
        END LOOP;
        IF x->>'comment' IS NOT NULL THEN
            RETURN NEXT pg_catalog.format('COMMENT ON %s %s IS %L', CASE WHEN x->>'relkind' = 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END, t, x->>'comment');
        END IF;
        FOR c IN SELECT e FROM backupkit.json_list(x->'column_comments') e LOOP
            RETURN NEXT pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', t, c->>'name', c->>'comment');
        END LOOP;
        IF m AND NOT pg_catalog.pg_has_role(CURRENT_USER, x->>'owner', 'MEMBER') THEN
            warnings := warnings || pg_catalog.format('view %s is owned by %I, not by its captured owner %I, of which the current role is not a member',
                                                      t, CURRENT_USER, x->>'owner');
        ELSE
            RETURN NEXT pg_catalog.format('ALTER TABLE %s OWNER TO %I', t, x->>'owner');
        END IF;
        IF jsonb_typeof(x->'acl') = 'array' THEN
            RETURN NEXT pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', t, x->>'owner');
            RETURN QUERY SELECT backupkit.grant_statements(x->'grants', 'TABLE ' || t);
        END IF;
    END LOOP;
    IF m THEN
        RETURN NEXT NULL;
        RETURN QUERY SELECT pg_catalog.unnest(after);
        RETURN NEXT NULL;
        RETURN QUERY SELECT pg_catalog.unnest(warnings);
    END IF;
END
$$;
COMMENT ON FUNCTION backupkit.definitions_ddl(jsonb[], boolean) IS 'Internal: the DDL of captured definitions (all of it, or with only_missing what the live catalog lacks)';

CREATE OR REPLACE FUNCTION backupkit.snapshot_ddl(snapshot_id bigint, table_name text DEFAULT NULL)
RETURNS SETOF text
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $$
SELECT backupkit.definitions_ddl(ARRAY(SELECT s.definition
                                         FROM backupkit.snapshot_definitions(snapshot_ddl.snapshot_id, snapshot_ddl.table_name) s
                                        ORDER BY s.table_no), false)
$$;
COMMENT ON FUNCTION backupkit.snapshot_ddl(bigint, text) IS 'The captured definitions of a snapshot (or of one table, named as captured) as runnable DDL, one statement per row, in dependency order';

-- Whether the live catalog lacks an object of a captured definition. rel is a quoted qualified name (a routine's
-- object_name: its identity arguments); an object of a table that does not exist is missing.
CREATE FUNCTION backupkit.object_missing(kind text, rel text, object_name text DEFAULT NULL)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
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
AS $$
SELECT EXISTS (SELECT FROM backupkit.json_list(rel->'indexes') i
                WHERE i->>'name' = index_name AND pg_catalog.jsonb_typeof(i->'parent_index') = 'object'
                  AND NOT backupkit.object_missing('relation', pg_catalog.format('%I.%I', i->'parent_index'->>'schema', i->'parent_index'->>'name')))
$$;
COMMENT ON FUNCTION backupkit.index_from_live_parent(jsonb, text) IS 'Internal: whether a captured partition index comes with ATTACH PARTITION onto a live parent index';

-- What schema => 'missing' runs for a restore of the listed tables (all of the snapshot's, dropped ones
-- included, when tables is NULL): definitions_ddl(defs, true) of their definitions (snapshot_definitions
-- refuses a snapshot taken before definitions were recorded).
CREATE FUNCTION backupkit.schema_restore_ddl(snapshot_id bigint, tables regclass[])
RETURNS SETOF text
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $$
SELECT backupkit.definitions_ddl(ARRAY(SELECT s.definition
                                         FROM backupkit.snapshot_definitions(schema_restore_ddl.snapshot_id) s
                                        WHERE schema_restore_ddl.tables IS NULL
                                           OR pg_catalog.to_regclass(s.table_name) = ANY (schema_restore_ddl.tables)
                                        ORDER BY s.table_no), true)
$$;
COMMENT ON FUNCTION backupkit.schema_restore_ddl(bigint, regclass[]) IS 'Internal: the DDL restore_snapshot runs for schema => ''missing'' (NULL rows separate the statements run before the contents, after them, and the warnings)';

-- As the install script does for every backupkit function (95_search_path.sql).
ALTER FUNCTION backupkit.restore_snapshot(bigint, regclass[], text, boolean, boolean, boolean, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION backupkit.definitions_ddl(jsonb[], boolean) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION backupkit.snapshot_ddl(bigint, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION backupkit.object_missing(text, text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION backupkit.schema_restore_ddl(bigint, regclass[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION backupkit.index_from_live_parent(jsonb, text) SET search_path = pg_catalog, pg_temp;
