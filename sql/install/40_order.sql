-- Foreign-key ordering of tables.

CREATE FUNCTION backupkit.get_table_restoration_order(tables regclass[])
RETURNS regclass[]
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'bk_get_table_restoration_order';
COMMENT ON FUNCTION backupkit.get_table_restoration_order(regclass[]) IS 'The tables sorted parents first by their foreign keys; cycles kept together; ties broken by name';

CREATE FUNCTION backupkit.get_table_restoration_order(snapshot_id bigint)
RETURNS regclass[]
LANGUAGE c STABLE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'bk_get_snapshot_restoration_order';
COMMENT ON FUNCTION backupkit.get_table_restoration_order(bigint) IS 'The tables of a snapshot sorted parents first by the foreign keys recorded at capture time';

CREATE FUNCTION backupkit.restoration_plan(tables regclass[])
RETURNS TABLE ("position" integer, table_name regclass, level integer, cycle_group integer, depends_on regclass[], foreign_keys text[])
LANGUAGE c STABLE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'bk_restoration_plan';
COMMENT ON FUNCTION backupkit.restoration_plan(regclass[]) IS 'One row per table in restore order: level (tables of one level do not depend on each other), cycle group, and the foreign keys that order it';
