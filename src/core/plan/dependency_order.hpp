// Parents-first ordering of tables from their foreign keys: strongly connected components (cycles,
// self-references) are kept together, and ties are broken by name so the order is deterministic.
#pragma once
#include "core/core_only.hpp"

#include <cstddef>

namespace bk
{

// n tables named names[i] (schema-qualified, used only to break ties); nedges foreign keys, edge e going
// from child[e] to parent[e] (child references parent; child == parent is a self-reference, ignored for
// ordering). Fills, for every table i:
//   order[k]  = index of the k-th table to restore (parents before children, cycle members adjacent),
//   level[i]  = 0 for tables that depend on nothing in the set, else 1 + the highest level they depend on
//               (tables of one level never depend on each other; a cycle's members share a level),
//   group[i]  = cycle group number (1, 2, ... in order of first appearance) or 0 when not in a cycle of two
//               or more tables or a self-reference.
// Throws bk::Error 22023 when an edge names an index outside 0..n-1.
void order_tables(size_t n, const char *const *names, size_t nedges, const int *child, const int *parent, int *order,
                  int *level, int *group);

} // namespace bk
