// Foreign-key order of live tables (from pg_constraint) for restores and for the SQL ordering functions.
#pragma once

extern "C"
{
#include "postgres.h"
}

// Orders relids parents-first using the foreign keys among them (partitions count as their root
// partitioned table). order, level and group are arrays of n entries, filled as bk::order_tables does.
// Requires an SPI connection.
void bk_order_relations(const Oid *relids, int n, int *order, int *level, int *group);
