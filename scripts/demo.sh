#!/usr/bin/env bash
# `make demo`: builds and installs backupkit, starts a throwaway cluster, loads the POI evolution example,
# snapshots it, damages the live tables, shows what the integrity checks find, restores, and proves the
# restored tables equal the originals. Exits non-zero when the final verification fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --if-missing
source scripts/cluster.sh

echo "== building and installing backupkit"
bk_build_install
bk_cluster_start "fsync = off" >/dev/null
echo "== throwaway cluster in $BK_CLUSTER_DIR"

bk_psql -c "CREATE EXTENSION backupkit"
bk_psql -f examples/poi_schema.sql
bk_psql -v pois="${POIS:-1000}" -f examples/poi_data.sql >/dev/null

bk_psql <<'SQL'
\pset footer off
\echo
\echo '== 1. the POI example, loaded and healthy'
SELECT (SELECT count(DISTINCT poi_id) FROM poi_states) AS pois, (SELECT count(*) FROM poi_states) AS states,
       (SELECT count(*) FROM poi_transitions) AS transitions, (SELECT count(*) FROM poi_histories) AS histories;
SELECT count(*) AS poi_problems FROM backupkit.check_poi_integrity();

-- Whole-table checksums, to compare after the restore.
SELECT md5(string_agg(s::text, '|' ORDER BY s.id)) AS states_sum FROM poi_states s \gset
SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) AS transitions_sum FROM poi_transitions t \gset
SELECT md5(string_agg(h::text, '|' ORDER BY h.id)) AS histories_sum FROM poi_histories h \gset

\echo
\echo '== 2. snapshot of the three tables'
SELECT backupkit.snapshot_tables('{poi_states,poi_transitions,poi_histories}', 'demo: before the damage') AS sid \gset
SELECT table_name, rows, chunks, pg_size_pretty(bytes) AS json_size, pg_size_pretty(stored_bytes) AS stored
  FROM backupkit.snapshot_contents(:sid);

\echo
\echo '== 3. damage, as a load that bypassed the triggers would: delete states, rewire transitions, truncate histories'
SET session_replication_role = replica;
DELETE FROM poi_states WHERE id IN (SELECT id FROM poi_states ORDER BY id LIMIT 3 OFFSET 100);
UPDATE poi_transitions SET to_state_id = to_state_id + 1 WHERE id IN (SELECT id FROM poi_transitions ORDER BY id LIMIT 2 OFFSET 500);
TRUNCATE poi_histories;
RESET session_replication_role;

\echo
\echo '== 4. what the checks say: the snapshot is whole, the live data is not'
SELECT r->'valid' AS snapshot_valid, t->>'table' AS "table", t->>'rows_expected' AS rows_expected,
       t->>'checksum' AS checksum, t->>'schema' AS schema, t->>'primary_key_unique' AS keys_unique
  FROM backupkit.validate_snapshot_integrity(:sid) r, jsonb_array_elements(r->'tables') t;
SELECT 'poi_states' AS "table", count(*) AS live_rows FROM poi_states
UNION ALL SELECT 'poi_transitions', count(*) FROM poi_transitions
UNION ALL SELECT 'poi_histories', count(*) FROM poi_histories;
\echo '-- check_poi_integrity():'
SELECT check_name, table_name, row_id, detail FROM backupkit.check_poi_integrity() ORDER BY 1, 3 LIMIT 20;
SELECT check_name, count(*) FROM backupkit.check_poi_integrity() GROUP BY 1 ORDER BY 1;
\echo '-- check_referential_integrity():'
SELECT constraint_name, child_table, parent_table, orphan_rows, sample_keys
  FROM backupkit.check_referential_integrity('{poi_states,poi_transitions,poi_histories}');

\echo
\echo '== 5. restore'
SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'restore_snapshot'
                  AND pronamespace = 'backupkit'::regnamespace) AS have_restore_snapshot \gset
\if :have_restore_snapshot
\echo '-- backupkit.restore_snapshot (validates the snapshot first)'
SELECT backupkit.restore_snapshot(:sid) IS NOT NULL AS restored;
\else
\echo '-- backupkit.restore_table_from_snapshot, parents first'
SELECT r->>'table' AS "table", r->>'path' AS path, r->>'inserted' AS inserted, r->>'updated' AS updated,
       r->>'deleted' AS deleted, r->>'unchanged' AS unchanged
  FROM unnest(ARRAY['poi_states', 'poi_transitions', 'poi_histories']) WITH ORDINALITY AS t(name, n),
       LATERAL backupkit.restore_table_from_snapshot(:sid, t.name::regclass) r
 ORDER BY t.n;
\endif

\echo
\echo '== 6. verification: whole-table checksums equal, no integrity problem left'
CREATE TEMP TABLE verification AS
SELECT 'poi_states' AS "table", (SELECT md5(string_agg(s::text, '|' ORDER BY s.id)) FROM poi_states s) = :'states_sum' AS checksum_equal
UNION ALL
SELECT 'poi_transitions', (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM poi_transitions t) = :'transitions_sum'
UNION ALL
SELECT 'poi_histories', (SELECT md5(string_agg(h::text, '|' ORDER BY h.id)) FROM poi_histories h) = :'histories_sum'
UNION ALL
SELECT 'check_poi_integrity() is empty', NOT EXISTS (SELECT 1 FROM backupkit.check_poi_integrity())
UNION ALL
SELECT 'no orphan rows', NOT EXISTS (SELECT 1 FROM backupkit.check_referential_integrity('{poi_states,poi_transitions,poi_histories}') WHERE orphan_rows > 0);
TABLE verification;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM verification WHERE checksum_equal IS NOT TRUE) THEN
        RAISE EXCEPTION 'demo verification failed';
    END IF;
END
$$;
\echo 'demo verification passed'
SQL
