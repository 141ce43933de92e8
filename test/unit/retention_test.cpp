// Retention rules (src/core/ops/retention.hpp) against hand-checked cases and an independent reference
// implementation built on the C library's calendar (gmtime_r, strftime %G-%V) and explicit bucket maps.
#include "core/error.hpp"
#include "core/ops/retention.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <random>
#include <set>

namespace
{

constexpr int64_t kDay = 86400LL * 1000000LL;

int64_t
utc_us(int y, int m, int d, int hh = 0, int mm = 0)
{
	struct tm t;
	std::memset(&t, 0, sizeof(t));
	t.tm_year = y - 1900;
	t.tm_mon = m - 1;
	t.tm_mday = d;
	t.tm_hour = hh;
	t.tm_min = mm;
	return static_cast<int64_t>(timegm(&t)) * 1000000LL;
}

std::string
fmt(int64_t us, const char *format)
{
	time_t secs = static_cast<time_t>(us / 1000000LL);
	struct tm t;
	gmtime_r(&secs, &t);
	char buf[64];
	strftime(buf, sizeof buf, format, &t);
	return buf;
}

// Reference: for each rule, map bucket -> newest snapshot in it, take the n greatest buckets.
std::map<int64_t, std::set<std::string>>
reference(const std::vector<bk::RetentionSnapshot> &snaps, const bk::RetentionPolicy &p)
{
	std::map<int64_t, std::set<std::string>> kept;
	auto newer = [](const bk::RetentionSnapshot &a, const bk::RetentionSnapshot &b)
	{ return a.created_at_us != b.created_at_us ? a.created_at_us > b.created_at_us : a.id > b.id; };
	struct Rule
	{
		const char *name;
		std::optional<int> n;
		const char *format; // strftime format naming the bucket; NULL for keep_last
	};
	const Rule rules[] = {{"keep_last", p.keep_last, nullptr},
	                      {"keep_daily", p.keep_daily, "%Y-%m-%d"},
	                      {"keep_weekly", p.keep_weekly, "%G-W%V"},
	                      {"keep_monthly", p.keep_monthly, "%Y-%m"},
	                      {"keep_yearly", p.keep_yearly, "%Y"}};
	for (const Rule &rule : rules)
	{
		if (!rule.n)
		{
			continue;
		}
		std::map<std::string, bk::RetentionSnapshot> newest; // bucket name sorts chronologically
		for (const auto &s : snaps)
		{
			std::string key = rule.format ? fmt(s.created_at_us, rule.format) : std::to_string(s.id);
			if (!rule.format)
			{
				// keep_last: order buckets by time then id, zero-padded so text order is time order.
				char buf[64];
				snprintf(buf, sizeof buf, "%020lld-%020lld", static_cast<long long>(s.created_at_us),
				         static_cast<long long>(s.id));
				key = buf;
			}
			auto it = newest.find(key);
			if (it == newest.end() || newer(s, it->second))
			{
				newest[key] = s;
			}
		}
		int taken = 0;
		for (auto it = newest.rbegin(); it != newest.rend() && taken < *rule.n; ++it, ++taken)
		{
			kept[it->second.id].insert(rule.name);
		}
	}
	for (const auto &s : snaps)
	{
		if (s.pinned)
		{
			kept[s.id].insert("pinned");
		}
		if (p.older_than_cutoff_us && s.created_at_us >= *p.older_than_cutoff_us)
		{
			kept[s.id].insert("newer than older_than");
		}
	}
	return kept;
}

std::set<std::string>
split_reason(const std::string &reason)
{
	std::set<std::string> out;
	size_t start = 0;
	while (start < reason.size())
	{
		size_t comma = reason.find(", ", start);
		if (comma == std::string::npos)
		{
			comma = reason.size();
		}
		out.insert(reason.substr(start, comma - start));
		start = comma + 2;
	}
	return out;
}

void
check_against_reference(const std::vector<bk::RetentionSnapshot> &snaps, const bk::RetentionPolicy &p)
{
	auto expected = reference(snaps, p);
	auto got = bk::apply_retention(snaps, p);
	ASSERT_EQ(got.size(), snaps.size());
	for (size_t i = 1; i < got.size(); i++)
	{
		ASSERT_GE(got[i - 1].created_at_us, got[i].created_at_us) << "not sorted newest first";
	}
	for (const auto &d : got)
	{
		auto it = expected.find(d.id);
		bool expect_keep = it != expected.end();
		EXPECT_EQ(d.keep, expect_keep) << "snapshot " << d.id << " at " << fmt(d.created_at_us, "%F %T");
		if (expect_keep)
		{
			EXPECT_EQ(split_reason(d.reason), it->second) << "snapshot " << d.id << " reason " << d.reason;
		}
		else
		{
			EXPECT_EQ(d.reason, "");
		}
	}
}

std::vector<int64_t>
kept_ids(const std::vector<bk::RetentionDecision> &ds)
{
	std::vector<int64_t> out;
	for (const auto &d : ds)
	{
		if (d.keep)
		{
			out.push_back(d.id);
		}
	}
	return out;
}

} // namespace

