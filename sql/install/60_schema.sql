-- Schema-aware snapshots (first phase of issue 10): the captured definitions, as stored and as DDL, and a
-- side copy of a captured table. The DDL is built from the structured definition: every name goes through
-- format('%I') / quote_ident; expressions and pg_get_*def texts (written by PostgreSQL with every name
-- quoted and schema-qualified) only inside the statement they belong to.

CREATE FUNCTION backupkit.snapshot_definitions(snapshot_id bigint, table_name text DEFAULT NULL)
RETURNS TABLE (table_no integer, table_name text, definition jsonb)
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_snapshot_definitions';
COMMENT ON FUNCTION backupkit.snapshot_definitions(bigint, text) IS 'The captured definitions of the tables of a snapshot (all, or the one named as captured), verified against their metadata checksums';

CREATE FUNCTION backupkit.snapshot_table_rows(snapshot_id bigint, table_name text)
RETURNS SETOF jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE ROWS 1000
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_snapshot_table_rows';
COMMENT ON FUNCTION backupkit.snapshot_table_rows(bigint, text) IS 'The captured rows of one table named as captured (it may no longer exist), as jsonb objects keyed by column name';

-- The elements of a stored list; a list the catalogs had nothing for is stored as JSON null.
CREATE FUNCTION backupkit.json_list(list jsonb)
RETURNS SETOF jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT e FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(list) = 'array' THEN list ELSE '[]' END) e
$$;
COMMENT ON FUNCTION backupkit.json_list(jsonb) IS 'Internal: the elements of a stored definition list (none for JSON null)';

-- WITH (...) list of reloptions stored as 'name=value' texts.
CREATE FUNCTION backupkit.reloptions_clause(options jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_catalog.string_agg(
           CASE WHEN pg_catalog.split_part(o, '=', 1) ~ '^[a-z_]+(\.[a-z_]+)?$' THEN pg_catalog.split_part(o, '=', 1)
                ELSE pg_catalog.quote_ident(pg_catalog.split_part(o, '=', 1)) END
           || '=' || pg_catalog.quote_literal(pg_catalog.substr(o, pg_catalog.strpos(o, '=') + 1)), ', ')
  FROM pg_catalog.jsonb_array_elements_text(options) o
$$;
COMMENT ON FUNCTION backupkit.reloptions_clause(jsonb) IS 'Internal: the option list of a WITH clause from stored reloptions';

-- GRANT statements for the stored privileges of an object (on_clause: 'TABLE "s"."t"', columns: '("c")' or '').
CREATE FUNCTION backupkit.grant_statements(grants jsonb, on_clause text, columns text DEFAULT '')
RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_catalog.format('GRANT %s%s ON %s TO %s%s', pg_catalog.string_agg(g->>'privilege', ', ' ORDER BY g->>'privilege'),
                         columns, on_clause,
                         CASE WHEN g->>'grantee' = 'PUBLIC' THEN 'PUBLIC' ELSE pg_catalog.quote_ident(g->>'grantee') END,
                         CASE WHEN (g->>'grantable')::boolean THEN ' WITH GRANT OPTION' ELSE '' END)
  FROM backupkit.json_list(grants) g
 GROUP BY g->>'grantee', (g->>'grantable')::boolean
 ORDER BY g->>'grantee', (g->>'grantable')::boolean
$$;
COMMENT ON FUNCTION backupkit.grant_statements(jsonb, text, text) IS 'Internal: GRANT statements for stored privileges';

-- GRANT statements for the stored privileges of a table or its columns, those granted by a role other than the
-- owner run as that role (as pg_dump does), so that the grantor is kept: SET ROLE before them and back after
-- (in a restore, SET LOCAL ROLE back to the caller's role, and only when the caller is a member of the grantor;
-- otherwise they are granted by the caller).
CREATE FUNCTION backupkit.table_grant_statements(grants jsonb, on_clause text, columns text, owner text, in_restore boolean)
RETURNS SETOF text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    grantor text;
BEGIN
    RETURN QUERY SELECT backupkit.grant_statements(
        (SELECT pg_catalog.jsonb_agg(g) FROM backupkit.json_list(grants) g
          WHERE g->>'grantor' IS NULL OR g->>'grantor' = owner
             OR (in_restore AND NOT pg_catalog.pg_has_role(CURRENT_USER, g->>'grantor', 'MEMBER'))), on_clause, columns);
    FOR grantor IN SELECT DISTINCT g->>'grantor' FROM backupkit.json_list(grants) g
                    WHERE g->>'grantor' <> owner AND (NOT in_restore OR pg_catalog.pg_has_role(CURRENT_USER, g->>'grantor', 'MEMBER'))
                    ORDER BY 1 LOOP
        RETURN NEXT pg_catalog.format('SET %sROLE %I', CASE WHEN in_restore THEN 'LOCAL ' ELSE '' END, grantor);
        RETURN QUERY SELECT backupkit.grant_statements(
            (SELECT pg_catalog.jsonb_agg(g) FROM backupkit.json_list(grants) g WHERE g->>'grantor' = grantor), on_clause, columns);
        RETURN NEXT CASE WHEN NOT in_restore THEN 'RESET ROLE'
                         WHEN pg_catalog.current_setting('role') = 'none' THEN 'SET LOCAL ROLE NONE'
                         ELSE pg_catalog.format('SET LOCAL ROLE %I', pg_catalog.current_setting('role')) END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION backupkit.table_grant_statements(jsonb, text, text, text, boolean) IS 'Internal: GRANT statements for stored table or column privileges, keeping grantors other than the owner';

-- Sequence options as CREATE SEQUENCE / identity clauses write them.
CREATE FUNCTION backupkit.sequence_options(s jsonb, with_type boolean DEFAULT true)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT CASE WHEN with_type THEN 'AS ' || (s->>'type') || ' ' ELSE '' END
    || pg_catalog.format('START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s %s',
                         s->>'start', s->>'increment', s->>'min', s->>'max', s->>'cache',
                         CASE WHEN (s->>'cycle')::boolean THEN 'CYCLE' ELSE 'NO CYCLE' END)
$$;
COMMENT ON FUNCTION backupkit.sequence_options(jsonb, boolean) IS 'Internal: the option clause of a stored sequence';

-- The stored grants of table rel (or of its column col) that the live catalog lacks (a grant with GRANT OPTION
-- is lacking when the live one has none).
CREATE FUNCTION backupkit.grants_missing(grants jsonb, rel text, col text)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT coalesce(pg_catalog.jsonb_agg(g), '[]')
  FROM backupkit.json_list(grants) g
 WHERE NOT EXISTS (
       SELECT FROM pg_catalog.pg_class c
              LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = col AND NOT a.attisdropped,
              LATERAL pg_catalog.aclexplode(CASE WHEN col IS NULL THEN coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))
                                                 ELSE a.attacl END) x
        WHERE c.oid = pg_catalog.to_regclass(rel)
          AND x.grantee = CASE WHEN g->>'grantee' = 'PUBLIC' THEN 0::oid
                               ELSE coalesce(pg_catalog.to_regrole(pg_catalog.quote_ident(g->>'grantee')), 0::oid) END
          AND (g->>'grantee' = 'PUBLIC' OR pg_catalog.to_regrole(pg_catalog.quote_ident(g->>'grantee')) IS NOT NULL)
          AND x.privilege_type = g->>'privilege'
          AND (x.is_grantable OR NOT (g->>'grantable')::boolean))
