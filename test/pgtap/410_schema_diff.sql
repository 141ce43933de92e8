-- schema_diff: every kind of migration shows as what it is, objects matched by OID first (a rename is a
-- rename, not a drop and an add); an untouched schema shows nothing.
BEGIN;
SELECT plan(14);
SET LOCAL client_min_messages = warning;

CREATE SCHEMA sd;
CREATE TABLE sd.a (id int PRIMARY KEY, vip boolean DEFAULT false, amount numeric(10,2) NOT NULL, note text,
                   CONSTRAINT amount_pos CHECK (amount >= 0));
CREATE INDEX a_note ON sd.a (note);
CREATE TABLE sd.b (id int PRIMARY KEY, a_id int REFERENCES sd.a) ;
CREATE TABLE sd.p (k int NOT NULL, v text) PARTITION BY LIST (k);
CREATE TABLE sd.p1 PARTITION OF sd.p FOR VALUES IN (1);
CREATE TABLE sd.p2 PARTITION OF sd.p FOR VALUES IN (2);
CREATE VIEW sd.av AS SELECT id, amount FROM sd.a;
COMMENT ON COLUMN sd.a.note IS 'a note';
SELECT backupkit.snapshot_tables('{sd.a,sd.b,sd.p}') AS sid \gset

SELECT is((SELECT count(*) FROM backupkit.schema_diff(:sid)), 0::bigint, 'no change, no difference');

-- The migration.
DROP VIEW sd.av;
ALTER TABLE sd.a DROP COLUMN vip;
ALTER TABLE sd.a ALTER COLUMN amount TYPE integer USING amount::integer;
ALTER TABLE sd.a ALTER COLUMN amount DROP NOT NULL;
ALTER TABLE sd.a RENAME COLUMN note TO remark;
ALTER TABLE sd.a ALTER COLUMN remark SET DEFAULT 'none';
ALTER TABLE sd.a ADD COLUMN added_col date;
ALTER INDEX sd.a_note RENAME TO a_remark;
ALTER TABLE sd.a DROP CONSTRAINT amount_pos;
ALTER TABLE sd.a ADD CONSTRAINT amount_small CHECK (amount < 1000000);
COMMENT ON COLUMN sd.a.remark IS 'a remark';
ALTER TABLE sd.b RENAME TO b_renamed;
DROP TABLE sd.p2;
CREATE TABLE sd.p3 PARTITION OF sd.p FOR VALUES IN (3);

CREATE TEMP TABLE d AS SELECT * FROM backupkit.schema_diff(:sid);
SELECT is((SELECT count(*) FROM d WHERE object_kind = 'column' AND object_name = 'vip' AND change = 'dropped'), 1::bigint, 'a dropped column');
SELECT is((SELECT captured || ' -> ' || current FROM d WHERE object_kind = 'column' AND object_name = 'amount' AND change = 'retyped'),
          'numeric(10,2) -> integer', 'a retyped column, with both types');
SELECT is((SELECT count(*) FROM d WHERE object_kind = 'column' AND object_name = 'amount' AND change = 'not null changed'), 1::bigint, 'NOT NULL changed');
SELECT is((SELECT current FROM d WHERE object_kind = 'column' AND object_name = 'note' AND change = 'renamed'), 'remark', 'a renamed column is a rename');
SELECT is((SELECT count(*) FROM d WHERE object_kind = 'column' AND object_name IN ('note', 'remark') AND change IN ('dropped', 'added')), 0::bigint, 'not a drop and an add');
SELECT is((SELECT count(*) FROM d WHERE object_kind = 'column' AND object_name = 'note' AND change = 'default changed'), 1::bigint, 'a changed default');
SELECT is((SELECT count(*) FROM d WHERE object_kind = 'column' AND object_name = 'added_col' AND change = 'added'), 1::bigint, 'an added column');
SELECT is((SELECT current FROM d WHERE object_kind = 'index' AND object_name = 'a_note' AND change = 'renamed'), 'a_remark', 'a renamed index is a rename');
SELECT is((SELECT string_agg(object_name || ':' || change, ',' ORDER BY object_name) FROM d WHERE object_kind = 'constraint' AND table_name = 'sd.a'),
          'amount_pos:dropped,amount_small:added', 'a dropped and an added constraint');
SELECT is((SELECT current FROM d WHERE object_kind = 'comment' AND object_name = 'note'), 'a remark', 'a changed comment');
SELECT is((SELECT current FROM d WHERE table_name = 'sd.b' AND object_kind = 'table' AND change = 'renamed'), 'sd.b_renamed', 'a renamed table is a rename');
SELECT is((SELECT string_agg(object_name || ':' || change, ',' ORDER BY object_name) FROM d WHERE object_kind = 'partition'),
          'sd.p2:dropped,sd.p3:added', 'a dropped and an added partition');
SELECT is((SELECT change FROM d WHERE object_kind = 'view' AND object_name = 'sd.av'), 'dropped', 'a dropped dependent view');

SELECT * FROM finish();
ROLLBACK;
