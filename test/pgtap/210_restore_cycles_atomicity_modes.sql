-- Multi-table restores: foreign-key order, cycles, atomicity, modes, dry runs, drift, protected children.
BEGIN;
SELECT plan(60);
SET LOCAL client_min_messages = warning;

CREATE FUNCTION pg_temp.fp(rel regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE format('SELECT md5(coalesce(string_agg(t::text, %L ORDER BY t::text), %L)) FROM %s t', ',', '', rel) INTO r;
    RETURN r;
END $$;
CREATE FUNCTION pg_temp.sig(VARIADIC rels regclass[]) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(pg_temp.fp(r), '/' ORDER BY ord) FROM unnest(rels) WITH ORDINALITY u(r, ord) $$;

-- A four-table ring: a -> b -> c -> d -> a, two deferrable links and two that are not.
CREATE TABLE ring_a (id int PRIMARY KEY, b_id int, v text);
CREATE TABLE ring_b (id int PRIMARY KEY, c_id int, v text);
CREATE TABLE ring_c (id int PRIMARY KEY, d_id int, v text);
CREATE TABLE ring_d (id int PRIMARY KEY, a_id int, v text);
INSERT INTO ring_a SELECT i, i, 'a' || i FROM generate_series(1, 50) i;
INSERT INTO ring_b SELECT i, i, 'b' || i FROM generate_series(1, 50) i;
INSERT INTO ring_c SELECT i, i, 'c' || i FROM generate_series(1, 50) i;
INSERT INTO ring_d SELECT i, i, 'd' || i FROM generate_series(1, 50) i;
ALTER TABLE ring_a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES ring_b DEFERRABLE;
ALTER TABLE ring_b ADD CONSTRAINT b_c FOREIGN KEY (c_id) REFERENCES ring_c;
ALTER TABLE ring_c ADD CONSTRAINT c_d FOREIGN KEY (d_id) REFERENCES ring_d DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE ring_d ADD CONSTRAINT d_a FOREIGN KEY (a_id) REFERENCES ring_a;

SELECT backupkit.snapshot_tables('{ring_a,ring_b,ring_c,ring_d}', 'ring') AS ring \gset
SELECT pg_temp.sig('ring_a', 'ring_b', 'ring_c', 'ring_d') AS ring_sig \gset

-- Damage every table of the ring.
SET CONSTRAINTS ALL DEFERRED;
UPDATE ring_a SET v = 'changed' WHERE id <= 10;
DELETE FROM ring_d WHERE id > 40;
DELETE FROM ring_b WHERE id > 40;
DELETE FROM ring_c WHERE id > 40;
DELETE FROM ring_a WHERE id > 40;
INSERT INTO ring_a VALUES (100, 1, 'extra');
SET CONSTRAINTS ALL IMMEDIATE;

SELECT backupkit.restore_snapshot(:ring, NULL, 'replace', true) AS dry \gset
SELECT backupkit.restore_snapshot(:ring, NULL, 'replace') AS real \gset
SELECT is(pg_temp.sig('ring_a', 'ring_b', 'ring_c', 'ring_d'), :'ring_sig', 'replace restores a 4-table cycle identically');
SELECT is(jsonb_path_query_array(:'dry'::jsonb, '$.tables[*] ? (@.table == "public.ring_a").deleted'),
          jsonb_path_query_array(:'real'::jsonb, '$.tables[*] ? (@.table == "public.ring_a").deleted'),
          'dry-run delete count equals the real one');
SELECT is((SELECT sum((t->>'inserted')::int + (t->>'updated')::int + (t->>'deleted')::int)
             FROM jsonb_array_elements(:'dry'::jsonb->'tables') t),
          (SELECT sum((t->>'inserted')::int + (t->>'updated')::int + (t->>'deleted')::int)
             FROM jsonb_array_elements(:'real'::jsonb->'tables') t),
          'dry-run counts equal the real run''s counts');
SELECT ok(jsonb_array_length(:'real'::jsonb->'cycles') >= 4, 'the report names a strategy for every link of the cycle');
SELECT ok((SELECT bool_and(c->>'strategy' IN ('deferred', 'dropped and re-created'))
             FROM jsonb_array_elements(:'real'::jsonb->'cycles') c), 'each cycle link has a named strategy');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conname IN ('a_b', 'b_c', 'c_d', 'd_a')), 4,
          'dropped constraints are re-created');
SELECT is((SELECT convalidated FROM pg_constraint WHERE conname = 'b_c'), true, 're-created constraints are validated');

