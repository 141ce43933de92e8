-- Without the citus extension, backupkit never consults Citus's catalog and nothing is refused: a user
-- table that happens to be called pg_dist_partition (first on the search_path) and lists a table as
-- hash-distributed changes nothing (no Citus path, no capture_citus in the definition). The refusals and the
-- Citus paths themselves need a real Citus cluster; their exact text (message, detail, hint) is checked by
-- test/citus/010_refuse.sh and test/citus/020_restore.sh.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT count(*) AS citus_installed FROM pg_extension WHERE extname = 'citus';
CREATE SCHEMA citus_absent;
CREATE TABLE citus_absent.pg_dist_partition (logicalrelid regclass, partmethod "char", partkey text,
                                             colocationid integer, repmodel "char", autoconverted boolean);
CREATE TABLE citus_absent.orders (id integer PRIMARY KEY, amount numeric);
INSERT INTO citus_absent.orders SELECT g, g * 1.5 FROM generate_series(1, 20) g;
INSERT INTO citus_absent.pg_dist_partition VALUES ('citus_absent.orders', 'h', 'id', 1, 's', false);
SET search_path = citus_absent, public;
SELECT backupkit.snapshot_tables(ARRAY['citus_absent.orders']::regclass[]) AS sid \gset
SELECT definition ? 'capture_citus' AS citus_recorded, capture_xmin IS NOT NULL AS position_recorded
  FROM backupkit.snapshot_table WHERE snapshot_id = :sid;
DELETE FROM citus_absent.orders WHERE id > 15;
SELECT change, count(*) FROM backupkit.diff(:sid, 'citus_absent.orders') GROUP BY change;
SELECT r->>'inserted' AS would_insert, r->>'path' AS path
  FROM backupkit.restore_table_from_snapshot(:sid, 'citus_absent.orders', 'missing', dry_run => true) r;
SELECT r->'tables'->0->>'inserted' AS inserted
  FROM backupkit.restore_snapshot(:sid, mode => 'missing') r;
SELECT r->>'deleted' AS deleted, r->>'inserted' AS inserted
  FROM backupkit.restore_table_from_snapshot(:sid, 'citus_absent.orders', 'replace') r;
SELECT count(*), sum(amount) FROM citus_absent.orders;
RESET search_path;
SELECT backupkit.drop_snapshot(:sid);
DROP SCHEMA citus_absent CASCADE;
