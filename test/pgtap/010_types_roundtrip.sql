-- Faithfulness: every built-in scalar type (and arrays, composites, ranges, enums, domains, TOAST, generated,
-- identity, serial, dropped columns, partitions, odd names, NULLs) survives snapshot -> damage -> restore,
-- checked with a whole-table checksum, for both compressions, modes replace and merge, both restore paths
-- (COPY after TRUNCATE, and staged DELETE/UPDATE/INSERT), and under odd session settings.
BEGIN;
SELECT plan(67);

CREATE SCHEMA rt;
CREATE TYPE rt.mood AS ENUM ('sad', 'ok', 'happy ''quoted''');
CREATE TYPE rt.pair AS (a integer, b text, c rt.mood);
CREATE DOMAIN rt.posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN rt.intarr AS integer[];
CREATE TYPE rt.floatrange AS RANGE (subtype = float8);

-- Whole-table checksum, with the partition each row lives in.
CREATE FUNCTION rt.checksum(t regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
    EXECUTE format('SELECT count(*) || '':'' || md5(coalesce(string_agg(rt_row.tableoid::regclass::text || '':'' || rt_row::text, '','' ORDER BY rt_row.tableoid::regclass::text || '':'' || rt_row::text), '''')) FROM %s rt_row', t) INTO h;
    RETURN h;
END $$;

-- Damage: 'truncate'; 'delete_update' (deletes and updates); 'full' (deletes, updates, inserts).
CREATE FUNCTION rt.damage(t regclass, how text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF how = 'truncate' THEN
        EXECUTE format('TRUNCATE %s', t);
        RETURN;
    END IF;
    EXECUTE format('DELETE FROM %s WHERE id %% 3 = 0', t);
    EXECUTE format('UPDATE %s SET note = ''damaged'' WHERE id %% 3 = 1', t);
    IF how = 'full' THEN
        EXECUTE format('INSERT INTO %s (id, note) OVERRIDING SYSTEM VALUE VALUES (100000, ''intruder'')', t);
    END IF;
END $$;

-- The round trip: 'ok' or what went wrong. restorer: a role to restore as (NULL: the current role).
CREATE FUNCTION rt.roundtrip(t regclass, compression text, mode text, how text, restorer text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before text := rt.checksum(t);
    damaged text;
    after text;
    sid bigint;
    report jsonb;
    expect_path text := CASE WHEN restorer IS NOT NULL THEN 'staged' END;
BEGIN
    IF restorer IS NOT NULL THEN
        EXECUTE format('SET LOCAL ROLE %I', restorer);
    END IF;
    sid := backupkit.snapshot_tables(ARRAY[t], 'roundtrip', compression);
    PERFORM rt.damage(t, how);
    damaged := rt.checksum(t);
    IF damaged = before THEN
        RETURN 'damage changed nothing';
    END IF;
    report := backupkit.restore_table_from_snapshot(sid, t, mode);
    after := rt.checksum(t);
    PERFORM backupkit.drop_snapshot(sid);
    IF restorer IS NOT NULL THEN
        RESET ROLE;
    END IF;
    IF report->>'path' <> coalesce(expect_path, report->>'path') THEN
        RETURN format('took path %s, expected %s', report->>'path', expect_path);
    END IF;
    IF after = before THEN
        RETURN 'ok';
    END IF;
    RETURN format('before %s after %s report %s', before, after, report);
END $$;

-- One column per type; row 1 and 2 hold edge values, row 3 only NULLs.
CREATE TABLE rt.scalars (
    id integer PRIMARY KEY, note text,
    i2 smallint, i4 integer, i8 bigint, num numeric, num_t numeric(12,4), f4 real, f8 double precision,
    m money, t text, vc varchar(20), ch char(6), "char" "char", nm name, ba bytea, b boolean,
    d date, tm time, tmtz timetz, ts timestamp, tstz timestamptz, iv interval, ts3 timestamp(3),
    u uuid, ip inet, cidr_ cidr, mac macaddr, mac8 macaddr8, bt bit(5), vb varbit,
    js json, jsb jsonb, x xml, tsv tsvector, tsq tsquery,
    pt point, ln line, ls lseg, bx box, pa path, pg polygon, ci circle,
    lsn pg_lsn, o oid, rc regclass, rt_ regtype, rp regproc, rpd regprocedure, ro regoper, rod regoperator,
    rn regnamespace, rr regrole, rcfg regconfig, rdict regdictionary, rcoll regcollation, x8 xid8, ti tid
);
INSERT INTO rt.scalars VALUES
(1, 'edge low', -32768, -2147483648, -9223372036854775808, 'NaN', -99999999.9999, '-Infinity', '-0',
 '-92233720368547758.08', E'multi-byte: héllo 日本語 🎉, back\\slash \\N, quotes '' " , tab\t nl\n cr\r', 'x', 'ab', 'q', 'nm',
 '\x00ff0000de00ad'::bytea, false,
 '4713-01-01 BC', '00:00:00', '00:00:00+15:59', '-infinity', '-infinity', '-178000000 years -1 mons -3 days -04:05:06.789', '2000-01-01 00:00:00.123',
 '00000000-0000-0000-0000-000000000000', '::1/128', '10.0.0.0/8', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00', B'00000', B'',
 '{"b": 1, "a": 2, "b": 3,   "nested" : [1, 2.50, "x"]}', '{"b": 1, "a": [1, 2.50, null], "": "\u00e9"}', '<a x="1">t&amp;</a><b/>', 'a:1A fat:2B,3C cat''s', 'fat & (rat | !cat) <-> dog:*',
 '(0,0)', '{1,-1,0}', '[(0,0),(1,1)]', '(1,1),(0,0)', '[(0,0),(1,1),(2,0)]', '((0,0),(1,1),(1,0))', '<(0,0),1>',
 '0/0', 0, 'pg_class', 'integer', 'now', 'sum(bigint)', '|/', '+(integer,integer)',
 'pg_catalog', 'postgres', 'english', 'simple', '"C"', '0', '(0,1)'),
(2, 'edge high', 32767, 2147483647, 9223372036854775807, '-Infinity', 12345678.1234, 'NaN', 'Infinity',
 '92233720368547758.07', '', 'y', '', E'\\', 'x', ''::bytea, true,
 '294276-12-31', '24:00:00', '23:59:59.999999-15:59', 'infinity', 'infinity', '1 year 2 mons 3 days 04:05:06.000001', '1999-12-31 23:59:59.999',
 'ffffffff-ffff-ffff-ffff-ffffffffffff', '2001:db8::1/64', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff', B'11111', B'1010101010101',
 '[]', '{}', 'just text', '', '!a',
 '(1e+300,-1.5e-300)', '{0,1,-2.5}', '[(1,2),(3,4)]', '(2,2),(2,2)', '((0,0),(1,1))', '((0,0))', '<(1e10,1e-10),0.5>',
 'FFFFFFFF/FFFFFFFF', 4294967295, 'rt.scalars', 'rt.pair', 'pg_catalog.textlen', 'lower(text)', '||/', '-(NONE,bigint)',
 'rt', 'pg_read_all_data', 'simple', 'english_stem', '"POSIX"', '18446744073709551615', '(4294967295,65535)'),
(3, NULL, NULL, NULL, NULL, 'Infinity', NULL, 'Infinity', '1.17549435e-38',
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(4, 'float precision', 1, 1, 1, '0.1000000000000000000000000000000000001', 0, '3.4028235e+38', '2.2250738585072014e-308',
 '0', E'\\x00 not bytea', 'z', 'abcdef', 'z', 'z', '\x5c30'::bytea, NULL,
 '2000-02-29', '12:34:56.789', '12:34:56+05:45', '1900-01-01 00:00:00', '1900-01-01 00:00:00+05:45', '-1 days +02:00', NULL,
 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', '192.168.0.0/24', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', B'10101', B'0',
 'null', 'null', '<?xml version="1.0"?><r/>', 'ünïcode:1', 'ünï & cöde',
 '(-0,0)', '{1,0,-0.5}', '[(0,0),(0,0)]', '(0,0),(0,0)', '[(0,0)]', '((1,1),(2,2),(3,1))', '<(0,0),0>',
 '16/B374D848', 42, 'pg_type', 'timestamp with time zone', 'int4in', 'int4in(cstring)', '||/', '@@(tsvector,tsquery)',
 'public', 'pg_monitor', 'french', 'french_stem', '"default"', '42', '(7,7)');

-- Arrays, composites, ranges, multiranges, enums, domains.
CREATE TABLE rt.structured (
    id integer PRIMARY KEY, note text,
    a1 integer[], a2 text[][], a3 numeric[], a4 rt.pair[], a5 timestamptz[], a6 bytea[],
    p rt.pair, e rt.mood, ea rt.mood[], dpos rt.posint, darr rt.intarr,
    r1 int4range, r2 numrange, r3 tstzrange, r4 daterange, r5 int8range, r6 tsrange, r7 rt.floatrange,
    mr1 int4multirange, mr2 datemultirange, mr3 nummultirange
);
INSERT INTO rt.structured VALUES
(1, 'arrays', '[0:1][-2:-1]={{1,NULL},{3,4}}', '{{"a,b","NULL"},{NULL,"x\"y"}}', '{NaN,Infinity,-Infinity,1.5}',
 ARRAY[ROW(1, 'x,y', 'ok')::rt.pair, ROW(NULL, NULL, NULL)::rt.pair, NULL], '{infinity,-infinity,"2020-01-01 00:00:00+00"}', '{"\\x00",NULL}',
 ROW(1, E'a"b\\c(d),e', 'happy ''quoted''')::rt.pair, 'happy ''quoted''', '{sad,"happy ''quoted''",NULL}', 7, '[5:6]={1,2}',
 'empty', '(,)', '[-infinity,infinity)', '[2020-01-01,infinity)', '[-9223372036854775808,9223372036854775807)', '("2020-01-01 00:00","2020-01-02 00:00"]', '[-Infinity,NaN]',
 '{}', '{[2020-01-01,2020-02-01),[2021-01-01,)}', '{[1.5,2.5],(3,4)}'),
