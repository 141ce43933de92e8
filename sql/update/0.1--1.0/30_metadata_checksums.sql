-- Metadata checksums (issue 15): a seal over the stored metadata of every snapshot and table entry.
-- Existing rows keep NULL: they are snapshots taken before seals existed, which validate with a warning
-- ("predates metadata checksums") and restore as before. Export format version 2 (export id in every
-- frame, seals carried and verified on import) needs no DDL: the functions are the same.
ALTER TABLE backupkit.snapshot ADD COLUMN metadata_checksum bytea;
ALTER TABLE backupkit.snapshot_table ADD COLUMN metadata_checksum bytea;
