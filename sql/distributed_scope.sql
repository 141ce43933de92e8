-- Distributed snapshots beyond hash-distributed tables (reference and single-shard tables, the map's seal,
-- retention, MX): what can be shown without Citus. The rest runs on a real cluster: test/citus/080, 081, 082.
\set VERBOSITY default
\set SHOW_CONTEXT never
-- The hold a capture takes on metadata-synced workers is bounded, and needs Citus's catalog.
SELECT backupkit.hold_distributed_commits(0);
SELECT backupkit.hold_distributed_commits(100000);
SELECT backupkit.hold_distributed_commits(100);
-- Retention of distributed snapshots: a policy needs a rule, and Citus.
SELECT * FROM backupkit.prune_distributed_snapshots();
SELECT * FROM backupkit.prune_distributed_snapshots(keep_last => 1);
-- The functions of single-server snapshots refuse a distributed snapshot's id (ids are shared).
\set dist_id 987654321
INSERT INTO backupkit.distributed_snapshot (snapshot_id, created_by, created_by_name, compression)
VALUES (:dist_id, (SELECT oid FROM pg_roles WHERE rolname = current_user), current_user, 'zstd');
SELECT backupkit.restore_snapshot(:dist_id) IS NULL AS refused;
SELECT count(*) FROM backupkit.export_snapshot(:dist_id);
SELECT backupkit.drop_snapshot(:dist_id);
DELETE FROM backupkit.distributed_snapshot WHERE snapshot_id = :dist_id;
SELECT backupkit.drop_snapshot(:dist_id);