-- merge: snapshot rows win, rows absent from the snapshot stay.
SET CONSTRAINTS ALL DEFERRED;
UPDATE ring_b SET v = 'merged-away' WHERE id = 5;
INSERT INTO ring_d VALUES (500, 1, 'kept by merge');
SET CONSTRAINTS ALL IMMEDIATE;
SELECT backupkit.restore_snapshot(:ring, NULL, 'merge') AS merge \gset
SELECT is((SELECT v FROM ring_b WHERE id = 5), 'b5', 'merge puts back changed rows');
SELECT is((SELECT v FROM ring_d WHERE id = 500), 'kept by merge', 'merge keeps rows absent from the snapshot');
SELECT is((:'merge'::jsonb #>> '{tables}')::jsonb @? '$[*] ? (@.table == "public.ring_b" && @.updated == 1)', true,
          'merge reports one updated row in ring_b');

-- missing: only absent keys are inserted; existing rows are not touched.
UPDATE ring_c SET v = 'left alone' WHERE id = 7;
DELETE FROM ring_d WHERE id = 500;
SET CONSTRAINTS ALL DEFERRED;
DELETE FROM ring_d WHERE id = 3;
UPDATE ring_c SET d_id = NULL WHERE id = 3;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT backupkit.restore_snapshot(:ring, NULL, 'missing') AS missing \gset
SELECT is((SELECT v FROM ring_c WHERE id = 7), 'left alone', 'missing does not touch existing rows');
SELECT is((SELECT v FROM ring_d WHERE id = 3), 'd3', 'missing inserts rows whose key is absent');
SELECT ok(:'missing'::jsonb @? '$.tables[*] ? (@.table == "public.ring_d" && @.inserted == 1)', 'missing reports the inserted row');

-- Five tables, the third fails: every table stays as it was.
CREATE TABLE f1 (id int PRIMARY KEY, v text);
CREATE TABLE f2 (id int PRIMARY KEY, f1_id int REFERENCES f1, v text);
CREATE TABLE f3 (id int PRIMARY KEY, f2_id int REFERENCES f2, v text);
CREATE TABLE f4 (id int PRIMARY KEY, f3_id int REFERENCES f3, v text);
CREATE TABLE f5 (id int PRIMARY KEY, f4_id int REFERENCES f4, v text);
INSERT INTO f1 SELECT i, 'x' || i FROM generate_series(1, 20) i;
INSERT INTO f2 SELECT i, i, 'x' || i FROM generate_series(1, 20) i;
INSERT INTO f3 SELECT i, i, 'x' || i FROM generate_series(1, 20) i;
INSERT INTO f4 SELECT i, i, 'x' || i FROM generate_series(1, 20) i;
INSERT INTO f5 SELECT i, i, 'x' || i FROM generate_series(1, 20) i;
SELECT backupkit.snapshot_tables('{f5,f4,f3,f2,f1}', 'five') AS five \gset
UPDATE f1 SET v = 'damaged'; UPDATE f2 SET v = 'damaged'; UPDATE f3 SET v = 'damaged';
UPDATE f4 SET v = 'damaged'; UPDATE f5 SET v = 'damaged';
SELECT pg_temp.sig('f1', 'f2', 'f3', 'f4', 'f5') AS damaged_sig \gset
ALTER TABLE f3 ADD CONSTRAINT f3_no_x5 CHECK (v <> 'x5') NOT VALID;
SAVEPOINT before_failure;
SELECT throws_ok(format('SELECT backupkit.restore_snapshot(%s)', :five), '23514', NULL,
                 'a CHECK added since capture stops the restore');
ROLLBACK TO SAVEPOINT before_failure;
SELECT is(pg_temp.sig('f1', 'f2', 'f3', 'f4', 'f5'), :'damaged_sig', 'a failure in the third of five tables leaves all five untouched');
-- The error of a failed restore, as SQLSTATE|constraint|context ('no error' when the restore succeeds).
CREATE FUNCTION pg_temp.restore_error(sid bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    con text;
    ctx text;
BEGIN
    PERFORM backupkit.restore_snapshot(sid);
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, ctx = PG_EXCEPTION_CONTEXT;
    RETURN state || '|' || con || '|' || ctx;
END $$;
SELECT pg_temp.restore_error(:five) AS five_error \gset
SELECT is(split_part(:'five_error', '|', 1) || '|' || split_part(:'five_error', '|', 2), '23514|f3_no_x5',
          'the error names the violated constraint');
SELECT ok(split_part(:'five_error', '|', 3) ~ 'table "public\.f3" from snapshot \d+, row with key \(id\)=\(5\)',
          'the error context names the table and the key of the offending row');
ALTER TABLE f3 DROP CONSTRAINT f3_no_x5;
SELECT lives_ok(format('SELECT backupkit.restore_snapshot(%s)', :five), 'the same restore succeeds once the constraint is gone');
SELECT is((SELECT count(*)::int FROM f5 WHERE v = 'damaged'), 0, 'all five tables restored');

-- Children outside the restored set are never changed silently.
CREATE TABLE parent_p (id int PRIMARY KEY, v text);
CREATE TABLE child_cascade (id int PRIMARY KEY, pid int REFERENCES parent_p ON DELETE CASCADE);
CREATE TABLE child_setnull (id int PRIMARY KEY, pid int REFERENCES parent_p ON DELETE SET NULL);
CREATE TABLE child_restrict (id int PRIMARY KEY, pid int REFERENCES parent_p ON DELETE RESTRICT);
INSERT INTO parent_p SELECT i, 'p' || i FROM generate_series(1, 10) i;
SELECT backupkit.snapshot_tables('{parent_p}') AS pp \gset
INSERT INTO parent_p VALUES (11, 'new');
INSERT INTO child_cascade VALUES (1, 11);
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''parent_p'')', :pp), '23503',
                 'restoring table "public.parent_p" would remove rows referenced from table "public.child_cascade"',
                 'replace refuses to cascade into a child outside the set');
