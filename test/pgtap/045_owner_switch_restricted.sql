-- While backupkit runs as the extension owner (to write its own tables), it is a security-restricted operation,
-- as PostgreSQL's maintenance commands are: code that runs there cannot create temporary objects, prepare
-- statements, LISTEN or DISCARD, i.e. leave nothing behind that would later run with the owner's rights, and
-- cannot change role. No user-defined code runs there in normal use (see bk_owner_begin in
-- src/pg/storage/storage.cpp); a trigger put on backupkit.snapshot stands in for anything that ever would.
BEGIN;
SELECT plan(8);

CREATE TABLE public.owner_switch_t (id integer PRIMARY KEY);
INSERT INTO public.owner_switch_t VALUES (1);
CREATE TABLE public.owner_switch_seen (context text, statement text, outcome text);
-- Tries each statement and records what happened (the trigger itself never fails the operation).
CREATE FUNCTION public.owner_switch_probe() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    stmt text;
BEGIN
    INSERT INTO public.owner_switch_seen VALUES (TG_ARGV[0], 'current_user', current_user);
    FOREACH stmt IN ARRAY ARRAY['CREATE TEMP TABLE owner_switch_tmp_' || TG_ARGV[0] || ' (x integer)',
                                'PREPARE owner_switch_' || TG_ARGV[0] || ' AS SELECT 1', 'LISTEN owner_switch',
                                'DISCARD PLANS', 'SET ROLE NONE'] LOOP
        BEGIN
            EXECUTE stmt;
            INSERT INTO public.owner_switch_seen VALUES (TG_ARGV[0], split_part(stmt, ' ', 1), 'allowed');
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO public.owner_switch_seen VALUES (TG_ARGV[0], split_part(stmt, ' ', 1), SQLSTATE || ' ' || SQLERRM);
        END;
    END LOOP;
    RETURN NEW;
END $$;
CREATE FUNCTION public.owner_switch_outcomes(ctx text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(statement || ': ' || outcome, E'\n' ORDER BY statement)
      FROM public.owner_switch_seen WHERE context = ctx AND statement <> 'current_user' $$;

-- Positive control: the same statements, run by a trigger outside backupkit, are allowed.
CREATE TABLE public.owner_switch_plain (id integer);
CREATE TRIGGER owner_switch_probe BEFORE INSERT ON public.owner_switch_plain
    FOR EACH ROW EXECUTE FUNCTION public.owner_switch_probe('plain');
INSERT INTO public.owner_switch_plain VALUES (1);
SELECT is(public.owner_switch_outcomes('plain'),
          E'CREATE: allowed\nDISCARD: allowed\nLISTEN: allowed\nPREPARE: allowed\nSET: allowed',
          'outside backupkit the probe''s statements are allowed (positive control)');

CREATE TRIGGER owner_switch_probe BEFORE INSERT ON backupkit.snapshot
    FOR EACH ROW EXECUTE FUNCTION public.owner_switch_probe('owner');
SELECT ok(backupkit.snapshot_tables('{public.owner_switch_t}', 'owner switch') IS NOT NULL,
          'the snapshot is taken with the probe on backupkit.snapshot');
SELECT is((SELECT outcome FROM public.owner_switch_seen WHERE context = 'owner' AND statement = 'current_user'),
          (SELECT extowner::regrole::text FROM pg_extension WHERE extname = 'backupkit'),
          'the probe ran under the owner switch');
SELECT is((SELECT outcome FROM public.owner_switch_seen WHERE context = 'owner' AND statement = 'CREATE'),
          '42501 cannot create temporary table within security-restricted operation',
          'under the owner switch no temporary table can be created');
SELECT is((SELECT outcome FROM public.owner_switch_seen WHERE context = 'owner' AND statement = 'PREPARE'),
          '42501 cannot execute PREPARE within security-restricted operation',
          'nor a statement prepared for later');
SELECT is((SELECT outcome FROM public.owner_switch_seen WHERE context = 'owner' AND statement = 'LISTEN'),
          '42501 cannot execute LISTEN within security-restricted operation',
          'nor a notification channel listened to');
SELECT is((SELECT outcome FROM public.owner_switch_seen WHERE context = 'owner' AND statement = 'DISCARD'),
          '42501 cannot execute DISCARD within security-restricted operation',
          'nor session state discarded');
SELECT is((SELECT outcome FROM public.owner_switch_seen WHERE context = 'owner' AND statement = 'SET'),
          '42501 cannot set parameter "role" within security-definer function',
          'nor the role changed');

SELECT * FROM finish();
ROLLBACK;
