-- The per-table round trip of test/regression-db/roundtrip.sh, installed into the regression database in
-- its own schema (bk_roundtrip, left out of the tables tried). For every table:
--   reference  the multiset of its rows as COPY writes them (text format, so NULL is \N and differs from
--              an empty string; lines sorted, so row order does not matter and duplicates count)
--   copy       COPY TO a file, delete the rows, COPY FROM the file (triggers, rules and foreign keys off, as
--              pg_restore --disable-triggers does), compare with the reference, roll back
--   replace    snapshot_tables, damage (delete every other row, then add a duplicate or a default row;
--              committed), restore_table_from_snapshot(..., 'replace'), compare with the reference
--   merge      keyed tables: damage (delete every other row, rewrite every third one with its own values),
--              merge, compare
--   missing    keyed tables: damage (delete every other row), missing, compare
-- Each step commits (a procedure), as a user would run them; a table left different by a restore is put
-- back from the COPY file so that later tables (foreign keys) are not affected. The reference and the COPY
-- steps run under fixed output settings; backupkit runs under whatever settings the session has (the
-- driver sets hostile ones).
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bk_roundtrip CASCADE;
CREATE SCHEMA bk_roundtrip;

CREATE TABLE bk_roundtrip.result (
    relid oid PRIMARY KEY,
    name text NOT NULL,
    relkind "char" NOT NULL,
    has_rules boolean NOT NULL,
    rows bigint,
    keyed boolean,
    reference text,           -- "lines:md5" of the sorted COPY lines
    reference_error text,     -- COPY TO itself failed
    copy_outcome text,        -- same | differs | error
    copy_error text,
    snapshot_error text,
    damage text,              -- what the replace step's damage did
    replace_outcome text,     -- same | differs | error
    replace_error text,
    merge_outcome text,
    merge_error text,
    missing_outcome text,
    missing_error text,
    repaired text,            -- how the table was put back after a failed restore
    state text NOT NULL DEFAULT 'todo'  -- todo | running | done | crashed
);

-- Every user table of the database: plain tables (partitions and inheritance children included, each on
-- its own) and partitioned tables (captured with their partitions).
INSERT INTO bk_roundtrip.result (relid, name, relkind, has_rules)
SELECT c.oid, c.oid::regclass::text, c.relkind, c.relhasrules
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'bk_roundtrip', 'backupkit')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%';

-- FROM ONLY for everything but a partitioned table, whose partitions are part of it.
CREATE FUNCTION bk_roundtrip.scope(rel oid) RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT CASE WHEN relkind = 'p' THEN '' ELSE 'ONLY ' END || oid::regclass::text FROM pg_class WHERE oid = rel $$;

-- The columns a COPY or INSERT may write (generated columns excluded), quoted.
CREATE FUNCTION bk_roundtrip.writable_columns(rel oid) RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
    FROM pg_attribute WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
$$;

CREATE FUNCTION bk_roundtrip.checksum(rel oid, dir text) RETURNS text
LANGUAGE plpgsql
SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC' SET extra_float_digits = 3
SET bytea_output = 'hex' SET search_path = pg_catalog
AS $$
DECLARE
    path text := dir || '/checksum.copy';
    result text;
BEGIN
    EXECUTE format('COPY (SELECT * FROM %s) TO %L', bk_roundtrip.scope(rel), path);
    SELECT count(*) || ':' || md5(string_agg(l, E'\n' ORDER BY l COLLATE "C"))
    INTO result FROM regexp_split_to_table(pg_read_file(path), E'\n') AS l;
    RETURN result;
END
$$;

-- Writes the table's rows to DIR/<oid>.copy (the COPY reference and the repair source).
CREATE FUNCTION bk_roundtrip.copy_out(rel oid, dir text) RETURNS void
LANGUAGE plpgsql
SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC' SET extra_float_digits = 3
SET bytea_output = 'hex' SET search_path = pg_catalog
AS $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = rel) = 'p' THEN
        EXECUTE format('COPY (SELECT %s FROM %s) TO %L', bk_roundtrip.writable_columns(rel), rel::regclass,
                       dir || '/' || rel || '.copy');
    ELSE
        EXECUTE format('COPY %s TO %L', rel::regclass, dir || '/' || rel || '.copy');
    END IF;
END
$$;

-- Deletes every row and loads DIR/<oid>.copy, with triggers, rules and foreign-key checks off (TRUNCATE
-- when DELETE is refused, as for a published table without a replica identity).
CREATE FUNCTION bk_roundtrip.copy_in(rel oid, dir text) RETURNS void
LANGUAGE plpgsql
SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC' SET extra_float_digits = 3
SET bytea_output = 'hex' SET search_path = pg_catalog SET session_replication_role = replica
AS $$
BEGIN
    BEGIN
        EXECUTE format('DELETE FROM %s', bk_roundtrip.scope(rel));
    EXCEPTION WHEN OTHERS THEN
        EXECUTE format('TRUNCATE %s', bk_roundtrip.scope(rel));
    END;
    IF (SELECT relkind FROM pg_class WHERE oid = rel) = 'p' THEN
        EXECUTE format('COPY %s (%s) FROM %L', rel::regclass, bk_roundtrip.writable_columns(rel),
                       dir || '/' || rel || '.copy');
    ELSE
        EXECUTE format('COPY %s FROM %L', rel::regclass, dir || '/' || rel || '.copy');
    END IF;
