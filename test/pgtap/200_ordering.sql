-- Foreign-key ordering of live tables and of a snapshot's stored graph.
BEGIN;
SELECT plan(14);

CREATE SCHEMA ord;
CREATE TABLE ord.root (id int PRIMARY KEY);
CREATE TABLE ord.mid (id int PRIMARY KEY, root_id int REFERENCES ord.root);
CREATE TABLE ord.leaf (id int PRIMARY KEY, mid_id int REFERENCES ord.mid, parent_id int REFERENCES ord.leaf);
CREATE TABLE ord.outside (id int PRIMARY KEY);
CREATE TABLE ord.uses_outside (id int PRIMARY KEY, o int REFERENCES ord.outside);
CREATE TABLE ord.x (id int PRIMARY KEY, y_id int);
CREATE TABLE ord.y (id int PRIMARY KEY, x_id int REFERENCES ord.x);
ALTER TABLE ord.x ADD FOREIGN KEY (y_id) REFERENCES ord.y;
CREATE TABLE ord.r1 (id int PRIMARY KEY, n int);
CREATE TABLE ord.r2 (id int PRIMARY KEY, n int REFERENCES ord.r1);
CREATE TABLE ord.r3 (id int PRIMARY KEY, n int REFERENCES ord.r2);
ALTER TABLE ord.r1 ADD FOREIGN KEY (n) REFERENCES ord.r3;
CREATE TABLE ord.parted (id int, k int, PRIMARY KEY (id, k)) PARTITION BY RANGE (k);
CREATE TABLE ord.parted_1 PARTITION OF ord.parted FOR VALUES FROM (0) TO (10);
CREATE TABLE ord.refs_parted (id int PRIMARY KEY, pid int, pk int, FOREIGN KEY (pid, pk) REFERENCES ord.parted);

SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.leaf', 'ord.mid', 'ord.root']::regclass[]),
          ARRAY['ord.root', 'ord.mid', 'ord.leaf']::regclass[], 'a chain comes parents first; a self-reference is allowed');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.uses_outside']::regclass[]),
          ARRAY['ord.uses_outside']::regclass[], 'a foreign key to a table outside the set orders nothing');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.y', 'ord.leaf', 'ord.x', 'ord.root', 'ord.mid']::regclass[]),
          ARRAY['ord.root', 'ord.mid', 'ord.leaf', 'ord.x', 'ord.y']::regclass[], 'a two-table cycle is kept together, ties by name');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.r3', 'ord.r1', 'ord.r2', 'ord.y', 'ord.x']::regclass[]),
          ARRAY['ord.r1', 'ord.r2', 'ord.r3', 'ord.x', 'ord.y']::regclass[], 'two separate cycles, each kept together');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.refs_parted', 'ord.parted']::regclass[]),
          ARRAY['ord.parted', 'ord.refs_parted']::regclass[], 'a partitioned parent orders like a table');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.refs_parted', 'ord.parted_1']::regclass[]),
          ARRAY['ord.parted_1', 'ord.refs_parted']::regclass[], 'a foreign key to a partitioned table orders a listed partition of it');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.mid', 'ord.root']::regclass[]),
          backupkit.get_table_restoration_order(ARRAY['ord.root', 'ord.mid']::regclass[]), 'the order does not depend on the input order');

SELECT is((SELECT array_agg(level ORDER BY "position") FROM backupkit.restoration_plan(ARRAY['ord.leaf', 'ord.mid', 'ord.root', 'ord.x', 'ord.y']::regclass[])),
          ARRAY[0, 1, 2, 0, 0], 'restoration_plan gives levels');
SELECT is((SELECT count(DISTINCT cycle_group)::int FROM backupkit.restoration_plan(ARRAY['ord.r1', 'ord.r2', 'ord.r3', 'ord.x', 'ord.y']::regclass[])),
          2, 'restoration_plan gives one cycle group per cycle');
SELECT is((SELECT depends_on FROM backupkit.restoration_plan(ARRAY['ord.leaf', 'ord.mid', 'ord.root']::regclass[]) WHERE table_name = 'ord.leaf'::regclass),
          ARRAY['ord.mid']::regclass[], 'restoration_plan lists what a table depends on');

SELECT backupkit.snapshot_tables(ARRAY['ord.leaf', 'ord.mid', 'ord.root', 'ord.x', 'ord.y']::regclass[]) AS sid \gset
SELECT is(backupkit.get_table_restoration_order(:sid),
          backupkit.get_table_restoration_order(ARRAY['ord.leaf', 'ord.mid', 'ord.root', 'ord.x', 'ord.y']::regclass[]),
          'the snapshot overload agrees with the live one');
ALTER TABLE ord.mid RENAME TO mid_renamed;
SELECT is(backupkit.get_table_restoration_order(:sid),
          ARRAY['ord.root', 'ord.mid_renamed', 'ord.leaf', 'ord.x', 'ord.y']::regclass[], 'a renamed table is found by its oid');

SELECT throws_ok('SELECT backupkit.get_table_restoration_order(ARRAY[]::regclass[])', '22023', 'tables must not be empty', 'empty list');
SELECT throws_ok('SELECT backupkit.get_table_restoration_order(ARRAY[''ord.x'', ''ord.x'']::regclass[])', '22023',
                 'table ord.x is listed more than once in tables', 'duplicates');

SELECT * FROM finish();
ROLLBACK;
