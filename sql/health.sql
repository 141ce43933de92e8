-- backupkit.cron_interval, backupkit.cron_setup_problems (every branch, with the settings given) and
-- backupkit.check() / backupkit.schedules in a database without pg_cron.
SET client_min_messages = warning;

SELECT s, backupkit.cron_interval(s)
  FROM unnest(ARRAY['* * * * *', '15 2 * * *', '0 9 * * 1-5', '0 0 * * sun', '@monthly', '@yearly',
                    '0 0 29 2 *', '0 0 1 * 0', '30 seconds']) AS s;

-- What pg_cron would refuse (or never run).
SELECT backupkit.cron_interval('61 * * * *');
SELECT backupkit.cron_interval('* * * *');
SELECT backupkit.cron_interval('0 0 30 2 *');
SELECT backupkit.cron_interval('@often');
SELECT backupkit.cron_interval('5-1 * * * *');
SELECT backupkit.cron_interval('90 seconds');

-- pg_cron's setup, one case per branch.
SELECT * FROM backupkit.cron_setup_problems(use_background_workers => true, log_run => true);
SELECT * FROM backupkit.cron_setup_problems(false, 'localhost', '', '/tmp', true);
SELECT * FROM backupkit.cron_setup_problems(false, 'localhost', '10.0.0.5', '/tmp', true);
SELECT * FROM backupkit.cron_setup_problems(false, 'localhost', '*', '/tmp', false);
SELECT * FROM backupkit.cron_setup_problems(false, '/var/run/elsewhere', '', '/tmp, /var/run/postgresql', true);
SELECT * FROM backupkit.cron_setup_problems(false, '/var/run/postgresql', '', '/tmp, /var/run/postgresql', true);

-- Without pg_cron: no schedules, and check() says so.
SELECT count(*) FROM backupkit.schedules;
SELECT severity, check_name, object, detail FROM backupkit.check() WHERE check_name = 'pg_cron setup';

-- A snapshot whose table was dropped is reported.
CREATE TABLE public.health_gone (id integer PRIMARY KEY);
INSERT INTO public.health_gone VALUES (1), (2);
SELECT backupkit.snapshot_tables(ARRAY['public.health_gone'::regclass], 'health') AS gone_id \gset
DROP TABLE public.health_gone;
SELECT severity, check_name, detail, hint FROM backupkit.check()
 WHERE object = 'snapshot ' || :gone_id;
SELECT backupkit.drop_snapshot(:gone_id);

-- info() counts what check() reports.
SELECT (backupkit.info() ->> 'check_warnings')::int = count(*) FILTER (WHERE severity = 'warning')
   AND (backupkit.info() ->> 'check_errors')::int = count(*) FILTER (WHERE severity = 'error') AS counts_agree
  FROM backupkit.check();

-- pg_cron's settings are superuser-only: a role that may not read them is told the setup was not checked.
CREATE ROLE health_plain;
SET ROLE health_plain;
SELECT * FROM backupkit.cron_setup_problems();
-- With every setting given, nothing needs reading.
SELECT severity, check_name FROM backupkit.cron_setup_problems(true, NULL, NULL, NULL, true);
RESET ROLE;
DROP ROLE health_plain;