END
$$;

-- Damage with triggers, rules and foreign keys off (a damaged parent must not cascade into its children):
-- delete every other row; then, when asked, rewrite every third remaining row with its own values (a
-- new tuple, same contents) and add a copy of one row (or a default row to an empty table), each of which
-- may fail on a constraint.
CREATE FUNCTION bk_roundtrip.damage(rel oid, rewrite boolean, add boolean) RETURNS text
LANGUAGE plpgsql
SET session_replication_role = replica SET search_path = pg_catalog
AS $$
DECLARE
    scope text := bk_roundtrip.scope(rel);
    cols text := bk_roundtrip.writable_columns(rel);
    first_col text;
    empty boolean;
    done text := 'deleted every other row';
BEGIN
    BEGIN
        EXECUTE format('DELETE FROM %1$s WHERE (tableoid, ctid) IN (SELECT tableoid, ctid FROM (SELECT tableoid, '
                       'ctid, row_number() OVER () AS n FROM %1$s) AS s WHERE n %% 2 = 1)', scope);
    EXCEPTION WHEN OTHERS THEN
        -- e.g. a published table without a replica identity refuses DELETE
        EXECUTE format('TRUNCATE %s', scope);
        done := 'truncated';
    END;
    IF rewrite AND cols IS NOT NULL THEN
        first_col := split_part(cols, ', ', 1);
        BEGIN
            EXECUTE format('UPDATE %1$s SET %2$s = %2$s WHERE (tableoid, ctid) IN (SELECT tableoid, ctid FROM '
                           '(SELECT tableoid, ctid, row_number() OVER () AS n FROM %1$s) AS s WHERE n %% 3 = 0)',
                           scope, first_col);
            done := done || ', rewrote every third';
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
    END IF;
    IF add THEN
        IF cols IS NOT NULL THEN
            BEGIN
                EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s LIMIT 1',
                               rel::regclass, cols, cols, scope);
                done := done || ', added a duplicate';
            EXCEPTION WHEN OTHERS THEN
                NULL;
            END;
        END IF;
        EXECUTE format('SELECT NOT EXISTS (SELECT FROM %s)', scope) INTO empty;
        IF empty THEN
            BEGIN
                EXECUTE format('INSERT INTO %s DEFAULT VALUES', rel::regclass);
                done := done || ', added a default row';
            EXCEPTION WHEN OTHERS THEN
                NULL;
            END;
        END IF;
    END IF;
    RETURN done;
END
$$;

