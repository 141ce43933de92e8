// validate_snapshot_integrity's look at CHECK constraints now on a captured table: rows a constraint rejects
// (added NOT VALID after the capture, say) cannot be loaded by any restore, nor by COPY; the report warns about
// them before a restore fails.
#pragma once

extern "C"
{
#include "postgres.h"
#include "nodes/pg_list.h"
}

#include "pg/storage/storage.hpp"

// Appends to *warnings (char *, one sentence each) one warning per CHECK constraint of the live table that some
// captured row violates, with the number of such rows and the key of one (left out when the caller may not see
// the captured rows, rls_scope.hpp). Constraints on columns the snapshot lacks are left alone. Never raises
// for what the rows hold: rows that cannot even be typed as the table now is are one warning too.
void bk_validate_check_constraints(const BkSnapshot *snapshot, const BkTableEntry *entry, List **warnings);
