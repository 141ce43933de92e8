CREATE VIEW backupkit.operations AS
SELECT o.operation_id,
       o.logged_at,
       o.role_name AS role,
       o.operation,
       o.snapshot_id,
       o.outcome,
       o.row_count AS rows,
       o.duration_ms,
       o.details
  FROM backupkit.operation_log o
 WHERE pg_catalog.pg_has_role(o.role_oid, 'MEMBER');
COMMENT ON VIEW backupkit.operations IS 'Every completed backupkit operation the current role may see';
GRANT SELECT ON backupkit.operations TO PUBLIC;

CREATE VIEW backupkit.progress AS
SELECT a.pid,
       split_part(split_part(a.query, ' ', 2), ' ', 1) AS operation,
       substring(a.query FROM 'snapshot=(\d+)')::bigint AS snapshot_id,
       substring(a.query FROM 'table=(\S+)') AS current_table,
       substring(a.query FROM 'tables_done=(\d+)')::integer AS tables_done,
       substring(a.query FROM 'tables_total=(\d+)')::integer AS tables_total,
       substring(a.query FROM 'rows_done=(\d+)')::bigint AS rows_done,
       substring(a.query FROM 'rows_total=(-?\d+)')::bigint AS rows_total,
       now() - a.query_start AS running_for
  FROM pg_catalog.pg_stat_activity a
 WHERE a.state = 'active' AND a.query LIKE 'backupkit %snapshot=%';
COMMENT ON VIEW backupkit.progress IS 'Snapshots and restores running now, with the table being processed and rows done';
GRANT SELECT ON backupkit.progress TO PUBLIC;
