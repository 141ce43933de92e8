// The settings every backupkit operation runs under, pushed for its duration and popped at its end.
#pragma once

extern "C"
{
#include "postgres.h"
}

// Type input and output must not depend on the session (DateStyle, TimeZone, extra_float_digits,
// bytea_output, lc_monetary, search_path...): push fixed values for the duration of an operation.
int bk_stable_settings_push(void);
void bk_stable_settings_pop(int nest_level);
// For joining a small stage with a large table through its key index: merge and hash joins off until
// bk_stable_settings_pop(level). The planner, costing random index reads as if from disk, would scan the
// whole table instead, several times slower when a tenth of the rows is staged.
int bk_index_probe_joins_push(void);
