-- Foreign-key order of tables for restores: parents first, cycles kept together, ties broken by name.

CREATE FUNCTION backupkit.get_table_restoration_order(tables regclass[])
RETURNS regclass[]
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'bk_get_table_restoration_order';
COMMENT ON FUNCTION backupkit.get_table_restoration_order(regclass[]) IS 'The tables in restore order from their foreign keys (parents first, cycle members adjacent, ties broken by schema-qualified name); a partition stands for its nearest listed ancestor';

CREATE FUNCTION backupkit.get_table_restoration_order(snapshot_id bigint)
RETURNS regclass[]
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'bk_get_snapshot_restoration_order';
COMMENT ON FUNCTION backupkit.get_table_restoration_order(bigint) IS 'The live tables of a snapshot in restore order from the foreign keys captured with it';

CREATE FUNCTION backupkit.restoration_plan(tables regclass[])
RETURNS TABLE (
    "position" integer,
    table_name regclass,
    level integer,
    cycle_group integer,
    depends_on regclass[],
    foreign_keys text[]
)
LANGUAGE c STABLE ROWS 100
AS 'MODULE_PATHNAME', 'bk_restoration_plan';
COMMENT ON FUNCTION backupkit.restoration_plan(regclass[]) IS 'One row per table in restore order: level (tables of one level do not depend on each other), cycle group (NULL outside cycles), the listed tables it depends on and the foreign keys that order it';
