// Retention rules for backupkit.prune_snapshots: which snapshots a keep-last / keep-daily / keep-weekly /
// keep-monthly / keep-yearly / older-than policy keeps, with the semantics of restic's `forget --keep-*`.
#pragma once
#include "core/core_only.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bk
{

// A rule that is absent (std::nullopt) does not keep anything. Counts must be at least 1.
struct RetentionPolicy
{
	std::optional<int> keep_last;
	std::optional<int> keep_daily;
	std::optional<int> keep_weekly;
	std::optional<int> keep_monthly;
	std::optional<int> keep_yearly;
	// Only snapshots created strictly before this instant (microseconds since the Unix epoch, UTC) may be
	// removed; newer ones are kept with the reason "newer than older_than".
	std::optional<int64_t> older_than_cutoff_us;
};

struct RetentionSnapshot
{
	int64_t id;
	int64_t created_at_us; // microseconds since the Unix epoch, UTC
	bool pinned;
};

struct RetentionDecision
{
	int64_t id;
	int64_t created_at_us;
	bool keep;
	std::string reason; // every rule that kept it, comma-separated; empty for a removed snapshot
};

// Throws bk::Error 22023 for counts below 1 and for a policy without any rule (it would remove every
// snapshot). The result is sorted newest first (ties: higher id first), one decision per snapshot.
//
// Rules, applied independently to all snapshots sorted newest first:
//  * keep_last n: the n newest snapshots;
//  * keep_daily n: the newest snapshot of each of the n most recent UTC calendar days that have a snapshot
//    (days without snapshots do not count); likewise keep_weekly (ISO 8601 weeks), keep_monthly, keep_yearly;
//  * pinned snapshots are always kept (and still count for the rules above);
//  * older_than: snapshots not older than the cutoff are kept.
// A snapshot kept by any rule is kept; the reason names every rule that kept it, in the order
// "pinned", "keep_last", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly", "newer than older_than".
std::vector<RetentionDecision> apply_retention(std::vector<RetentionSnapshot> snapshots, const RetentionPolicy &policy);

// The same rules through plain arrays, for src/pg (no STL type crosses the boundary). The rules keep_last,
// keep_daily, keep_weekly, keep_monthly, keep_yearly are given in that order; a rule is absent when has[r] is
// false. Snapshot i is described by created_at_us[i] and pinned[i] (its index stands for its id: ties in
// created_at are broken by index, so pass snapshots in id order). Writes order[k] (the index of the k-th
// snapshot, newest first), keep[i] and reasons[i * reason_size] (NUL-terminated, truncated to fit). Throws as
// apply_retention does.
constexpr int retention_count_rules = 5;
struct RetentionCounts
{
	bool has[retention_count_rules];
	int count[retention_count_rules];
	bool has_cutoff;
	int64_t cutoff_us;
};
void apply_retention_arrays(const RetentionCounts &counts, int n, const int64_t *created_at_us, const bool *pinned,
                            int *order, bool *keep, char *reasons, size_t reason_size);

// Calendar helpers (UTC), exposed for tests.
struct CivilDate
{
	int year;
	int month; // 1..12
	int day;   // 1..31
};
CivilDate civil_from_us(int64_t us) noexcept;
// ISO 8601 week-numbering year * 100 + week (1..53).
int iso_week_key(int64_t us) noexcept;

} // namespace bk