$$;
COMMENT ON FUNCTION backupkit.grants_missing(jsonb, text, text) IS 'Internal: the stored grants of a table or column that the live catalog lacks';

-- The DDL of a list of definitions. With only_missing, just what the live catalog lacks (restore_snapshot's
-- schema => 'missing'): objects that exist are left alone, a table that exists gets its missing columns with
-- ALTER TABLE ADD COLUMN. Then a NULL row, the statements to run after the contents are restored (NOT NULL
-- and primary keys on re-added columns), another NULL row and the warnings.
CREATE FUNCTION backupkit.definitions_ddl(defs jsonb[], only_missing boolean DEFAULT false)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
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

    -- 2. Tables with their columns, parents before partitions and before legacy inheritance children.
    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(rels) WITH ORDINALITY AS b(rel, ord)
              ORDER BY (b.rel->>'level')::int, pg_catalog.jsonb_typeof(b.rel->'inherits') = 'array', b.ord LOOP
        cols := NULL;
        t := pg_catalog.format('%I.%I', r->>'schema', r->>'name');
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
            -- A partition that exists gets its parent's new columns with them.
            CONTINUE WHEN NOT t = ANY (fresh) AND (r->'parent' <> 'null' OR NOT backupkit.object_missing('column', t, c->>'name'));
            -- A column only inherited (legacy inheritance) comes with INHERITS.
            CONTINUE WHEN pg_catalog.jsonb_typeof(r->'inherits') = 'array' AND NOT coalesce((c->>'local')::boolean, true);
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
            -- From PostgreSQL 18 on a NOT NULL constraint has a name (a partition's is its parent's): kept
            -- when it is not the one PostgreSQL would choose anyway.
            IF c->>'not_null_name' = pg_catalog.format('%s_%s_not_null', r->>'name', c->>'name') THEN
                c := c - 'not_null_name';
            END IF;
            IF (c->>'not_null')::boolean AND t = ANY (fresh) THEN
                col := col || CASE WHEN c->>'not_null_name' IS NULL THEN ' NOT NULL'
                                   ELSE pg_catalog.format(' CONSTRAINT %I NOT NULL', c->>'not_null_name') END;
            ELSIF (c->>'not_null')::boolean AND c->>'not_null_name' IS NOT NULL THEN
                -- Set once the column holds its captured values.
                after := after || pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I NOT NULL %I', t, c->>'not_null_name', c->>'name');
            ELSIF (c->>'not_null')::boolean THEN
                after := after || pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', t, c->>'name');
            END IF;
            IF t = ANY (fresh) THEN
                cols := CASE WHEN cols IS NULL THEN col ELSE cols || ', ' || col END;
            ELSE
                RETURN NEXT pg_catalog.format('ALTER TABLE %s ADD COLUMN %s', t, col);
            END IF;
        END LOOP;
        IF t = ANY (fresh) THEN
            RETURN NEXT pg_catalog.format('CREATE %sTABLE %I.%I (%s)%s%s%s%s%s',
                CASE WHEN r->>'persistence' = 'u' THEN 'UNLOGGED ' ELSE '' END, r->>'schema', r->>'name', coalesce(cols, ''),
                CASE WHEN pg_catalog.jsonb_typeof(r->'inherits') = 'array'
                     THEN ' INHERITS (' || (SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', p->>'schema', p->>'name'), ', ' ORDER BY o)
                                             FROM pg_catalog.jsonb_array_elements(r->'inherits') WITH ORDINALITY AS x(p, o)) || ')'
                     ELSE '' END,
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
                   AND (NOT m OR backupkit.object_missing('constraint', t, e->>'name'))
                   AND NOT (pg_catalog.jsonb_typeof(r->'inherits') = 'array' AND NOT coalesce((e->>'local')::boolean, true)) LOOP
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

    -- A table that exists and no longer inherits from a captured parent inherits from it again.
    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(rels) WITH ORDINALITY AS b(rel, ord) WHERE m AND pg_catalog.jsonb_typeof(b.rel->'inherits') = 'array' ORDER BY b.ord LOOP
        t := pg_catalog.format('%I.%I', r->>'schema', r->>'name');
        CONTINUE WHEN t = ANY (fresh);
        FOR x IN SELECT p FROM pg_catalog.jsonb_array_elements(r->'inherits') WITH ORDINALITY AS y(p, o)
                  WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_inherits ih WHERE ih.inhrelid = pg_catalog.to_regclass(t)
                                       AND ih.inhparent = pg_catalog.to_regclass(pg_catalog.format('%I.%I', p->>'schema', p->>'name')))
                  ORDER BY o LOOP
            RETURN NEXT pg_catalog.format('ALTER TABLE %s INHERIT %I.%I', t, x->>'schema', x->>'name');
        END LOOP;
    END LOOP;

    -- 4. Sequence positions (an identity sequence only when its column is re-created here).
    FOREACH d IN ARRAY defs LOOP
        FOR x IN SELECT e FROM backupkit.json_list(d->'sequences') e WHERE e->>'last_value' IS NOT NULL
                   AND (NOT m OR backupkit.object_missing('relation', pg_catalog.format('%I.%I', e->>'schema', e->>'name')))
                   AND (NOT m OR NOT (e->>'identity')::boolean
                        OR backupkit.object_missing('column', pg_catalog.format('%I.%I', e->'table'->>'schema', e->'table'->>'name'), e->>'column')) LOOP
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
        -- Row-level security switched off since counts as removed.
        IF (r->>'rls')::boolean AND (t = ANY (fresh) OR NOT (SELECT cl.relrowsecurity FROM pg_catalog.pg_class cl WHERE cl.oid = pg_catalog.to_regclass(t))) THEN
            RETURN NEXT pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        END IF;
        IF (r->>'rls_forced')::boolean AND (t = ANY (fresh) OR NOT (SELECT cl.relforcerowsecurity FROM pg_catalog.pg_class cl WHERE cl.oid = pg_catalog.to_regclass(t))) THEN
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
            warnings := warnings || pg_catalog.format('table "%s.%s" is owned by "%s", not by its captured owner "%s", of which the current role is not a member',
                                                      r->>'schema', r->>'name', CURRENT_USER, r->>'owner');
        ELSIF t = ANY (fresh) THEN
            RETURN NEXT pg_catalog.format('ALTER TABLE %s OWNER TO %I', t, r->>'owner');
        END IF;
        IF jsonb_typeof(r->'acl') = 'array' AND t = ANY (fresh) THEN
            RETURN NEXT pg_catalog.format('REVOKE ALL ON TABLE %s FROM %I', t, r->>'owner');
            RETURN QUERY SELECT backupkit.table_grant_statements(r->'grants', 'TABLE ' || t, '', r->>'owner', m);
        ELSIF m AND jsonb_typeof(r->'acl') = 'array' THEN
            -- Privileges revoked since count as removed: granted again (those granted since stay).
            RETURN QUERY SELECT backupkit.table_grant_statements(backupkit.grants_missing(r->'grants', t, NULL), 'TABLE ' || t, '', r->>'owner', m);
        END IF;
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e WHERE jsonb_typeof(e->'grants') = 'array' LOOP
            IF t = ANY (fresh) OR backupkit.object_missing('column', t, c->>'name') THEN
                RETURN QUERY SELECT backupkit.table_grant_statements(c->'grants', 'TABLE ' || t, pg_catalog.format(' (%I)', c->>'name'), r->>'owner', m);
            ELSIF m THEN
                RETURN QUERY SELECT backupkit.table_grant_statements(backupkit.grants_missing(c->'grants', t, c->>'name'), 'TABLE ' || t,
                                                                     pg_catalog.format(' (%I)', c->>'name'), r->>'owner', m);
            END IF;
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
            warnings := warnings || pg_catalog.format('view "%s.%s" is owned by "%s", not by its captured owner "%s", of which the current role is not a member',
                                                      x->>'schema', x->>'name', CURRENT_USER, x->>'owner');
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

