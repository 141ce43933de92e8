-- Distributed snapshots, wider scope (issue 14, step 3 gaps): reference and single-shard tables in the map,
-- a checksum sealing the map, and the lock a capture takes on every metadata-synced node.

-- Reference tables (one shard, a placement on every node) and single-shard tables (schema-based sharding or
-- create_distributed_table(t, NULL)) have no distribution column. Every placement of a reference table is
-- captured by its own node, so the map holds one row per shard and node.
ALTER TABLE backupkit.distributed_snapshot_table
    ALTER COLUMN distribution_column DROP NOT NULL,
    ADD COLUMN table_type text NOT NULL DEFAULT 'hash' CHECK (table_type IN ('hash', 'reference', 'single_shard'));
COMMENT ON COLUMN backupkit.distributed_snapshot_table.table_type IS 'hash: distributed by distribution_column; reference: a copy on every node, each captured by its node; single_shard: one shard on one node';
ALTER TABLE backupkit.distributed_snapshot_shard
    DROP CONSTRAINT distributed_snapshot_shard_pkey,
    ADD PRIMARY KEY (snapshot_id, shard_id, group_id);

-- The seal of the map: a checksum over the snapshot's row (what restores rely on), its tables, nodes and
-- shards, written once the whole map is, and verified by validate_distributed, restore_distributed and
-- drop_distributed_snapshot.
ALTER TABLE backupkit.distributed_snapshot ADD COLUMN map_checksum bytea;
COMMENT ON COLUMN backupkit.distributed_snapshot.map_checksum IS 'Checksum over the distributed snapshot''s map (row, tables, nodes, shards); NULL only for a map never completely written';

-- Runs on a Citus node that holds Citus's metadata (MX), called by snapshot_distributed on the coordinator
-- over its own connection: holds off commits of distributed transactions that this node coordinates (the
-- ExclusiveLock citus_create_restore_point takes on the coordinator, here on this node's pg_dist_node,
-- pg_dist_partition and pg_dist_transaction) until the calling transaction ends. The caller ends it within
-- milliseconds; the lock never outlives max_ms: max_ms after taking it, the session is ended (FATAL), busy or idle.
CREATE FUNCTION backupkit.hold_distributed_commits(max_ms integer)
RETURNS void
LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_hold_distributed_commits';
COMMENT ON FUNCTION backupkit.hold_distributed_commits(integer) IS 'Internal, run on a metadata-synced Citus node by snapshot_distributed: holds off commits of the distributed transactions the node coordinates until the transaction ends, at most max_ms (then the session is ended)';

CREATE FUNCTION backupkit.prune_distributed_snapshots(keep_last integer DEFAULT NULL, keep_daily integer DEFAULT NULL,
                                                      keep_weekly integer DEFAULT NULL, keep_monthly integer DEFAULT NULL,
                                                      keep_yearly integer DEFAULT NULL, older_than interval DEFAULT NULL,
                                                      label text DEFAULT NULL, dry_run boolean DEFAULT false)
RETURNS TABLE (snapshot_id bigint, label text, created_at timestamptz, action text, reason text)
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_prune_distributed_snapshots';
COMMENT ON FUNCTION backupkit.prune_distributed_snapshots(integer, integer, integer, integer, integer, interval, text, boolean) IS 'Drops the distributed snapshots (of one label, when given) that no keep rule keeps, each node''s part with the map, as prune_snapshots does for snapshots of one server';

-- The copies of a reference table are compared by their content, whatever the physical order of their rows
-- on each node (a capture's checksum follows that order): one fingerprint per copy, read by its node under the
-- capture's snapshot.
ALTER TABLE backupkit.distributed_snapshot_shard ADD COLUMN content_fingerprint text;
COMMENT ON COLUMN backupkit.distributed_snapshot_shard.content_fingerprint IS 'For a copy of a reference table: rows and sums of the rows'' hashes, the same for copies with the same rows in any order';

-- Runs on a Citus node, called by snapshot_distributed for each copy of a reference table it captures.
CREATE FUNCTION backupkit.content_fingerprint(rel regclass)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    result text;
BEGIN
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.count(*) || '':'' || coalesce(pg_catalog.sum((''x'' || pg_catalog.substr(h, 1, 15))::bit(60)::bigint), 0) '
        '|| '':'' || coalesce(pg_catalog.sum((''x'' || pg_catalog.substr(h, 16, 15))::bit(60)::bigint), 0) '
        'FROM (SELECT pg_catalog.md5(t::text) AS h FROM %s t) x', rel)
      INTO result;
    RETURN result;
END
$fn$;
COMMENT ON FUNCTION backupkit.content_fingerprint(regclass) IS 'Internal, run on a Citus node by snapshot_distributed: rows and sums of the rows'' hashes of a table, independent of the rows'' order';
