-- check_referential_integrity: one row per foreign key touching the tables, NOT VALID ones included, with
-- MATCH SIMPLE semantics (a row with a NULL key column is no orphan), composite keys and partitioned tables.
BEGIN;
SELECT plan(8);

CREATE SCHEMA rt;
CREATE TABLE rt.a (id integer PRIMARY KEY);
CREATE TABLE rt.b (id integer PRIMARY KEY, a_id integer REFERENCES rt.a);
CREATE TABLE rt.pair (x integer, y text, PRIMARY KEY (x, y));
CREATE TABLE rt.c (id integer PRIMARY KEY, x integer, y text, CONSTRAINT c_pair_fkey FOREIGN KEY (x, y) REFERENCES rt.pair);
CREATE TABLE rt.unrelated (id integer PRIMARY KEY);
CREATE TABLE rt.part (id integer, a_id integer REFERENCES rt.a) PARTITION BY RANGE (id);
CREATE TABLE rt.part_1 PARTITION OF rt.part FOR VALUES FROM (0) TO (100);
INSERT INTO rt.a SELECT generate_series(1, 10);
INSERT INTO rt.b SELECT g, g FROM generate_series(1, 10) g;
INSERT INTO rt.pair VALUES (1, 'one'), (2, 'two');
INSERT INTO rt.c VALUES (1, 1, 'one'), (2, NULL, 'nothing'), (3, 2, NULL);
INSERT INTO rt.part VALUES (1, 1), (2, NULL);

SELECT results_eq($$SELECT constraint_name, child_table, parent_table, orphan_rows, sample_keys
                      FROM backupkit.check_referential_integrity('{rt.a,rt.b,rt.c,rt.part}')$$,
                  $$VALUES ('b_a_id_fkey', 'rt.b', 'rt.a', 0::bigint, '[]'::jsonb),
                           ('c_pair_fkey', 'rt.c', 'rt.pair', 0::bigint, '[]'::jsonb),
                           ('part_a_id_fkey', 'rt.part', 'rt.a', 0::bigint, '[]'::jsonb)$$,
                  'clean tables: every foreign key with no orphans (NULL keys are no orphans)');

-- A load that bypassed the triggers.
SET LOCAL session_replication_role = replica;
DELETE FROM rt.a WHERE id IN (3, 4);
INSERT INTO rt.c VALUES (4, 2, 'deux');
INSERT INTO rt.part VALUES (3, 77);
SET LOCAL session_replication_role = origin;

SELECT results_eq($$SELECT constraint_name, orphan_rows FROM backupkit.check_referential_integrity('{rt.a}')$$,
                  $$VALUES ('b_a_id_fkey', 2::bigint), ('part_a_id_fkey', 1::bigint)$$,
                  'a parent table brings the foreign keys that reference it');
SELECT is((SELECT sample_keys FROM backupkit.check_referential_integrity('{rt.b}')),
          '[{"a_id": 3}, {"a_id": 4}]'::jsonb, 'sample keys of the orphans');
SELECT is((SELECT sample_keys FROM backupkit.check_referential_integrity('{rt.c}')),
          '[{"x": 2, "y": "deux"}]'::jsonb, 'composite key orphan, NULL columns ignored');
SELECT is((SELECT sample_keys FROM backupkit.check_referential_integrity('{rt.part}')),
          '[{"a_id": 77}]'::jsonb, 'orphans in a partitioned table are found');
SELECT is_empty($$SELECT * FROM backupkit.check_referential_integrity('{rt.unrelated}')$$,
                'a table without foreign keys gives no rows');

-- NOT VALID constraints are checked as well.
CREATE TABLE rt.d (id integer PRIMARY KEY, a_id integer);
INSERT INTO rt.d VALUES (1, 1), (2, 42);
ALTER TABLE rt.d ADD CONSTRAINT d_a_fkey FOREIGN KEY (a_id) REFERENCES rt.a NOT VALID;
SELECT is((SELECT orphan_rows FROM backupkit.check_referential_integrity('{rt.d}')), 1::bigint,
          'a NOT VALID foreign key is checked');
SELECT is((SELECT sum(orphan_rows) FROM backupkit.check_referential_integrity() WHERE child_table LIKE 'rt.%'),
          5::numeric, 'tables => NULL checks the foreign keys of every table');

SELECT * FROM finish();
ROLLBACK;
