-- Taking, inspecting and dropping snapshots.

CREATE FUNCTION backupkit.snapshot_tables(tables regclass[], label text DEFAULT NULL, compression text DEFAULT 'zstd')
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_snapshot_tables';
COMMENT ON FUNCTION backupkit.snapshot_tables(regclass[], text, text) IS 'Captures the rows of the tables under one MVCC snapshot; returns the snapshot id';

CREATE FUNCTION backupkit.snapshot_rows(snapshot_id bigint, table_name regclass)
RETURNS SETOF jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE ROWS 1000
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_snapshot_rows';
COMMENT ON FUNCTION backupkit.snapshot_rows(bigint, regclass) IS 'The captured rows of one table as jsonb objects keyed by column name (values in their text form)';

CREATE FUNCTION backupkit.drop_snapshot(snapshot_id bigint)
RETURNS boolean
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_drop_snapshot';
COMMENT ON FUNCTION backupkit.drop_snapshot(bigint) IS 'Deletes a snapshot and its data (a pinned snapshot must be unpinned first)';

CREATE FUNCTION backupkit.snapshot_contents(snapshot_id bigint)
RETURNS TABLE (table_name text, rows bigint, bytes bigint, stored_bytes bigint, chunks integer, checksum text)
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_snapshot_contents';
COMMENT ON FUNCTION backupkit.snapshot_contents(bigint) IS 'One row per table captured in the snapshot: rows, bytes of jsonb text, stored bytes, chunks, checksum';

-- Views run as their owner (the extension owner) and show each role only the snapshots it may use.
CREATE VIEW backupkit.snapshots AS
SELECT s.snapshot_id AS id,
       s.label,
       s.created_at,
       s.created_by_name AS created_by,
       s.table_count AS tables,
       s.row_count AS rows,
       pg_catalog.pg_size_pretty(s.stored_bytes) AS stored_size,
       s.stored_bytes,
       s.raw_bytes,
       CASE WHEN s.stored_bytes > 0 THEN round(s.raw_bytes::numeric / s.stored_bytes, 2) END AS compression_ratio,
       s.compression,
       s.status,
       s.pinned
  FROM backupkit.snapshot s
 WHERE pg_catalog.pg_has_role(s.created_by, 'MEMBER');
COMMENT ON VIEW backupkit.snapshots IS 'The snapshots the current role may use, newest last';
GRANT SELECT ON backupkit.snapshots TO PUBLIC;
