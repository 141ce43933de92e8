-- Recovery of distributed operations (issue 14): the coordinator's decision for each prepared transaction it
-- left on a node, the nodes' registry of distributed snapshot parts, and backupkit.recover_distributed(),
-- which finishes prepared transactions as the coordinator decided and drops node parts without a map.
-- The order of commits is written at the top of src/pg/citus/citus_distributed.cpp.

-- On the coordinator: one row per node transaction a distributed operation prepared, written in the
-- coordinator's transaction before the nodes prepare. It exists exactly when the coordinator committed, so
-- it is the decision: COMMIT PREPARED if the row is there, ROLLBACK PREPARED if not. Deleted by recovery once
-- the node's transaction is gone. Not dumped: a decision belongs to this cluster (its system identifier is in
-- every gid), so a copy restored elsewhere has nothing to decide.
CREATE TABLE backupkit.distributed_transaction (
    gid text PRIMARY KEY,
    group_id integer NOT NULL,
    node_name text NOT NULL,
    node_port integer NOT NULL,
    operation text NOT NULL,
    snapshot_id bigint NOT NULL,
    created_by oid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE backupkit.distributed_transaction IS 'Commit decisions of distributed operations: one row per node transaction prepared by a coordinator transaction that committed';

-- On every node: the node's own snapshots that are parts of a distributed snapshot, and of which coordinator
-- (system identifier:database oid). Written in the node's transaction of the capture, so it commits with
-- the part.
CREATE TABLE backupkit.distributed_snapshot_part (
    worker_snapshot_id bigint PRIMARY KEY REFERENCES backupkit.snapshot ON DELETE CASCADE,
    snapshot_id bigint NOT NULL,
    group_id integer NOT NULL,
    coordinator text NOT NULL
);
COMMENT ON TABLE backupkit.distributed_snapshot_part IS 'On a Citus node: the snapshots that are the node''s parts of distributed snapshots, with the coordinator that took them';

REVOKE ALL ON backupkit.distributed_transaction, backupkit.distributed_snapshot_part FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('backupkit.distributed_snapshot_part', '');

CREATE FUNCTION backupkit.recover_distributed(dry_run boolean DEFAULT false)
RETURNS TABLE (node text, action text, gid text, snapshot_id bigint, detail text)
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_recover_distributed';
COMMENT ON FUNCTION backupkit.recover_distributed(boolean) IS 'Finishes the prepared transactions distributed operations left on the Citus nodes as the coordinator decided (commit or roll back), drops node parts of distributed snapshots that have no map on the coordinator, and reports map rows whose part is missing; superusers only by default';
REVOKE ALL ON FUNCTION backupkit.recover_distributed(boolean) FROM PUBLIC;

CREATE FUNCTION backupkit.register_distributed_part(worker_snapshot_id bigint, snapshot_id bigint, group_id integer, coordinator text)
RETURNS void
LANGUAGE c VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_register_distributed_part';
COMMENT ON FUNCTION backupkit.register_distributed_part(bigint, bigint, integer, text) IS 'Internal, run on a Citus node by snapshot_distributed: registers a snapshot of the caller as the node''s part of a distributed snapshot';