CREATE FUNCTION backupkit.snapshot_ddl(snapshot_id bigint, table_name text DEFAULT NULL)
RETURNS SETOF text
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT backupkit.definitions_ddl(ARRAY(SELECT s.definition
                                         FROM backupkit.snapshot_definitions(snapshot_ddl.snapshot_id, snapshot_ddl.table_name) s
                                        ORDER BY s.table_no), false)
$$;
COMMENT ON FUNCTION backupkit.snapshot_ddl(bigint, text) IS 'The captured definitions of a snapshot (or of one table, named as captured) as runnable DDL, one statement per row, in dependency order';

-- A name in schema nsp for a new index or sequence: wanted, or wanted_1, wanted_2... when a relation of that
-- name exists (index names share the namespace with tables).
CREATE FUNCTION backupkit.free_relation_name(nsp text, wanted text)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    candidate text := pg_catalog.left(wanted, 63);
    i integer := 0;
BEGIN
    WHILE EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = nsp AND c.relname = candidate) LOOP
        i := i + 1;
        candidate := pg_catalog.left(wanted, 63 - pg_catalog.length(i::text) - 1) || '_' || i;
    END LOOP;
    RETURN candidate;
END
$$;
COMMENT ON FUNCTION backupkit.free_relation_name(text, text) IS 'Internal: a relation name not taken in the schema';

