// Validation's key checks (primary-key uniqueness, foreign-key closure inside a snapshot) without
// materializing rows: each row's key columns are hashed (the row fingerprint encoding, 64 bits) into a
// tuplesort per column set, bounded by maintenance_work_mem and spilling beyond it. Distinct hashes prove
// distinct keys; a child hash found among the parent's hashes means the parent row is there, except with
// probability 2^-64. When a check fails, the caller re-checks exactly in SQL to name the offending keys.
#pragma once

extern "C"
{
#include "postgres.h"
}

typedef struct BkKeyCheck BkKeyCheck;

BkKeyCheck *bk_key_check_begin(int ntables);
// A column set of table (positions are 0-based among the captured columns). Sets with the same table and
// columns are shared. Rows with a null in the set are left out when skip_nulls (MATCH SIMPLE children).
int bk_key_check_add_set(BkKeyCheck *kc, int table, const int *positions, int ncols, bool skip_nulls);
bool bk_key_check_has_sets(const BkKeyCheck *kc, int table);
// Hashes the rows of one verified chunk of table into its sets. ncols is the captured column count; rows
// the chunk's row count. Returns false (with *error set) when the chunk does not decode.
bool bk_key_check_rows(BkKeyCheck *kc, int table, int ncols, const char *json, size_t len, int rows, char **error);
// True when no hash of the set occurs twice.
bool bk_key_check_unique(BkKeyCheck *kc, int set);
// True when every hash of child_set occurs in parent_set.
bool bk_key_check_contained(BkKeyCheck *kc, int child_set, int parent_set);
void bk_key_check_end(BkKeyCheck *kc);
