-- Distributed snapshots of Citus tables (issue 14, step 3): each shard is captured by backupkit on the node
-- that stores it, under a snapshot every node took while distributed commits were blocked, so the capture is
-- consistent across nodes. The coordinator keeps only the map: snapshot -> table -> shard -> node -> the
-- worker's own backupkit snapshot. Rows never pass through the coordinator.

CREATE TABLE backupkit.distributed_snapshot (
    snapshot_id bigint PRIMARY KEY DEFAULT nextval('backupkit.snapshot_id_seq'),
    label text,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by oid NOT NULL,
    created_by_name name NOT NULL,
    compression text NOT NULL CHECK (compression IN ('zstd', 'none')),
    table_count integer NOT NULL DEFAULT 0,
    shard_count integer NOT NULL DEFAULT 0,
    row_count bigint NOT NULL DEFAULT 0,
    stored_bytes bigint NOT NULL DEFAULT 0,
    -- How long distributed commits were blocked while every node took its snapshot, and how long the block
    -- waited first for commits already under way (writers waiting to commit pause for both).
    commits_blocked_ms double precision,
    block_wait_ms double precision,
    duration_ms double precision
);
COMMENT ON TABLE backupkit.distributed_snapshot IS 'One row per distributed snapshot taken by backupkit.snapshot_distributed (ids shared with backupkit.snapshot)';

CREATE TABLE backupkit.distributed_snapshot_table (
    snapshot_id bigint NOT NULL REFERENCES backupkit.distributed_snapshot ON DELETE CASCADE,
    table_no integer NOT NULL,
    relid oid NOT NULL,
    schema_name name NOT NULL,
    table_name name NOT NULL,
    distribution_column name NOT NULL,
    colocation_id integer NOT NULL,
    row_count bigint NOT NULL,
    PRIMARY KEY (snapshot_id, table_no)
);
COMMENT ON TABLE backupkit.distributed_snapshot_table IS 'One row per distributed table captured in a distributed snapshot';

CREATE TABLE backupkit.distributed_snapshot_node (
    snapshot_id bigint NOT NULL REFERENCES backupkit.distributed_snapshot ON DELETE CASCADE,
    group_id integer NOT NULL,
    node_name text NOT NULL,
    node_port integer NOT NULL,
    -- The node's own backupkit snapshot holding its shards, and the MVCC snapshot it read them under
    -- (pg_current_snapshot() on the node, taken while distributed commits were blocked).
    worker_snapshot_id bigint NOT NULL,
    node_snapshot text NOT NULL,
    PRIMARY KEY (snapshot_id, group_id)
);
COMMENT ON TABLE backupkit.distributed_snapshot_node IS 'One row per node of a distributed snapshot: the backupkit snapshot on that node that holds its shards';

CREATE TABLE backupkit.distributed_snapshot_shard (
    snapshot_id bigint NOT NULL,
    table_no integer NOT NULL,
    shard_id bigint NOT NULL,
    shard_name text NOT NULL,
    shard_min_value integer,
    shard_max_value integer,
    group_id integer NOT NULL,
    worker_table_no integer NOT NULL,
    row_count bigint NOT NULL,
    checksum text NOT NULL,
    PRIMARY KEY (snapshot_id, shard_id),
    FOREIGN KEY (snapshot_id, table_no) REFERENCES backupkit.distributed_snapshot_table ON DELETE CASCADE,
    FOREIGN KEY (snapshot_id, group_id) REFERENCES backupkit.distributed_snapshot_node ON DELETE CASCADE
);
COMMENT ON TABLE backupkit.distributed_snapshot_shard IS 'One row per shard of a distributed snapshot: the node that captured it, its entry in that node''s snapshot, rows and checksum';

REVOKE ALL ON backupkit.distributed_snapshot, backupkit.distributed_snapshot_table, backupkit.distributed_snapshot_node,
    backupkit.distributed_snapshot_shard FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('backupkit.distributed_snapshot', '');
SELECT pg_catalog.pg_extension_config_dump('backupkit.distributed_snapshot_table', '');
SELECT pg_catalog.pg_extension_config_dump('backupkit.distributed_snapshot_node', '');
SELECT pg_catalog.pg_extension_config_dump('backupkit.distributed_snapshot_shard', '');

CREATE FUNCTION backupkit.snapshot_distributed(tables regclass[], label text DEFAULT NULL, compression text DEFAULT 'zstd')
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_snapshot_distributed';
COMMENT ON FUNCTION backupkit.snapshot_distributed(regclass[], text, text) IS 'Captures hash-distributed Citus tables shard by shard on the nodes that store them, consistent across nodes; returns the distributed snapshot id';

