-- Integrity: proving a snapshot whole before anyone relies on it, and checking live data after a restore.

CREATE FUNCTION backupkit.validate_snapshot_integrity(snapshot_id bigint)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_validate_snapshot_integrity';
COMMENT ON FUNCTION backupkit.validate_snapshot_integrity(bigint) IS 'Reads and verifies every chunk of a snapshot, its keys and foreign-key closure and its compatibility with the live tables; returns a report';

CREATE FUNCTION backupkit.validate_all_snapshots()
RETURNS TABLE (snapshot_id bigint, label text, created_at timestamptz, valid boolean, first_error text)
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_validate_all_snapshots';
COMMENT ON FUNCTION backupkit.validate_all_snapshots() IS 'Validates every snapshot the current role may use: one row each with the first error found';

-- No SET search_path (one of the two such functions, with row_fingerprint; sql/search_path.sql lists both): a
-- NULL argument names a table (poi_states, ...) looked up on the caller's search_path, which a SET clause would
-- replace before the function starts. It resolves those names first, then pins the search_path itself
-- (bk_stable_settings_push) before running any statement; sql/search_path.sql runs it under a hostile one.
CREATE FUNCTION backupkit.check_poi_integrity(states regclass DEFAULT NULL, transitions regclass DEFAULT NULL, histories regclass DEFAULT NULL)
RETURNS TABLE (check_name text, table_name text, row_id text, detail text)
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'bk_check_poi_integrity';
COMMENT ON FUNCTION backupkit.check_poi_integrity(regclass, regclass, regclass) IS 'Checks the POI evolution tables (states, transitions, histories; poi_* on the search_path when NULL); no rows means healthy';

CREATE FUNCTION backupkit.check_referential_integrity(tables regclass[] DEFAULT NULL)
RETURNS TABLE (constraint_name text, child_table text, parent_table text, orphan_rows bigint, sample_keys jsonb)
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_check_referential_integrity';
COMMENT ON FUNCTION backupkit.check_referential_integrity(regclass[]) IS 'Counts the rows violating each foreign key (NOT VALID ones included) touching the tables, all tables when NULL';