DELETE FROM child_cascade; INSERT INTO child_setnull VALUES (1, 11);
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''parent_p'')', :pp), '23503', NULL,
                 'replace refuses to set a child outside the set to null');
DELETE FROM child_setnull; INSERT INTO child_restrict VALUES (1, 11);
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''parent_p'')', :pp), '23503', NULL,
                 'replace refuses when a restricting child outside the set references a removed row');
INSERT INTO child_cascade VALUES (2, 3);
UPDATE parent_p SET v = 'changed' WHERE id = 3;
DELETE FROM child_restrict;
SELECT lives_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''parent_p'')', :pp),
                'replace works when outside children reference only kept rows');
SELECT is((SELECT count(*)::int FROM child_cascade), 1, 'the outside child keeps its row');
SELECT is((SELECT v FROM parent_p WHERE id = 3), 'p3', 'the parent row is restored');

-- Modes and keys.
CREATE TABLE nokey (a int, b text);
INSERT INTO nokey VALUES (1, 'x'), (1, 'x'), (2, NULL);
SELECT backupkit.snapshot_tables('{nokey}') AS nk \gset
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''nokey'', ''merge'')', :nk), '22023',
                 NULL, 'merge of a keyless table is refused (it needs a key)');
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''nokey'', ''upsert'')', :nk), '22023',
                 'unrecognized restore mode: "upsert"', 'an unknown mode is an error');
DELETE FROM nokey WHERE a = 2; INSERT INTO nokey VALUES (3, 'y');
SELECT lives_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''nokey'')', :nk), 'replace works without a key');
SELECT is((SELECT string_agg(a || ':' || coalesce(b, '-'), ',' ORDER BY a, b) FROM nokey), '1:x,1:x,2:-', 'duplicates and nulls come back');

-- Unique conflicts with a key other than the primary key.
CREATE TABLE uq (id int PRIMARY KEY, email text UNIQUE);
INSERT INTO uq VALUES (1, 'a@x'), (2, 'b@x');
SELECT backupkit.snapshot_tables('{uq}') AS uq \gset
DELETE FROM uq WHERE id = 2; INSERT INTO uq VALUES (3, 'b@x');
SELECT backupkit.restore_table_from_snapshot(:uq, 'uq', 'missing', true) AS uq_dry \gset
SELECT backupkit.restore_table_from_snapshot(:uq, 'uq', 'missing') AS uq_report \gset
SELECT is((:'uq_dry'::jsonb) - 'duration_ms' - 'dry_run', (:'uq_report'::jsonb) - 'duration_ms' - 'dry_run',
          'the dry run predicts the collision: same counts and the same listed row');
SELECT is((:'uq_report'::jsonb)->>'conflicts', '1', 'missing skips a row that collides with a unique key other than the key');
SELECT is((:'uq_report'::jsonb)->'conflicting_rows', '[{"key": {"id": 2}, "reason": "unique constraint other than the key"}]'::jsonb, 'and lists its key in the report');
SELECT is((SELECT email FROM uq WHERE id = 3), 'b@x', 'the row holding the value is not touched');
SELECT backupkit.restore_table_from_snapshot(:uq, 'uq', 'replace') IS NOT NULL AS replaced \gset
SELECT is((SELECT string_agg(id || '=' || email, ',' ORDER BY id) FROM uq), '1=a@x,2=b@x', 'replace ends identical: the colliding row goes, the captured one comes back');