CREATE FUNCTION backupkit.restore_distributed(snapshot_id bigint, tables regclass[] DEFAULT NULL, mode text DEFAULT 'replace', dry_run boolean DEFAULT false, tenant text DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_restore_distributed';
COMMENT ON FUNCTION backupkit.restore_distributed(bigint, regclass[], text, boolean, text) IS 'Restores distributed tables from a distributed snapshot shard by shard on their nodes, all nodes or none (modes replace, merge, missing); tenant restores only the rows of one distribution column value; returns a report';

CREATE FUNCTION backupkit.validate_distributed(snapshot_id bigint)
RETURNS jsonb
LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_validate_distributed';
COMMENT ON FUNCTION backupkit.validate_distributed(bigint) IS 'Validates every node''s part of a distributed snapshot and checks each shard''s rows and checksum against the coordinator''s map; returns a report';

CREATE FUNCTION backupkit.drop_distributed_snapshot(snapshot_id bigint)
RETURNS boolean
LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_drop_distributed_snapshot';
COMMENT ON FUNCTION backupkit.drop_distributed_snapshot(bigint) IS 'Drops a distributed snapshot: each node''s part, then the coordinator''s map';

CREATE VIEW backupkit.distributed_snapshots AS
SELECT s.snapshot_id AS id,
       s.label,
       s.created_at,
       s.created_by_name AS created_by,
       s.table_count AS tables,
       s.shard_count AS shards,
       s.row_count AS rows,
       s.stored_bytes,
       s.commits_blocked_ms,
       s.block_wait_ms,
       s.duration_ms
  FROM backupkit.distributed_snapshot s
 WHERE pg_catalog.pg_has_role(s.created_by, 'MEMBER');
COMMENT ON VIEW backupkit.distributed_snapshots IS 'The distributed snapshots the current role may use, with how long each blocked distributed commits';
GRANT SELECT ON backupkit.distributed_snapshots TO PUBLIC;

-- Runs on the node that stores the shards: restores the rows of one distribution column value in co-located
-- shards from that node's part of a distributed snapshot. shards are parents first; replace deletes the
-- tenant's rows children first, then inserts the captured ones parents first; merge upserts by primary key
-- (rows already equal are left alone); missing inserts rows whose key is absent. Nothing else of the shards
-- is read or written. Called by backupkit.restore_distributed inside its transaction on the node.
CREATE FUNCTION backupkit.restore_tenant_shards(worker_snapshot_id bigint, shards regclass[], tenant_columns name[], tenant text, mode text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    i integer;
    n bigint;
    cols text;
    xcols text;
    key_cols text;
    set_cols text;
    tenant_type text;
    report jsonb := '[]';
    deleted bigint[] := array_fill(0::bigint, ARRAY[cardinality(shards)]);
    written bigint;
BEGIN
    IF mode NOT IN ('replace', 'merge', 'missing') THEN
        RAISE EXCEPTION 'unrecognized restore mode: "%"', mode USING ERRCODE = '22023';
    END IF;
    IF mode = 'replace' THEN
        FOR i IN REVERSE cardinality(shards) .. 1 LOOP
            SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO tenant_type
              FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = shards[i] AND a.attname = tenant_columns[i] AND NOT a.attisdropped;
            EXECUTE pg_catalog.format('DELETE FROM %s WHERE %I = CAST($1 AS %s)', shards[i], tenant_columns[i], tenant_type)
              USING tenant;
            GET DIAGNOSTICS n = ROW_COUNT;
            deleted[i] := n;
        END LOOP;
    END IF;
    FOR i IN 1 .. cardinality(shards) LOOP
        SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO tenant_type
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = shards[i] AND a.attname = tenant_columns[i] AND NOT a.attisdropped;
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum),
               pg_catalog.string_agg('x.' || pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
          INTO cols, xcols
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = shards[i] AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.ord)
          INTO key_cols
          FROM pg_catalog.pg_index x
         CROSS JOIN LATERAL pg_catalog.unnest(x.indkey) WITH ORDINALITY k(attnum, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
         WHERE x.indrelid = shards[i] AND x.indisprimary;
        IF mode = 'merge' AND key_cols IS NULL THEN
            RAISE EXCEPTION 'table "%" has no primary key', shards[i]
                USING ERRCODE = '0A000',
                      DETAIL = 'A tenant merge matches captured rows with live rows by primary key.',
                      HINT = 'Restore the tenant with mode ''replace'' or ''missing''.';
        END IF;
        SELECT pg_catalog.string_agg(pg_catalog.format('%1$I = EXCLUDED.%1$I', a.attname), ', ' ORDER BY a.attnum)
          INTO set_cols
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = shards[i] AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
        EXECUTE pg_catalog.format(
            'INSERT INTO %1$s AS t (%2$s) OVERRIDING SYSTEM VALUE SELECT %3$s FROM backupkit.snapshot_rows($1, $2) r, '
            'pg_catalog.jsonb_populate_record(NULL::%1$s, r) x WHERE x.%4$I = CAST($3 AS %5$s)%6$s',
            shards[i], cols, xcols,
            tenant_columns[i], tenant_type,
            CASE mode
                WHEN 'missing' THEN ' ON CONFLICT DO NOTHING'
                WHEN 'merge' THEN pg_catalog.format(' ON CONFLICT (%s) DO UPDATE SET %s WHERE (t.*) IS DISTINCT FROM (EXCLUDED.*)', key_cols, set_cols)
                ELSE ''
            END)
          USING worker_snapshot_id, shards[i], tenant;
        GET DIAGNOSTICS written = ROW_COUNT;
        report := report || pg_catalog.jsonb_build_object('shard', shards[i]::text, 'deleted', deleted[i], 'written', written);
    END LOOP;
    RETURN report;
END
$fn$;
COMMENT ON FUNCTION backupkit.restore_tenant_shards(bigint, regclass[], name[], text, text) IS 'Internal, run on a Citus node by restore_distributed: restores the rows of one distribution column value in co-located shards from the node''s part of a distributed snapshot';
