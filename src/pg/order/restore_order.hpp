// Foreign-key order of live tables (from pg_constraint) for restores and for the SQL ordering functions.
#pragma once

extern "C"
{
#include "postgres.h"
}

// Orders relids parents-first using the foreign keys among them (a partition that is not listed counts as its
// nearest listed ancestor, so a foreign key declared on or referencing it orders that partitioned table). order, level
// and group are arrays of n entries, filled as bk::order_tables does. Requires an SPI connection.
void bk_order_relations(const Oid *relids, int n, int *order, int *level, int *group);
// The same with the tables' qualified names already known (ties are broken by name).
void bk_order_named_relations(const Oid *relids, const char **names, int n, int *order, int *level, int *group);

// Kinds (pg_class.relkind), persistence (relpersistence) and quoted qualified names of relids, read from the
// catalog (one scan of pg_class for long lists); a relation that does not exist gets kind '\0' and name NULL. Requires
// an SPI connection.
void bk_describe_relations(const Oid *relids, int n, char *kinds, char *persistence, const char **names);

// The foreign keys among relids as edges between their indexes: constraint e of table child[e] references
// table parent[e] (child == parent for a self-reference). A foreign key declared on or referencing a
// partition that is not listed counts for its nearest listed ancestor; foreign keys whose other end is not
// listed are left out. The arrays are allocated with SPI_palloc, so they outlive SPI_finish. Requires an SPI
// connection.
void bk_relation_fk_edges(const Oid *relids, int n, int *nedges, int **child, int **parent, char ***connames);
