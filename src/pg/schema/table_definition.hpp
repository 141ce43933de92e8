// The complete definition of a table as of a snapshot, stored as versioned jsonb in
// backupkit.snapshot_table.definition (format in doc/table-definition.md): the relation and its partitions
// (columns, constraints, indexes, options, triggers, policies, owner, privileges, comments), its owned
// sequences, the foreign keys of other tables that reference it and the views built on it.
#pragma once

extern "C"
{
#include "postgres.h"
}

// The definition of relid as jsonb, in the caller's memory context. Requires an SPI connection and
// backupkit's pinned settings (bk_stable_settings_push), so expressions come out schema-qualified.
Datum bk_read_table_definition(Oid relid);
