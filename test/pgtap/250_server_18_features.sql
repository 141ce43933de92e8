-- What PostgreSQL 18 added to table definitions, handled as a user expects: virtual generated columns are not
-- captured, not written and come back recomputed (as stored generated ones); NOT ENFORCED foreign keys impose
-- no order and their orphans are no defect (validate, check_referential_integrity); a WITHOUT OVERLAPS key is
-- not a restore key (rows are matched on another unique btree index, or the table is keyless). On older
-- servers every test is skipped with the reason.
BEGIN;
SELECT plan(31);
SET LOCAL client_min_messages = warning;
SELECT current_setting('server_version_num')::int >= 180000 AS pg18 \gset
\if :pg18

CREATE SCHEMA s18;
-- s18.checksum(regclass): whole-table row count and content hash.
\set checksum_schema s18
\ir include/table_checksum.sql

-- Virtual generated columns, next to a stored one.
CREATE TABLE s18.vg (id int PRIMARY KEY, a int, b text,
                     dbl int GENERATED ALWAYS AS (a * 2) VIRTUAL,
                     label text GENERATED ALWAYS AS (b || '#' || id) VIRTUAL,
                     st int GENERATED ALWAYS AS (a + 1) STORED);
INSERT INTO s18.vg (id, a, b) SELECT i, i * 10, 'r' || i FROM generate_series(1, 200) i;
SELECT s18.checksum('s18.vg') AS vg_before \gset
SELECT backupkit.snapshot_tables('{s18.vg}', 'virtual generated') AS vs \gset
SELECT is((SELECT array_agg(c->>'name' ORDER BY (c->>'attnum')::int) FROM backupkit.snapshot_table t,
                  jsonb_array_elements(t.columns) c WHERE t.snapshot_id = :vs AND (c->>'captured')::boolean),
          '{id,a,b}'::text[], 'virtual generated columns are not captured, like stored ones');
SELECT is((SELECT array_agg(c->>'generated' ORDER BY (c->>'attnum')::int) FROM backupkit.snapshot_table t,
                  jsonb_array_elements(t.columns) c WHERE t.snapshot_id = :vs AND c->>'generated' IS NOT NULL),
          '{v,v,s}'::text[], 'the capture records which generated columns are virtual and which stored');
SELECT is((SELECT count(*)::int FROM backupkit.snapshot_rows(:vs, 's18.vg') r WHERE r ? 'dbl' OR r ? 'label'), 0,
          'snapshot_rows holds no virtual column');
UPDATE s18.vg SET a = -a, b = 'changed' WHERE id % 3 = 0;
DELETE FROM s18.vg WHERE id % 7 = 0;
SELECT is(backupkit.restore_table_from_snapshot(:vs, 's18.vg')->>'rows_in_snapshot', '200',
          'replace restores a table with virtual generated columns');
SELECT is(s18.checksum('s18.vg'), :'vg_before', 'replace: identical, virtual columns recomputed (checksum)');
UPDATE s18.vg SET a = a + 1 WHERE id % 5 = 0;
DELETE FROM s18.vg WHERE id % 11 = 0;
SELECT lives_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''s18.vg'', ''merge'')', :vs), 'merge restores a table with virtual generated columns');
SELECT is(s18.checksum('s18.vg'), :'vg_before', 'merge: identical (checksum)');
DELETE FROM s18.vg WHERE id > 150;
SELECT lives_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''s18.vg'', ''missing'')', :vs), 'missing restores a table with virtual generated columns');
SELECT is(s18.checksum('s18.vg'), :'vg_before', 'missing: identical (checksum)');
SELECT is((SELECT count(*)::int FROM backupkit.diff(:vs, 's18.vg')), 0, 'diff sees no change after the restores');
SELECT is(backupkit.validate_snapshot_integrity(:vs)->>'valid', 'true', 'the snapshot validates');
-- A column made virtual since the capture is recomputed, its captured values skipped with a warning.
CREATE TABLE s18.became (id int PRIMARY KEY, a int, twice int);
INSERT INTO s18.became SELECT i, i, 0 FROM generate_series(1, 20) i;
SELECT backupkit.snapshot_tables('{s18.became}') AS bs \gset
ALTER TABLE s18.became DROP COLUMN twice, ADD COLUMN twice int GENERATED ALWAYS AS (a * 2) VIRTUAL;
SELECT is(backupkit.restore_table_from_snapshot(:bs, 's18.became')->'warnings'->>0,
          'column "twice" is now generated; its values were recomputed', 'a column now virtual is recomputed, with a warning');
