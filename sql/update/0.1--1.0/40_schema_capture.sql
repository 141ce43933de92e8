-- Schema-aware snapshots, first phase (issue 10): every captured table's complete definition, sealed by the
-- metadata checksum (seal version 2 appends it); snapshot_definitions, snapshot_ddl, recreate_table, table_definition and schema_diff.
-- Entries captured before keep definition NULL and their version 1 seals, which verify as before.
ALTER TABLE backupkit.snapshot_table ADD COLUMN definition jsonb;
