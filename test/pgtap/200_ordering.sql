-- Foreign-key order: get_table_restoration_order over live tables and over a snapshot, restoration_plan.
BEGIN;
SELECT plan(36);

CREATE SCHEMA ord;
-- chain: c -> b -> a (created in an order unrelated to the names)
CREATE TABLE ord.a (id int PRIMARY KEY);
CREATE TABLE ord.b (id int PRIMARY KEY, a_id int REFERENCES ord.a);
CREATE TABLE ord.c (id int PRIMARY KEY, b_id int REFERENCES ord.b);
-- self-reference
CREATE TABLE ord.tree (id int PRIMARY KEY, parent_id int REFERENCES ord.tree, a_id int REFERENCES ord.a);
-- 2-cycle x <-> y, y also references a
CREATE TABLE ord.x (id int PRIMARY KEY, y_id int);
CREATE TABLE ord.y (id int PRIMARY KEY, x_id int REFERENCES ord.x, a_id int REFERENCES ord.a);
ALTER TABLE ord.x ADD CONSTRAINT x_y_fkey FOREIGN KEY (y_id) REFERENCES ord.y;
-- 3-ring r1 -> r2 -> r3 -> r1
CREATE TABLE ord.r1 (id int PRIMARY KEY, r2_id int);
CREATE TABLE ord.r2 (id int PRIMARY KEY, r3_id int);
CREATE TABLE ord.r3 (id int PRIMARY KEY, r1_id int REFERENCES ord.r1);
ALTER TABLE ord.r1 ADD FOREIGN KEY (r2_id) REFERENCES ord.r2;
ALTER TABLE ord.r2 ADD FOREIGN KEY (r3_id) REFERENCES ord.r3;
-- a child of the ring
CREATE TABLE ord.ring_child (id int PRIMARY KEY, r2_id int REFERENCES ord.r2);
-- a table outside every list below, referenced by an listed one and referencing one
CREATE TABLE ord.outside (id int PRIMARY KEY, c_id int REFERENCES ord.c);
CREATE TABLE ord.uses_outside (id int PRIMARY KEY, o_id int REFERENCES ord.outside);
-- partitioned parent (references a), its partitions, a table referencing the parent and one a partition
CREATE TABLE ord.events (id int, a_id int REFERENCES ord.a, PRIMARY KEY (id)) PARTITION BY RANGE (id);
CREATE TABLE ord.events_1 PARTITION OF ord.events FOR VALUES FROM (0) TO (100);
CREATE TABLE ord.events_2 PARTITION OF ord.events FOR VALUES FROM (100) TO (200);
CREATE TABLE ord.event_notes (id int PRIMARY KEY, event_id int REFERENCES ord.events);
CREATE TABLE ord.early_notes (id int PRIMARY KEY, event_id int REFERENCES ord.events_1);

SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.c', 'ord.b', 'ord.a']::regclass[]),
          ARRAY['ord.a', 'ord.b', 'ord.c']::regclass[], 'chain: parents before children');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.c', 'ord.a']::regclass[]),
          ARRAY['ord.a', 'ord.c']::regclass[], 'chain with its middle missing: names decide');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.tree', 'ord.a']::regclass[]),
          ARRAY['ord.a', 'ord.tree']::regclass[], 'self-reference: allowed, ordered by its other foreign key');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.tree']::regclass[]),
          ARRAY['ord.tree']::regclass[], 'a self-referencing table alone is its own order');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.y', 'ord.x', 'ord.a']::regclass[]),
          ARRAY['ord.a', 'ord.x', 'ord.y']::regclass[], '2-cycle: after its parent, members together in name order');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.ring_child', 'ord.r3', 'ord.r2', 'ord.r1']::regclass[]),
          ARRAY['ord.r1', 'ord.r2', 'ord.r3', 'ord.ring_child']::regclass[], '3-ring kept together before its child');
SELECT is(backupkit.get_table_restoration_order(
            ARRAY['ord.ring_child', 'ord.y', 'ord.r2', 'ord.x', 'ord.r3', 'ord.a', 'ord.r1']::regclass[]),
          ARRAY['ord.a', 'ord.r1', 'ord.r2', 'ord.r3', 'ord.ring_child', 'ord.x', 'ord.y']::regclass[],
          'two separate cycles: each kept together, ties by name');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.uses_outside', 'ord.c', 'ord.b', 'ord.a']::regclass[]),
          ARRAY['ord.a', 'ord.b', 'ord.c', 'ord.uses_outside']::regclass[],
          'a path through a table outside the list orders nothing');
SELECT is(backupkit.get_table_restoration_order(ARRAY['ord.uses_outside', 'ord.a']::regclass[]),
          ARRAY['ord.a', 'ord.uses_outside']::regclass[], 'foreign key to a table outside the list is ignored');