SELECT is((SELECT sum(twice)::int FROM s18.became), 420, 'its values are the recomputed ones');

-- NOT ENFORCED foreign keys: orphans are allowed by the server, so they are no defect of a snapshot.
-- invoice -> shop is enforced, shop -> invoice is not: no cycle, shop comes first (name order would say invoice).
CREATE TABLE s18.shop (id int PRIMARY KEY, last_invoice int);
CREATE TABLE s18.invoice (id int PRIMARY KEY, shop_id int NOT NULL REFERENCES s18.shop);
ALTER TABLE s18.shop ADD CONSTRAINT shop_last_invoice_fkey FOREIGN KEY (last_invoice) REFERENCES s18.invoice NOT ENFORCED;
INSERT INTO s18.shop SELECT i, i + 1000 FROM generate_series(1, 30) i;  -- every last_invoice is an orphan
INSERT INTO s18.invoice SELECT i, i % 30 + 1 FROM generate_series(1, 90) i;
SELECT s18.checksum('s18.shop') || s18.checksum('s18.invoice') AS fk_before, s18.checksum('s18.invoice') AS fk_before_invoice \gset
SELECT is(backupkit.get_table_restoration_order('{s18.invoice,s18.shop}'::regclass[]), '{s18.shop,s18.invoice}'::regclass[],
          'only the enforced foreign key orders the tables');
SELECT is((SELECT count(*)::int FROM backupkit.check_referential_integrity('{s18.shop}')
            WHERE constraint_name = 'shop_last_invoice_fkey'), 0,
          'check_referential_integrity does not count orphans of a NOT ENFORCED foreign key');
SELECT backupkit.snapshot_tables('{s18.invoice,s18.shop}', 'not enforced') AS fs \gset
SELECT is(backupkit.validate_snapshot_integrity(:fs)->>'valid', 'true',
          'a snapshot with orphans of a NOT ENFORCED foreign key validates');
SELECT is(backupkit.get_table_restoration_order(:fs::bigint), '{s18.shop,s18.invoice}'::regclass[],
          'the snapshot''s order also ignores the NOT ENFORCED key');
DELETE FROM s18.invoice WHERE id > 40;
DELETE FROM s18.shop WHERE id > 20 AND id NOT IN (SELECT shop_id FROM s18.invoice);
UPDATE s18.shop SET last_invoice = NULL WHERE id < 5;
SELECT is(backupkit.restore_snapshot(:fs)->'cycles', '[]'::jsonb, 'restore_snapshot sees no cycle to defer or drop');
SELECT is(s18.checksum('s18.shop') || s18.checksum('s18.invoice'), :'fk_before', 'both tables restored identically (checksum)');
-- Positive control: the same orphans under an enforced (NOT VALID) key are reported.
ALTER TABLE s18.shop ADD CONSTRAINT shop_enforced FOREIGN KEY (last_invoice) REFERENCES s18.invoice NOT VALID;
SELECT is((SELECT orphan_rows::int FROM backupkit.check_referential_integrity('{s18.shop}')
            WHERE constraint_name = 'shop_enforced'), 30, 'control: an enforced NOT VALID key counts the orphans');
ALTER TABLE s18.shop DROP CONSTRAINT shop_enforced;
-- A table referenced through a NOT ENFORCED key from outside the restored set: restored, the referencing rows
-- left alone (TRUNCATE would refuse such a table once it has triggers, so it takes the staged path).
SELECT backupkit.snapshot_tables('{s18.invoice}') AS is1 \gset
UPDATE s18.invoice SET shop_id = 1;
CREATE TABLE s18.invoice_line (id int PRIMARY KEY, invoice_id int REFERENCES s18.invoice NOT ENFORCED);
INSERT INTO s18.invoice_line SELECT i, i FROM generate_series(1, 50) i;
SELECT is(backupkit.restore_table_from_snapshot(:is1, 's18.invoice')->>'path', 'staged',
          'a table referenced NOT ENFORCED from outside is restored (staged path)');
