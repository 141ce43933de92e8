-- Error messages and warnings of the reliability fixes (issue 15, "Other defects"): system and backupkit tables
-- refused, rows captured under row-level security, label length, CHECK constraints the captured rows violate.
SET client_min_messages = warning;
\set VERBOSITY default
-- Snapshot ids appear in messages: fix them whatever ran before.
SELECT setval('backupkit.snapshot_id_seq', 7615000, false) IS NOT NULL AS ids_fixed;
CREATE TABLE public.rel_err_t (id integer PRIMARY KEY, v integer);
INSERT INTO public.rel_err_t SELECT g, g FROM generate_series(1, 20) g;
SELECT backupkit.snapshot_tables(ARRAY['public.rel_err_t'::regclass], 'reliability_errors') AS sid \gset

-- System catalogs and backupkit's own tables are never targets, even for a superuser.
SELECT backupkit.snapshot_tables('{pg_class}');
SELECT backupkit.snapshot_tables('{public.rel_err_t,pg_authid}');
SELECT backupkit.snapshot_tables('{information_schema.sql_features}');
SELECT backupkit.snapshot_tables('{backupkit.snapshot_chunk}');
SELECT backupkit.restore_table_from_snapshot(:sid, 'pg_class', 'merge');
SELECT backupkit.restore_snapshot(:sid, '{pg_class}');
SELECT backupkit.restore_table_from_snapshot(:sid, 'backupkit.snapshot', 'missing');
SELECT * FROM backupkit.diff(:sid, 'pg_class');
SELECT * FROM backupkit.snapshot_rows(:sid, 'pg_authid');
SELECT backupkit.get_table_restoration_order('{pg_class}'::regclass[]);
SELECT * FROM backupkit.restoration_plan('{public.rel_err_t,pg_constraint}');

-- Labels: at most 10,000 characters, so that every snapshot exports.
SELECT backupkit.snapshot_tables('{public.rel_err_t}', repeat('x', 10001));
SELECT backupkit.schedule_snapshots('j', '0 3 * * *', '{public.rel_err_t}', repeat('é', 10001));
SELECT backupkit.snapshot_tables('{public.rel_err_t}', repeat('x', 10000)) > :sid AS accepted_at_the_limit;

-- Rows captured under row-level security are used only under the policies they were captured under.
CREATE ROLE regress_rel_owner;
CREATE ROLE regress_rel_alice;
GRANT regress_rel_alice TO regress_rel_owner;
CREATE TABLE public.rel_err_rls (id integer PRIMARY KEY, owner name NOT NULL);
ALTER TABLE public.rel_err_rls OWNER TO regress_rel_owner;
INSERT INTO public.rel_err_rls SELECT g, CASE WHEN g % 2 = 0 THEN 'regress_rel_alice' ELSE 'other' END FROM generate_series(1, 10) g;
ALTER TABLE public.rel_err_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON public.rel_err_rls USING (owner = current_user);
GRANT SELECT, INSERT, UPDATE, DELETE ON public.rel_err_rls TO regress_rel_alice;
SET ROLE regress_rel_alice;
SELECT backupkit.snapshot_tables('{public.rel_err_rls}') AS rls_sid \gset
SET ROLE regress_rel_owner;
SELECT backupkit.restore_table_from_snapshot(:rls_sid, 'public.rel_err_rls');
SELECT backupkit.restore_snapshot(:rls_sid, dry_run => true);
SELECT count(*) FROM backupkit.export_snapshot(:rls_sid);
SELECT count(*) FROM backupkit.diff(:rls_sid, 'public.rel_err_rls');
SELECT count(*) FROM backupkit.snapshot_rows(:rls_sid, 'public.rel_err_rls');
RESET ROLE;
SELECT count(*) AS rows_kept FROM public.rel_err_rls;

-- validate warns about captured rows a CHECK constraint now on the table rejects.
ALTER TABLE public.rel_err_t ADD CONSTRAINT v_small CHECK (v <= 15) NOT VALID;
SELECT backupkit.validate_snapshot_integrity(:sid)->'valid' AS valid;
SELECT jsonb_array_elements_text(backupkit.validate_snapshot_integrity(:sid)->'warnings') AS warning;
SELECT backupkit.restore_table_from_snapshot(:sid, 'public.rel_err_t');
UPDATE public.rel_err_t SET v = 0 WHERE id > 15;
SELECT backupkit.restore_table_from_snapshot(:sid, 'public.rel_err_t', 'merge')->'conflicts' AS merge_conflicts;

SELECT count(backupkit.drop_snapshot(id)) AS dropped FROM backupkit.snapshots WHERE id >= 7615000;
DROP TABLE public.rel_err_rls;
DROP ROLE regress_rel_owner;
DROP OWNED BY regress_rel_alice;
DROP ROLE regress_rel_alice;
DROP TABLE public.rel_err_t;
