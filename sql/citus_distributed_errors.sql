-- Distributed snapshots without Citus, and the argument checks that come before any Citus catalog is read.
-- Capture, restore, validation and their Citus-side errors run on a real cluster: test/citus/050_distributed_capture.sh
-- and 060_tenant_restore.sh check their exact text.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE TABLE citus_distributed_t (id integer PRIMARY KEY);
SELECT backupkit.snapshot_distributed(ARRAY['citus_distributed_t']::regclass[]);
SELECT backupkit.snapshot_distributed(ARRAY['citus_distributed_t']::regclass[], compression => NULL);
SELECT backupkit.snapshot_distributed(ARRAY['citus_distributed_t']::regclass[], compression => 'lz4');
SELECT backupkit.snapshot_distributed(NULL);
SELECT backupkit.restore_distributed(1);
SELECT backupkit.restore_distributed(NULL);
SELECT backupkit.restore_distributed(1, mode => NULL);
SELECT backupkit.restore_distributed(1, mode => 'sideways');
BEGIN;
SELECT backupkit.restore_distributed(1);
ROLLBACK;
BEGIN;
SELECT backupkit.drop_distributed_snapshot(1);
ROLLBACK;
BEGIN;
SELECT backupkit.snapshot_distributed(ARRAY['citus_distributed_t']::regclass[]);
ROLLBACK;
SELECT backupkit.validate_distributed(1);
SELECT backupkit.drop_distributed_snapshot(1);
-- The catalog is closed to other roles; the view shows each role its own distributed snapshots.
CREATE ROLE citus_distributed_reader;
SET ROLE citus_distributed_reader;
SELECT count(*) FROM backupkit.distributed_snapshots;
SELECT count(*) FROM backupkit.distributed_snapshot;
RESET ROLE;
DROP ROLE citus_distributed_reader;
DROP TABLE citus_distributed_t;