-- merge: an UPDATE that would take a unique value another row holds is set aside and listed, not an error.
CREATE TABLE uq2 (id int PRIMARY KEY, email text UNIQUE, n int);
INSERT INTO uq2 VALUES (1, 'a@x', 1), (2, 'b@x', 2);
SELECT backupkit.snapshot_tables('{uq2}') AS uq2 \gset
UPDATE uq2 SET email = 'c@x', n = 20 WHERE id = 2;
INSERT INTO uq2 VALUES (3, 'b@x', 3);
UPDATE uq2 SET n = 10 WHERE id = 1;
SELECT backupkit.restore_table_from_snapshot(:uq2, 'uq2', 'merge', true) AS uq2_dry \gset
SELECT backupkit.restore_table_from_snapshot(:uq2, 'uq2', 'merge') AS uq2_real \gset
SELECT is((:'uq2_real'::jsonb)->'conflicting_rows', '[{"key": {"id": 2}, "reason": "unique constraint other than the key"}]'::jsonb,
          'merge lists the row whose update would collide');
SELECT is((SELECT string_agg(id || '=' || email || '/' || n, ',' ORDER BY id) FROM uq2), '1=a@x/1,2=c@x/20,3=b@x/3',
          'the other rows are merged, the colliding one and its neighbour are untouched');
SELECT is((:'uq2_dry'::jsonb) - 'duration_ms' - 'dry_run', (:'uq2_real'::jsonb) - 'duration_ms' - 'dry_run',
          'the dry run of that merge reports the same');

-- A CHECK constraint added since capture: merge and missing set the rows aside and list them.
CREATE TABLE chk (id int PRIMARY KEY, v text);
INSERT INTO chk VALUES (1, 'ok'), (2, 'bad'), (3, 'ok');
SELECT backupkit.snapshot_tables('{chk}') AS chk \gset
DELETE FROM chk;
ALTER TABLE chk ADD CONSTRAINT chk_not_bad CHECK (v <> 'bad');
SELECT backupkit.restore_table_from_snapshot(:chk, 'chk', 'missing', true) AS chk_dry \gset
SELECT backupkit.restore_table_from_snapshot(:chk, 'chk', 'missing') AS chk_real \gset
SELECT is((:'chk_real'::jsonb)->'conflicting_rows', '[{"key": {"id": 2}, "reason": "check constraint \"chk_not_bad\""}]'::jsonb,
          'a row violating a CHECK is listed with the constraint');
SELECT is((:'chk_real'::jsonb)->>'inserted', '2', 'the other rows are inserted');
SELECT is((:'chk_dry'::jsonb)->>'inserted', (:'chk_real'::jsonb)->>'inserted', 'the dry run predicted it');
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''chk'', ''replace'', false)', :chk), '23514', NULL,
                 'replace must end identical: there the CHECK violation is an error');

-- Schema drift.
CREATE TABLE drift (id int PRIMARY KEY, small int, gone text, name varchar(20));
INSERT INTO drift SELECT i, i, 'g' || i, 'n' || i FROM generate_series(1, 5) i;
SELECT backupkit.snapshot_tables('{drift}') AS dr \gset
ALTER TABLE drift ALTER small TYPE bigint, ALTER name TYPE text, DROP COLUMN gone, ADD COLUMN added int DEFAULT 42;
DELETE FROM drift;
SELECT backupkit.restore_table_from_snapshot(:dr, 'drift') AS drift_report \gset
SELECT is((SELECT sum(small)::int FROM drift), 15, 'a column retyped int -> bigint since capture gets the captured values');
SELECT is((SELECT min(added) FROM drift), 42, 'an added column gets its default');
SELECT ok(:'drift_report'::jsonb->'warnings' @> '["column \"gone\" (text at capture) no longer exists; its captured values were skipped (schema => ''missing'' or ''exact'' re-creates it)"]', 'a dropped column is reported with its captured type and the schema mode that re-creates it');
SELECT ok(:'drift_report'::jsonb->'warnings' @> '["column \"small\" changed type from integer at capture to bigint now (schema => ''exact'' converts it back)"]', 'a retyped column is reported with both types');
ALTER TABLE drift RENAME TO drift_renamed;
CREATE SCHEMA moved_here;
ALTER TABLE drift_renamed SET SCHEMA moved_here;
DELETE FROM moved_here.drift_renamed;
SELECT backupkit.restore_table_from_snapshot(:dr, 'moved_here.drift_renamed'::regclass) AS moved \gset
SELECT is(:'moved'::jsonb->>'matched_by', 'oid', 'a renamed and moved table is found by its oid');
SELECT ok(:'moved'::jsonb->'warnings' @> '["Table \"moved_here.drift_renamed\" was captured as \"public.drift\" and found by its oid."]',
          'the report says which table was found by its oid, both names quoted');
