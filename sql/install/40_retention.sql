-- Retention: pruning snapshots by a keep-last / daily / weekly / monthly / yearly policy, pinning.

CREATE FUNCTION backupkit.prune_snapshots(keep_last integer DEFAULT NULL, keep_daily integer DEFAULT NULL,
                                          keep_weekly integer DEFAULT NULL, keep_monthly integer DEFAULT NULL,
                                          keep_yearly integer DEFAULT NULL, older_than interval DEFAULT NULL,
                                          label text DEFAULT NULL, dry_run boolean DEFAULT false)
RETURNS TABLE (snapshot_id bigint, label text, created_at timestamptz, action text, reason text)
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_prune_snapshots';
COMMENT ON FUNCTION backupkit.prune_snapshots(integer, integer, integer, integer, integer, interval, text, boolean) IS 'Drops the snapshots (of one label, when given) that no keep rule keeps, as restic forget --keep-* does; pinned snapshots and snapshots being restored are kept';

CREATE FUNCTION backupkit.pin_snapshot(snapshot_id bigint, pinned boolean DEFAULT true)
RETURNS void
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_pin_snapshot';
COMMENT ON FUNCTION backupkit.pin_snapshot(bigint, boolean) IS 'Pins (or unpins) a snapshot: a pinned snapshot is never pruned and cannot be dropped';
