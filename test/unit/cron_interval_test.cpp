// cron_max_interval_seconds: hand-checked schedules, the Vixie day-field rule, calendar edge cases (Feb 29,
// last day of month), pg_cron's macros and seconds syntax, and refusals, plus a brute-force reference that
// walks every minute of eight years with the C library's calendar.
#include "core/ops/cron_interval.hpp"
#include "core/error.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <random>
#include <string>

namespace
{

constexpr int64_t kMin = 60;
constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;

TEST(CronInterval, EveryMinuteHourDay)
{
	EXPECT_EQ(bk::cron_max_interval_seconds("* * * * *"), kMin);
	EXPECT_EQ(bk::cron_max_interval_seconds("*/5 * * * *"), 5 * kMin);
	EXPECT_EQ(bk::cron_max_interval_seconds("0 * * * *"), kHour);
	EXPECT_EQ(bk::cron_max_interval_seconds("15 2 * * *"), kDay);
	EXPECT_EQ(bk::cron_max_interval_seconds("  15 2 * * *  "), kDay);
}

TEST(CronInterval, UnevenTimesTakeTheLongestGap)
{
	EXPECT_EQ(bk::cron_max_interval_seconds("0 1,2,20 * * *"), 18 * kHour);
	EXPECT_EQ(bk::cron_max_interval_seconds("0,50 * * * *"), 50 * kMin);
	EXPECT_EQ(bk::cron_max_interval_seconds("0 22 * * *"), kDay);
}

TEST(CronInterval, Weekdays)
{
	EXPECT_EQ(bk::cron_max_interval_seconds("0 9 * * 1-5"), 3 * kDay);
	EXPECT_EQ(bk::cron_max_interval_seconds("0 9 * * mon-fri"), 3 * kDay);
	EXPECT_EQ(bk::cron_max_interval_seconds("0 0 * * 0"), 7 * kDay);
	EXPECT_EQ(bk::cron_max_interval_seconds("0 0 * * 7"), 7 * kDay);
	EXPECT_EQ(bk::cron_max_interval_seconds("@weekly"), 7 * kDay);
}

TEST(CronInterval, MonthsAndLeapDays)
{
	// January 31 to March 1 in a common year.
	EXPECT_EQ(bk::cron_max_interval_seconds("@monthly"), 31 * kDay);
	EXPECT_EQ(bk::cron_max_interval_seconds("0 0 1 1 *"), 366 * kDay);
	EXPECT_EQ(bk::cron_max_interval_seconds("0 0 31 * *"), 61 * kDay); // Aug 31 -> Oct 31
	// Feb 29: every four years, eight across 2100 (not a leap year).
	EXPECT_EQ(bk::cron_max_interval_seconds("0 0 29 2 *"), 2921 * kDay);
	EXPECT_EQ(bk::cron_max_interval_seconds("0 0 $ * *"), 31 * kDay);
}

TEST(CronInterval, BothDayFieldsRestrictedMeansEither)
{
	// The 1st of each month or any Sunday: never more than 7 days apart.
	EXPECT_EQ(bk::cron_max_interval_seconds("0 0 1 * 0"), 7 * kDay);
	// A step on '*' still counts as '*': every other day of the month AND Sundays only.
	EXPECT_GT(bk::cron_max_interval_seconds("0 0 */2 * 0"), 7 * kDay);
}

TEST(CronInterval, MacrosAndSeconds)
{
	EXPECT_EQ(bk::cron_max_interval_seconds("@daily"), kDay);
	EXPECT_EQ(bk::cron_max_interval_seconds("@hourly"), kHour);
	EXPECT_EQ(bk::cron_max_interval_seconds("30 seconds"), 30);
}

TEST(CronInterval, RefusesWhatPgCronRefuses)
{
	for (const char *bad : {"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
	                        "5-1 * * * *", "*/0 * * * *", "@often", "61 seconds", "0 0 30 2 *", "a b c d e"})
	{
		try
		{
			(void) bk::cron_max_interval_seconds(bad);
			ADD_FAILURE() << "accepted \"" << bad << "\"";
		}
		catch (const bk::Error &e)
		{
			EXPECT_STREQ(e.sqlstate(), "22023") << bad;
			EXPECT_NE(e.message().find("invalid cron schedule"), std::string::npos);
		}
	}
}

// Reference: walk every minute from 2096 to 2104 with gmtime and cron's matching rule written directly.
bool
in_list(const std::vector<int> &values, int v)
{
	for (int x : values)
	{
		if (x == v)
		{
			return true;
		}
	}
	return false;
}

TEST(CronInterval, AgreesWithMinuteByMinuteWalk)
{
	std::mt19937 rng(13);
	for (int iter = 0; iter < 8; iter++)
	{
		std::vector<int> minutes{static_cast<int>(rng() % 60)};
		std::vector<int> hours{static_cast<int>(rng() % 24), static_cast<int>(rng() % 24)};
		std::vector<int> doms{static_cast<int>(1 + rng() % 31)};
		std::vector<int> dows{static_cast<int>(rng() % 7)};
		bool use_dom = rng() % 2 == 0;
		bool use_dow = rng() % 2 == 0;
		std::string expr = std::to_string(minutes[0]) + " " + std::to_string(hours[0]) + "," +
		                   std::to_string(hours[1]) + " " + (use_dom ? std::to_string(doms[0]) : "*") + " * " +
		                   (use_dow ? std::to_string(dows[0]) : "*");
		time_t start = 3976214400LL; // 2096-01-01
		time_t end = 4228588800LL;   // 2104-01-01
		int64_t previous = -1;
		int64_t longest = 0;
		for (time_t t = start; t < end; t += 60)
		{
			struct tm tm;
			gmtime_r(&t, &tm);
			if (!in_list(minutes, tm.tm_min) || !in_list(hours, tm.tm_hour))
			{
				continue;
			}
			bool dm = !use_dom || in_list(doms, tm.tm_mday);
			bool dw = !use_dow || in_list(dows, tm.tm_wday);
			bool match = (use_dom && use_dow) ? (in_list(doms, tm.tm_mday) || in_list(dows, tm.tm_wday)) : (dm && dw);
			if (!match)
			{
				continue;
			}
			if (previous >= 0)
			{
				longest = std::max<int64_t>(longest, t - previous);
			}
			previous = t;
		}
		// Eight years include every gap these schedules have (31-day months, 2100 is not a leap year).
		EXPECT_EQ(bk::cron_max_interval_seconds(expr), longest) << expr;
	}
}

} // namespace
