-- Recovery of distributed operations without Citus, and the fault setting the Citus tests use. What recovery
-- does on a cluster (prepared transactions committed or rolled back as the coordinator decided, orphan parts
-- dropped, missing parts reported) is tested on a real one: test/citus/070_recovery.sh.
\set VERBOSITY default
\set SHOW_CONTEXT never
LOAD 'backupkit';
-- Only the listed points and actions, and only superusers.
SET backupkit.fault_injection = 'prepared:explode';
SET backupkit.fault_injection = 'committed:sleep';
SET backupkit.fault_injection = 'prepared:kill';
SHOW backupkit.fault_injection;
RESET backupkit.fault_injection;
CREATE ROLE citus_recovery_user;
SET ROLE citus_recovery_user;
SET backupkit.fault_injection = 'prepared:kill';
-- recover_distributed is for superusers; the registry of node parts is closed.
SELECT * FROM backupkit.recover_distributed();
SELECT count(*) FROM backupkit.distributed_transaction;
SELECT count(*) FROM backupkit.distributed_snapshot_part;
SELECT backupkit.register_distributed_part(424242, 1, 1, 'x');
RESET ROLE;
DROP ROLE citus_recovery_user;
-- Without Citus, and inside a transaction block.
SELECT * FROM backupkit.recover_distributed();
SELECT * FROM backupkit.recover_distributed(dry_run => true);
BEGIN;
SELECT * FROM backupkit.recover_distributed();
ROLLBACK;
