-- A clean, realistic POI dataset for examples/poi_schema.sql: :pois points of interest (default 1000), each
-- with 2 to 8 consecutive states, the transitions between them and one history row per state.
--   psql -v pois=100000 -f examples/poi_data.sql
\if :{?pois}
\else
\set pois 1000
\endif

SELECT setseed(0.42);

CREATE TEMP TABLE poi_plan AS
SELECT p AS poi_id, 2 + floor(random() * 7)::int AS n_states,
       timestamptz '2024-01-01 00:00+00' + random() * interval '180 days' AS born
  FROM generate_series(1, :pois) p;

-- States: consecutive half-open intervals; the last one is current (valid_to NULL).
INSERT INTO poi_states (poi_id, state_data, valid_from, valid_to, created_by)
SELECT pp.poi_id,
       jsonb_build_object('status', (ARRAY['planned', 'open', 'busy', 'closed', 'renovating', 'open'])[1 + (k % 6)],
                          'name', 'POI ' || pp.poi_id, 'rating', round((1 + random() * 4)::numeric, 1),
                          'lat', round((45 + random())::numeric, 5), 'lon', round((7 + random())::numeric, 5)),
       pp.born + (k - 1) * interval '7 days',
       CASE WHEN k < pp.n_states THEN pp.born + k * interval '7 days' END,
       (ARRAY['importer', 'editor', 'curator'])[1 + (k % 3)]
  FROM poi_plan pp, generate_series(1, pp.n_states) k
 ORDER BY pp.poi_id, k;

-- Transitions: one into the first state (from nothing), then one between each consecutive pair.
INSERT INTO poi_transitions (poi_id, from_state_id, to_state_id, event_type, event_data, triggered_by, triggered_at)
SELECT s.poi_id, lag(s.id) OVER w, s.id,
       CASE WHEN lag(s.id) OVER w IS NULL THEN 'created' ELSE (ARRAY['opened', 'updated', 'closed', 'reviewed'])[1 + (s.id % 4)::int] END,
       jsonb_build_object('source', 'poi_data.sql', 'seq', row_number() OVER w),
       s.created_by, s.valid_from
  FROM poi_states s
WINDOW w AS (PARTITION BY s.poi_id ORDER BY s.valid_from, s.id)
 ORDER BY s.poi_id, s.valid_from;

INSERT INTO poi_histories (poi_id, state_id, transition_id, recorded_at, recorded_by, note)
SELECT t.poi_id, t.to_state_id, t.id, t.triggered_at + interval '1 minute', t.triggered_by, 'event ' || t.event_type
  FROM poi_transitions t
 ORDER BY t.id;

DROP TABLE poi_plan;
ANALYZE poi_states;
ANALYZE poi_transitions;
ANALYZE poi_histories;