SELECT is(backupkit.get_table_restoration_order(
            ARRAY['ord.early_notes', 'ord.event_notes', 'ord.events', 'ord.a']::regclass[]),
          ARRAY['ord.a', 'ord.events', 'ord.early_notes', 'ord.event_notes']::regclass[],
          'partitioned parent: a foreign key referencing one of its partitions counts for the parent');
SELECT is(backupkit.get_table_restoration_order(
            ARRAY['ord.events_2', 'ord.early_notes', 'ord.events_1', 'ord.a']::regclass[]),
          ARRAY['ord.a', 'ord.events_1', 'ord.early_notes', 'ord.events_2']::regclass[],
          'partitions listed alone: ordered by the foreign keys they inherit and by references to them');
SELECT is((SELECT level FROM backupkit.restoration_plan(ARRAY['ord.events_1', 'ord.a']::regclass[])
            WHERE table_name = 'ord.events_1'::regclass),
          1, 'a partition depends on what its parent references');

-- Determinism: every permutation of a mixed list gives the same order.
SELECT is((SELECT count(DISTINCT backupkit.get_table_restoration_order(p.tables)::text)::int
             FROM (SELECT array_agg(t ORDER BY md5(t::text || s::text)) AS tables
                     FROM generate_series(1, 40) s,
                          unnest(ARRAY['ord.ring_child', 'ord.y', 'ord.r2', 'ord.x', 'ord.r3', 'ord.a', 'ord.r1',
                                       'ord.tree', 'ord.c', 'ord.b', 'ord.events']::regclass[]) t
                    GROUP BY s) p),
          1, 'deterministic: 40 permutations of the input give one order');

-- restoration_plan
CREATE TEMP TABLE plan AS
SELECT * FROM backupkit.restoration_plan(
    ARRAY['ord.ring_child', 'ord.y', 'ord.r2', 'ord.x', 'ord.r3', 'ord.a', 'ord.r1', 'ord.tree', 'ord.c',
          'ord.b']::regclass[]);
SELECT is((SELECT array_agg(table_name ORDER BY position) FROM plan),
          backupkit.get_table_restoration_order(
            ARRAY['ord.ring_child', 'ord.y', 'ord.r2', 'ord.x', 'ord.r3', 'ord.a', 'ord.r1', 'ord.tree', 'ord.c',
                  'ord.b']::regclass[]),
          'restoration_plan: positions follow get_table_restoration_order');
SELECT is((SELECT array_agg(position ORDER BY position) FROM plan), ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
          'restoration_plan: positions 1..n');
SELECT is((SELECT array_agg(level ORDER BY table_name::text) FROM plan),
          ARRAY[0, 1, 2, 0, 0, 0, 1, 1, 1, 1],
          'restoration_plan: levels (a b c r1 r2 r3 ring_child tree x y)');
SELECT is((SELECT array_agg(coalesce(cycle_group, 0) ORDER BY position) FROM plan),
          ARRAY[0, 0, 0, 1, 1, 1, 0, 0, 2, 2], 'restoration_plan: cycle groups numbered in order, self-reference none');
SELECT ok(NOT EXISTS (SELECT FROM plan p JOIN plan q ON q.table_name = ANY (p.depends_on) WHERE q.level >= p.level
                        AND q.cycle_group IS DISTINCT FROM p.cycle_group),
          'restoration_plan: a table depends only on lower levels outside its cycle');
SELECT ok(NOT EXISTS (SELECT FROM plan p JOIN plan q ON q.table_name = ANY (p.depends_on)
                       WHERE q.position > p.position AND q.cycle_group IS DISTINCT FROM p.cycle_group),
          'restoration_plan: dependencies outside a cycle come earlier');
SELECT is((SELECT depends_on FROM plan WHERE table_name = 'ord.y'::regclass),
          ARRAY['ord.a', 'ord.x']::regclass[], 'restoration_plan: depends_on in restore order');
SELECT is((SELECT foreign_keys FROM plan WHERE table_name = 'ord.y'::regclass),
          ARRAY['y_a_id_fkey', 'y_x_id_fkey'], 'restoration_plan: the foreign keys that order the table');
SELECT is((SELECT depends_on FROM plan WHERE table_name = 'ord.tree'::regclass),
          ARRAY['ord.a']::regclass[], 'restoration_plan: a self-reference is not a dependency');
SELECT is((SELECT foreign_keys FROM plan WHERE table_name = 'ord.tree'::regclass),
          ARRAY['tree_a_id_fkey', 'tree_parent_id_fkey'], 'restoration_plan: but it is one of its foreign keys');
SELECT is((SELECT foreign_keys FROM backupkit.restoration_plan(ARRAY['ord.uses_outside']::regclass[])),
          '{}'::text[], 'restoration_plan: foreign keys to tables outside the list are not listed');