CREATE FUNCTION backupkit.recreate_table(snapshot_id bigint, table_name text, new_name text DEFAULT NULL, with_data boolean DEFAULT true)
RETURNS regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d jsonb;
    r jsonb;
    c jsonb;
    x jsonb;
    parts text[];
    nsp text;
    rel text;
    t text;
    cols text;
    col text;
    ins_cols text;
    sel text;
    seq text;
    nm text;
    prefix text;
    created_seqs jsonb := '[]';
BEGIN
    IF table_name IS NULL THEN
        RAISE EXCEPTION 'table_name must not be null' USING ERRCODE = '22004';
    END IF;
    SELECT s.definition INTO d FROM backupkit.snapshot_definitions(recreate_table.snapshot_id, recreate_table.table_name) s
     ORDER BY s.table_no LIMIT 1;
    r := d->'relations'->0;
    IF new_name IS NULL THEN
        nsp := r->>'schema';
        rel := r->>'name';
    ELSE
        parts := pg_catalog.parse_ident(new_name);
        IF pg_catalog.array_length(parts, 1) = 1 THEN
            nsp := r->>'schema';
            rel := parts[1];
        ELSIF pg_catalog.array_length(parts, 1) = 2 THEN
            nsp := parts[1];
            rel := parts[2];
        ELSE
            RAISE EXCEPTION 'invalid table name "%"', new_name USING ERRCODE = '42602',
                DETAIL = 'A new table name is a name or a schema-qualified name.';
        END IF;
    END IF;
    t := pg_catalog.format('%I.%I', nsp, rel);
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = nsp) THEN
        RAISE EXCEPTION 'schema "%" does not exist', nsp USING ERRCODE = '3F000';
    END IF;
    IF NOT pg_catalog.has_schema_privilege(nsp, 'CREATE') THEN
        RAISE EXCEPTION 'permission denied for schema "%"', nsp USING ERRCODE = '42501',
            DETAIL = pg_catalog.format('Re-creating table "%s.%s" needs the CREATE privilege on its schema.', nsp, rel);
    END IF;
    IF pg_catalog.to_regclass(t) IS NOT NULL THEN
        RAISE EXCEPTION 'relation "%.%" already exists', nsp, rel USING ERRCODE = '42P07',
            HINT = 'Pass new_name to re-create the table under another name.';
    END IF;

    -- Columns, with their own new sequences for serial and identity columns.
    FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
        col := pg_catalog.format('%I %s', c->>'name', c->>'type');
        IF jsonb_typeof(c->'collation') = 'object' THEN
            col := col || pg_catalog.format(' COLLATE %I.%I', c->'collation'->>'schema', c->'collation'->>'name');
        END IF;
        SELECT e INTO x FROM backupkit.json_list(d->'sequences') e
         WHERE NOT (e->>'identity')::boolean AND e->>'column' = c->>'name' AND e->'table'->>'name' = r->>'name' LIMIT 1;
        IF jsonb_typeof(c->'generated') = 'object' THEN
            col := col || pg_catalog.format(' GENERATED ALWAYS AS (%s) STORED', c->'generated'->>'expression');
        ELSIF jsonb_typeof(c->'identity') = 'object' THEN
            col := col || pg_catalog.format(' GENERATED %s AS IDENTITY (%s)',
                                            CASE WHEN c->'identity'->>'kind' = 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END,
                                            backupkit.sequence_options(c->'identity'->'sequence', false));
        ELSIF x IS NOT NULL THEN
            seq := pg_catalog.format('%I.%I', nsp, backupkit.free_relation_name(nsp, rel || '_' || (c->>'name') || '_seq'));
            EXECUTE pg_catalog.format('CREATE SEQUENCE %s %s', seq, backupkit.sequence_options(x));
            created_seqs := created_seqs || jsonb_build_object('seq', seq, 'column', c->>'name', 'last_value', x->'last_value');
            col := col || pg_catalog.format(' DEFAULT pg_catalog.nextval(%L::regclass)', seq);
        ELSIF c->>'default' IS NOT NULL THEN
            col := col || ' DEFAULT ' || (c->>'default');
        END IF;
        IF (c->>'not_null')::boolean THEN
            col := col || ' NOT NULL';
        END IF;
        cols := CASE WHEN cols IS NULL THEN col ELSE cols || ', ' || col END;
        IF c->'generated' IS NULL OR jsonb_typeof(c->'generated') <> 'object' THEN
            ins_cols := CASE WHEN ins_cols IS NULL THEN '' ELSE ins_cols || ', ' END || pg_catalog.format('%I', c->>'name');
            sel := CASE WHEN sel IS NULL THEN '' ELSE sel || ', ' END || pg_catalog.format('(j->>%L)::%s', c->>'name', c->>'type');
        END IF;
    END LOOP;
    EXECUTE pg_catalog.format('CREATE %sTABLE %s (%s)', CASE WHEN r->>'persistence' = 'u' THEN 'UNLOGGED ' ELSE '' END, t, coalesce(cols, ''));
    FOR x IN SELECT e FROM pg_catalog.jsonb_array_elements(created_seqs) e LOOP
        EXECUTE pg_catalog.format('ALTER SEQUENCE %s OWNED BY %s.%I', x->>'seq', t, x->>'column');
        IF x->>'last_value' IS NOT NULL THEN
            PERFORM pg_catalog.setval(x->>'seq', (x->>'last_value')::bigint, true);
        END IF;
    END LOOP;
    FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e WHERE jsonb_typeof(e->'identity') = 'object' LOOP
        IF c->'identity'->'sequence'->>'last_value' IS NOT NULL THEN
            PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence(t, pg_catalog.quote_ident(c->>'name')),
                                      (c->'identity'->'sequence'->>'last_value')::bigint, true);
        END IF;
    END LOOP;

    -- The captured rows, before the constraints: a NOT VALID check need not hold for them.
    IF with_data AND ins_cols IS NOT NULL THEN
        EXECUTE pg_catalog.format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM backupkit.snapshot_table_rows($1, $2) j',
                                  t, ins_cols, sel)
          USING snapshot_id, table_name;
    END IF;

    -- Check, primary key, unique and exclusion constraints; index-backed ones get names free in the schema.
    FOR x IN SELECT e FROM backupkit.json_list(r->'constraints') e WHERE e->>'kind' IN ('c', 'p', 'u', 'x') ORDER BY e->>'kind' DESC LOOP
        nm := x->>'name';
        IF rel <> r->>'name' AND pg_catalog.starts_with(nm, r->>'name') THEN
            nm := rel || pg_catalog.substr(nm, pg_catalog.length(r->>'name') + 1);
        END IF;
        IF x->>'kind' <> 'c' THEN
            nm := backupkit.free_relation_name(nsp, nm);
        END IF;
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', t, nm, x->>'definition');
        IF x->>'comment' IS NOT NULL THEN
            EXECUTE pg_catalog.format('COMMENT ON CONSTRAINT %I ON %s IS %L', nm, t, x->>'comment');
        END IF;
    END LOOP;
    -- Other indexes: the captured text after "USING", under a free name, on the new table.
    FOR x IN SELECT e FROM backupkit.json_list(r->'indexes') e WHERE NOT (e->>'constraint')::boolean LOOP
        nm := x->>'name';
        IF rel <> r->>'name' AND pg_catalog.starts_with(nm, r->>'name') THEN
            nm := rel || pg_catalog.substr(nm, pg_catalog.length(r->>'name') + 1);
        END IF;
        nm := backupkit.free_relation_name(nsp, nm);
        prefix := pg_catalog.format('INDEX %s ON %s%s USING ', pg_catalog.quote_ident(x->>'name'),
                                    CASE WHEN r->>'relkind' = 'p' THEN 'ONLY ' ELSE '' END,
                                    pg_catalog.format('%I.%I', r->>'schema', r->>'name'));
        IF pg_catalog.starts_with(x->>'definition', 'CREATE UNIQUE ' || prefix) THEN
            EXECUTE pg_catalog.format('CREATE UNIQUE INDEX %I ON %s USING %s', nm, t,
                                      pg_catalog.substr(x->>'definition', pg_catalog.length('CREATE UNIQUE ' || prefix) + 1));
        ELSIF pg_catalog.starts_with(x->>'definition', 'CREATE ' || prefix) THEN
            EXECUTE pg_catalog.format('CREATE INDEX %I ON %s USING %s', nm, t,
                                      pg_catalog.substr(x->>'definition', pg_catalog.length('CREATE ' || prefix) + 1));
        ELSE
            RAISE EXCEPTION 'captured definition of index "%" has an unexpected form', x->>'name' USING ERRCODE = 'XX000';
        END IF;
        IF x->>'comment' IS NOT NULL THEN
            EXECUTE pg_catalog.format('COMMENT ON INDEX %I.%I IS %L', nsp, nm, x->>'comment');
        END IF;
    END LOOP;

    IF r->>'comment' IS NOT NULL THEN
        EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', t, r->>'comment');
    END IF;
    FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e WHERE e->>'comment' IS NOT NULL LOOP
        EXECUTE pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', t, c->>'name', c->>'comment');
    END LOOP;
    RETURN t::regclass;