TEST(Retention, CalendarHelpersMatchTheCLibrary)
{
	for (int64_t us = utc_us(1999, 12, 20); us < utc_us(2031, 1, 10); us += kDay / 2 + 3600LL * 1000000LL)
	{
		bk::CivilDate c = bk::civil_from_us(us);
		char buf[32];
		snprintf(buf, sizeof buf, "%04d-%02d-%02d", c.year, c.month, c.day);
		ASSERT_EQ(std::string(buf), fmt(us, "%Y-%m-%d"));
		int key = bk::iso_week_key(us);
		snprintf(buf, sizeof buf, "%04d-W%02d", key / 100, key % 100);
		ASSERT_EQ(std::string(buf), fmt(us, "%G-W%V"));
	}
	// Before the epoch too.
	EXPECT_EQ(bk::civil_from_us(-1).year, 1969);
	EXPECT_EQ(bk::civil_from_us(-1).day, 31);
}

TEST(Retention, EmptyPolicyIsRefused)
{
	bk::RetentionPolicy p;
	try
	{
		bk::apply_retention({{1, 0, false}}, p);
		FAIL() << "no error";
	}
	catch (const bk::Error &e)
	{
		EXPECT_STREQ(e.sqlstate(), "22023");
		EXPECT_EQ(e.message(), "retention policy has no rule");
	}
}

TEST(Retention, CountsBelowOneAreRefused)
{
	bk::RetentionPolicy p;
	p.keep_weekly = 0;
	EXPECT_THROW(bk::apply_retention({}, p), bk::Error);
	p.keep_weekly = -3;
	EXPECT_THROW(bk::apply_retention({}, p), bk::Error);
}

TEST(Retention, OlderThanAloneDropsOnlyOldSnapshots)
{
	bk::RetentionPolicy p;
	p.older_than_cutoff_us = utc_us(2024, 3, 10);
	auto ds = bk::apply_retention({{1, utc_us(2024, 3, 1), false},
	                               {2, utc_us(2024, 3, 9, 23, 59), true},
	                               {3, utc_us(2024, 3, 10), false},
	                               {4, utc_us(2024, 3, 11), false}},
	                              p);
	ASSERT_EQ(ds.size(), 4u);
	EXPECT_EQ(ds[0].id, 4);
	EXPECT_EQ(ds[0].reason, "newer than older_than");
	EXPECT_TRUE(ds[1].keep); // exactly at the cutoff: not older
	EXPECT_EQ(ds[2].reason, "pinned");
	EXPECT_FALSE(ds[3].keep);
}

TEST(Retention, KeepLastKeepsTheNewest)
{
	bk::RetentionPolicy p;
	p.keep_last = 2;
	auto ds = bk::apply_retention({{1, 100, false}, {3, 300, false}, {2, 200, false}, {4, 300, false}}, p);
	EXPECT_EQ(kept_ids(ds), (std::vector<int64_t>{4, 3}));
	EXPECT_EQ(ds[0].reason, "keep_last");
}

TEST(Retention, DailyCountsOnlyDaysWithSnapshots)
{
	bk::RetentionPolicy p;
	p.keep_daily = 3;
	// Three snapshots on Jan 10, none on Jan 9 and 8, two on Jan 5, one on Jan 1.
	std::vector<bk::RetentionSnapshot> s = {
	    {1, utc_us(2024, 1, 1, 12), false}, {2, utc_us(2024, 1, 5, 1), false},  {3, utc_us(2024, 1, 5, 22), false},
	    {4, utc_us(2024, 1, 10, 0), false}, {5, utc_us(2024, 1, 10, 8), false}, {6, utc_us(2024, 1, 10, 23), false},
	};
	auto ds = bk::apply_retention(s, p);
	EXPECT_EQ(kept_ids(ds), (std::vector<int64_t>{6, 3, 1}));
}

TEST(Retention, ReasonNamesEveryRule)
{
	bk::RetentionPolicy p;
	p.keep_last = 1;
	p.keep_daily = 1;
	p.keep_yearly = 2;
	auto ds = bk::apply_retention({{1, utc_us(2023, 6, 1), true}, {2, utc_us(2024, 6, 1), false}}, p);
	EXPECT_EQ(ds[0].reason, "keep_last, keep_daily, keep_yearly");
	EXPECT_EQ(ds[1].reason, "pinned, keep_yearly");
}

TEST(Retention, WeeksFollowIso8601AcrossTheYearEnd)
{
	bk::RetentionPolicy p;
	p.keep_weekly = 2;
	// 2020-12-31 (Thu) and 2021-01-03 (Sun) are both in ISO week 2020-W53; 2021-01-04 starts 2021-W01.
	auto ds = bk::apply_retention({{1, utc_us(2020, 12, 27), false},
	                               {2, utc_us(2020, 12, 31), false},
	                               {3, utc_us(2021, 1, 3), false},
	                               {4, utc_us(2021, 1, 4), false}},
	                              p);
	EXPECT_EQ(kept_ids(ds), (std::vector<int64_t>{4, 3}));
}

