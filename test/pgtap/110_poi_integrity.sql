-- check_poi_integrity: a clean realistic dataset reports nothing; each defect built on purpose is reported
-- exactly once, with or without declared foreign keys; missing tables and columns are clear errors.
BEGIN;
SELECT plan(9);

CREATE SCHEMA pt;
SET LOCAL search_path = pt, public;
\ir ../../examples/poi_schema.sql
\set pois 2000
\ir ../../examples/poi_data.sql

SELECT cmp_ok((SELECT count(*) FROM poi_states), '>', 8000::bigint, 'the clean dataset has thousands of states');
SELECT is_empty('SELECT * FROM backupkit.check_poi_integrity()', 'a clean dataset reports nothing');
SELECT is_empty($$SELECT * FROM backupkit.check_referential_integrity('{pt.poi_states,pt.poi_transitions,pt.poi_histories}')
                  WHERE orphan_rows > 0$$, 'the clean dataset has no orphans');

-- Without declared foreign keys the defects below can be stored; the check must not rely on them.
ALTER TABLE poi_histories DROP CONSTRAINT poi_histories_state_id_fkey;
ALTER TABLE poi_histories DROP CONSTRAINT poi_histories_transition_id_fkey;
ALTER TABLE poi_transitions DROP CONSTRAINT poi_transitions_from_state_id_fkey;
ALTER TABLE poi_transitions DROP CONSTRAINT poi_transitions_to_state_id_fkey;

-- One POI per defect, ids far above the generated ones.
INSERT INTO poi_states (id, poi_id, valid_from, valid_to) VALUES
    (9000001, 900001, '2025-01-01', NULL),          -- a: transition from a missing state
    (9000002, 900002, '2025-01-01', NULL),          -- b: transition to a missing state
    (9000003, 900003, '2025-01-01', NULL),          -- c: transition to a state of another POI
    (9000004, 900004, '2025-01-01', NULL),
    (9000061, 900006, '2025-01-01', '2025-02-01'),  -- h: orphaned state 9000062
    (9000062, 900006, '2025-02-01', NULL),
    (9000007, 900007, '2025-01-01', '2025-02-01'),  -- i: no current state
    (9000081, 900008, '2025-01-01', NULL),          -- j: two current states
    (9000082, 900008, '2025-02-01', NULL),
    (9000091, 900009, '2025-03-01', '2025-02-01'),  -- k: inverted interval
    (9000092, 900009, '2025-04-01', NULL),
    (9000101, 900010, '2025-01-01', '2025-03-01'),  -- l: overlapping intervals
    (9000102, 900010, '2025-02-01', NULL);
INSERT INTO poi_transitions (id, poi_id, from_state_id, to_state_id, event_type, triggered_at) VALUES
    (9000001, 900001, 8999999, 9000001, 'a', '2025-01-01'),
    (9000002, 900002, 9000002, 8999998, 'b', '2025-01-01'),
    (9000003, 900003, 9000003, 9000004, 'c', '2025-01-01'),
    (9000081, 900008, 9000081, 9000082, 'j', '2025-02-01'),
    (9000091, 900009, 9000091, 9000092, 'k', '2025-04-01'),
    (9000101, 900010, 9000101, 9000102, 'l', '2025-02-01');
INSERT INTO poi_histories (id, poi_id, state_id, transition_id, recorded_at) VALUES
    (9000005, 900005, 8999997, NULL, '2025-01-01'),     -- d: missing state
    (9000011, 900001, 9000001, 8999996, '2025-01-01'),  -- e: missing transition
    (9000012, 900002, 9000001, NULL, '2025-01-01'),     -- f: state of another POI
    (9000013, 900001, 9000001, 9000002, '2025-01-01');  -- g: transition of another POI

SELECT results_eq(
    'SELECT check_name, table_name, row_id FROM backupkit.check_poi_integrity()',
    $$VALUES ('history_missing_state', 'pt.poi_histories', '9000005'),
             ('history_missing_transition', 'pt.poi_histories', '9000011'),
             ('history_state_of_other_poi', 'pt.poi_histories', '9000012'),
             ('history_transition_of_other_poi', 'pt.poi_histories', '9000013'),
             ('inverted_interval', 'pt.poi_states', '9000091'),
             ('orphaned_state', 'pt.poi_states', '9000062'),
             ('overlapping_interval', 'pt.poi_states', '9000102'),
             ('poi_with_several_current_states', 'pt.poi_states', '900008'),
             ('poi_without_current_state', 'pt.poi_states', '900007'),
             ('transition_missing_from_state', 'pt.poi_transitions', '9000001'),
             ('transition_missing_to_state', 'pt.poi_transitions', '9000002'),
             ('transition_state_of_other_poi', 'pt.poi_transitions', '9000003')$$,
    'each defect is reported exactly once, and nothing else');
SELECT is((SELECT detail FROM backupkit.check_poi_integrity() WHERE check_name = 'transition_state_of_other_poi'),
          'Transition 9000003 of POI 900003 leads to state 9000004 of POI 900004.', 'the detail names both POIs');

-- Explicit tables, resolved whatever the search_path.
SET LOCAL search_path = public;
SELECT is((SELECT count(*) FROM backupkit.check_poi_integrity('pt.poi_states', 'pt.poi_transitions', 'pt.poi_histories')),
          12::bigint, 'explicit tables give the same report');
SELECT throws_ok('SELECT * FROM backupkit.check_poi_integrity()', '42P01', 'relation "poi_states" does not exist',
                 'no poi_states on the search_path');
CREATE TABLE pt.bad_states (id bigint, poi_id bigint, valid_from timestamptz);
SELECT throws_ok($$SELECT * FROM backupkit.check_poi_integrity('pt.bad_states', 'pt.poi_transitions', 'pt.poi_histories')$$,
                 '42703', 'column "valid_to" of relation "pt.bad_states" does not exist', 'a missing column is named');
SELECT throws_ok($$SELECT * FROM backupkit.check_poi_integrity('pt.poi_states', 'pt.poi_states', 'pt.poi_histories')$$,
                 '42703', 'column "from_state_id" of relation "pt.poi_states" does not exist',
                 'a transitions table without from_state_id is named');

SELECT * FROM finish();
ROLLBACK;
