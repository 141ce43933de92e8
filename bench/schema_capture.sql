-- Cost of recording table definitions at capture (schema-aware snapshots): snapshot_tables of 1,000 small
-- tables (each with a primary key, a default, a check, an index and a comment) and of one large table, three
-- times each. Run in an empty database with this build and with one before definitions were captured
-- (bench/schema_capture.sh does both and prints the comparison).
\set ON_ERROR_STOP 1
CREATE EXTENSION backupkit;
SELECT format('CREATE TABLE s%s (id int PRIMARY KEY, v text DEFAULT ''x'' CHECK (v <> ''''), n numeric); '
              'CREATE INDEX ON s%s (n); COMMENT ON TABLE s%s IS ''small''; '
              'INSERT INTO s%s SELECT g, md5(g::text), g FROM generate_series(1, 10) g;', i, i, i, i)
  FROM generate_series(1, 1000) i \gexec
CREATE TABLE big (id bigint PRIMARY KEY, a text, b numeric, c timestamptz DEFAULT now());
INSERT INTO big SELECT g, md5(g::text), g / 7.0, now() FROM generate_series(1, :big_rows) g;
VACUUM ANALYZE;
CREATE TEMP TABLE timing (name text, ms double precision);
CREATE FUNCTION pg_temp.time_it(label text, sql text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz;
BEGIN
    t0 := clock_timestamp();
    EXECUTE sql;
    INSERT INTO timing VALUES (label, extract(epoch FROM clock_timestamp() - t0) * 1000);
END $$;
-- One warm-up of each, then three timed runs.
SELECT backupkit.snapshot_tables(array_agg(format('s%s', i)::regclass)) IS NOT NULL FROM generate_series(1, 1000) i;
SELECT backupkit.snapshot_tables('{big}') IS NOT NULL;
SELECT pg_temp.time_it('1000 small tables', $q$SELECT backupkit.snapshot_tables(array_agg(format('s%s', i)::regclass)) FROM generate_series(1, 1000) i$q$)
  FROM generate_series(1, 3);
SELECT pg_temp.time_it('large table', $q$SELECT backupkit.snapshot_tables('{big}')$q$) FROM generate_series(1, 3);
\pset format unaligned
\pset tuples_only on
SELECT name || '|' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) || '|' || round(min(ms)::numeric, 1)
  || '|' || round(max(ms)::numeric, 1) FROM timing GROUP BY name ORDER BY name;
