-- Undoing a migration, third phase of issue 10: restore_snapshot(..., schema => 'exact'). The captured tables'
-- definitions become exactly the captured ones before their contents are restored, in three steps that
-- restore_snapshot runs one after the other (each computed against the catalog the previous one left):
--   1. exact_ddl_prepare: tables renamed back, objects added since (or changed) dropped, columns added since
--      dropped, renamed back and retyped, and the column order rebuilt where ALTER TABLE cannot reach it
--      (the columns from the first misplaced one on are moved aside under a temporary name, added again in
--      captured order, given their values back and the old ones dropped); partitions added since detached;
--   2. what schema => 'missing' runs (definitions_ddl(defs, true)): everything that is now missing re-created;
--   3. exact_ddl_finish: every attribute compared with the capture (defaults, identity, NOT NULL, storage, compression, statistics,
--      options, persistence, tablespace, replica identity, row-level security, owner, privileges, comments).
-- Every statement is built from the structured definition: names through format('%I'), expressions and
-- pg_get_*def texts only inside the statement they belong to.

-- The live relation of a captured one: by its OID hint while that names a relation of the same kind (renamed or
-- moved since), else by name.
CREATE FUNCTION backupkit.live_relation(rel jsonb)
RETURNS oid
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT coalesce((SELECT cl.oid FROM pg_catalog.pg_class cl WHERE cl.oid = (rel->>'relid')::oid AND cl.relkind::text = rel->>'relkind'),
                (SELECT cl.oid FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
                  WHERE n.nspname = rel->>'schema' AND cl.relname = rel->>'name' AND cl.relkind::text = rel->>'relkind'))
$$;
COMMENT ON FUNCTION backupkit.live_relation(jsonb) IS 'Internal: the live relation of a captured one (by OID hint, then by name)';

-- The live definition of one relation, in the format of a captured relation.
CREATE FUNCTION backupkit.live_relation_definition(relid oid)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT x FROM pg_catalog.jsonb_array_elements(backupkit.table_definition(relid)->'relations') x WHERE (x->>'relid')::oid = relid
$$;
COMMENT ON FUNCTION backupkit.live_relation_definition(oid) IS 'Internal: the definition a snapshot would record for one relation now';