END
$$;
COMMENT ON FUNCTION backupkit.recreate_table(bigint, text, text, boolean) IS 'Creates a side copy of a captured table from its captured definition (columns, defaults, own sequences, check/unique/primary-key/exclusion constraints, indexes, comments; no foreign keys, triggers, policies or grants), owned by the caller, and loads the captured rows';

CREATE FUNCTION backupkit.table_definition(table_name regclass)
RETURNS jsonb
LANGUAGE c STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_table_definition';
COMMENT ON FUNCTION backupkit.table_definition(regclass) IS 'The definition a snapshot would record for the table now (the format of snapshot_table.definition)';

-- What follows "USING " in an index definition, i.e. the definition without the index's and table's names.
CREATE FUNCTION backupkit.index_body(index_def text, index_name text, rel jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT CASE WHEN pg_catalog.starts_with(index_def, p1) THEN pg_catalog.substr(index_def, pg_catalog.length(p1) + 1)
            WHEN pg_catalog.starts_with(index_def, p2) THEN 'UNIQUE ' || pg_catalog.substr(index_def, pg_catalog.length(p2) + 1)
            ELSE index_def END
  FROM (SELECT 'CREATE ' || p AS p1, 'CREATE UNIQUE ' || p AS p2
          FROM (SELECT pg_catalog.format('INDEX %s ON %s%s USING ', pg_catalog.quote_ident(index_name),
                                         CASE WHEN rel->>'relkind' = 'p' THEN 'ONLY ' ELSE '' END,
                                         pg_catalog.format('%I.%I', rel->>'schema', rel->>'name')) AS p) x) y
$$;
COMMENT ON FUNCTION backupkit.index_body(text, text, jsonb) IS 'Internal: an index definition without its own and its table''s names';

-- Differences between two lists of named objects (constraints, indexes, triggers, policies), matched by OID
-- first (a rename shows as a rename), then by name: one row per object dropped, added, renamed or changed.
CREATE FUNCTION backupkit.diff_objects(captured jsonb, current jsonb, cap_rel jsonb, cur_rel jsonb)
RETURNS TABLE (object_name text, change text, captured_value text, current_value text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c jsonb;
    l jsonb;
    seen text[] := '{}';
    a text;
    b text;
BEGIN
    FOR c IN SELECT e FROM backupkit.json_list(captured) e LOOP
        SELECT e INTO l FROM backupkit.json_list(current) e WHERE e->>'oid' = c->>'oid';
        IF l IS NULL THEN
            SELECT e INTO l FROM backupkit.json_list(current) e WHERE e->>'name' = c->>'name';
        END IF;
        IF l IS NULL THEN
            RETURN QUERY SELECT c->>'name', 'dropped', c->>'definition', NULL::text;
            CONTINUE;
        END IF;
        seen := seen || (l->>'oid');
        IF l->>'name' <> c->>'name' THEN
            RETURN QUERY SELECT c->>'name', 'renamed', c->>'name', l->>'name';
        END IF;
        -- Definitions compared without the object's and table's own names (a rename is not a change).
        a := CASE WHEN c ? 'permissive' THEN (c - 'oid' - 'name' - 'comment')::text
                  WHEN c ? 'enabled' THEN pg_catalog.replace(c->>'definition', pg_catalog.quote_ident(c->>'name'), '') || ' ' || (c->>'enabled')
                  WHEN c ? 'constraint' THEN backupkit.index_body(c->>'definition', c->>'name', cap_rel)
                  ELSE c->>'definition' END;
        b := CASE WHEN l ? 'permissive' THEN (l - 'oid' - 'name' - 'comment')::text
                  WHEN l ? 'enabled' THEN pg_catalog.replace(l->>'definition', pg_catalog.quote_ident(l->>'name'), '') || ' ' || (l->>'enabled')
                  WHEN l ? 'constraint' THEN backupkit.index_body(l->>'definition', l->>'name', cur_rel)
                  ELSE l->>'definition' END;
        IF c ? 'enabled' AND (cap_rel->>'schema' <> cur_rel->>'schema' OR cap_rel->>'name' <> cur_rel->>'name') THEN
            a := pg_catalog.replace(a, pg_catalog.format('%I.%I', cap_rel->>'schema', cap_rel->>'name'), '');
            b := pg_catalog.replace(b, pg_catalog.format('%I.%I', cur_rel->>'schema', cur_rel->>'name'), '');
        END IF;
        IF a IS DISTINCT FROM b THEN
            RETURN QUERY SELECT c->>'name', 'changed', c->>'definition', l->>'definition';
        END IF;
        IF (c->>'comment') IS DISTINCT FROM (l->>'comment') THEN
            RETURN QUERY SELECT c->>'name', 'comment changed', c->>'comment', l->>'comment';
        END IF;
    END LOOP;
    FOR l IN SELECT e FROM backupkit.json_list(current) e WHERE NOT (e->>'oid' = ANY (seen)) LOOP
        RETURN QUERY SELECT l->>'name', 'added', NULL::text, l->>'definition';
    END LOOP;
END
$$;
COMMENT ON FUNCTION backupkit.diff_objects(jsonb, jsonb, jsonb, jsonb) IS 'Internal: differences between two stored lists of constraints, indexes, triggers or policies';

-- A stored acl (relacl or attacl as text) as it acts: NULL (the default) as the owner's default privileges for a
-- table (owner given), as no privilege for a column (owner NULL); an empty list as none.
CREATE FUNCTION backupkit.acl_normalized(acl jsonb, owner text)
RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT ARRAY(SELECT a FROM pg_catalog.unnest(
                 CASE WHEN pg_catalog.jsonb_typeof(acl) = 'array' THEN ARRAY(SELECT pg_catalog.jsonb_array_elements_text(acl))
                      WHEN owner IS NOT NULL AND pg_catalog.to_regrole(pg_catalog.quote_ident(owner)) IS NOT NULL
                      THEN pg_catalog.acldefault('r', pg_catalog.to_regrole(pg_catalog.quote_ident(owner)))::text[]
                      ELSE '{}'::text[] END) a ORDER BY a)
$$;
COMMENT ON FUNCTION backupkit.acl_normalized(jsonb, text) IS 'Internal: a stored acl as it acts (the default one spelled out), for comparisons';

CREATE FUNCTION backupkit.schema_diff(snapshot_id bigint)
RETURNS TABLE (table_name text, object_kind text, object_name text, change text, captured text, current text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e record;
    r jsonb;       -- captured relation
    l jsonb;       -- live relation
    c jsonb;
    lc jsonb;
    v jsonb;
    live oid;
    qname text;
    seen text[];
    k text;
    kinds text[] := ARRAY['constraints', 'indexes', 'triggers', 'policies'];
    kind_names text[] := ARRAY['constraint', 'index', 'trigger', 'policy'];
BEGIN
    FOR e IN SELECT s.table_name AS tname, s.definition AS d FROM backupkit.snapshot_definitions(schema_diff.snapshot_id) s ORDER BY s.table_no LOOP
        table_name := e.tname;
        FOR r IN SELECT x FROM pg_catalog.jsonb_array_elements(e.d->'relations') x LOOP
            qname := pg_catalog.format('%I.%I', r->>'schema', r->>'name');
            object_kind := CASE WHEN (r->>'level')::int > 0 THEN 'partition' ELSE 'table' END;
            -- By OID first (renamed or moved since), then by name.
            SELECT cl.oid INTO live FROM pg_catalog.pg_class cl WHERE cl.oid = (r->>'relid')::oid AND cl.relkind::text = r->>'relkind';
            IF live IS NULL THEN
                SELECT cl.oid INTO live FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
                 WHERE n.nspname = r->>'schema' AND cl.relname = r->>'name' AND cl.relkind IN ('r', 'p');
            END IF;
            IF live IS NULL THEN
                RETURN QUERY SELECT e.tname, object_kind, qname, 'dropped'::text, qname, NULL::text;
                CONTINUE;
            END IF;
            SELECT x INTO l FROM pg_catalog.jsonb_array_elements(backupkit.table_definition(live)->'relations') x WHERE (x->>'relid')::oid = live;
            IF pg_catalog.format('%I.%I', l->>'schema', l->>'name') <> qname THEN
                RETURN QUERY SELECT e.tname, object_kind, qname, 'renamed'::text, qname, pg_catalog.format('%I.%I', l->>'schema', l->>'name');
            END IF;
            FOREACH k IN ARRAY ARRAY['owner', 'persistence', 'tablespace', 'access_method', 'reloptions', 'replica_identity', 'rls',
                                     'rls_forced', 'comment', 'acl', 'partition_key', 'partition_bound'] LOOP
                IF (k = 'acl' AND backupkit.acl_normalized(r->k, r->>'owner') IS DISTINCT FROM backupkit.acl_normalized(l->k, l->>'owner'))
                   OR (k <> 'acl' AND (r->k) IS DISTINCT FROM (l->k)) THEN
                    RETURN QUERY SELECT e.tname, CASE k WHEN 'comment' THEN 'comment' WHEN 'acl' THEN 'privilege' ELSE object_kind END,
                                        qname, CASE WHEN k IN ('comment', 'acl') THEN 'changed' ELSE k || ' changed' END,
                                        r->>k, l->>k;
                END IF;
            END LOOP;
            -- Columns: the same attnum is the same column (a rename keeps it); else the same name: a column
            -- dropped and added again (moved, unless it is back at its captured position, as schema => 'exact'
            -- puts it).
            seen := '{}';
            FOR c IN SELECT x FROM pg_catalog.jsonb_array_elements(r->'columns') x ORDER BY (x->>'attnum')::int LOOP
                SELECT x INTO lc FROM pg_catalog.jsonb_array_elements(l->'columns') x WHERE x->>'attnum' = c->>'attnum';
                IF lc IS NULL THEN
                    SELECT x INTO lc FROM pg_catalog.jsonb_array_elements(l->'columns') x
                     WHERE x->>'name' = c->>'name'
                       AND NOT EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(r->'columns') y WHERE y->>'attnum' = x->>'attnum');
                    IF lc IS NOT NULL AND (SELECT count(*) FROM pg_catalog.jsonb_array_elements(r->'columns') y WHERE (y->>'attnum')::int <= (c->>'attnum')::int)
                                          <> (SELECT count(*) FROM pg_catalog.jsonb_array_elements(l->'columns') y WHERE (y->>'attnum')::int <= (lc->>'attnum')::int) THEN
                        RETURN QUERY SELECT e.tname, 'column'::text, c->>'name', 'dropped and added again'::text,
                                            'position ' || (SELECT count(*) FROM pg_catalog.jsonb_array_elements(r->'columns') y WHERE (y->>'attnum')::int <= (c->>'attnum')::int),
                                            'position ' || (SELECT count(*) FROM pg_catalog.jsonb_array_elements(l->'columns') y WHERE (y->>'attnum')::int <= (lc->>'attnum')::int);
                    END IF;
                END IF;
                IF lc IS NULL THEN
                    RETURN QUERY SELECT e.tname, 'column'::text, c->>'name', 'dropped'::text, c->>'type', NULL::text;
                    CONTINUE;
                END IF;
                seen := seen || (lc->>'attnum');
                IF lc->>'name' <> c->>'name' THEN
                    RETURN QUERY SELECT e.tname, 'column'::text, c->>'name', 'renamed'::text, c->>'name', lc->>'name';
                END IF;
                IF lc->>'type' <> c->>'type' OR (lc->'collation') IS DISTINCT FROM (c->'collation') THEN
                    RETURN QUERY SELECT e.tname, 'column'::text, c->>'name', 'retyped'::text, c->>'type', lc->>'type';
                END IF;
                IF (lc->>'default') IS DISTINCT FROM (c->>'default') THEN
                    RETURN QUERY SELECT e.tname, 'column'::text, c->>'name', 'default changed'::text, c->>'default', lc->>'default';
                END IF;
                IF lc->>'not_null' <> c->>'not_null' THEN
                    RETURN QUERY SELECT e.tname, 'column'::text, c->>'name', 'not null changed'::text, c->>'not_null', lc->>'not_null';
                END IF;
                IF (lc->'generated') IS DISTINCT FROM (c->'generated') OR (lc->'identity'->>'kind') IS DISTINCT FROM (c->'identity'->>'kind')
                   OR (lc->>'type' = c->>'type' AND lc->>'storage' <> c->>'storage')
                   OR (lc->>'compression') IS DISTINCT FROM (c->>'compression')
                   OR lc->>'statistics' <> c->>'statistics' THEN
                    RETURN QUERY SELECT e.tname, 'column'::text, c->>'name', 'changed'::text,
                                        (c - 'comment' - 'acl' - 'grants')::text, (lc - 'comment' - 'acl' - 'grants')::text;
                END IF;
                IF (lc->>'comment') IS DISTINCT FROM (c->>'comment') THEN
                    RETURN QUERY SELECT e.tname, 'comment'::text, c->>'name', 'changed'::text, c->>'comment', lc->>'comment';
                END IF;
                IF backupkit.acl_normalized(lc->'acl', NULL) IS DISTINCT FROM backupkit.acl_normalized(c->'acl', NULL) THEN
                    RETURN QUERY SELECT e.tname, 'privilege'::text, c->>'name', 'changed'::text, c->>'acl', lc->>'acl';
                END IF;
            END LOOP;
            FOR lc IN SELECT x FROM pg_catalog.jsonb_array_elements(l->'columns') x WHERE NOT (x->>'attnum' = ANY (seen)) ORDER BY (x->>'attnum')::int LOOP
                RETURN QUERY SELECT e.tname, 'column'::text, lc->>'name', 'added'::text, NULL::text, lc->>'type';
            END LOOP;
            FOR i IN 1 .. 4 LOOP
                RETURN QUERY SELECT e.tname, kind_names[i], o.object_name, o.change, o.captured_value, o.current_value
                               FROM backupkit.diff_objects(r->kinds[i], l->kinds[i], r, l) o;
            END LOOP;
        END LOOP;
        -- Partitions added since.
        SELECT cl.oid INTO live FROM pg_catalog.pg_class cl WHERE cl.oid = (e.d->'relations'->0->>'relid')::oid AND cl.relkind = 'p';
        IF live IS NOT NULL THEN
            FOR l IN SELECT x FROM pg_catalog.jsonb_array_elements(backupkit.table_definition(live)->'relations') x
                      WHERE NOT EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(e.d->'relations') y WHERE y->>'relid' = x->>'relid') LOOP
                RETURN QUERY SELECT e.tname, 'partition'::text, pg_catalog.format('%I.%I', l->>'schema', l->>'name'), 'added'::text,
                                    NULL::text, l->>'partition_bound';
            END LOOP;
        END IF;
        -- Dependent views: by OID, then by name.
        FOR v IN SELECT x FROM backupkit.json_list(e.d->'views') x LOOP
            qname := pg_catalog.format('%I.%I', v->>'schema', v->>'name');
            SELECT cl.oid INTO live FROM pg_catalog.pg_class cl WHERE cl.oid = (v->>'relid')::oid AND cl.relkind::text = v->>'relkind';
            IF live IS NULL THEN
                live := pg_catalog.to_regclass(qname);
            END IF;
            IF live IS NULL THEN
                RETURN QUERY SELECT e.tname, 'view'::text, qname, 'dropped'::text, v->>'definition', NULL::text;
            ELSIF pg_catalog.format('%I.%I', (SELECT nspname FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_class cl ON cl.relnamespace = n.oid WHERE cl.oid = live),
                                    (SELECT relname FROM pg_catalog.pg_class WHERE oid = live)) <> qname THEN
                RETURN QUERY SELECT e.tname, 'view'::text, qname, 'renamed'::text, qname, live::regclass::text;
            ELSIF pg_catalog.pg_get_viewdef(live) IS DISTINCT FROM v->>'definition' THEN
                RETURN QUERY SELECT e.tname, 'view'::text, qname, 'changed'::text, v->>'definition', pg_catalog.pg_get_viewdef(live);
            END IF;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION backupkit.schema_diff(bigint) IS 'Every difference between the captured table definitions of a snapshot and the live catalog (objects matched by OID first, so a rename shows as a rename)';