TEST(Retention, FourHundredDailySnapshotsMatchTheReference)
{
	std::vector<bk::RetentionSnapshot> snaps;
	const int64_t start = utc_us(2023, 11, 20, 2, 30);
	for (int i = 0; i < 400; i++)
	{
		snaps.push_back({i + 1, start + i * kDay, false});
	}
	const int64_t now = start + 400 * kDay;

	bk::RetentionPolicy gfs;
	gfs.keep_last = 3;
	gfs.keep_daily = 7;
	gfs.keep_weekly = 5;
	gfs.keep_monthly = 12;
	gfs.keep_yearly = 3;
	check_against_reference(snaps, gfs);

	// Hand-computed totals for the classic 7 daily / 4 weekly / 12 monthly policy: the 7 newest days, 3 more
	// Sundays (the 4th weekly is the newest snapshot, already kept), then month-ends back to 12 months.
	bk::RetentionPolicy classic;
	classic.keep_daily = 7;
	classic.keep_weekly = 4;
	classic.keep_monthly = 12;
	auto ds = bk::apply_retention(snaps, classic);
	size_t kept = kept_ids(ds).size();
	EXPECT_GE(kept, 7u + 12u - 2u);
	EXPECT_LE(kept, 7u + 4u + 12u);
	check_against_reference(snaps, classic);

	for (int days : {1, 30, 200, 399, 401})
	{
		bk::RetentionPolicy p;
		p.older_than_cutoff_us = now - days * kDay;
		p.keep_monthly = 2;
		check_against_reference(snaps, p);
	}

	// Irregular history: gaps, several per day, pinned ones, random policies.
	std::mt19937_64 rng(20240229);
	for (int round = 0; round < 200; round++)
	{
		std::vector<bk::RetentionSnapshot> irregular;
		int64_t t = start;
		for (int i = 0; i < 400; i++)
		{
			t += static_cast<int64_t>(rng() % (3 * kDay));
			irregular.push_back({i + 1, t, rng() % 50 == 0});
		}
		std::shuffle(irregular.begin(), irregular.end(), rng);
		bk::RetentionPolicy p;
		auto maybe = [&rng](int max) -> std::optional<int>
		{
			if (rng() % 3 == 0)
			{
				return std::nullopt;
			}
			return static_cast<int>(rng() % max) + 1;
		};
		p.keep_last = maybe(10);
		p.keep_daily = maybe(30);
		p.keep_weekly = maybe(20);
		p.keep_monthly = maybe(24);
		p.keep_yearly = maybe(5);
		if (rng() % 2 == 0)
		{
			p.older_than_cutoff_us = t - static_cast<int64_t>(rng() % (300 * kDay));
		}
		if (!p.keep_last && !p.keep_daily && !p.keep_weekly && !p.keep_monthly && !p.keep_yearly &&
		    !p.older_than_cutoff_us)
		{
			p.keep_last = 1;
		}
		check_against_reference(irregular, p);
	}
}

// The plain-array entry point src/pg calls gives the decisions of apply_retention, mapped back by index.
TEST(Retention, ArrayEntryPointMatchesApplyRetention)
{
	const int n = 40;
	int64_t created[n];
	bool pinned[n];
	std::vector<bk::RetentionSnapshot> snaps;
	for (int i = 0; i < n; i++)
	{
		created[i] = utc_us(2024, 1, 1) + (i * 7 % n) * kDay / 3;
		pinned[i] = i % 11 == 0;
		snaps.push_back(bk::RetentionSnapshot{i, created[i], pinned[i]});
	}
	bk::RetentionPolicy policy;
	policy.keep_last = 3;
	policy.keep_daily = 4;
	bk::RetentionCounts counts{};
	counts.has[0] = counts.has[1] = true;
	counts.count[0] = 3;
	counts.count[1] = 4;
	std::vector<bk::RetentionDecision> expected = bk::apply_retention(snaps, policy);
	int order[n];
	bool keep[n];
	char reasons[n * 64];
	bk::apply_retention_arrays(counts, n, created, pinned, order, keep, reasons, 64);
	for (int k = 0; k < n; k++)
	{
		int i = static_cast<int>(expected[k].id);
		EXPECT_EQ(order[k], i);
		EXPECT_EQ(keep[i], expected[k].keep);
		EXPECT_EQ(std::string(reasons + i * 64), expected[k].reason);
	}
	counts.count[0] = 0;
	EXPECT_THROW(bk::apply_retention_arrays(counts, 0, nullptr, nullptr, nullptr, nullptr, nullptr, 0), bk::Error);
}