-- The temporary name of a column moved aside while the column order is rebuilt.
CREATE FUNCTION backupkit.moved_column_name(col jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT 'backupkit_moved_' || (col->>'attnum') || '_' || pg_catalog.left(col->>'name', 40)
$$;
COMMENT ON FUNCTION backupkit.moved_column_name(jsonb) IS 'Internal: the temporary name of a column schema => ''exact'' moves to restore the column order';

-- Captured and live objects (constraints, indexes, triggers, policies) paired: by OID first, then by name;
-- live objects nothing captured pairs with come last, with captured NULL.
CREATE FUNCTION backupkit.paired_objects(captured jsonb, current jsonb)
RETURNS TABLE (cap jsonb, live jsonb)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c jsonb;
    l jsonb;
    seen text[] := '{}';
BEGIN
    FOR c IN SELECT e FROM backupkit.json_list(captured) e LOOP
        l := NULL;
        SELECT e INTO l FROM backupkit.json_list(current) e WHERE e->>'oid' = c->>'oid' AND NOT e->>'oid' = ANY (seen);
        IF l IS NULL THEN
            SELECT e INTO l FROM backupkit.json_list(current) e WHERE e->>'name' = c->>'name' AND NOT e->>'oid' = ANY (seen);
        END IF;
        IF l IS NOT NULL THEN
            seen := seen || (l->>'oid');
        END IF;
        RETURN QUERY SELECT c, l;
    END LOOP;
    FOR l IN SELECT e FROM backupkit.json_list(current) e WHERE NOT e->>'oid' = ANY (seen) LOOP
        RETURN QUERY SELECT NULL::jsonb, l;
    END LOOP;
END
$$;
COMMENT ON FUNCTION backupkit.paired_objects(jsonb, jsonb) IS 'Internal: captured and live constraints, indexes, triggers or policies paired by OID, then by name';

CREATE FUNCTION backupkit.follows_parent(obj jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT coalesce((obj->>'from_parent')::boolean, false) OR coalesce(NOT (obj->>'local')::boolean, false)
       OR coalesce(pg_catalog.jsonb_typeof(obj->'parent_index') = 'object', false)
$$;
COMMENT ON FUNCTION backupkit.follows_parent(jsonb) IS 'Internal: whether a constraint or index of a partition or child comes from its parent';

-- The statement dropping a constraint, index, trigger or policy of table t (schema nsp).
CREATE FUNCTION backupkit.drop_object_statement(kind text, obj jsonb, t text, nsp text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT CASE kind
       WHEN 'constraints' THEN pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', t, obj->>'name')
       WHEN 'indexes' THEN pg_catalog.format('DROP INDEX %I.%I', nsp, obj->>'name')
       WHEN 'triggers' THEN pg_catalog.format('DROP TRIGGER %I ON %s', obj->>'name', t)
       WHEN 'policies' THEN pg_catalog.format('DROP POLICY %I ON %s', obj->>'name', t)
       END
$$;
COMMENT ON FUNCTION backupkit.drop_object_statement(text, jsonb, text, text) IS 'Internal: DROP statement of a constraint, index, trigger or policy';

-- The statement renaming a constraint, index, trigger or policy of table t (schema nsp).
CREATE FUNCTION backupkit.rename_object_statement(kind text, old_name text, new_name text, t text, nsp text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT CASE kind
       WHEN 'constraints' THEN pg_catalog.format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', t, old_name, new_name)
       WHEN 'indexes' THEN pg_catalog.format('ALTER INDEX %I.%I RENAME TO %I', nsp, old_name, new_name)
       WHEN 'triggers' THEN pg_catalog.format('ALTER TRIGGER %I ON %s RENAME TO %I', old_name, t, new_name)
       WHEN 'policies' THEN pg_catalog.format('ALTER POLICY %I ON %s RENAME TO %I', old_name, t, new_name)
       END
$$;
COMMENT ON FUNCTION backupkit.rename_object_statement(text, text, text, text, text) IS 'Internal: RENAME statement of a constraint, index, trigger or policy';

-- The USING expression that converts the current values of column col of relation rel (live name live_col) to
-- the captured type: a cast when every current value converts, else a conversion through text, else NULL (no
-- expression converts them). Tried with a read-only scan in a subtransaction.
CREATE FUNCTION backupkit.conversion_expression(rel oid, live_col text, col text, captured_type text)
RETURNS text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    candidate text;
BEGIN
    FOREACH candidate IN ARRAY ARRAY['(%1$I)::%2$s', '(%1$I)::text::%2$s'] LOOP
        BEGIN
            EXECUTE pg_catalog.format('SELECT pg_catalog.count(' || candidate || ') FROM %3$s', live_col, captured_type, rel::regclass);
            RETURN pg_catalog.format(candidate, col, captured_type);
        EXCEPTION WHEN data_exception OR cannot_coerce OR datatype_mismatch OR undefined_function OR syntax_error_or_access_rule_violation THEN
            NULL;
        END;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION backupkit.conversion_expression(oid, text, text, text) IS 'Internal: a USING expression converting a column''s current values back to its captured type, or NULL';

-- REVOKE and GRANT statements that make the privileges of an object (table, or columns when columns is
-- ' ("c")') the captured ones.
CREATE FUNCTION backupkit.exact_privileges(captured_acl jsonb, captured_grants jsonb, live_grants jsonb, owner text, on_clause text, columns text DEFAULT '')
RETURNS SETOF text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT pg_catalog.format('REVOKE ALL%s ON %s FROM %s CASCADE', columns, on_clause,
                                          CASE WHEN g = 'PUBLIC' THEN 'PUBLIC' ELSE pg_catalog.quote_ident(g) END)
                   FROM (SELECT DISTINCT e->>'grantee' AS g FROM backupkit.json_list(live_grants) e) x ORDER BY g;
    IF columns = '' AND pg_catalog.jsonb_typeof(captured_acl) IS DISTINCT FROM 'array' THEN
        RETURN NEXT pg_catalog.format('GRANT ALL ON %s TO %I', on_clause, owner);
    END IF;
    RETURN QUERY SELECT backupkit.table_grant_statements(captured_grants, on_clause, columns, owner, true);
END
$$;
COMMENT ON FUNCTION backupkit.exact_privileges(jsonb, jsonb, jsonb, text, text, text) IS 'Internal: statements that give an object back its captured privileges';

-- Step 1 of schema => 'exact' for one captured definition (see the top of this file). Rows: part 'before'
-- (run now), 'after' (after the contents are restored) or 'warning'.
CREATE FUNCTION backupkit.exact_ddl_prepare(d jsonb, content_mode text)
RETURNS TABLE (part text, statement text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r jsonb;
    l jsonb;
    c jsonb;
    lc jsonb;
    o record;
    live oid;
    t text;
    nsp text;
    k text;
    expr text;
    dropped text[];
    matched jsonb;     -- captured attnum -> live column
    used text[];
    changed int2[];    -- live attnums whose type changes or that move
    moved int2[];
    prefix integer;
    pos integer;
    last_live integer;
    rebuild_from integer;
    sets text;
    stats text[];
    views_dropped boolean := false;
BEGIN
    -- Dependent views renamed or moved since get their captured names back (step 2 would re-create them).
    FOR c IN SELECT e FROM backupkit.json_list(d->'views') e ORDER BY (e->>'depth')::int, e->>'schema', e->>'name' LOOP
        live := backupkit.live_relation(c);
        CONTINUE WHEN live IS NULL;
        SELECT n.nspname AS nsp, cl.relname AS name INTO o FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace WHERE cl.oid = live;
        k := CASE WHEN c->>'relkind' = 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END;
        IF o.nsp <> c->>'schema' THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER %s %I.%I SET SCHEMA %I', k, o.nsp, o.name, c->>'schema');
        END IF;
        IF o.name <> c->>'name' THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER %s %I.%I RENAME TO %I', k, c->>'schema', o.name, c->>'name');
        END IF;
        -- A materialized view whose query changed cannot be replaced in place: it is dropped here and step 2
        -- re-creates it as captured, and refreshes it (a view of it that the capture does not know makes the
        -- DROP fail, and nothing changes).
        IF c->>'relkind' = 'm' AND pg_catalog.pg_get_viewdef(live) IS DISTINCT FROM c->>'definition' THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('DROP MATERIALIZED VIEW %I.%I', c->>'schema', c->>'name');
        END IF;
    END LOOP;

    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(d->'relations') WITH ORDINALITY AS b(rel, ord) ORDER BY (b.rel->>'level')::int, b.ord LOOP
        live := backupkit.live_relation(r);
        CONTINUE WHEN live IS NULL;
        l := backupkit.live_relation_definition(live);
        nsp := r->>'schema';
        t := pg_catalog.format('%I.%I', r->>'schema', r->>'name');
        dropped := '{}';

        -- The table's name and schema.
        IF l->>'schema' <> r->>'schema' THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %I.%I SET SCHEMA %I', l->>'schema', l->>'name', r->>'schema');
        END IF;
        IF l->>'name' <> r->>'name' THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %I.%I RENAME TO %I', r->>'schema', l->>'name', r->>'name');
        END IF;

        -- The captured owner first: what step 2 creates (an owned sequence) must belong to the table's owner.
        IF r->>'owner' <> l->>'owner' THEN
            IF pg_catalog.pg_has_role(CURRENT_USER, r->>'owner', 'MEMBER') THEN
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s OWNER TO %I', t, r->>'owner');
            ELSE
                RETURN QUERY SELECT 'warning', pg_catalog.format('table "%s.%s" is owned by "%s", not by its captured owner "%s", of which the current role is not a member',
                                                                 r->>'schema', r->>'name', l->>'owner', r->>'owner');
            END IF;
        END IF;

        -- Triggers, policies, constraints (foreign keys first) and indexes added since, or changed (dropped here,
        -- re-created by step 2 from the capture).
        FOREACH k IN ARRAY ARRAY['triggers', 'policies', 'constraints', 'indexes'] LOOP
            FOR o IN SELECT p.cap, p.live FROM backupkit.paired_objects(r->k, l->k) p
                      WHERE p.live IS NOT NULL AND NOT (k = 'indexes' AND (p.live->>'constraint')::boolean) AND NOT backupkit.follows_parent(p.live)
                      ORDER BY p.live->>'kind' = 'f' DESC, p.live->>'name' LOOP
                IF o.cap IS NULL OR EXISTS (SELECT FROM backupkit.diff_objects(pg_catalog.jsonb_build_array(o.cap), pg_catalog.jsonb_build_array(o.live), r, l) x
                                            WHERE x.change = 'changed') THEN
                    RETURN QUERY SELECT 'before', backupkit.drop_object_statement(k, o.live, t, nsp);
                    dropped := dropped || (k || ':' || (o.live->>'name'));
                END IF;
            END LOOP;
        END LOOP;
        -- Renamed ones get their captured names back.
        FOREACH k IN ARRAY ARRAY['triggers', 'policies', 'constraints', 'indexes'] LOOP
            FOR o IN SELECT p.cap, p.live FROM backupkit.paired_objects(r->k, l->k) p
                      WHERE p.live IS NOT NULL AND p.cap IS NOT NULL AND p.cap->>'name' <> p.live->>'name'
                        AND NOT (k = 'indexes' AND (p.live->>'constraint')::boolean) LOOP
                CONTINUE WHEN (k || ':' || (o.live->>'name')) = ANY (dropped);
                RETURN QUERY SELECT 'before', backupkit.rename_object_statement(k, o.live->>'name', o.cap->>'name', t, nsp);
            END LOOP;
        END LOOP;

        -- Partitions added since are detached (their rows stay in them, outside the captured table).
        FOR o IN SELECT ih.inhrelid::regclass::text AS name FROM pg_catalog.pg_inherits ih
                  WHERE ih.inhparent = live AND r->>'relkind' = 'p'
                    AND NOT EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(d->'relations') y WHERE backupkit.live_relation(y) = ih.inhrelid)
                  ORDER BY 1 LOOP
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s DETACH PARTITION %s', t, o.name);
            RETURN QUERY SELECT 'warning', pg_catalog.format('partition %s was attached to %s since the capture; schema => ''exact'' detached it (its rows stay in it)', o.name, t);
        END LOOP;

        -- Parents of legacy inheritance added since are left (NO INHERIT): the columns they gave become local
        -- and go with the columns added since; parents the capture has are kept (step 2 restores lost ones).
        FOR o IN SELECT ih.inhparent::regclass::text AS name FROM pg_catalog.pg_inherits ih JOIN pg_catalog.pg_class pc ON pc.oid = ih.inhparent
                  WHERE ih.inhrelid = live AND pc.relkind = 'r'
                    AND NOT EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(r->'inherits') = 'array' THEN r->'inherits' ELSE '[]' END) p
                                     WHERE pg_catalog.to_regclass(pg_catalog.format('%I.%I', p->>'schema', p->>'name')) = ih.inhparent)
                  ORDER BY 1 LOOP
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s NO INHERIT %s', t, o.name);
        END LOOP;

        -- Columns of a partition or an inheritance child follow their parent (a partition detached since is a
        -- table of its own until step 3 attaches it).
        CONTINUE WHEN pg_catalog.jsonb_typeof(l->'parent') = 'object' OR pg_catalog.jsonb_typeof(r->'inherits') = 'array';

        -- Columns paired: the same attnum is the same column (a rename keeps it), then the same name.
        matched := '{}';
        used := '{}';
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
            lc := NULL;
            SELECT e INTO lc FROM pg_catalog.jsonb_array_elements(l->'columns') e WHERE e->>'attnum' = c->>'attnum';
            IF lc IS NULL THEN
                SELECT e INTO lc FROM pg_catalog.jsonb_array_elements(l->'columns') e
                 WHERE e->>'name' = c->>'name' AND NOT EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(r->'columns') f
                                                                WHERE f->>'attnum' = e->>'attnum');
            END IF;
            IF lc IS NOT NULL THEN
                matched := matched || pg_catalog.jsonb_build_object(c->>'attnum', lc);
                used := used || (lc->>'attnum');
            END IF;
        END LOOP;
        -- Columns added since are dropped (an index or constraint on them goes with them).
        FOR lc IN SELECT e FROM pg_catalog.jsonb_array_elements(l->'columns') e WHERE NOT e->>'attnum' = ANY (used) ORDER BY (e->>'attnum')::int LOOP
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s DROP COLUMN %I', t, lc->>'name');
        END LOOP;

        -- The column order: the longest captured prefix that is in place stays; every column after it is moved
        -- aside and added again in captured order (so are the columns dropped since, and a column whose
        -- generated expression differs, which ALTER TABLE cannot change).
        prefix := 0;
        last_live := 0;
        rebuild_from := NULL;
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
            lc := matched->(c->>'attnum');
            IF rebuild_from IS NULL THEN
                IF lc IS NULL OR (lc->'generated') IS DISTINCT FROM (c->'generated')
                   OR EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(l->'columns') e
                               WHERE e->>'attnum' = ANY (used) AND (e->>'attnum')::int > last_live AND (e->>'attnum')::int < (lc->>'attnum')::int) THEN
                    rebuild_from := (c->>'attnum')::int;
                ELSE
                    last_live := (lc->>'attnum')::int;
                    prefix := prefix + 1;
                END IF;
            END IF;
        END LOOP;
        moved := '{}';
        changed := '{}';
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
            lc := matched->(c->>'attnum');
            CONTINUE WHEN lc IS NULL;
            IF rebuild_from IS NOT NULL AND (c->>'attnum')::int >= rebuild_from THEN
                moved := moved || (lc->>'attnum')::int2;
                changed := changed || (lc->>'attnum')::int2;
            ELSIF lc->>'type' <> c->>'type' OR (lc->'collation') IS DISTINCT FROM (c->'collation') THEN
                changed := changed || (lc->>'attnum')::int2;
            END IF;
        END LOOP;

        IF changed <> '{}' THEN
            -- What depends on a column that changes type or moves: the captured views (all of them, deepest
            -- first; step 2 re-creates them), triggers and policies (re-created by step 2), and for moved columns
            -- constraints, foreign keys onto them and indexes (re-created by step 2 on the new column).
            IF NOT views_dropped AND EXISTS (SELECT FROM pg_catalog.pg_depend dep JOIN pg_catalog.pg_rewrite rw ON rw.oid = dep.objid
                                              WHERE dep.classid = 'pg_catalog.pg_rewrite'::regclass AND dep.refclassid = 'pg_catalog.pg_class'::regclass
                                                AND dep.refobjid = live AND dep.refobjsubid = ANY (changed) AND rw.ev_class <> live) THEN
                views_dropped := true;
                FOR c IN SELECT e FROM backupkit.json_list(d->'views') e ORDER BY (e->>'depth')::int DESC, e->>'schema', e->>'name' LOOP
                    CONTINUE WHEN backupkit.object_missing('relation', pg_catalog.format('%I.%I', c->>'schema', c->>'name'));
                    RETURN QUERY SELECT 'before', pg_catalog.format('DROP %s IF EXISTS %I.%I', CASE WHEN c->>'relkind' = 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END,
                                                                   c->>'schema', c->>'name');
                END LOOP;
            END IF;
            FOR o IN SELECT DISTINCT tg.tgname AS name FROM pg_catalog.pg_depend dep JOIN pg_catalog.pg_trigger tg ON tg.oid = dep.objid
                      WHERE dep.classid = 'pg_catalog.pg_trigger'::regclass AND dep.refclassid = 'pg_catalog.pg_class'::regclass
                        AND dep.refobjid = live AND dep.refobjsubid = ANY (changed) AND tg.tgrelid = live AND NOT tg.tgisinternal ORDER BY 1 LOOP
                CONTINUE WHEN ('triggers:' || o.name) = ANY (dropped);
                dropped := dropped || ('triggers:' || o.name);
                RETURN QUERY SELECT 'before', pg_catalog.format('DROP TRIGGER %I ON %s', o.name, t);
            END LOOP;
            FOR o IN SELECT DISTINCT po.polname AS name FROM pg_catalog.pg_depend dep JOIN pg_catalog.pg_policy po ON po.oid = dep.objid
                      WHERE dep.classid = 'pg_catalog.pg_policy'::regclass AND dep.refclassid = 'pg_catalog.pg_class'::regclass
                        AND dep.refobjid = live AND dep.refobjsubid = ANY (changed) AND po.polrelid = live ORDER BY 1 LOOP
                CONTINUE WHEN ('policies:' || o.name) = ANY (dropped);
                dropped := dropped || ('policies:' || o.name);
                RETURN QUERY SELECT 'before', pg_catalog.format('DROP POLICY %I ON %s', o.name, t);
            END LOOP;
        END IF;
        IF moved <> '{}' THEN
            FOR o IN SELECT DISTINCT co.conname AS name, co.conrelid, co.contype = 'f' AS fk FROM pg_catalog.pg_depend dep
                       JOIN pg_catalog.pg_constraint co ON co.oid = dep.objid
                      WHERE dep.classid = 'pg_catalog.pg_constraint'::regclass AND dep.refclassid = 'pg_catalog.pg_class'::regclass
                        AND dep.refobjid = live AND dep.refobjsubid = ANY (moved) AND co.conparentid = 0
                        AND co.contype <> 'n' -- NOT NULL (18+) goes with its column, and comes back in step 3
                      ORDER BY 3 DESC, 1 LOOP
                CONTINUE WHEN o.conrelid = live AND ('constraints:' || o.name) = ANY (dropped);
                IF o.conrelid = live THEN
                    dropped := dropped || ('constraints:' || o.name);
                END IF;
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I',
                    CASE WHEN o.conrelid = live THEN t ELSE o.conrelid::regclass::text END, o.name);
            END LOOP;
            FOR o IN SELECT DISTINCT ic.relname AS name FROM pg_catalog.pg_depend dep JOIN pg_catalog.pg_index i ON i.indexrelid = dep.objid
                       JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
                      WHERE dep.classid = 'pg_catalog.pg_class'::regclass AND dep.refclassid = 'pg_catalog.pg_class'::regclass
                        AND dep.refobjid = live AND dep.refobjsubid = ANY (moved) AND i.indrelid = live
                        AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint co WHERE co.conindid = i.indexrelid AND co.conrelid = live)
                        AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits ih WHERE ih.inhrelid = i.indexrelid) ORDER BY 1 LOOP
                CONTINUE WHEN ('indexes:' || o.name) = ANY (dropped);
                dropped := dropped || ('indexes:' || o.name);
                RETURN QUERY SELECT 'before', pg_catalog.format('DROP INDEX %I.%I', nsp, o.name);
            END LOOP;
        END IF;

        -- Extended statistics on moved columns (not part of a captured definition, and dropped with a column)
        -- are dropped and created again once the columns are back.
        stats := '{}';
        IF moved <> '{}' THEN
            FOR o IN SELECT DISTINCT se.oid, pg_catalog.format('%I.%I', sn.nspname, se.stxname) AS name
                       FROM pg_catalog.pg_depend dep JOIN pg_catalog.pg_statistic_ext se ON se.oid = dep.objid
                       JOIN pg_catalog.pg_namespace sn ON sn.oid = se.stxnamespace
                      WHERE dep.classid = 'pg_catalog.pg_statistic_ext'::regclass AND dep.refclassid = 'pg_catalog.pg_class'::regclass
                        AND dep.refobjid = live AND dep.refobjsubid = ANY (moved) ORDER BY 2 LOOP
                RETURN QUERY SELECT 'before', pg_catalog.format('DROP STATISTICS %s', o.name);
                stats := stats || pg_catalog.pg_get_statisticsobjdef(o.oid);
            END LOOP;
        END IF;

        -- Renamed columns get their captured names (through a temporary name when the captured one is taken);
        -- moved columns go aside under their temporary name.
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
            lc := matched->(c->>'attnum');
            CONTINUE WHEN lc IS NULL;
            IF (lc->>'attnum')::int2 = ANY (moved) THEN
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s RENAME COLUMN %I TO %I', t, lc->>'name', backupkit.moved_column_name(c));
            ELSIF lc->>'name' <> c->>'name' AND EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(l->'columns') e
                                                         WHERE e->>'name' = c->>'name' AND e->>'attnum' = ANY (used)) THEN
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s RENAME COLUMN %I TO %I', t, lc->>'name', backupkit.moved_column_name(c));
            END IF;
        END LOOP;
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
            lc := matched->(c->>'attnum');
            CONTINUE WHEN lc IS NULL OR (lc->>'attnum')::int2 = ANY (moved) OR lc->>'name' = c->>'name';
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s RENAME COLUMN %I TO %I', t,
                CASE WHEN EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(l->'columns') e WHERE e->>'name' = c->>'name' AND e->>'attnum' = ANY (used))
                     THEN backupkit.moved_column_name(c) ELSE lc->>'name' END, c->>'name');
        END LOOP;

        -- Types: converted in place (a moved column too, before it is copied back), through a cast that every
        -- current value passes; when none does, the values are left to the restore of the contents, which
        -- only 'replace' reloads whole.
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
            lc := matched->(c->>'attnum');
            CONTINUE WHEN lc IS NULL OR NOT (lc->>'type' <> c->>'type' OR (lc->'collation') IS DISTINCT FROM (c->'collation'));
            k := CASE WHEN (lc->>'attnum')::int2 = ANY (moved) THEN backupkit.moved_column_name(c) ELSE c->>'name' END;
            IF lc->>'default' IS NOT NULL THEN
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', t, k);
            END IF;
            IF pg_catalog.jsonb_typeof(lc->'generated') = 'object' THEN
                expr := NULL;
            ELSE
                expr := backupkit.conversion_expression(live, lc->>'name', k, c->>'type');
                IF expr IS NULL AND content_mode <> 'replace' THEN
                    RAISE EXCEPTION 'column "%" of table "%.%" cannot be converted back to its captured type %', c->>'name', r->>'schema', r->>'name', c->>'type'
                        USING ERRCODE = '22P02',
                              DETAIL = pg_catalog.format('Some current values of the column (now %s) do not convert, and mode => %L keeps rows the snapshot does not have.',
                                                         lc->>'type', content_mode),
                              HINT = 'Restore with mode => ''replace'', which reloads every row, or convert or delete those values first.';
                END IF;
                IF expr IS NULL THEN
                    IF (lc->>'not_null')::boolean AND pg_catalog.jsonb_typeof(lc->'identity') <> 'object' THEN
                        RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', t, k);
                    END IF;
                    expr := pg_catalog.format('NULL::%s', c->>'type');
                END IF;
            END IF;
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE %s%s%s', t, k, c->>'type',
                CASE WHEN pg_catalog.jsonb_typeof(c->'collation') = 'object'
                     THEN pg_catalog.format(' COLLATE %I.%I', c->'collation'->>'schema', c->'collation'->>'name') ELSE '' END,
                CASE WHEN expr IS NULL THEN '' ELSE ' USING ' || expr END);
        END LOOP;

        -- Columns from the first misplaced one on, added again in captured order (values, defaults, identity and
        -- NOT NULL come in step 3; sequences of moved serial columns are kept when the old column goes).
        IF rebuild_from IS NOT NULL THEN
            FOR o IN SELECT sq.oid::regclass::text AS seq FROM pg_catalog.pg_depend dep JOIN pg_catalog.pg_class sq ON sq.oid = dep.objid
                      WHERE dep.classid = 'pg_catalog.pg_class'::regclass AND sq.relkind = 'S' AND dep.deptype = 'a'
                        AND dep.refobjid = live AND dep.refobjsubid = ANY (moved) ORDER BY 1 LOOP
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER SEQUENCE %s OWNED BY NONE', o.seq);
            END LOOP;
            FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e WHERE (e->>'attnum')::int >= rebuild_from ORDER BY (e->>'attnum')::int LOOP
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s ADD COLUMN %I %s%s%s', t, c->>'name', c->>'type',
                    CASE WHEN pg_catalog.jsonb_typeof(c->'collation') = 'object'
                         THEN pg_catalog.format(' COLLATE %I.%I', c->'collation'->>'schema', c->'collation'->>'name') ELSE '' END,
                    CASE WHEN pg_catalog.jsonb_typeof(c->'generated') = 'object'
                         THEN pg_catalog.format(' GENERATED ALWAYS AS (%s) STORED', c->'generated'->>'expression') ELSE '' END);
            END LOOP;
            -- The moved columns' values copied back ('replace' reloads every row anyway), with the table's
            -- enabled triggers off for that statement; then the old columns go (before step 2, which may attach
            -- re-created partitions that have only the captured columns).
            sets := NULL;
            FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
                lc := matched->(c->>'attnum');
                CONTINUE WHEN lc IS NULL OR NOT (lc->>'attnum')::int2 = ANY (moved) OR pg_catalog.jsonb_typeof(c->'generated') = 'object';
                sets := CASE WHEN sets IS NULL THEN '' ELSE sets || ', ' END || pg_catalog.format('%I = %I', c->>'name', backupkit.moved_column_name(c));
            END LOOP;
            IF sets IS NOT NULL AND content_mode <> 'replace' THEN
                FOR o IN SELECT tg.tgname, tg.tgenabled FROM pg_catalog.pg_trigger tg WHERE tg.tgrelid = live AND NOT tg.tgisinternal AND tg.tgenabled <> 'D'
                            AND NOT ('triggers:' || tg.tgname) = ANY (dropped) ORDER BY tg.tgname LOOP
                    RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER %I', t, o.tgname);
                END LOOP;
                -- Every row, whatever the policies (the owner, or a member of it, is exempt unless forced).
                IF (l->>'rls_forced')::boolean THEN
                    RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', t);
                END IF;
                RETURN QUERY SELECT 'before', pg_catalog.format('UPDATE %s SET %s', t, sets);
                IF (l->>'rls_forced')::boolean THEN
                    RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
                END IF;
                FOR o IN SELECT tg.tgname, tg.tgenabled FROM pg_catalog.pg_trigger tg WHERE tg.tgrelid = live AND NOT tg.tgisinternal AND tg.tgenabled <> 'D'
                            AND NOT ('triggers:' || tg.tgname) = ANY (dropped) ORDER BY tg.tgname LOOP
                    RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s ENABLE %sTRIGGER %I', t,
                        CASE o.tgenabled WHEN 'R' THEN 'REPLICA ' WHEN 'A' THEN 'ALWAYS ' ELSE '' END, o.tgname);
                END LOOP;
            END IF;
            -- Generated columns first: they depend on the columns they are computed from.
            FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e
                      ORDER BY pg_catalog.jsonb_typeof((matched->(e->>'attnum'))->'generated') IS DISTINCT FROM 'object', (e->>'attnum')::int LOOP
                lc := matched->(c->>'attnum');
                CONTINUE WHEN lc IS NULL OR NOT (lc->>'attnum')::int2 = ANY (moved);
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s DROP COLUMN %I', t, backupkit.moved_column_name(c));
            END LOOP;
            RETURN QUERY SELECT 'before', x FROM pg_catalog.unnest(stats) x;
        END IF;

        -- A partition detached since, its columns as captured now, is attached again.
        IF pg_catalog.jsonb_typeof(r->'parent') = 'object' THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE ONLY %I.%I ATTACH PARTITION %s %s', r->'parent'->>'schema', r->'parent'->>'name',
                                                           t, r->>'partition_bound');
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION backupkit.exact_ddl_prepare(jsonb, text) IS 'Internal: first step of schema => ''exact'' (renames reverted, additions dropped, columns retyped and put back in order)';

