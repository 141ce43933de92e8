// Retention rules (see retention.hpp): bucket snapshots by UTC day, ISO week, month and year, newest first.
#include "core/ops/retention.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <cstring>

namespace bk
{

namespace
{

constexpr int64_t us_per_day = 86400LL * 1000000LL;

int64_t
floor_div(int64_t a, int64_t b) noexcept
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
	{
		q--;
	}
	return q;
}

// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days).
CivilDate
civil_from_days(int64_t z) noexcept
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const int64_t doe = z - era * 146097;
	const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const int64_t mp = (5 * doy + 2) / 153;
	const int64_t d = doy - (153 * mp + 2) / 5 + 1;
	const int64_t m = mp < 10 ? mp + 3 : mp - 9;
	const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
	return CivilDate{static_cast<int>(y), static_cast<int>(m), static_cast<int>(d)};
}

int64_t
days_from_civil(int64_t y, int64_t m, int64_t d) noexcept
{
	y -= m <= 2 ? 1 : 0;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const int64_t yoe = y - era * 400;
	const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

enum Rule
{
	RULE_LAST,
	RULE_DAILY,
	RULE_WEEKLY,
	RULE_MONTHLY,
	RULE_YEARLY,
	RULE_COUNT
};

const char *const rule_names[RULE_COUNT] = {"keep_last", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"};

int64_t
bucket_of(Rule rule, const RetentionSnapshot &s) noexcept
{
	switch (rule)
	{
		case RULE_LAST:
			return s.id; // every snapshot is its own bucket
		case RULE_DAILY:
			return floor_div(s.created_at_us, us_per_day);
		case RULE_WEEKLY:
			return iso_week_key(s.created_at_us);
		case RULE_MONTHLY:
		{
			CivilDate c = civil_from_us(s.created_at_us);
			return static_cast<int64_t>(c.year) * 100 + c.month;
		}
		case RULE_YEARLY:
			return civil_from_us(s.created_at_us).year;
		default:
			return 0;
	}
}

void
check_count(const std::optional<int> &count, const char *name)
{
	if (count && *count < 1)
	{
		throw Error(sqlstate::invalid_parameter_value, std::string(name) + " must be at least 1",
		            "A count of " + std::to_string(*count) + " would keep nothing by this rule.",
		            "Leave the argument out (NULL) to not use this rule.");
	}
}

} // namespace

CivilDate
civil_from_us(int64_t us) noexcept
{
	return civil_from_days(floor_div(us, us_per_day));
}

int
iso_week_key(int64_t us) noexcept
{
	const int64_t days = floor_div(us, us_per_day);
	// 1970-01-01 was a Thursday; ISO weekday 1 = Monday .. 7 = Sunday.
	const int64_t weekday = ((days % 7 + 7) % 7 + 3) % 7 + 1;
	// The ISO year is the year of this week's Thursday.
	const int64_t thursday = days - weekday + 4;
	const CivilDate t = civil_from_days(thursday);
	const int64_t jan1 = days_from_civil(t.year, 1, 1);
	const int week = static_cast<int>((thursday - jan1) / 7 + 1);
	return t.year * 100 + week;
}

std::vector<RetentionDecision>
apply_retention(std::vector<RetentionSnapshot> snapshots, const RetentionPolicy &policy)
{
	const std::optional<int> counts[RULE_COUNT] = {policy.keep_last, policy.keep_daily, policy.keep_weekly,
	                                               policy.keep_monthly, policy.keep_yearly};
	bool any = policy.older_than_cutoff_us.has_value();
	for (int r = 0; r < RULE_COUNT; r++)
	{
		check_count(counts[r], rule_names[r]);
		any = any || counts[r].has_value();
	}
	if (!any)
	{
		throw Error(sqlstate::invalid_parameter_value, "retention policy has no rule",
		            "Without keep_last, keep_daily, keep_weekly, keep_monthly, keep_yearly or older_than every "
		            "snapshot would be dropped.",
		            "Give at least one keep_* count, or older_than to drop only snapshots older than an interval.");
	}

	std::sort(snapshots.begin(), snapshots.end(),
	          [](const RetentionSnapshot &a, const RetentionSnapshot &b)
	          {
		          if (a.created_at_us != b.created_at_us)
		          {
			          return a.created_at_us > b.created_at_us;
		          }
		          return a.id > b.id;
	          });

	const size_t n = snapshots.size();
	std::vector<unsigned> kept_by(n, 0); // bit r set: rule r kept it
	for (int r = 0; r < RULE_COUNT; r++)
	{
		if (!counts[r])
		{
			continue;
		}
		int remaining = *counts[r];
		bool have_last = false;
		int64_t last_bucket = 0;
		for (size_t i = 0; i < n && remaining > 0; i++)
		{
			int64_t bucket = bucket_of(static_cast<Rule>(r), snapshots[i]);
			if (!have_last || bucket != last_bucket)
			{
				kept_by[i] |= 1u << r;
				remaining--;
			}
			have_last = true;
			last_bucket = bucket;
		}
	}

	std::vector<RetentionDecision> out;
	out.reserve(n);
	for (size_t i = 0; i < n; i++)
	{
		const RetentionSnapshot &s = snapshots[i];
		std::string reason;
		auto add = [&reason](const char *why)
		{
			if (!reason.empty())
			{
				reason += ", ";
			}
			reason += why;
		};
		if (s.pinned)
		{
			add("pinned");
		}
		for (int r = 0; r < RULE_COUNT; r++)
		{
			if (kept_by[i] & (1u << r))
			{
				add(rule_names[r]);
			}
		}
		if (policy.older_than_cutoff_us && s.created_at_us >= *policy.older_than_cutoff_us)
		{
			add("newer than older_than");
		}
		bool keep = !reason.empty();
		out.push_back(RetentionDecision{s.id, s.created_at_us, keep, std::move(reason)});
	}
	return out;
}

void
apply_retention_arrays(const RetentionCounts &counts, int n, const int64_t *created_at_us, const bool *pinned,
                       int *order, bool *keep, char *reasons, size_t reason_size)
{
	RetentionPolicy policy;
	std::optional<int> *fields[retention_count_rules] = {&policy.keep_last, &policy.keep_daily, &policy.keep_weekly,
	                                                     &policy.keep_monthly, &policy.keep_yearly};
	for (int r = 0; r < retention_count_rules; r++)
	{
		if (counts.has[r])
		{
			*fields[r] = counts.count[r];
		}
	}
	if (counts.has_cutoff)
	{
		policy.older_than_cutoff_us = counts.cutoff_us;
	}
	std::vector<RetentionSnapshot> snaps;
	snaps.reserve(static_cast<size_t>(n > 0 ? n : 0));
	for (int i = 0; i < n; i++)
	{
		snaps.push_back(RetentionSnapshot{i, created_at_us[i], pinned[i]});
	}
	std::vector<RetentionDecision> decisions = apply_retention(std::move(snaps), policy);
	for (size_t k = 0; k < decisions.size(); k++)
	{
		int i = static_cast<int>(decisions[k].id);
		order[k] = i;
		keep[i] = decisions[k].keep;
		if (reason_size > 0)
		{
			char *out = reasons + static_cast<size_t>(i) * reason_size;
			size_t len = std::min(decisions[k].reason.size(), reason_size - 1);
			std::memcpy(out, decisions[k].reason.data(), len);
			out[len] = '\0';
		}
	}
}

} // namespace bk