SELECT is((SELECT count(*)::int FROM moved_here.drift_renamed), 5, 'the moved table is restored');
DELETE FROM moved_here.drift_renamed;
ALTER TABLE moved_here.drift_renamed ALTER name TYPE varchar(1);
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''moved_here.drift_renamed'')', :dr), '22001', NULL,
                 'a value that no longer fits is an error');

-- Sequences end past the restored maximum.
CREATE TABLE seqt (id serial PRIMARY KEY, v text);
INSERT INTO seqt (v) SELECT 'v' || i FROM generate_series(1, 10) i;
SELECT backupkit.snapshot_tables('{seqt}') AS sq \gset
TRUNCATE seqt;
SELECT is(setval('seqt_id_seq', 1, false), 1::bigint, 'the sequence is moved back before the restore');
SELECT is((backupkit.restore_table_from_snapshot(:sq, 'seqt')->>'inserted')::int, 10, 'the serial table is restored');
SELECT lives_ok('INSERT INTO seqt (v) VALUES (''after'')', 'the next insert does not collide');

-- A table owner who is not a superuser restores a non-deferrable cycle (constraints dropped and re-created).
CREATE ROLE bk_owner_role;
GRANT CREATE, USAGE ON SCHEMA public TO bk_owner_role;
SET LOCAL ROLE bk_owner_role;
CREATE TABLE own_x (id int PRIMARY KEY, y_id int);
CREATE TABLE own_y (id int PRIMARY KEY, x_id int REFERENCES own_x);
INSERT INTO own_x SELECT i, NULL FROM generate_series(1, 10) i;
INSERT INTO own_y SELECT i, i FROM generate_series(1, 10) i;
UPDATE own_x SET y_id = id;
ALTER TABLE own_x ADD CONSTRAINT own_x_y FOREIGN KEY (y_id) REFERENCES own_y;
SELECT backupkit.snapshot_tables('{own_x,own_y}') AS own \gset
UPDATE own_x SET y_id = 1; DELETE FROM own_y WHERE id > 5;
SELECT backupkit.restore_snapshot(:own) AS own_report \gset
SELECT is((SELECT count(*)::int FROM own_y), 10, 'a non-superuser owner restores a cycle of non-deferrable foreign keys');
SELECT ok(:'own_report'::jsonb @? '$.cycles[*] ? (@.strategy == "dropped and re-created")', 'the report names the drop-and-re-create strategy');
RESET ROLE;
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'bk_owner_role'), 'the owner role is not a superuser');

-- User triggers: off by default, on with fire_triggers => true.
CREATE TABLE trig (id int PRIMARY KEY, v text, touched int DEFAULT 0);
CREATE FUNCTION pg_temp.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := NEW.touched + 1; RETURN NEW; END $$;
INSERT INTO trig VALUES (1, 'a', 0), (2, 'b', 0);
CREATE TRIGGER trig_touch BEFORE INSERT OR UPDATE ON trig FOR EACH ROW EXECUTE FUNCTION pg_temp.touch();
SELECT backupkit.snapshot_tables('{trig}') AS tr \gset
DELETE FROM trig;
SELECT is((backupkit.restore_table_from_snapshot(:tr, 'trig')->>'triggers_fired')::boolean, false, 'triggers are off by default');
SELECT is((SELECT sum(touched)::int FROM trig), 0, 'no trigger fired: captured values kept');
SELECT is((SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'trig_touch'), 'O', 'the trigger is enabled again afterwards');
DELETE FROM trig;
SELECT is((backupkit.restore_table_from_snapshot(:tr, 'trig', 'replace', false, true)->>'triggers_fired')::boolean, true, 'fire_triggers => true is reported as triggers_fired');
SELECT is((SELECT sum(touched)::int FROM trig), 2, 'the trigger fired for every restored row');

SELECT * FROM finish();
ROLLBACK;