CREATE FUNCTION bk_roundtrip.error_text(state text, message text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT state || ': ' || left(message, 300) $$;

-- One restore of a damaged table and its verdict; a table left different is put back from its COPY file.
CREATE PROCEDURE bk_roundtrip.try_restore(t bk_roundtrip.result, sid bigint, mode text, dir text,
                                          INOUT outcome text, INOUT error text)
LANGUAGE plpgsql
AS $$
DECLARE
    st text;
    msg text;
BEGIN
    BEGIN
        PERFORM backupkit.restore_table_from_snapshot(sid, t.relid, mode);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        error := bk_roundtrip.error_text(st, msg);
    END;
    COMMIT;
    outcome := CASE WHEN error IS NOT NULL THEN 'error'
                    WHEN bk_roundtrip.checksum(t.relid, dir) = t.reference THEN 'same' ELSE 'differs' END;
    IF outcome <> 'same' THEN
        BEGIN
            PERFORM bk_roundtrip.copy_in(t.relid, dir);
            UPDATE bk_roundtrip.result SET repaired = coalesce(repaired || ', ', '') || mode || ': COPY'
            WHERE relid = t.relid;
        EXCEPTION WHEN OTHERS THEN
            UPDATE bk_roundtrip.result SET repaired = coalesce(repaired || ', ', '') || mode || ': not possible'
            WHERE relid = t.relid;
        END;
        COMMIT;
    END IF;
END
$$;

CREATE PROCEDURE bk_roundtrip.run(dir text)
LANGUAGE plpgsql
AS $$
DECLARE
    t bk_roundtrip.result;
    sid bigint;
    st text;
    msg text;
    outcome text;
    error text;
BEGIN
    FOR t IN SELECT * FROM bk_roundtrip.result WHERE state = 'todo' ORDER BY name LOOP
        UPDATE bk_roundtrip.result SET state = 'running' WHERE relid = t.relid;
        COMMIT;
        -- The reference, and COPY's own round trip (rolled back).
        BEGIN
            t.reference := bk_roundtrip.checksum(t.relid, dir);
            PERFORM bk_roundtrip.copy_out(t.relid, dir);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            t.reference_error := bk_roundtrip.error_text(st, msg);
        END;
        IF t.reference_error IS NULL THEN
            BEGIN
                PERFORM bk_roundtrip.copy_in(t.relid, dir);
                t.copy_outcome := CASE WHEN bk_roundtrip.checksum(t.relid, dir) = t.reference THEN 'same'
                                       ELSE 'differs' END;
                RAISE EXCEPTION USING ERRCODE = 'BKRT0', MESSAGE = 'roll back';
            EXCEPTION WHEN SQLSTATE 'BKRT0' THEN
                NULL;
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
                t.copy_outcome := 'error';
                t.copy_error := bk_roundtrip.error_text(st, msg);
            END;
        END IF;
        t.rows := (SELECT split_part(t.reference, ':', 1)::bigint - 1);
        UPDATE bk_roundtrip.result SET reference = t.reference, reference_error = t.reference_error,
            rows = t.rows, copy_outcome = t.copy_outcome, copy_error = t.copy_error
        WHERE relid = t.relid;
        COMMIT;
        IF t.reference_error IS NOT NULL THEN
            UPDATE bk_roundtrip.result SET state = 'done' WHERE relid = t.relid;
            COMMIT;
            CONTINUE;
        END IF;

        sid := NULL;
        BEGIN
            sid := backupkit.snapshot_tables(ARRAY[t.relid]::regclass[], 'bk_roundtrip');
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            UPDATE bk_roundtrip.result SET snapshot_error = bk_roundtrip.error_text(st, msg), state = 'done'
            WHERE relid = t.relid;
        END;
        COMMIT;
        CONTINUE WHEN sid IS NULL;
        t.keyed := (SELECT key_columns IS NOT NULL FROM backupkit.snapshot_table WHERE snapshot_id = sid);
        UPDATE bk_roundtrip.result SET keyed = t.keyed WHERE relid = t.relid;

        UPDATE bk_roundtrip.result SET damage = bk_roundtrip.damage(t.relid, false, true) WHERE relid = t.relid;
        COMMIT;
        outcome := NULL;
        error := NULL;
        CALL bk_roundtrip.try_restore(t, sid, 'replace', dir, outcome, error);
        UPDATE bk_roundtrip.result SET replace_outcome = outcome, replace_error = error WHERE relid = t.relid;
        COMMIT;

        IF t.keyed THEN
            PERFORM bk_roundtrip.damage(t.relid, true, false);
            COMMIT;
            outcome := NULL;
            error := NULL;
            CALL bk_roundtrip.try_restore(t, sid, 'merge', dir, outcome, error);
            UPDATE bk_roundtrip.result SET merge_outcome = outcome, merge_error = error WHERE relid = t.relid;
            COMMIT;
            PERFORM bk_roundtrip.damage(t.relid, false, false);
            COMMIT;
            outcome := NULL;
            error := NULL;
            CALL bk_roundtrip.try_restore(t, sid, 'missing', dir, outcome, error);
            UPDATE bk_roundtrip.result SET missing_outcome = outcome, missing_error = error WHERE relid = t.relid;
            COMMIT;
        END IF;
        PERFORM backupkit.drop_snapshot(sid);
        UPDATE bk_roundtrip.result SET state = 'done' WHERE relid = t.relid;
        COMMIT;
    END LOOP;
END
$$;

-- The whole database at once: one snapshot of every table that is not a partition (a partitioned table
-- brings its partitions), every one damaged, then one restore_snapshot of them all (foreign-key order,
-- cycles, all or nothing), compared table by table with the reference taken just before.
CREATE TABLE bk_roundtrip.whole (
    relid oid PRIMARY KEY,
    name text NOT NULL,
    reference text NOT NULL,
    outcome text
);

CREATE PROCEDURE bk_roundtrip.run_whole(dir text, INOUT sid bigint DEFAULT NULL, INOUT error text DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    rel oid;
    st text;
    msg text;
BEGIN
    TRUNCATE bk_roundtrip.whole;
    INSERT INTO bk_roundtrip.whole (relid, name, reference)
    SELECT r.relid, r.name, bk_roundtrip.checksum(r.relid, dir)
    FROM bk_roundtrip.result r JOIN pg_class c ON c.oid = r.relid
    WHERE NOT c.relispartition AND r.reference_error IS NULL AND r.snapshot_error IS NULL;
    COMMIT;
    sid := backupkit.snapshot_tables((SELECT array_agg(relid ORDER BY name) FROM bk_roundtrip.whole)::regclass[],
                                     'bk_roundtrip whole');
    COMMIT;
    FOR rel IN SELECT relid FROM bk_roundtrip.whole ORDER BY name LOOP
        PERFORM bk_roundtrip.damage(rel, true, true);
    END LOOP;
    COMMIT;
    BEGIN
        PERFORM backupkit.restore_snapshot(sid);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        error := bk_roundtrip.error_text(st, msg);
    END;
    COMMIT;
    UPDATE bk_roundtrip.whole
    SET outcome = CASE WHEN bk_roundtrip.checksum(relid, dir) = reference THEN 'same' ELSE 'differs' END;
    COMMIT;
END
$$;
