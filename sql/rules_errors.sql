-- Restores into tables with rules: a caller who does not own the table cannot disable its rules, and a failed
-- restore leaves every rule in the state it had (the rules themselves are tested in test/pgtap/240_rules.sql).
SET client_min_messages = warning;
-- Context lines name temporary tables and snapshot ids, which change from run to run.
\set SHOW_CONTEXT never
CREATE TABLE public.rules_err_t (id integer PRIMARY KEY, v text);
CREATE TABLE public.rules_err_log (id integer, v text);
CREATE RULE rules_err_also AS ON INSERT TO public.rules_err_t DO ALSO INSERT INTO public.rules_err_log VALUES (new.id, new.v);
CREATE RULE rules_err_replica AS ON UPDATE TO public.rules_err_t DO INSTEAD NOTHING;
ALTER TABLE public.rules_err_t ENABLE REPLICA RULE rules_err_replica;
INSERT INTO public.rules_err_t VALUES (1, 'a'), (2, 'b');

-- A role that may write the table but does not own it.
CREATE ROLE rules_errors_writer;
GRANT USAGE ON SCHEMA backupkit TO rules_errors_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.rules_err_t TO rules_errors_writer;
SET ROLE rules_errors_writer;
SELECT backupkit.snapshot_tables(ARRAY['public.rules_err_t'::regclass], 'rules_errors') AS sid \gset
DELETE FROM public.rules_err_t WHERE id = 1;
-- merge and missing write with INSERT and UPDATE, which the rule would rewrite: only the owner may disable it.
SELECT backupkit.restore_table_from_snapshot(:sid, 'public.rules_err_t', 'merge');
\echo :LAST_ERROR_SQLSTATE
-- fire_triggers is about triggers: rules never fire, so it changes nothing here.
SELECT backupkit.restore_table_from_snapshot(:sid, 'public.rules_err_t', 'missing', fire_triggers => true);
\echo :LAST_ERROR_SQLSTATE
SELECT backupkit.restore_snapshot(:sid, ARRAY['public.rules_err_t'::regclass], 'merge');
\echo :LAST_ERROR_SQLSTATE
-- replace without the TRUNCATE privilege cannot use COPY either.
SELECT backupkit.restore_table_from_snapshot(:sid, 'public.rules_err_t');
\echo :LAST_ERROR_SQLSTATE
-- A dry run disables nothing; it names the rules the restore would disable (the ENABLE REPLICA rule does not
-- fire outside replica role).
SELECT r->'rules_disabled' AS rules_disabled, r->'inserted' AS inserted
  FROM backupkit.restore_table_from_snapshot(:sid, 'public.rules_err_t', 'merge', true) r;
RESET ROLE;

-- With TRUNCATE, replace takes the copy path: COPY ignores rules, so nothing needs disabling.
GRANT TRUNCATE ON public.rules_err_t TO rules_errors_writer;
SET ROLE rules_errors_writer;
SELECT r->>'path' AS path, r->'rules_disabled' AS rules_disabled, r->'inserted' AS inserted
  FROM backupkit.restore_table_from_snapshot(:sid, 'public.rules_err_t') r;
RESET ROLE;
SELECT * FROM public.rules_err_t ORDER BY id;
SELECT * FROM public.rules_err_log ORDER BY id;

-- A restore that fails after disabling the rule (a CHECK constraint added since rejects a captured row): the
-- rules are as they were. The referencing table keeps replace off the copy path.
CREATE TABLE public.rules_err_ref (id integer REFERENCES public.rules_err_t);
ALTER TABLE public.rules_err_t ADD CONSTRAINT rules_err_no_b CHECK (v <> 'b') NOT VALID;
UPDATE public.rules_err_t SET v = 'c' WHERE id = 2;
SELECT rulename, ev_enabled FROM pg_rewrite WHERE ev_class = 'public.rules_err_t'::regclass ORDER BY rulename;
SELECT backupkit.restore_table_from_snapshot(:sid, 'public.rules_err_t');
\echo :LAST_ERROR_SQLSTATE
SELECT rulename, ev_enabled FROM pg_rewrite WHERE ev_class = 'public.rules_err_t'::regclass ORDER BY rulename;
SELECT * FROM public.rules_err_t ORDER BY id;
SELECT * FROM public.rules_err_log ORDER BY id;

SELECT backupkit.drop_snapshot(:sid);
DROP TABLE public.rules_err_ref, public.rules_err_t, public.rules_err_log;
REVOKE USAGE ON SCHEMA backupkit FROM rules_errors_writer;
DROP ROLE rules_errors_writer;
RESET client_min_messages;
