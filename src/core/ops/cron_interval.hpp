// The longest gap between two consecutive runs of a pg_cron schedule, so that backupkit.schedules can say
// a job is overdue (no successful run within twice that gap). pg_cron's syntax: five fields (minute, hour,
// day of month, month, day of week) with '*', numbers, names (jan..dec, sun..sat), ranges, steps and
// lists, '$' for the last day of the month, the @hourly/@daily/@midnight/@weekly/@monthly/@yearly/@annually
// macros, and 'N seconds' (1 to 59). When both day fields are restricted a day matches either (Vixie cron).
#pragma once
#include "core/core_only.hpp"

#include <cstdint>
#include <string>

namespace bk
{

// Seconds of the longest gap between consecutive runs, over a whole 400-year Gregorian cycle (so Feb 29 and
// weekday/day-of-month combinations are exact). Throws bk::Error 22023 for a schedule pg_cron would refuse
// or one that never runs (e.g. '0 0 30 2 *').
int64_t cron_max_interval_seconds(const std::string &schedule);

} // namespace bk