-- Whether two objects' privileges differ (their default privileges, acl NULL, count as none granted).
CREATE FUNCTION backupkit.grants_differ(a jsonb, b jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT (pg_catalog.jsonb_typeof(a->'acl') = 'array') IS DISTINCT FROM (pg_catalog.jsonb_typeof(b->'acl') = 'array')
    OR (SELECT pg_catalog.array_agg(g::text ORDER BY g::text) FROM backupkit.json_list(a->'grants') g)
       IS DISTINCT FROM (SELECT pg_catalog.array_agg(g::text ORDER BY g::text) FROM backupkit.json_list(b->'grants') g)
$$;
COMMENT ON FUNCTION backupkit.grants_differ(jsonb, jsonb) IS 'Internal: whether two stored objects'' privileges differ';

-- A captured relation with the grants (and grantors) of role old_owner given to new_owner, and acl texts
-- compared accordingly.
CREATE FUNCTION backupkit.owner_replaced(rel jsonb, old_owner text, new_owner text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_catalog.jsonb_set(
           pg_catalog.jsonb_set(rel, '{grants}', backupkit.grants_owner_replaced(rel->'grants', old_owner, new_owner)),
           '{columns}', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_set(c, '{grants}', backupkit.grants_owner_replaced(c->'grants', old_owner, new_owner))
                                                      ORDER BY (c->>'attnum')::int)
                                    FROM pg_catalog.jsonb_array_elements(rel->'columns') c), '[]'))
