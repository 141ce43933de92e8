-- Restoring one partition of a table that a foreign key references: TRUNCATE would fail (the key has a clone
-- on every referenced partition), so the restore must see the reference and take the staged path, and must
-- still refuse to delete a row that is referenced. Found by the regression-database round trip
-- (test/regression-db), where 22 such partitions failed with "cannot truncate a table referenced in a
-- foreign key constraint".
BEGIN;
SELECT plan(8);
SET LOCAL client_min_messages = warning;

CREATE FUNCTION pg_temp.sum_of(rel regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE format('SELECT count(*) || '':'' || md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) FROM %s t', rel)
    INTO r;
    RETURN r;
END $$;

CREATE TABLE pk (a int PRIMARY KEY, v text) PARTITION BY RANGE (a);
CREATE TABLE pk1 PARTITION OF pk FOR VALUES FROM (0) TO (100);
CREATE TABLE pk2 PARTITION OF pk FOR VALUES FROM (100) TO (200) PARTITION BY RANGE (a);
CREATE TABLE pk21 PARTITION OF pk2 FOR VALUES FROM (100) TO (200);
CREATE TABLE fk (id int PRIMARY KEY, a int REFERENCES pk);
INSERT INTO pk SELECT i, 'v' || i FROM generate_series(1, 199) i;
INSERT INTO fk SELECT i, i * 3 FROM generate_series(1, 60) i;
SELECT pg_temp.sum_of('pk1') AS pk1_before, pg_temp.sum_of('pk21') AS pk21_before, pg_temp.sum_of('fk') AS fk_before \gset
SELECT backupkit.snapshot_tables('{pk1,pk21}') AS sid \gset

-- Damage the rows nobody references.
DELETE FROM pk WHERE a % 3 <> 0;
UPDATE pk SET v = 'changed' WHERE a % 2 = 0;
SELECT is(backupkit.restore_table_from_snapshot(:sid, 'pk1')->>'path', 'staged',
          'a referenced partition is restored through the staged path');
SELECT is(pg_temp.sum_of('pk1'), :'pk1_before', 'it equals the snapshot');
SELECT is(backupkit.restore_table_from_snapshot(:sid, 'pk21')->>'path', 'staged',
          'so is a referenced partition two levels down');
SELECT is(pg_temp.sum_of('pk21'), :'pk21_before', 'it equals the snapshot too');
SELECT is(pg_temp.sum_of('fk'), :'fk_before', 'the referencing table is untouched');

-- A row added since the snapshot and referenced now cannot be deleted by the restore.
INSERT INTO pk VALUES (0, 'new');
INSERT INTO fk VALUES (0, 0);
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''pk1'')', :sid), '23503', NULL,
                 'a restore that would delete a referenced row is refused');
SELECT is((SELECT v FROM pk WHERE a = 0), 'new', 'and changes nothing');

-- A partitioned table referencing itself: each partition is referenced through the parent.
CREATE TABLE selfref (id int PRIMARY KEY, parent int REFERENCES selfref) PARTITION BY LIST (id);
CREATE TABLE selfref1 PARTITION OF selfref FOR VALUES IN (1, 2, 3);
CREATE TABLE selfref2 PARTITION OF selfref FOR VALUES IN (4, 5, 6);
INSERT INTO selfref VALUES (1, NULL), (2, 1), (4, 1), (5, 4);
SELECT pg_temp.sum_of('selfref') AS self_before \gset
SELECT backupkit.snapshot_tables('{selfref1}') AS sid2 \gset
INSERT INTO selfref VALUES (3, 2);
SELECT backupkit.restore_table_from_snapshot(:sid2, 'selfref1') IS NOT NULL AS restored \gset
SELECT is(pg_temp.sum_of('selfref'), :'self_before', 'a partition of a self-referencing table is restored');

SELECT * FROM finish();
ROLLBACK;
