// What backupkit records about a live table's shape (columns, key, foreign keys, sequences), read from the
// catalogs as the caller under the operation's snapshot.
#pragma once

extern "C"
{
#include "postgres.h"
#include "utils/jsonb.h"
}

typedef struct BkLiveColumn
{
	char *name;
	Oid type_oid;
	int32 typmod;
	bool captured; // not generated
} BkLiveColumn;

typedef struct BkTableMetadata
{
	Oid relid;
	char *schema_name;
	char *table_name;
	char relkind;
	Datum columns;      // jsonb
	Datum key_columns;  // text[] or 0 when the table has no usable key
	char *key_kind;     // "primary key", "unique" or NULL
	Datum foreign_keys; // jsonb
	Datum sequences;    // jsonb
	int ncolumns;
	BkLiveColumn *column_list; // captured and generated columns, attnum order
} BkTableMetadata;

// Requires an SPI connection. The result lives in the current memory context.
void bk_read_table_metadata(Oid relid, BkTableMetadata *out);

// The column pairs of foreign key conname of table child (regclass text): one SPI result row per pair,
// (referencing column, referenced column), left in SPI_tuptable; returns how many. Requires an SPI connection.
uint64 bk_foreign_key_column_pairs(const char *child, const char *conname);