$$;
COMMENT ON FUNCTION backupkit.owner_replaced(jsonb, text, text) IS 'Internal: a captured relation''s grants with one role replaced by another';

CREATE FUNCTION backupkit.grants_owner_replaced(grants jsonb, old_owner text, new_owner text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT CASE WHEN pg_catalog.jsonb_typeof(grants) = 'array'
            THEN coalesce((SELECT pg_catalog.jsonb_agg(g || CASE WHEN g->>'grantee' = old_owner THEN pg_catalog.jsonb_build_object('grantee', new_owner) ELSE '{}' END
                                                         || CASE WHEN g->>'grantor' = old_owner THEN pg_catalog.jsonb_build_object('grantor', new_owner) ELSE '{}' END)
                             FROM pg_catalog.jsonb_array_elements(grants) g), '[]')
            ELSE grants END
$$;
COMMENT ON FUNCTION backupkit.grants_owner_replaced(jsonb, text, text) IS 'Internal: stored grants with one role replaced by another';

-- Step 3 of schema => 'exact' for one captured definition, once step 2 re-created what was missing.
CREATE FUNCTION backupkit.exact_ddl_finish(d jsonb, content_mode text)
RETURNS TABLE (part text, statement text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r jsonb;
    l jsonb;
    c jsonb;
    lc jsonb;
    o record;
    live oid;
    t text;
    nsp text;
    k text;
    sets text;
    seq jsonb;
BEGIN
    FOR r IN SELECT b.rel FROM pg_catalog.jsonb_array_elements(d->'relations') WITH ORDINALITY AS b(rel, ord) ORDER BY (b.rel->>'level')::int, b.ord LOOP
        live := backupkit.live_relation(r);
        CONTINUE WHEN live IS NULL;
        l := backupkit.live_relation_definition(live);
        nsp := r->>'schema';
        t := pg_catalog.format('%I.%I', r->>'schema', r->>'name');

        -- A table that stays with another owner (the caller could not give it back, step 1 warned) gets the
        -- captured owner's privileges for its owner.
        IF l->>'owner' <> r->>'owner' THEN
            r := backupkit.owner_replaced(r, r->>'owner', l->>'owner');
        END IF;

        -- Column attributes.
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
            lc := NULL;
            SELECT e INTO lc FROM pg_catalog.jsonb_array_elements(l->'columns') e WHERE e->>'name' = c->>'name';
            CONTINUE WHEN lc IS NULL;
            IF pg_catalog.jsonb_typeof(l->'parent') IS DISTINCT FROM 'object' THEN
                -- Identity (a partition's follows its parent's).
                IF pg_catalog.jsonb_typeof(lc->'identity') = 'object' AND pg_catalog.jsonb_typeof(c->'identity') IS DISTINCT FROM 'object' THEN
                    RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I DROP IDENTITY', t, c->>'name');
                ELSIF pg_catalog.jsonb_typeof(c->'identity') = 'object' AND pg_catalog.jsonb_typeof(lc->'identity') IS DISTINCT FROM 'object' THEN
                    -- Needs NOT NULL, so it comes after the contents (and the NOT NULL below).
                    seq := c->'identity'->'sequence';
                    RETURN QUERY SELECT 'after_identity', pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I ADD GENERATED %s AS IDENTITY (SEQUENCE NAME %I.%I %s)', t, c->>'name',
                        CASE WHEN c->'identity'->>'kind' = 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END, seq->>'schema', seq->>'name',
                        backupkit.sequence_options(seq, false));
                    RETURN QUERY SELECT 'after_identity', pg_catalog.format('SELECT pg_catalog.setval(%L, v, v IS NOT NULL) FROM (SELECT pg_catalog.max(x) AS v FROM (SELECT %s::bigint AS x UNION ALL SELECT pg_catalog.max(%I)::bigint FROM %s) y) z WHERE v IS NOT NULL',
                        pg_catalog.format('%I.%I', seq->>'schema', seq->>'name'), coalesce(seq->>'last_value', 'NULL'), c->>'name', t);
                ELSIF pg_catalog.jsonb_typeof(c->'identity') = 'object' AND c->'identity'->>'kind' <> lc->'identity'->>'kind' THEN
                    RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET GENERATED %s', t, c->>'name',
                        CASE WHEN c->'identity'->>'kind' = 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END);
                END IF;
                -- Default.
                IF (c->>'default') IS DISTINCT FROM (lc->>'default') AND pg_catalog.jsonb_typeof(c->'generated') IS DISTINCT FROM 'object' THEN
                    RETURN QUERY SELECT 'before', CASE WHEN c->>'default' IS NULL THEN pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', t, c->>'name')
                                                       ELSE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', t, c->>'name', c->>'default') END;
                END IF;
                -- NOT NULL: dropped now, set once the column holds its captured values.
                IF (c->>'not_null')::boolean AND NOT (lc->>'not_null')::boolean THEN
                    RETURN QUERY SELECT 'after', CASE WHEN c->>'not_null_name' IS NOT NULL AND c->>'not_null_name' <> pg_catalog.format('%s_%s_not_null', r->>'name', c->>'name')
                                                      THEN pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I NOT NULL %I', t, c->>'not_null_name', c->>'name')
                                                      ELSE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', t, c->>'name') END;
                ELSIF NOT (c->>'not_null')::boolean AND (lc->>'not_null')::boolean THEN
                    RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', t, c->>'name');
                END IF;
            END IF;
            IF c->>'storage' <> lc->>'storage' THEN
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE ONLY %s ALTER COLUMN %I SET STORAGE %s', t, c->>'name',
                    CASE c->>'storage' WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END);
            END IF;
            IF (c->>'compression') IS DISTINCT FROM (lc->>'compression') THEN
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE ONLY %s ALTER COLUMN %I SET COMPRESSION %s', t, c->>'name',
                    CASE c->>'compression' WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' ELSE 'default' END);
            END IF;
            IF c->>'statistics' <> lc->>'statistics' THEN
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE ONLY %s ALTER COLUMN %I SET STATISTICS %s', t, c->>'name', (c->>'statistics')::int);
            END IF;
            IF (c->>'comment') IS DISTINCT FROM (lc->>'comment') THEN
                RETURN QUERY SELECT 'before', pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', t, c->>'name', c->>'comment');
            END IF;
            IF backupkit.grants_differ(c, lc) THEN
                RETURN QUERY SELECT 'before', s FROM backupkit.exact_privileges(c->'acl', c->'grants', lc->'grants', l->>'owner', 'TABLE ' || t,
                                                                                pg_catalog.format(' (%I)', c->>'name')) s;
            END IF;
        END LOOP;

        -- NOT NULL constraint names (PostgreSQL 18 and later). A partition's are inherited and cannot be renamed
        -- in place (an ALTER COLUMN TYPE on the parent gives them the parent's names): the partition is detached,
        -- its constraints renamed, and attached again.
        sets := NULL;
        FOR c IN SELECT e FROM pg_catalog.jsonb_array_elements(r->'columns') e ORDER BY (e->>'attnum')::int LOOP
            SELECT e INTO lc FROM pg_catalog.jsonb_array_elements(l->'columns') e WHERE e->>'name' = c->>'name';
            CONTINUE WHEN lc IS NULL OR c->>'not_null_name' IS NULL OR lc->>'not_null_name' IS NULL OR c->>'not_null_name' = lc->>'not_null_name';
            IF pg_catalog.jsonb_typeof(l->'parent') = 'object' AND sets IS NULL THEN
                sets := pg_catalog.format('ALTER TABLE ONLY %I.%I ATTACH PARTITION %s %s', l->'parent'->>'schema', l->'parent'->>'name', t, l->>'partition_bound');
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %I.%I DETACH PARTITION %s', l->'parent'->>'schema', l->'parent'->>'name', t);
            END IF;
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', t, lc->>'not_null_name', c->>'not_null_name');
        END LOOP;
        IF sets IS NOT NULL THEN
            RETURN QUERY SELECT 'before', sets;
        END IF;

        -- Sequences of moved serial columns belong to the column again.
        FOR seq IN SELECT e FROM backupkit.json_list(d->'sequences') e
                    WHERE NOT (e->>'identity')::boolean AND e->'table'->>'schema' = r->>'schema' AND e->'table'->>'name' = r->>'name' LOOP
            CONTINUE WHEN backupkit.object_missing('relation', pg_catalog.format('%I.%I', seq->>'schema', seq->>'name'))
                          OR EXISTS (SELECT FROM pg_catalog.pg_depend dep WHERE dep.classid = 'pg_catalog.pg_class'::regclass
                                        AND dep.objid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', seq->>'schema', seq->>'name'))
                                        AND dep.refobjid = live AND dep.deptype = 'a');
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER SEQUENCE %I.%I OWNED BY %s.%I', seq->>'schema', seq->>'name', t, seq->>'column');
        END LOOP;

        -- Options of the table's serial and identity sequences as captured (type, start, increment, bounds,
        -- cache, cycle); their values are the contents' business. A sequence re-created by an identity added in
        -- the last step has the captured options already.
        FOR seq IN SELECT e FROM backupkit.json_list(d->'sequences') e
                    WHERE e->'table'->>'schema' = r->>'schema' AND e->'table'->>'name' = r->>'name' LOOP
            CONTINUE WHEN backupkit.object_missing('relation', pg_catalog.format('%I.%I', seq->>'schema', seq->>'name'))
                          OR EXISTS (SELECT FROM pg_catalog.pg_sequence sq
                                      WHERE sq.seqrelid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', seq->>'schema', seq->>'name'))
                                        AND pg_catalog.format_type(sq.seqtypid, NULL) = seq->>'type'
                                        AND sq.seqstart::text = seq->>'start' AND sq.seqincrement::text = seq->>'increment'
                                        AND sq.seqmin::text = seq->>'min' AND sq.seqmax::text = seq->>'max'
                                        AND sq.seqcache::text = seq->>'cache' AND sq.seqcycle = (seq->>'cycle')::boolean);
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER SEQUENCE %I.%I %s', seq->>'schema', seq->>'name', backupkit.sequence_options(seq));
        END LOOP;

        -- Table options.
        IF (r->'reloptions') IS DISTINCT FROM (l->'reloptions') THEN
            IF pg_catalog.jsonb_typeof(l->'reloptions') = 'array' THEN
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE ONLY %s RESET (%s)', t,
                    (SELECT pg_catalog.string_agg(CASE WHEN pg_catalog.split_part(o2, '=', 1) ~ '^[a-z_]+(\.[a-z_]+)?$' THEN pg_catalog.split_part(o2, '=', 1)
                                                       ELSE pg_catalog.quote_ident(pg_catalog.split_part(o2, '=', 1)) END, ', ')
                       FROM pg_catalog.jsonb_array_elements_text(l->'reloptions') o2));
            END IF;
            IF pg_catalog.jsonb_typeof(r->'reloptions') = 'array' THEN
                RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE ONLY %s SET (%s)', t, backupkit.reloptions_clause(r->'reloptions'));
            END IF;
        END IF;
        IF r->>'persistence' <> l->>'persistence' AND r->>'relkind' = 'r' THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s SET %s', t, CASE WHEN r->>'persistence' = 'u' THEN 'UNLOGGED' ELSE 'LOGGED' END);
        END IF;
        IF (r->>'tablespace') IS DISTINCT FROM (l->>'tablespace') AND r->>'relkind' = 'r' THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s SET TABLESPACE %I', t, coalesce(r->>'tablespace', 'pg_default'));
        END IF;
        -- ALTER TABLE ... SET ACCESS METHOD rewrites a table (PostgreSQL 15) and sets a partitioned table's
        -- (PostgreSQL 17); before that, a partitioned table's is left with a warning.
        IF (r->>'access_method') IS DISTINCT FROM (l->>'access_method')
           AND (r->>'relkind' IN ('r', 'm') OR pg_catalog.current_setting('server_version_num')::int >= 170000) THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER %s %s SET ACCESS METHOD %I', CASE WHEN r->>'relkind' = 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                                                           t, coalesce(r->>'access_method', 'heap'));
        ELSIF (r->>'access_method') IS DISTINCT FROM (l->>'access_method') THEN
            RETURN QUERY SELECT 'warning', pg_catalog.format('table "%s.%s" uses access method %s, not its captured %s; schema => ''exact'' cannot change it',
                                                             r->>'schema', r->>'name', coalesce(l->>'access_method', 'heap'), coalesce(r->>'access_method', 'heap'));
        END IF;
        -- Replica identity, clustering index.
        k := (SELECT e->>'name' FROM backupkit.json_list(r->'indexes') e WHERE (e->>'replica_identity')::boolean LIMIT 1);
        IF r->>'replica_identity' <> l->>'replica_identity'
           OR (r->>'replica_identity' = 'i' AND k IS DISTINCT FROM (SELECT e->>'name' FROM backupkit.json_list(l->'indexes') e WHERE (e->>'replica_identity')::boolean LIMIT 1)) THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE ONLY %s REPLICA IDENTITY %s', t,
                CASE r->>'replica_identity' WHEN 'f' THEN 'FULL' WHEN 'n' THEN 'NOTHING' WHEN 'i' THEN pg_catalog.format('USING INDEX %I', k) ELSE 'DEFAULT' END);
        END IF;
        k := (SELECT e->>'name' FROM backupkit.json_list(r->'indexes') e WHERE (e->>'clustered')::boolean LIMIT 1);
        IF k IS DISTINCT FROM (SELECT e->>'name' FROM backupkit.json_list(l->'indexes') e WHERE (e->>'clustered')::boolean LIMIT 1) THEN
            RETURN QUERY SELECT 'before', CASE WHEN k IS NULL THEN pg_catalog.format('ALTER TABLE ONLY %s SET WITHOUT CLUSTER', t)
                                               ELSE pg_catalog.format('ALTER TABLE ONLY %s CLUSTER ON %I', t, k) END;
        END IF;
        -- Row-level security.
        IF r->>'rls' <> l->>'rls' THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s %s ROW LEVEL SECURITY', t, CASE WHEN (r->>'rls')::boolean THEN 'ENABLE' ELSE 'DISABLE' END);
        END IF;
        IF r->>'rls_forced' <> l->>'rls_forced' THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('ALTER TABLE %s %s ROW LEVEL SECURITY', t, CASE WHEN (r->>'rls_forced')::boolean THEN 'FORCE' ELSE 'NO FORCE' END);
        END IF;
        -- Comments of the table and its objects.
        IF (r->>'comment') IS DISTINCT FROM (l->>'comment') THEN
            RETURN QUERY SELECT 'before', pg_catalog.format('COMMENT ON TABLE %s IS %L', t, r->>'comment');
        END IF;
        FOREACH k IN ARRAY ARRAY['constraints', 'indexes', 'triggers', 'policies'] LOOP
            FOR o IN SELECT p.cap FROM backupkit.paired_objects(r->k, l->k) p
                      WHERE p.cap IS NOT NULL AND p.live IS NOT NULL AND (p.cap->>'comment') IS DISTINCT FROM (p.live->>'comment')
                        AND NOT (k = 'indexes' AND (p.cap->>'constraint')::boolean AND p.cap->>'comment' IS NULL) LOOP
                RETURN QUERY SELECT 'before', CASE k
                    WHEN 'constraints' THEN pg_catalog.format('COMMENT ON CONSTRAINT %I ON %s IS %L', o.cap->>'name', t, o.cap->>'comment')
                    WHEN 'indexes' THEN pg_catalog.format('COMMENT ON INDEX %I.%I IS %L', nsp, o.cap->>'name', o.cap->>'comment')
                    WHEN 'triggers' THEN pg_catalog.format('COMMENT ON TRIGGER %I ON %s IS %L', o.cap->>'name', t, o.cap->>'comment')
                    ELSE pg_catalog.format('COMMENT ON POLICY %I ON %s IS %L', o.cap->>'name', t, o.cap->>'comment') END;
            END LOOP;
        END LOOP;
        -- Privileges (the owner is the captured one since step 1).
        IF backupkit.grants_differ(r, l) THEN
            RETURN QUERY SELECT 'before', s FROM backupkit.exact_privileges(r->'acl', r->'grants', l->'grants', l->>'owner', 'TABLE ' || t) s;
        END IF;
    END LOOP;
    -- Dependent views whose query changed since get the captured one back (a materialized view was dropped in
    -- step 1 and re-created in step 2; the warning is for one that is still different).
    FOR c IN SELECT e FROM backupkit.json_list(d->'views') e ORDER BY (e->>'depth')::int, e->>'schema', e->>'name' LOOP
        live := backupkit.live_relation(c);
        CONTINUE WHEN live IS NULL OR pg_catalog.pg_get_viewdef(live) IS NOT DISTINCT FROM c->>'definition';
        IF c->>'relkind' = 'm' THEN
            RETURN QUERY SELECT 'warning', pg_catalog.format('materialized view "%s.%s" was changed since the capture; schema => ''exact'' leaves it as it is',
                                                             c->>'schema', c->>'name');
        ELSE
            RETURN QUERY SELECT 'before', pg_catalog.format('CREATE OR REPLACE VIEW %I.%I AS %s', c->>'schema', c->>'name',
                                                           pg_catalog.rtrim(pg_catalog.rtrim(c->>'definition'), ';'));
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION backupkit.exact_ddl_finish(jsonb, text) IS 'Internal: last step of schema => ''exact'' (moved columns copied back, attributes, options, owner, privileges and comments as captured)';

