-- Error messages of the integrity functions (validate_snapshot_integrity, check_poi_integrity,
-- check_referential_integrity) and of a restore that meets damaged storage.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS backupkit;
RESET client_min_messages;
CREATE SCHEMA ie;
SET search_path = ie;
-- a snapshot that does not exist, and a NULL id
SELECT backupkit.validate_snapshot_integrity(-1);
SELECT backupkit.validate_snapshot_integrity(NULL);
-- no POI tables on the search_path
SELECT * FROM backupkit.check_poi_integrity();
-- a table without an expected column
CREATE TABLE ie.poi_states (id bigint, poi_id bigint, valid_from timestamptz);
CREATE TABLE ie.poi_transitions (id bigint, poi_id bigint, from_state_id bigint, to_state_id bigint);
CREATE TABLE ie.poi_histories (id bigint, poi_id bigint, state_id bigint, transition_id bigint);
SELECT * FROM backupkit.check_poi_integrity();
ALTER TABLE ie.poi_states ADD COLUMN valid_to timestamptz;
SELECT * FROM backupkit.check_poi_integrity();
ALTER TABLE ie.poi_histories DROP COLUMN transition_id;
SELECT * FROM backupkit.check_poi_integrity();
-- a restore of a damaged table stops with XX001 and changes nothing
CREATE TABLE ie.t (id integer PRIMARY KEY, v text);
INSERT INTO ie.t SELECT g, 'value ' || g FROM generate_series(1, 20) g;
SELECT backupkit.snapshot_tables('{ie.t}', 'integrity_errors') AS sid \gset
UPDATE backupkit.snapshot_chunk SET payload_zstd = substring(payload_zstd FROM 1 FOR length(payload_zstd) - 4)
 WHERE snapshot_id = :sid;
DELETE FROM ie.t WHERE id > 10;
SELECT set_config('ie.sid', :'sid', false) IS NOT NULL AS ok;
DO $$
BEGIN
    PERFORM backupkit.restore_table_from_snapshot(current_setting('ie.sid')::bigint, 'ie.t');
EXCEPTION WHEN data_corrupted THEN
    RAISE NOTICE 'restore failed with SQLSTATE %: %', SQLSTATE,
        replace(SQLERRM, 'snapshot ' || current_setting('ie.sid'), 'snapshot N');
END
$$;
SELECT count(*) AS rows_left FROM ie.t;
-- (the text after "decompressed:" comes from the zstd library)
SELECT r->'valid' AS valid, e.n, regexp_replace(e.msg, 'decompressed: .*', 'decompressed: ...') AS error
  FROM backupkit.validate_snapshot_integrity(:sid) r, jsonb_array_elements_text(r->'errors') WITH ORDINALITY e(msg, n);
SELECT valid, regexp_replace(first_error, 'decompressed: .*', 'decompressed: ...') AS first_error
  FROM backupkit.validate_all_snapshots() WHERE snapshot_id = :sid;
SELECT backupkit.drop_snapshot(:sid);
SET client_min_messages = warning;
RESET search_path;
DROP SCHEMA ie CASCADE;
RESET client_min_messages;
