-- Storage: the snapshot catalog, one row per captured table, and the data chunks.
-- Only the extension owner may touch these tables; backupkit's functions switch to that role while they
-- read or write them and check the caller's rights themselves.

CREATE SEQUENCE backupkit.snapshot_id_seq;

CREATE TABLE backupkit.snapshot (
    snapshot_id bigint PRIMARY KEY DEFAULT nextval('backupkit.snapshot_id_seq'),
    label text,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by oid NOT NULL,
    created_by_name name NOT NULL,
    status text NOT NULL CHECK (status IN ('complete', 'importing')),
    compression text NOT NULL CHECK (compression IN ('zstd', 'none')),
    format_version integer NOT NULL,
    server_version_num integer NOT NULL,
    server_version text NOT NULL,
    database_name name NOT NULL DEFAULT current_database(),
    table_count integer NOT NULL DEFAULT 0,
    row_count bigint NOT NULL DEFAULT 0,
    raw_bytes bigint NOT NULL DEFAULT 0,
    stored_bytes bigint NOT NULL DEFAULT 0,
    duration_ms double precision,
    pinned boolean NOT NULL DEFAULT false,
    origin jsonb,
    -- Seal over the fields above that restores rely on and over its entries' seals (src/pg/storage/metadata_checksum.cpp);
    -- NULL for snapshots taken before backupkit 1.0, which restore as before, with a warning.
    metadata_checksum bytea
);
ALTER SEQUENCE backupkit.snapshot_id_seq OWNED BY backupkit.snapshot.snapshot_id;
CREATE INDEX snapshot_created_at_idx ON backupkit.snapshot (created_at);

COMMENT ON TABLE backupkit.snapshot IS 'One row per snapshot taken by backupkit.snapshot_tables (read it through backupkit.snapshots)';

CREATE TABLE backupkit.snapshot_table (
    snapshot_id bigint NOT NULL REFERENCES backupkit.snapshot ON DELETE CASCADE,
    table_no integer NOT NULL,
    schema_name name NOT NULL,
    table_name name NOT NULL,
    relid oid NOT NULL,
    relkind "char" NOT NULL,
    columns jsonb NOT NULL,
    key_columns text[],
    key_kind text,
    foreign_keys jsonb NOT NULL DEFAULT '[]',
    sequences jsonb NOT NULL DEFAULT '[]',
    row_count bigint NOT NULL,
    chunk_count integer NOT NULL,
    raw_bytes bigint NOT NULL,
    stored_bytes bigint NOT NULL,
    checksum text NOT NULL,
    -- Where the rows lay at capture, for plain heap tables (NULL otherwise): the oldest transaction still
    -- running under the capture's MVCC snapshot (64-bit), the transaction that wrote this entry (trusted
    -- only while it is this row's own xmin, so a copied or imported entry never is), the heap's
    -- relfilenode and a hash of its attribute layout. merge and missing use them with the chunks' row_tids
    -- to skip rows still stored in the tuple they were captured from (src/pg/restore/unchanged_rows.hpp).
    capture_xmin bigint,
    capture_xid xid,
    capture_relfilenode oid,
    capture_layout bigint,
    -- Seal over every field above a restore relies on (src/pg/storage/metadata_checksum.cpp); NULL before 1.0.
    metadata_checksum bytea,
    -- The table's complete definition at capture (columns, constraints, indexes, partitions, options,
    -- triggers, policies, owner, privileges, comments, owned sequences, outside foreign keys, dependent
    -- views) as versioned jsonb (doc/table-definition.md); covered by metadata_checksum from seal version 2.
    -- NULL for tables captured before schema-aware snapshots.
    definition jsonb,
    PRIMARY KEY (snapshot_id, table_no)
);

COMMENT ON TABLE backupkit.snapshot_table IS 'One row per table captured in a snapshot: its shape at capture time, keys, sequences, totals and checksum';

CREATE TABLE backupkit.snapshot_chunk (
    snapshot_id bigint NOT NULL REFERENCES backupkit.snapshot ON DELETE CASCADE,
    table_no integer NOT NULL,
    chunk_no integer NOT NULL,
    row_count integer NOT NULL,
    raw_bytes integer NOT NULL,
    checksum bigint NOT NULL,
    payload jsonb,
    payload_zstd bytea,
    row_tids bytea, -- heap tuple id of each row at capture (src/core/codec/tid_runs.hpp), NULL when not recorded
    CHECK ((payload IS NULL) <> (payload_zstd IS NULL)),
    PRIMARY KEY (snapshot_id, table_no, chunk_no)
);
-- zstd output does not compress further: keep TOAST from trying.
ALTER TABLE backupkit.snapshot_chunk ALTER COLUMN payload_zstd SET STORAGE EXTERNAL;
-- compression => 'none' means none: no pglz either.
ALTER TABLE backupkit.snapshot_chunk ALTER COLUMN payload SET STORAGE EXTERNAL;

COMMENT ON TABLE backupkit.snapshot_chunk IS 'Captured rows, a bounded number per chunk, as jsonb or zstd-compressed jsonb text';

REVOKE ALL ON backupkit.snapshot, backupkit.snapshot_table, backupkit.snapshot_chunk FROM PUBLIC;
REVOKE ALL ON SEQUENCE backupkit.snapshot_id_seq FROM PUBLIC;
-- Every role may call the functions and read the views (they check privileges and snapshot ownership
-- themselves); the tables above stay closed.
GRANT USAGE ON SCHEMA backupkit TO PUBLIC;

-- pg_dump carries the snapshots with the database.
SELECT pg_catalog.pg_extension_config_dump('backupkit.snapshot', '');
SELECT pg_catalog.pg_extension_config_dump('backupkit.snapshot_table', '');
SELECT pg_catalog.pg_extension_config_dump('backupkit.snapshot_chunk', '');
SELECT pg_catalog.pg_extension_config_dump('backupkit.snapshot_id_seq', '');

CREATE TABLE backupkit.operation_log (
    operation_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    operation text NOT NULL,
    snapshot_id bigint,
    role_oid oid NOT NULL,
    role_name name NOT NULL,
    logged_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    outcome text NOT NULL,
    row_count bigint,
    duration_ms double precision,
    details jsonb
);
REVOKE ALL ON backupkit.operation_log FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('backupkit.operation_log', '');
COMMENT ON TABLE backupkit.operation_log IS 'Every completed backupkit operation (read it through backupkit.operations)';
SELECT pg_catalog.pg_extension_config_dump('backupkit.operation_log_operation_id_seq', '');

CREATE TABLE backupkit.restore_history (
    restore_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    snapshot_id bigint NOT NULL,
    tables text[] NOT NULL,
    mode text NOT NULL,
    dry_run boolean NOT NULL,
    initiated_by oid NOT NULL,
    initiated_by_name name NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    status text NOT NULL,
    report jsonb NOT NULL
);
REVOKE ALL ON backupkit.restore_history FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('backupkit.restore_history', '');
SELECT pg_catalog.pg_extension_config_dump('backupkit.restore_history_restore_id_seq', '');
COMMENT ON TABLE backupkit.restore_history IS 'Every completed restore and dry run, with its per-table report (read it through backupkit.restores)';