-- The captured table a DDL statement belongs to, for the report: the first captured relation, sequence, index,
-- view or routine of a definition that the statement names (NULL when it names none).
CREATE FUNCTION backupkit.statement_table(statement text, names text[], defs jsonb[])
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT x.table_name
  FROM (SELECT n.table_name, n.ord, o.q
          FROM ROWS FROM (pg_catalog.unnest(names), pg_catalog.unnest(defs)) WITH ORDINALITY AS n(table_name, d, ord),
               LATERAL (SELECT pg_catalog.format('%I.%I', e->>'schema', e->>'name') AS q FROM backupkit.json_list(n.d->'relations') e
                        UNION ALL SELECT pg_catalog.format('%I.%I', e->>'schema', i->>'name') FROM backupkit.json_list(n.d->'relations') e, backupkit.json_list(e->'indexes') i
                        UNION ALL SELECT pg_catalog.format('%I.%I', e->>'schema', e->>'name') FROM backupkit.json_list(n.d->'sequences') e
                        UNION ALL SELECT pg_catalog.format('%I.%I', e->>'schema', e->>'name') FROM backupkit.json_list(n.d->'views') e
                        UNION ALL SELECT pg_catalog.format('%I.%I', e->>'schema', e->>'name') FROM backupkit.json_list(n.d->'functions') e) o) x,
       LATERAL (SELECT pg_catalog.regexp_match(statement, '(^|[^A-Za-z0-9_$".])' || pg_catalog.regexp_replace(x.q, '([.^$*+?()\[\]{}|\\])', '\\\1', 'g')
                                                          || '($|[^A-Za-z0-9_$"])') AS m) y
 WHERE y.m IS NOT NULL
 ORDER BY pg_catalog.strpos(statement, x.q), pg_catalog.length(x.q) DESC, x.ord
 LIMIT 1