SELECT is(s18.checksum('s18.invoice') || (SELECT count(*) FROM s18.invoice_line), :'fk_before_invoice' || '50',
          'identically (checksum), the referencing table untouched');
-- A keyless table may be replaced although a NOT ENFORCED key from outside references it (no row can be
-- orphaned against the server's will); an enforced one refuses, as before.
CREATE TABLE s18.tag (name text UNIQUE, note text);
INSERT INTO s18.tag SELECT 't' || i, 'n' || i FROM generate_series(1, 10) i;
CREATE TABLE s18.tagged (id int PRIMARY KEY, tag text REFERENCES s18.tag (name) NOT ENFORCED);
INSERT INTO s18.tagged SELECT i, 't' || i FROM generate_series(1, 10) i;
SELECT backupkit.snapshot_tables('{s18.tag}') AS ts \gset
SELECT s18.checksum('s18.tag') AS tag_before \gset
UPDATE s18.tag SET note = 'changed';
SELECT lives_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''s18.tag'')', :ts),
                'a keyless table referenced only NOT ENFORCED from outside can be replaced');
SELECT is(s18.checksum('s18.tag'), :'tag_before', 'and it is identical to the snapshot (checksum)');
ALTER TABLE s18.tagged ADD CONSTRAINT tagged_enforced FOREIGN KEY (tag) REFERENCES s18.tag (name);
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''s18.tag'')', :ts), '23503', NULL,
                 'control: an enforced reference from outside refuses the keyless replace');

-- WITHOUT OVERLAPS keys: not a btree key, so the restore key comes from another unique index or there is none.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE s18.booking (room int, during tsrange, code text NOT NULL UNIQUE, note text,
                          PRIMARY KEY (room, during WITHOUT OVERLAPS));
INSERT INTO s18.booking SELECT i % 5, tsrange('2026-01-01'::timestamp + i * interval '1 day', '2026-01-01'::timestamp + (i + 1) * interval '1 day'),
                               'c' || i, 'n' || i FROM generate_series(1, 100) i;
CREATE TABLE s18.booking_nokey (room int, during tsrange, note text, PRIMARY KEY (room, during WITHOUT OVERLAPS));
INSERT INTO s18.booking_nokey SELECT room, during, note FROM s18.booking;
SELECT s18.checksum('s18.booking') AS bk_before \gset
SELECT s18.checksum('s18.booking_nokey') AS nk_before \gset
SELECT backupkit.snapshot_tables('{s18.booking,s18.booking_nokey}', 'without overlaps') AS ws \gset
SELECT is((SELECT key_columns FROM backupkit.snapshot_table WHERE snapshot_id = :ws AND table_name = 'booking'),
          '{code}'::text[], 'the key of a table with a WITHOUT OVERLAPS primary key is its unique btree index');
SELECT is((SELECT key_columns FROM backupkit.snapshot_table WHERE snapshot_id = :ws AND table_name = 'booking_nokey'),
          NULL, 'with no other unique index the table is keyless');
UPDATE s18.booking SET note = 'changed' WHERE room = 2;
DELETE FROM s18.booking WHERE room = 3;
SELECT lives_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''s18.booking'', ''merge'')', :ws),
                'merge by the unique index works');
SELECT is(s18.checksum('s18.booking'), :'bk_before', 'merge: identical (checksum)');
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''s18.booking_nokey'', ''merge'')', :ws), '22023',
                 NULL, 'merge of a table keyed only WITHOUT OVERLAPS needs a key');
DELETE FROM s18.booking_nokey WHERE room = 1;
SELECT is((backupkit.restore_table_from_snapshot(:ws, 's18.booking_nokey')->>'rows_in_snapshot') || ':' ||
          s18.checksum('s18.booking_nokey'), '100:' || :'nk_before', 'replace of the keyless one is identical (checksum)');

\else
SELECT skip('PostgreSQL 18 features (virtual generated columns, NOT ENFORCED foreign keys, WITHOUT OVERLAPS keys) need server 18 or later; this is ' || current_setting('server_version'), 31);
\endif

SELECT * FROM finish();
ROLLBACK;
