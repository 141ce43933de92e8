-- Security: data is read and written with the caller's privileges and row-level security; a role sees and
-- restores only its own snapshots (or those of roles it is a member of); storage tables are closed; no SQL
-- injection through labels or table names; a hostile search_path changes nothing.
BEGIN;
SELECT plan(53);

CREATE ROLE alice;
CREATE ROLE bob;
CREATE ROLE carol;
CREATE SCHEMA sec;
GRANT USAGE ON SCHEMA sec TO alice, bob, carol;
CREATE TABLE sec.t (id integer PRIMARY KEY, v text);
INSERT INTO sec.t SELECT i, 'v' || i FROM generate_series(1, 10) i;
GRANT SELECT, INSERT, UPDATE, DELETE ON sec.t TO alice;
GRANT SELECT ON sec.t TO bob;
CREATE FUNCTION sec.checksum(t regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
    EXECUTE format('SELECT count(*) || '':'' || pg_catalog.md5(coalesce(pg_catalog.string_agg(r::text, '','' ORDER BY r::text), '''')) FROM %s r', t) INTO h;
    RETURN h;
END $$;
GRANT EXECUTE ON FUNCTION sec.checksum(regclass) TO PUBLIC;

-- The extension is usable by ordinary roles (its tables are not).
SELECT ok(has_schema_privilege('carol', 'backupkit', 'USAGE'), 'ordinary roles may use schema backupkit');

-- Privileges on the table
SET LOCAL ROLE carol;
SELECT throws_ok($$SELECT backupkit.snapshot_tables(ARRAY['sec.t'::regclass])$$, '42501', 'permission denied for table t',
                 'a role without SELECT cannot snapshot the table');
RESET ROLE;
SELECT is((SELECT count(*) FROM backupkit.snapshot WHERE label IS NULL AND created_by = 'carol'::regrole), 0::bigint,
          'the refused snapshot left nothing behind');

SET LOCAL ROLE alice;
SELECT backupkit.snapshot_tables(ARRAY['sec.t'::regclass], 'alice snap') AS alice_sid \gset
RESET ROLE;
SET LOCAL ROLE bob;
SELECT lives_ok($$SELECT backupkit.snapshot_tables(ARRAY['sec.t'::regclass], 'bob snap')$$, 'a role with SELECT can snapshot');
RESET ROLE;
SELECT snapshot_id AS bob_sid FROM backupkit.snapshot WHERE label = 'bob snap' \gset

SET LOCAL ROLE bob;
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''sec.t'')', :bob_sid), '42501', 'permission denied for table t',
                 'a role without INSERT/DELETE cannot restore its own snapshot');
SELECT throws_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''sec.t'')', :alice_sid), '42501', format('permission denied for snapshot %s', :alice_sid),
                 'a role cannot restore a snapshot another role created');
SELECT throws_ok(format('SELECT * FROM backupkit.snapshot_rows(%s, ''sec.t'')', :alice_sid), '42501', format('permission denied for snapshot %s', :alice_sid),
                 'a role cannot read the rows of a snapshot another role created');
SELECT throws_ok(format('SELECT backupkit.drop_snapshot(%s)', :alice_sid), '42501', format('permission denied for snapshot %s', :alice_sid),
                 'a role cannot drop a snapshot another role created');
SELECT throws_ok(format('SELECT * FROM backupkit.snapshot_contents(%s)', :alice_sid), '42501', format('permission denied for snapshot %s', :alice_sid),
                 'a role cannot list the contents of a snapshot another role created');
SELECT is((SELECT array_agg(label ORDER BY label) FROM backupkit.snapshots WHERE label LIKE '% snap'), ARRAY['bob snap'],
          'backupkit.snapshots shows bob only his own snapshot');
RESET ROLE;

-- Restore with the right privileges, and without TRUNCATE (staged path)
SET LOCAL ROLE alice;
UPDATE sec.t SET v = 'damaged' WHERE id < 4;
DELETE FROM sec.t WHERE id > 8;
SELECT is(backupkit.restore_table_from_snapshot(:alice_sid, 'sec.t')->>'inserted', '2', 'alice restores her snapshot with INSERT/UPDATE/DELETE');
SELECT is(sec.checksum('sec.t'), (SELECT sec.checksum('sec.t')), 'checksum helper works as alice');
SELECT is((SELECT count(*) FROM sec.t WHERE v = 'damaged'), 0::bigint, 'alice''s restore undid the damage');
SELECT is((SELECT count(*) FROM backupkit.snapshot_rows(:alice_sid, 'sec.t')), 10::bigint, 'alice reads her snapshot''s rows');
SELECT is((SELECT array_agg(label ORDER BY label) FROM backupkit.snapshots WHERE label LIKE '% snap'), ARRAY['alice snap'],
          'backupkit.snapshots shows alice only her own snapshot');
RESET ROLE;
SELECT is((SELECT array_agg(label ORDER BY label) FROM backupkit.snapshots WHERE label LIKE '% snap'), ARRAY['alice snap', 'bob snap'],
          'a superuser sees every snapshot');

-- Membership in the creator role
GRANT alice TO carol;
SET LOCAL ROLE carol;
SELECT is((SELECT array_agg(label ORDER BY label) FROM backupkit.snapshots WHERE label LIKE '% snap'), ARRAY['alice snap'],
          'a member of the creator role sees its snapshots');
SELECT lives_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, ''sec.t'')', :alice_sid),
                'a member of the creator role restores its snapshots (with the privileges it inherits)');
RESET ROLE;
REVOKE alice FROM carol;

-- snapshot_rows needs SELECT now, not only at capture time
REVOKE SELECT ON sec.t FROM alice;
SET LOCAL ROLE alice;
SELECT throws_ok(format('SELECT * FROM backupkit.snapshot_rows(%s, ''sec.t'')', :alice_sid), '42501', 'permission denied for table "sec.t"',
                 'snapshot_rows is refused once the creator lost SELECT on the table');
RESET ROLE;
GRANT SELECT ON sec.t TO alice;

-- Storage tables are closed to non-superusers
SET LOCAL ROLE alice;
SELECT throws_ok('SELECT * FROM backupkit.snapshot_chunk', '42501', 'permission denied for table snapshot_chunk', 'no direct SELECT on backupkit.snapshot_chunk');
SELECT throws_ok('SELECT * FROM backupkit.snapshot', '42501', 'permission denied for table snapshot', 'no direct SELECT on backupkit.snapshot');
SELECT throws_ok('SELECT * FROM backupkit.snapshot_table', '42501', 'permission denied for table snapshot_table', 'no direct SELECT on backupkit.snapshot_table');
SELECT throws_ok('DELETE FROM backupkit.snapshot_chunk', '42501', 'permission denied for table snapshot_chunk', 'no direct DELETE on backupkit.snapshot_chunk');
SELECT throws_ok($$UPDATE backupkit.snapshot SET created_by = 'alice'::regrole$$, '42501', 'permission denied for table snapshot', 'no direct UPDATE on backupkit.snapshot');
RESET ROLE;

-- Row-level security: hidden rows are neither captured nor deleted nor changed
CREATE TABLE sec.r (id integer PRIMARY KEY, owner name NOT NULL, v text);
INSERT INTO sec.r SELECT i, CASE WHEN i % 2 = 0 THEN 'alice' ELSE 'bob' END, 'v' || i FROM generate_series(1, 20) i;
ALTER TABLE sec.r ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON sec.r USING (owner = current_user) WITH CHECK (owner = current_user);
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON sec.r TO alice, bob;
CREATE TEMPORARY TABLE bob_rows_before AS SELECT * FROM sec.r WHERE owner = 'bob';
SET LOCAL ROLE alice;
SELECT backupkit.snapshot_tables(ARRAY['sec.r'::regclass], 'alice rls') AS rls_sid \gset
SELECT is((SELECT count(*) FROM backupkit.snapshot_rows(:rls_sid, 'sec.r')), 10::bigint, 'RLS: only the 10 visible rows were captured');
SELECT is((SELECT count(*) FROM backupkit.snapshot_rows(:rls_sid, 'sec.r') r WHERE r->>'owner' <> 'alice'), 0::bigint,
          'RLS: no hidden row in the snapshot');
SELECT sec.checksum('sec.r') AS alice_view_before \gset
DELETE FROM sec.r WHERE id IN (2, 4);
UPDATE sec.r SET v = 'damaged' WHERE id = 6;
INSERT INTO sec.r VALUES (100, 'alice', 'intruder');
SELECT is(backupkit.restore_table_from_snapshot(:rls_sid, 'sec.r')->>'path', 'staged', 'RLS: replace takes the staged path (no TRUNCATE)');
SELECT is(sec.checksum('sec.r'), :'alice_view_before', 'RLS: alice''s rows are back as captured');
RESET ROLE;
SELECT is((SELECT count(*) FROM sec.r), 20::bigint, 'RLS: the hidden rows were not deleted by the replace');
SELECT set_eq('SELECT * FROM sec.r WHERE owner = ''bob''', 'SELECT * FROM bob_rows_before', 'RLS: the hidden rows are unchanged');
-- A member of the creator role reads captured rows of an RLS table only as the creator.
GRANT alice TO bob;
SET LOCAL ROLE bob;
SELECT throws_ok(format('SELECT count(*) FROM backupkit.snapshot_rows(%s, ''sec.r'')', :rls_sid), '42501',
                 'permission denied to read captured rows of table "sec.r"',
                 'RLS: a member of the creator cannot read rows captured under the creator''s policies');
SELECT throws_ok(format('SELECT count(*) FROM backupkit.diff(%s, ''sec.r'')', :rls_sid), '42501',
                 'permission denied to read captured rows of table "sec.r"', 'RLS: nor diff them');
RESET ROLE;
REVOKE alice FROM bob;

-- SQL injection through labels and table names
SELECT backupkit.snapshot_tables(ARRAY['sec.t'::regclass], $l$x'); DROP TABLE sec.t; --$l$) AS inj_sid \gset
SELECT is((SELECT label FROM backupkit.snapshots WHERE id = :inj_sid), $l$x'); DROP TABLE sec.t; --$l$, 'a label with quotes and a semicolon is stored as is');
SELECT has_table('sec', 't', 'and sec.t still exists');
SELECT backupkit.snapshot_tables(ARRAY['sec.t'::regclass], E'\\''; SELECT pg_sleep(10); -- ünï \U0001F600') AS inj2_sid \gset
SELECT is((SELECT label FROM backupkit.snapshots WHERE id = :inj2_sid), E'\\''; SELECT pg_sleep(10); -- ünï \U0001F600', 'a label with backslashes and unicode is stored as is');
CREATE SCHEMA "sec'; DROP SCHEMA sec CASCADE; --";
CREATE TABLE "sec'; DROP SCHEMA sec CASCADE; --"."t""); DROP TABLE sec.t; -- ü😀" ("id"";DELETE FROM sec.t;--" integer PRIMARY KEY, "v'); DROP TABLE sec.t; --" text);
INSERT INTO "sec'; DROP SCHEMA sec CASCADE; --"."t""); DROP TABLE sec.t; -- ü😀" SELECT i, 'x' || i FROM generate_series(1, 5) i;
SELECT sec.checksum('"sec''; DROP SCHEMA sec CASCADE; --"."t""); DROP TABLE sec.t; -- ü😀"') AS hostile_before \gset
SELECT backupkit.snapshot_tables(ARRAY['"sec''; DROP SCHEMA sec CASCADE; --"."t""); DROP TABLE sec.t; -- ü😀"'::regclass]) AS inj3_sid \gset
DELETE FROM "sec'; DROP SCHEMA sec CASCADE; --"."t""); DROP TABLE sec.t; -- ü😀" WHERE "id"";DELETE FROM sec.t;--" < 3;
SELECT lives_ok(format('SELECT backupkit.restore_table_from_snapshot(%s, %L)', :inj3_sid, '"sec''; DROP SCHEMA sec CASCADE; --"."t""); DROP TABLE sec.t; -- ü😀"'),
                'a table whose schema, table and column names carry SQL is restored');
SELECT is(sec.checksum('"sec''; DROP SCHEMA sec CASCADE; --"."t""); DROP TABLE sec.t; -- ü😀"'), :'hostile_before', 'and its contents are back');
SELECT is((SELECT count(*) FROM sec.t), 10::bigint, 'and sec.t is untouched');
SELECT is((SELECT count(*) FROM backupkit.snapshot_rows(:inj3_sid, '"sec''; DROP SCHEMA sec CASCADE; --"."t""); DROP TABLE sec.t; -- ü😀"') r
            WHERE r ? 'id";DELETE FROM sec.t;--'), 5::bigint, 'snapshot_rows keys the hostile column names verbatim');
-- Table names passed as text reach backupkit itself (a regclass argument would be refused by the cast before
-- backupkit runs): they are looked up as names and quoted when written, never run.
SELECT throws_ok(format($$SELECT count(*) FROM backupkit.snapshot_table_rows(%s, 'sec.t; DROP TABLE sec.t')$$, :alice_sid), '42P01',
                 format('table "sec.t; DROP TABLE sec.t" is not part of snapshot %s', :alice_sid),
                 'snapshot_table_rows looks a table name carrying SQL up as a name');
SELECT is(backupkit.recreate_table(:alice_sid, 'sec.t', $$"t'); DROP TABLE sec.t; --"$$)::text, $$sec."t'); DROP TABLE sec.t; --"$$,
          'recreate_table creates a new table named by text carrying SQL under that exact name');
SELECT is((SELECT count(*) FROM sec."t'); DROP TABLE sec.t; --"), 10::bigint, 'with the captured rows');
SELECT is((SELECT count(*) FROM sec.t), 10::bigint, 'and sec.t is untouched by the name');

-- A hostile search_path: objects named like pg_catalog's, earlier on the path, that fail loudly when used.
CREATE SCHEMA evil;
CREATE FUNCTION evil.hostile() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hostile object called'; END $$;
CREATE FUNCTION evil.md5(text) RETURNS text LANGUAGE sql AS $$ SELECT evil.hostile()::text $$;
CREATE FUNCTION evil.textne_evil(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT evil.hostile() $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.textne_evil);
CREATE FUNCTION evil.int4eq_evil(integer, integer) RETURNS boolean LANGUAGE sql AS $$ SELECT evil.hostile() $$;
CREATE OPERATOR evil.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = evil.int4eq_evil);
CREATE FUNCTION evil.count_sfunc(bigint) RETURNS bigint LANGUAGE sql AS $$ SELECT evil.hostile()::int::bigint $$;
CREATE AGGREGATE evil.count(*) (SFUNC = evil.count_sfunc, STYPE = bigint);
CREATE FUNCTION evil.quote_ident(text) RETURNS text LANGUAGE sql AS $$ SELECT evil.hostile()::text $$;
CREATE FUNCTION evil.setval(regclass, bigint, boolean) RETURNS bigint LANGUAGE sql AS $$ SELECT evil.hostile()::int::bigint $$;
CREATE FUNCTION evil.jsonb_array_elements(jsonb) RETURNS SETOF jsonb LANGUAGE sql AS $$ SELECT NULL::jsonb WHERE evil.hostile() $$;
CREATE FUNCTION evil.to_regclass(text) RETURNS regclass LANGUAGE sql AS $$ SELECT NULL::regclass WHERE evil.hostile() $$;
CREATE FUNCTION evil.current_setting(text) RETURNS text LANGUAGE sql AS $$ SELECT evil.hostile()::text $$;
CREATE FUNCTION evil.record_image_ne(record, record) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RETURN evil.hostile(); END $$;
CREATE FUNCTION evil.pg_has_role(oid, text) RETURNS boolean LANGUAGE sql AS $$ SELECT evil.hostile() $$;
CREATE TABLE sec.h (id serial PRIMARY KEY, name text UNIQUE, n integer);
INSERT INTO sec.h (name, n) SELECT 'n' || i, i FROM generate_series(1, 20) i;
CREATE TABLE sec.h_child (id integer PRIMARY KEY, h integer REFERENCES sec.h);
INSERT INTO sec.h_child VALUES (1, 1);
SELECT sec.checksum('sec.h') AS h_before \gset
-- Runs a statement with the hostile path first (pgTAP itself must not run under it): 'ok' or the error.
CREATE FUNCTION sec.hostile_exec(stmt text) RETURNS text LANGUAGE plpgsql
SET search_path = evil, pg_catalog, sec, public AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT is(sec.hostile_exec('SELECT md5(''x'')'), 'P0001: hostile object called', 'the hostile path does catch unqualified names');
SELECT is(sec.hostile_exec($$SELECT backupkit.snapshot_tables(ARRAY['sec.h'::regclass], 'hostile path')$$), 'ok', 'snapshot under a hostile search_path');
SELECT snapshot_id AS h_sid FROM backupkit.snapshot WHERE label = 'hostile path' \gset
DELETE FROM sec.h WHERE id > 15;
UPDATE sec.h SET n = -n WHERE id < 5;
INSERT INTO sec.h (name, n) VALUES ('intruder', 0);
SELECT is(sec.hostile_exec(format('SELECT backupkit.restore_table_from_snapshot(%s, ''sec.h'')', :h_sid)), 'ok', 'keyed replace (staged path) under a hostile search_path');
SELECT is(sec.hostile_exec(format('SELECT backupkit.restore_table_from_snapshot(%s, ''sec.h'', ''merge'')', :h_sid)), 'ok', 'merge under a hostile search_path');
SELECT is(sec.hostile_exec(format('SELECT * FROM backupkit.snapshot_rows(%s, ''sec.h'')', :h_sid)), 'ok', 'snapshot_rows under a hostile search_path');
SELECT is(sec.hostile_exec(format('SELECT * FROM backupkit.snapshot_contents(%s)', :h_sid)), 'ok', 'snapshot_contents under a hostile search_path');
SELECT is(sec.hostile_exec('SELECT * FROM backupkit.snapshots'), 'ok', 'the snapshots view under a hostile search_path');
SELECT is(sec.checksum('sec.h'), :'h_before', 'the table is back as captured after a restore under a hostile search_path');
SELECT lives_ok($$INSERT INTO sec.h (name, n) VALUES ('next', 21)$$, 'and its serial sequence was set');
SELECT is(sec.hostile_exec(format('SELECT backupkit.drop_snapshot(%s)', :h_sid)), 'ok', 'drop_snapshot under a hostile search_path');

SELECT * FROM finish();
ROLLBACK;
