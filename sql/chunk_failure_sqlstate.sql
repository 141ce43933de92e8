-- A src/core failure on a chunk keeps its own SQLSTATE, message and detail; only corruption (XX001) is
-- reported as "snapshot N is corrupted". bk_chunk_core_failure is what every chunk call site (chunk_reader,
-- copy_loader, snapshot_rows) raises a failed core call with; no stored data makes the core fail there with
-- anything but corruption, so the failure is handed to it through a probe bound as superuser (see
-- src/pg/storage/chunk_failure_probe.cpp). scripts/check-boundary-rules.sh checks that the call sites use it.
\set VERBOSITY default
\set SHOW_CONTEXT errors
CREATE FUNCTION pg_temp.chunk_failure(snapshot_id bigint, schema_name text, table_name text, chunk_no integer,
                                      sqlstate text, message text, detail text) RETURNS void
  AS 'backupkit', 'bk_chunk_failure_probe' LANGUAGE C STRICT;

-- Out of memory (what the boundary makes of std::bad_alloc): 53200, not corruption.
SELECT pg_temp.chunk_failure(42, 'public', 'orders', 3, '53200', 'out of memory', '');
\echo :LAST_ERROR_SQLSTATE
-- An invalid parameter (as the key stage's limits are reported): 22023 with the core's message and detail.
SELECT pg_temp.chunk_failure(42, 'public', 'orders', 3, '22023', 'invalid value handed to the chunk decoder',
                             'The value is shown in the detail.');
\echo :LAST_ERROR_SQLSTATE
-- An internal error: XX000, still not corruption.
SELECT pg_temp.chunk_failure(42, 'public', 'orders', 3, 'XX000', 'unexpected C++ exception in backupkit', '');
\echo :LAST_ERROR_SQLSTATE

-- Corruption is reported as corruption of the chunk, with the core's message as a context line...
SELECT pg_temp.chunk_failure(42, 'public', 'Orders', 3, 'XX001', 'damage the core found in the chunk', '');
\echo :LAST_ERROR_SQLSTATE
-- ...and, when it has a detail, the detail as the detail and its message as a context line.
SELECT pg_temp.chunk_failure(42, 'public', 'orders', 3, 'XX001', 'damage the core found in the chunk',
                             'Expected a comma at byte 17.');
\echo :LAST_ERROR_SQLSTATE
