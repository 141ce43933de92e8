-- Foreign-key order of tables for restores: parents first, cycles kept together, ties broken by name.
--
-- How the order is made: the foreign keys among the listed tables form a graph; its strongly connected
-- components (cycles such as A -> B -> A or longer rings) are kept together, their members adjacent in name
-- order; components are then placed parents first, and when several are ready the one whose first member has
-- the smallest quoted schema-qualified name (byte order, independent of the collation) goes first. A
-- self-reference neither orders the table nor makes it a cycle. Foreign keys to tables outside the list order
-- nothing. Partitions: a foreign key declared on a partition or referencing one counts for the nearest listed
-- ancestor (the table itself when listed), so listing a partitioned table orders it by every foreign key of
-- its partitions, and partitions listed without their parent are ordered by the foreign keys they inherit.
-- The snapshot form uses the foreign keys captured with the snapshot (those declared on each captured table;
-- a reference to a partition of a captured partitioned table is resolved through the live partition tree).

CREATE FUNCTION backupkit.get_table_restoration_order(tables regclass[])
RETURNS regclass[]
LANGUAGE c STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_get_table_restoration_order';
COMMENT ON FUNCTION backupkit.get_table_restoration_order(regclass[]) IS 'The tables in restore order from their foreign keys (parents first, cycle members adjacent, ties broken by schema-qualified name); a partition stands for its nearest listed ancestor';

CREATE FUNCTION backupkit.get_table_restoration_order(snapshot_id bigint)
RETURNS regclass[]
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
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
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bk_restoration_plan';
COMMENT ON FUNCTION backupkit.restoration_plan(regclass[]) IS 'One row per table in restore order: level (tables of one level do not depend on each other), cycle group (NULL outside cycles), the listed tables it depends on and the foreign keys that order it';
