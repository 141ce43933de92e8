// Snapshot validation shared with the restore entry points: every chunk of a snapshot proven intact.
#pragma once

extern "C"
{
#include "postgres.h"
}

// Verifies every chunk of every table of the snapshot (presence, duplicates, size, zstd frame, checksum, row
// counts, table totals) without raising an error for what it finds. Returns true when all is intact; otherwise
// false with *first_error (palloc'd, may be NULL) set to the first problem as one sentence. Raises an error only
// when the snapshot does not exist, the caller may not use it, or its stored metadata no longer matches its
// checksum (XX001 naming the table and the fields, see metadata_checksum.hpp). Manages its own SPI connection.
bool bk_validate_snapshot_quick(int64 snapshot_id, char **first_error);
