-- Restoring.

CREATE FUNCTION backupkit.restore_table_from_snapshot(snapshot_id bigint, table_name regclass, mode text DEFAULT 'replace', dry_run boolean DEFAULT false, fire_triggers boolean DEFAULT false)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_restore_table_from_snapshot';
COMMENT ON FUNCTION backupkit.restore_table_from_snapshot(bigint, regclass, text, boolean, boolean) IS 'Restores one table from a snapshot (modes replace, merge, missing); returns a report';

CREATE VIEW backupkit.restores AS
SELECT h.restore_id,
       h.snapshot_id,
       h.tables,
       h.mode,
       h.dry_run,
       h.initiated_by_name AS initiated_by,
       h.started_at,
       h.finished_at,
       h.finished_at - h.started_at AS duration,
       h.status,
       h.report
  FROM backupkit.restore_history h
 WHERE pg_catalog.pg_has_role(h.initiated_by, 'MEMBER');
COMMENT ON VIEW backupkit.restores IS 'Completed restores and dry runs the current role may see';
GRANT SELECT ON backupkit.restores TO PUBLIC;

CREATE FUNCTION backupkit.restore_snapshot(snapshot_id bigint, tables regclass[] DEFAULT NULL, mode text DEFAULT 'replace', dry_run boolean DEFAULT false, fire_triggers boolean DEFAULT false, validate boolean DEFAULT true, schema text DEFAULT 'keep')
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_restore_snapshot';
COMMENT ON FUNCTION backupkit.restore_snapshot(bigint, regclass[], text, boolean, boolean, boolean, text) IS 'Restores several tables of a snapshot (all when tables is NULL) in foreign-key order, all or nothing; schema => ''missing'' first re-creates what a migration removed, schema => ''exact'' first makes the definitions exactly the captured ones; returns a report';

CREATE FUNCTION backupkit.diff(snapshot_id bigint, table_name regclass)
RETURNS TABLE (change text, key jsonb, snapshot_row jsonb, current_row jsonb)
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_diff';
COMMENT ON FUNCTION backupkit.diff(bigint, regclass) IS 'Rows that differ between a snapshot and the live table: added since, removed since, or changed';

-- Internal: the restore engine compares it with the fingerprints of captured rows (under its own fixed
-- output settings) to leave unchanged rows alone. One of the two functions without SET search_path (the
-- other is check_poi_integrity; sql/search_path.sql lists both): it runs once per row, and a SET clause
-- makes every call switch the GUC and back (1 million rows: 0.6 s without, 1.7 s with). Nothing it does
-- depends on the search_path: it runs no SQL and resolves no names, only calls the columns' output
-- functions (by OID), inside backupkit's own statements, which run under the pinned search_path.
CREATE FUNCTION backupkit.row_fingerprint(record)
RETURNS bigint
LANGUAGE c STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'bk_row_fingerprint';
COMMENT ON FUNCTION backupkit.row_fingerprint(record) IS 'Internal: fingerprint of a row''s text under backupkit''s output settings, compared with captured rows by merge and missing restores';
