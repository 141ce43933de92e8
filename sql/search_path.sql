-- Every function of the extension pins search_path = pg_catalog, pg_temp on its own definition, so that no
-- object of the caller's search_path stands in for a built-in one inside backupkit. The query lists every
-- function that belongs to the extension (pg_depend) without exactly that setting; the expected output is the
-- list of the justified exemptions (see their comments in sql/install): a new function without the setting
-- adds a row here and fails the suite.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS backupkit;
RESET client_min_messages;
CREATE VIEW public.bk_unpinned_functions AS
SELECT p.oid::regprocedure AS function, p.proconfig
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_proc p ON p.oid = d.objid
 WHERE d.classid = 'pg_catalog.pg_proc'::regclass
   AND d.refclassid = 'pg_catalog.pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'backupkit')
   AND d.deptype = 'e'
   AND p.prokind <> 'a' -- an aggregate takes no settings; its support functions are listed like any other
   AND p.proconfig IS DISTINCT FROM '{"search_path=pg_catalog, pg_temp"}'::text[];
SELECT function, proconfig FROM public.bk_unpinned_functions ORDER BY function::text;
-- the check sees every function of the extension, whatever its schema and language
SELECT count(*) > 40 AS many_functions_checked
  FROM pg_catalog.pg_depend d
 WHERE d.classid = 'pg_catalog.pg_proc'::regclass
   AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'backupkit') AND d.deptype = 'e';
-- positive control: a function added to the extension without the setting is listed
BEGIN;
CREATE FUNCTION public.bk_unpinned_example() RETURNS integer LANGUAGE sql AS 'SELECT 1';
ALTER EXTENSION backupkit ADD FUNCTION public.bk_unpinned_example();
SELECT function, proconfig FROM public.bk_unpinned_functions ORDER BY function::text;
ROLLBACK;

-- check_poi_integrity looks its default tables up on the caller's search_path, then pins the search_path for
-- its own statements: under a hostile path (operators and aggregates named like pg_catalog's, first on the
-- path) it finds the caller's tables and calls none of the hostile objects.
CREATE SCHEMA sp;
CREATE SCHEMA sp_evil;
CREATE FUNCTION sp_evil.hostile() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hostile object called'; END $$;
CREATE FUNCTION sp_evil.int8eq_evil(bigint, bigint) RETURNS boolean LANGUAGE sql AS $$ SELECT sp_evil.hostile() $$;
CREATE OPERATOR sp_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sp_evil.int8eq_evil);
CREATE FUNCTION sp_evil.count_sfunc(bigint) RETURNS bigint LANGUAGE sql AS $$ SELECT sp_evil.hostile()::int::bigint $$;
CREATE AGGREGATE sp_evil.count(*) (SFUNC = sp_evil.count_sfunc, STYPE = bigint);
CREATE TABLE sp.poi_states (id bigint, poi_id bigint, valid_from timestamptz, valid_to timestamptz);
CREATE TABLE sp.poi_transitions (id bigint, poi_id bigint, from_state_id bigint, to_state_id bigint);
CREATE TABLE sp.poi_histories (id bigint, poi_id bigint, state_id bigint, transition_id bigint);
INSERT INTO sp.poi_states VALUES (1, 1, '2024-01-01', NULL), (2, 2, '2024-01-01', NULL);
-- (transition 2 starts from no state: its detail names only the state of the other POI it leads to)
INSERT INTO sp.poi_transitions VALUES (1, 1, NULL, 1), (2, 2, NULL, 1);
INSERT INTO sp.poi_histories VALUES (1, 1, 1, 1);
SET search_path = sp_evil, pg_catalog, sp;
-- the hostile path does catch unqualified names
SELECT 1::bigint = 1::bigint;
SELECT count(*) FROM sp.poi_states;
SELECT * FROM backupkit.check_poi_integrity();
RESET search_path;
DROP SCHEMA sp, sp_evil CASCADE;
DROP VIEW public.bk_unpinned_functions;