(2, 'empty arrays', '{}', '{}', '{}', '{}', '{}', '{}',
 ROW(NULL, NULL, NULL)::rt.pair, 'sad', '{}', 1, '{}',
 '[1,2)', '[0.1,0.2]', 'empty', 'empty', 'empty', 'empty', 'empty',
 '{[1,3),[5,7)}', '{}', '{}'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- A value of more than 10 MB (TOAST) next to small ones.
CREATE TABLE rt.toasted (id integer PRIMARY KEY, note text, big text, bigb bytea);
INSERT INTO rt.toasted
SELECT 1, 'big', string_agg(md5(i::text) || E'\\é', '' ORDER BY i), NULL FROM generate_series(1, 330000) i;
INSERT INTO rt.toasted
SELECT 2, 'big bytea', NULL, decode(string_agg(md5(i::text), '' ORDER BY i), 'hex') FROM generate_series(1, 700000) i;
INSERT INTO rt.toasted VALUES (3, 'small', 'x', '\x00');

-- Generated, identity ALWAYS / BY DEFAULT, serial, dropped columns.
CREATE TABLE rt.generated (id integer PRIMARY KEY, note text, n numeric, g numeric GENERATED ALWAYS AS (n * 2 + id) STORED);
INSERT INTO rt.generated (id, note, n) SELECT i, 'g' || i, i / 7.0 FROM generate_series(1, 30) i;
CREATE TABLE rt.ident_always (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text);
INSERT INTO rt.ident_always (note) SELECT 'a' || i FROM generate_series(1, 30) i;
CREATE TABLE rt.ident_default (id integer GENERATED BY DEFAULT AS IDENTITY (START WITH 10 INCREMENT BY 5) PRIMARY KEY, note text);
INSERT INTO rt.ident_default (note) SELECT 'd' || i FROM generate_series(1, 30) i;
CREATE TABLE rt.serial_t (id serial PRIMARY KEY, note text);
INSERT INTO rt.serial_t (note) SELECT 's' || i FROM generate_series(1, 30) i;
CREATE TABLE rt.dropped (a_gone text, id integer, b_gone int, note text, c text, d_gone int);
INSERT INTO rt.dropped SELECT 'x', i, i, 'n' || i, 'c' || i, i FROM generate_series(1, 30) i;
ALTER TABLE rt.dropped DROP COLUMN a_gone;
ALTER TABLE rt.dropped DROP COLUMN b_gone;
ALTER TABLE rt.dropped DROP COLUMN d_gone;
INSERT INTO rt.dropped VALUES (31, 'after drop', NULL), (31, 'duplicate without key', NULL);

-- Partitioned: rows must go back to their partitions (the checksum includes the partition).
CREATE TABLE rt.parted (id integer, note text, day date DEFAULT '2021-03-03', PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE rt.parted_2020 PARTITION OF rt.parted FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE rt.parted_2021 PARTITION OF rt.parted FOR VALUES FROM ('2021-01-01') TO ('2022-01-01') PARTITION BY LIST (id);
CREATE TABLE rt.parted_2021_odd PARTITION OF rt.parted_2021 FOR VALUES IN (1, 3, 5, 7, 9, 11, 13, 15, 17, 19);
CREATE TABLE rt.parted_2021_rest PARTITION OF rt.parted_2021 DEFAULT;
CREATE TABLE rt.parted_other (note text, day date NOT NULL, id integer NOT NULL);
ALTER TABLE rt.parted ATTACH PARTITION rt.parted_other DEFAULT;
INSERT INTO rt.parted SELECT i, 'p' || i, date '2020-06-01' + i * 20 FROM generate_series(1, 40) i;

-- Quoted mixed-case and unicode names.
CREATE SCHEMA "Schéma ""ü"" ;x";
CREATE TABLE "Schéma ""ü"" ;x"."Tab;le ""Ω"" DROP" (id integer PRIMARY KEY, note text, "Col Ümlaut" text, "select" int, "a""b" text);
INSERT INTO "Schéma ""ü"" ;x"."Tab;le ""Ω"" DROP" SELECT i, 'q' || i, 'ü' || i, i, NULL FROM generate_series(1, 12) i;

-- A role that may write but not TRUNCATE: restores take the staged (DELETE/UPDATE/INSERT) path.
CREATE ROLE rt_writer;
GRANT USAGE ON SCHEMA rt, "Schéma ""ü"" ;x", backupkit TO rt_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA rt, "Schéma ""ü"" ;x" TO rt_writer;
GRANT USAGE, UPDATE, SELECT ON ALL SEQUENCES IN SCHEMA rt TO rt_writer;
GRANT rt_writer TO CURRENT_USER;

CREATE TABLE rt.tables (t regclass, keyed boolean);
INSERT INTO rt.tables VALUES
('rt.scalars', true), ('rt.structured', true), ('rt.toasted', true), ('rt.generated', true),
('rt.ident_always', true), ('rt.ident_default', true), ('rt.serial_t', true), ('rt.dropped', false),
('rt.parted', true), ('"Schéma ""ü"" ;x"."Tab;le ""Ω"" DROP"', true);

-- 10 tables x (zstd, none) replace with full damage: 20 tests
SELECT is(rt.roundtrip(t, c, 'replace', 'full'), 'ok', format('replace %s (%s, delete+update+insert)', t, c))
  FROM rt.tables, (VALUES ('zstd'), ('none')) v(c) ORDER BY t::text, c;
-- truncate damage, zstd: 10 tests
SELECT is(rt.roundtrip(t, 'zstd', 'replace', 'truncate'), 'ok', format('replace %s after TRUNCATE', t))
  FROM rt.tables ORDER BY t::text;
-- merge on keyed tables, both compressions: 18 tests
SELECT is(rt.roundtrip(t, c, 'merge', 'delete_update'), 'ok', format('merge %s (%s)', t, c))
  FROM rt.tables, (VALUES ('zstd'), ('none')) v(c) WHERE keyed ORDER BY t::text, c;
-- staged replace path (no TRUNCATE privilege) for every table: 10 tests
SELECT is(rt.roundtrip(t, 'zstd', 'replace', 'full', 'rt_writer'), 'ok', format('staged replace %s as a role without TRUNCATE', t))
  FROM rt.tables ORDER BY t::text;

-- Sequences were set so that the next insert does not collide: 3 tests
SELECT lives_ok($$INSERT INTO rt.ident_always (note) VALUES ('next')$$, 'identity ALWAYS: next insert does not collide');
SELECT lives_ok($$INSERT INTO rt.ident_default (note) VALUES ('next')$$, 'identity BY DEFAULT: next insert does not collide');
SELECT lives_ok($$INSERT INTO rt.serial_t (note) VALUES ('next')$$, 'serial: next insert does not collide');

-- User triggers do not fire during a restore, also on the staged path (a referenced table takes it).
CREATE TABLE rt.trig (id integer PRIMARY KEY, note text);
CREATE FUNCTION rt.touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.note := NEW.note || ' (touched)';
    RETURN NEW;
END $$;
CREATE TRIGGER touch BEFORE INSERT OR UPDATE ON rt.trig FOR EACH ROW EXECUTE FUNCTION rt.touch();
INSERT INTO rt.trig SELECT i, 'r' || i FROM generate_series(1, 12) i;
CREATE TABLE rt.trig_child (id integer PRIMARY KEY, parent integer REFERENCES rt.trig);
INSERT INTO rt.trig_child VALUES (1, 1), (2, 4);
-- 3 tests
SELECT is(rt.roundtrip('rt.trig', c, m, d), 'ok', format('%s of a referenced table with a user trigger (%s): the trigger does not fire', m, c))
  FROM (VALUES ('zstd', 'replace', 'full'), ('none', 'replace', 'full'), ('zstd', 'merge', 'delete_update')) v(c, m, d);

-- Odd session settings, different between snapshot and restore; checksums compared under the same settings.
CREATE FUNCTION rt.odd_settings(which int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF which = 1 THEN
        PERFORM set_config('DateStyle', 'SQL, DMY', true);
        PERFORM set_config('IntervalStyle', 'sql_standard', true);
        PERFORM set_config('extra_float_digits', '-3', true);
        PERFORM set_config('TimeZone', 'Pacific/Chatham', true);
        PERFORM set_config('bytea_output', 'escape', true);
        BEGIN
            PERFORM set_config('lc_monetary', 'de_DE.UTF-8', true);
        EXCEPTION WHEN OTHERS THEN
            PERFORM set_config('lc_monetary', 'C.UTF-8', true);
        END;
    ELSE
        PERFORM set_config('DateStyle', 'German, MDY', true);
        PERFORM set_config('IntervalStyle', 'iso_8601', true);
        PERFORM set_config('extra_float_digits', '0', true);
        PERFORM set_config('TimeZone', 'America/St_Johns', true);
        PERFORM set_config('bytea_output', 'hex', true);
        PERFORM set_config('lc_monetary', 'C', true);
    END IF;
END $$;

CREATE FUNCTION rt.odd_roundtrip(t regclass, c text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before1 text; before2 text; after1 text; after2 text; sid bigint;
BEGIN
    PERFORM rt.odd_settings(2);
    before2 := rt.checksum(t);
    PERFORM rt.odd_settings(1);
    before1 := rt.checksum(t);
    sid := backupkit.snapshot_tables(ARRAY[t], 'odd', c);
    PERFORM rt.damage(t, 'full');
    PERFORM rt.odd_settings(2);
    PERFORM backupkit.restore_table_from_snapshot(sid, t, 'replace');
    after2 := rt.checksum(t);
    PERFORM rt.odd_settings(1);
    after1 := rt.checksum(t);
    PERFORM backupkit.drop_snapshot(sid);
    IF before1 = after1 AND before2 = after2 THEN
        RETURN 'ok';
    END IF;
    RETURN format('settings 1: %s -> %s; settings 2: %s -> %s', before1, after1, before2, after2);
END $$;

-- 3 tests
SELECT is(rt.odd_roundtrip(t, 'zstd'), 'ok', format('replace %s under odd, differing session settings', t))
  FROM rt.tables WHERE t IN ('rt.scalars'::regclass, 'rt.structured'::regclass, 'rt.parted'::regclass) ORDER BY t::text;

SELECT * FROM finish();
ROLLBACK;