-- Snapshot overload: the graph stored with the snapshot gives the live order.
SELECT backupkit.snapshot_tables(ARRAY['ord.ring_child', 'ord.y', 'ord.r2', 'ord.x', 'ord.r3', 'ord.a', 'ord.r1',
                                       'ord.tree', 'ord.c', 'ord.b', 'ord.events', 'ord.early_notes']::regclass[])
    AS sid \gset
SELECT is(backupkit.get_table_restoration_order(:sid),
          backupkit.get_table_restoration_order(ARRAY['ord.ring_child', 'ord.y', 'ord.r2', 'ord.x', 'ord.r3', 'ord.a',
                                                      'ord.r1', 'ord.tree', 'ord.c', 'ord.b', 'ord.events',
                                                      'ord.early_notes']::regclass[]),
          'snapshot overload equals the live overload');
-- Foreign keys dropped after the capture still order the snapshot's tables.
ALTER TABLE ord.b DROP CONSTRAINT b_a_id_fkey;
ALTER TABLE ord.r3 DROP CONSTRAINT r3_r1_id_fkey;
SELECT is(backupkit.get_table_restoration_order(:sid),
          ARRAY['ord.a', 'ord.b', 'ord.c', 'ord.events', 'ord.early_notes', 'ord.r1', 'ord.r2', 'ord.r3',
                'ord.ring_child', 'ord.tree', 'ord.x', 'ord.y']::regclass[],
          'snapshot overload uses the captured foreign keys');
SELECT isnt(backupkit.get_table_restoration_order(ARRAY['ord.b', 'ord.a', 'ord.r1', 'ord.r2', 'ord.r3']::regclass[]),
            ARRAY['ord.a', 'ord.b', 'ord.r1', 'ord.r2', 'ord.r3']::regclass[],
            'while the live overload uses the current ones');
-- A renamed table is found by its oid.
ALTER TABLE ord.c RENAME TO c_renamed;
SELECT is((backupkit.get_table_restoration_order(:sid))[3], 'ord.c_renamed'::regclass,
          'snapshot overload: a renamed table is found by its oid');
DROP TABLE ord.ring_child;
SELECT throws_ok(format('SELECT backupkit.get_table_restoration_order(%s)', :sid), '42P01',
                 format('table "ord.ring_child" of snapshot %s no longer exists', :sid),
                 'snapshot overload: a dropped table is an error naming it');

-- Argument checks
SELECT throws_ok('SELECT backupkit.get_table_restoration_order(ARRAY[]::regclass[])', '22023',
                 'tables must not be empty', 'an empty list is refused with 22023');
SELECT throws_ok($$SELECT backupkit.restoration_plan(ARRAY['ord.a', 'ord.a']::regclass[])$$, '22023',
                 'table "ord.a" is listed more than once in tables', 'a table listed twice is refused with 22023');

-- Long lists (256 tables and more) read pg_class and pg_constraint in one scan each instead of a lookup
-- per table: the same order, the same errors.
CREATE SCHEMA big;
SELECT format('CREATE TABLE big.t%s (id int PRIMARY KEY, prev int%s)', i,
              CASE WHEN i > 1 THEN format(' REFERENCES big.t%s, half int REFERENCES big.t%s', i - 1, greatest(i / 2, 1)) ELSE '' END)
  FROM generate_series(1, 300) i \gexec
CREATE TEMP TABLE big_order AS
SELECT t::regclass AS rel, ord
  FROM unnest(backupkit.get_table_restoration_order(
           (SELECT array_agg(format('big.t%s', i)::regclass ORDER BY md5(i::text)) FROM generate_series(1, 300) i)))
       WITH ORDINALITY u(t, ord);
SELECT is((SELECT count(*) FROM big_order), 300::bigint, 'a 300-table list comes back whole');
SELECT is((SELECT count(*) FROM pg_constraint c JOIN big_order ch ON ch.rel = c.conrelid JOIN big_order pa ON pa.rel = c.confrelid
            WHERE c.contype = 'f' AND pa.ord >= ch.ord), 0::bigint, 'every one of its 598 foreign keys points to an earlier table');
SELECT is((SELECT array_agg(rel::text ORDER BY ord) FROM big_order WHERE ord <= 3), ARRAY['big.t1', 'big.t2', 'big.t3'],
          'and the chain starts at its root');
SELECT throws_ok($$SELECT backupkit.get_table_restoration_order(
                     (SELECT array_agg(format('big.t%s', i)::regclass) FROM generate_series(1, 299) i) || 'big.t1_pkey'::regclass)$$,
                 '42809', 'cannot order "big.t1_pkey"', 'a long list holding an index is refused like a short one');
SELECT throws_ok($$SELECT backupkit.get_table_restoration_order(
                     (SELECT array_agg(format('big.t%s', i)::regclass) FROM generate_series(1, 299) i) || 4000000000::oid::regclass)$$,
                 '42P01', 'relation with OID 4000000000 does not exist', 'a long list holding a dropped table is refused');

SELECT * FROM finish();
ROLLBACK;
