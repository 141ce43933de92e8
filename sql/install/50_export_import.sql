-- Moving a snapshot between databases as a stream of frames (format: doc/export-format.md).

CREATE FUNCTION backupkit.export_snapshot(snapshot_id bigint)
RETURNS SETOF bytea
LANGUAGE c VOLATILE PARALLEL UNSAFE ROWS 100
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_export_snapshot';
COMMENT ON FUNCTION backupkit.export_snapshot(bigint) IS 'The snapshot as checksummed frames of at most 4 MB, in order; feed them to backupkit.import_snapshot elsewhere';

CREATE FUNCTION backupkit.import_snapshot_step(state internal, frame bytea)
RETURNS internal
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_import_snapshot_step';
COMMENT ON FUNCTION backupkit.import_snapshot_step(internal, bytea) IS 'Transition function of backupkit.import_snapshot: writes each frame as it arrives';

CREATE FUNCTION backupkit.import_snapshot_final(state internal)
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_import_snapshot_final';
COMMENT ON FUNCTION backupkit.import_snapshot_final(internal) IS 'Final function of backupkit.import_snapshot: checks completeness and returns the new snapshot id';

CREATE AGGREGATE backupkit.import_snapshot(frame bytea) (
    SFUNC = backupkit.import_snapshot_step,
    STYPE = internal,
    FINALFUNC = backupkit.import_snapshot_final
);
COMMENT ON AGGREGATE backupkit.import_snapshot(bytea) IS 'Imports the frames of backupkit.export_snapshot, given in order (ORDER BY their ordinal), as a new snapshot owned by the current role; returns its id';
