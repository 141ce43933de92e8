-- Undoing a migration, second phase of issue 10: restore_snapshot gains schema text DEFAULT 'keep' (a new
-- signature); the schema functions come from sql/install/60_schema.sql and 65_schema_restore.sql whole (60_schema.from-install, 65_schema_restore.from-install).
DROP FUNCTION backupkit.restore_snapshot(bigint, regclass[], text, boolean, boolean, boolean);
CREATE FUNCTION backupkit.restore_snapshot(snapshot_id bigint, tables regclass[] DEFAULT NULL, mode text DEFAULT 'replace', dry_run boolean DEFAULT false, fire_triggers boolean DEFAULT false, validate boolean DEFAULT true, schema text DEFAULT 'keep')
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_restore_snapshot';
COMMENT ON FUNCTION backupkit.restore_snapshot(bigint, regclass[], text, boolean, boolean, boolean, text) IS 'Restores several tables of a snapshot (all when tables is NULL) in foreign-key order, all or nothing; schema => ''missing'' first re-creates what a migration removed, schema => ''exact'' first makes the definitions exactly the captured ones; returns a report';