$$;
COMMENT ON FUNCTION backupkit.statement_table(text, text[], jsonb[]) IS 'Internal: the captured table a DDL statement of a schema restore belongs to';

-- What restore_snapshot runs in schema mode 'missing' (step 2 only) or 'exact' (steps 1, 2, 3), one step at
-- a time: part 'before' (run before the contents are restored), 'after' (run after them) or 'warning', with the
-- captured table each statement belongs to. The definitions are those of the listed tables (found by OID hint
-- or by name), or all of the snapshot's when tables is NULL.
CREATE FUNCTION backupkit.schema_restore_plan(snapshot_id bigint, tables regclass[], schema text, step integer, content_mode text)
RETURNS TABLE (part text, table_name text, statement text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    names text[];
    defs jsonb[];
    p text := 'before';
    s text;
    i integer;
BEGIN
    SELECT pg_catalog.array_agg(x.table_name ORDER BY x.table_no), pg_catalog.array_agg(x.definition ORDER BY x.table_no) INTO names, defs
      FROM backupkit.snapshot_definitions(schema_restore_plan.snapshot_id) x
     WHERE schema_restore_plan.tables IS NULL
        OR backupkit.live_relation(x.definition->'relations'->0) = ANY (schema_restore_plan.tables);
    IF schema = 'missing' OR step = 2 THEN
        FOR s IN SELECT x FROM backupkit.definitions_ddl(defs, true) WITH ORDINALITY AS y(x, ord) ORDER BY y.ord LOOP
            IF s IS NULL THEN
                p := CASE p WHEN 'before' THEN 'after' ELSE 'warning' END;
                CONTINUE;
            END IF;
            RETURN QUERY SELECT p, CASE WHEN p = 'warning' THEN NULL ELSE backupkit.statement_table(s, names, defs) END, s;
        END LOOP;
        RETURN;
    END IF;
    FOR i IN 1 .. coalesce(pg_catalog.array_length(defs, 1), 0) LOOP
        IF step = 1 THEN
            RETURN QUERY SELECT x.part, names[i], x.statement FROM backupkit.exact_ddl_prepare(defs[i], content_mode) x;
        ELSE
            -- Identity added after NOT NULL, once the contents are back.
            RETURN QUERY SELECT CASE x.part WHEN 'after_identity' THEN 'after' ELSE x.part END, names[i], x.statement
                           FROM backupkit.exact_ddl_finish(defs[i], content_mode) WITH ORDINALITY AS x(part, statement, ord)
                          ORDER BY x.part = 'after_identity', x.ord;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION backupkit.schema_restore_plan(bigint, regclass[], text, integer, text) IS 'Internal: the DDL restore_snapshot runs for schema => ''missing'' or ''exact'', one step at a time, with the table each statement belongs to';
