-- Every backupkit function runs with search_path = pg_catalog, pg_temp, so no object of the caller's
-- search_path can stand in for a built-in one inside backupkit. Arguments of type regclass are resolved by
-- the caller before the call, with the caller's search_path, as users expect. check_poi_integrity is the
-- exception: its NULL arguments name tables looked up on the caller's search_path, and it locks the
-- search_path itself for its own statements. row_fingerprint runs once per row inside backupkit's own
-- statements, runs no SQL and resolves no names; a SET clause would cost a GUC switch per row.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'backupkit'::regnamespace
           AND p.prokind = 'f'
           AND p.proname NOT IN ('check_poi_integrity', 'row_fingerprint')
    LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f);
    END LOOP;
END
$$;
