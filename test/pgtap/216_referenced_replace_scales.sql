-- replace of a table that another table references checks that no row it deletes is still referenced. That
-- check once asked for one offender with LIMIT 1, and the planner answered with a nested-loop anti-join:
-- quadratic when (as usual) there is none. 60,000 rows took over 20 s that way and take well under 1 s
-- now; statement_timeout turns a relapse into a failure. Found by the fault suite (test/fault).
BEGIN;
SELECT plan(2);
SET LOCAL client_min_messages = warning;
SET LOCAL backupkit.progress_notices = off;
CREATE TABLE qparent (id bigint PRIMARY KEY, v text);
CREATE TABLE qchild (id bigint PRIMARY KEY, parent_id bigint REFERENCES qparent);
INSERT INTO qparent SELECT i, md5(i::text) FROM generate_series(1, 60000) i;
INSERT INTO qchild SELECT i, i FROM generate_series(1, 60000) i;
SELECT md5(string_agg(q::text, ',' ORDER BY id)) AS before FROM qparent q \gset
SELECT backupkit.snapshot_tables('{qparent}') AS sid \gset
UPDATE qparent SET v = 'changed' WHERE id % 9 = 0;
SET LOCAL statement_timeout = '15s';
SELECT lives_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''qparent'')', :sid),
                'replace of a referenced 60,000-row table finishes within 15 s');
RESET statement_timeout;
SELECT is((SELECT md5(string_agg(q::text, ',' ORDER BY id)) FROM qparent q), :'before', 'and equals the snapshot');
SELECT * FROM finish();
ROLLBACK;
