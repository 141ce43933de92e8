// pg_cron schedule parsing and the longest gap between runs (see cron_interval.hpp).
#include "core/ops/cron_interval.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <bitset>
#include <cctype>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace bk
{
namespace
{

[[noreturn]] void
invalid(const std::string &schedule, const std::string &why)
{
	throw Error(sqlstate::invalid_parameter_value, "invalid cron schedule \"" + schedule + "\"", why,
	            "Use five fields (minute hour day-of-month month day-of-week), a macro such as @daily, or "
	            "\"N seconds\".");
}

const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct Field
{
	std::bitset<64> bits;
	bool star = false; // the field starts with '*'
	bool last_day = false;
};

int
parse_value(const std::string &schedule, const std::string &text, int low, const char *const *names, int name_count,
            int name_base)
{
	if (names != nullptr && text.size() == 3 && std::isalpha(static_cast<unsigned char>(text[0])))
	{
		std::string lower = text;
		for (char &c : lower)
		{
			c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
		}
		for (int i = 0; i < name_count; i++)
		{
			if (lower == names[i])
			{
				return name_base + i;
			}
		}
	}
	if (text.empty() || text.size() > 4 ||
	    !std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
	{
		invalid(schedule, "\"" + text + "\" is not a valid value.");
	}
	(void) low;
	return std::atoi(text.c_str());
}

Field
parse_field(const std::string &schedule, const std::string &text, int low, int high, const char *const *names = nullptr,
            int name_count = 0, int name_base = 0, bool allow_last = false, int alias_high = -1)
{
	Field field;
	std::stringstream items(text);
	std::string item;
	int max_value = alias_high > high ? alias_high : high;
	while (std::getline(items, item, ','))
	{
		if (item.empty())
		{
			invalid(schedule, "A field has an empty list item.");
		}
		if (allow_last && item == "$")
		{
			field.last_day = true;
			continue;
		}
		int step = 1;
		auto slash = item.find('/');
		std::string range = item.substr(0, slash);
		if (slash != std::string::npos)
		{
			step = parse_value(schedule, item.substr(slash + 1), 1, nullptr, 0, 0);
			if (step < 1)
			{
				invalid(schedule, "A step must be at least 1.");
			}
		}
		int from;
		int to;
		if (range == "*")
		{
			from = low;
			to = high;
			// Vixie cron (and pg_cron): a day field starting with '*' does not restrict days, even with a step.
			field.star = true;
		}
		else
		{
			auto dash = range.find('-');
			from = parse_value(schedule, range.substr(0, dash), low, names, name_count, name_base);
			to = dash == std::string::npos
			         ? (slash == std::string::npos ? from : high)
			         : parse_value(schedule, range.substr(dash + 1), low, names, name_count, name_base);
		}
		if (from < low || to > max_value || from > max_value || to < low)
		{
			invalid(schedule,
			        "\"" + item + "\" is out of range " + std::to_string(low) + "-" + std::to_string(high) + ".");
		}
		if (from > to)
		{
			invalid(schedule, "The range \"" + range + "\" is reversed.");
		}
		for (int v = from; v <= to; v += step)
		{
			field.bits.set(static_cast<size_t>(v == alias_high ? low : v));
		}
	}
	return field;
}

// Days since 1970-01-01 of a civil date (proleptic Gregorian), and back.
int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const int64_t yoe = y - era * 400;
	const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

bool
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
month_days(int64_t y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : days[m - 1];
}

std::string
trim(const std::string &s)
{
	size_t b = s.find_first_not_of(" \t\n\r");
	size_t e = s.find_last_not_of(" \t\n\r");
	return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

} // namespace

int64_t
cron_max_interval_seconds(const std::string &input)
{
	std::string schedule = trim(input);
	std::string lower = schedule;
	for (char &c : lower)
	{
		c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
	}
	if (lower == "@yearly" || lower == "@annually")
	{
		schedule = "0 0 1 1 *";
	}
	else if (lower == "@monthly")
	{
		schedule = "0 0 1 * *";
	}
	else if (lower == "@weekly")
	{
		schedule = "0 0 * * 0";
	}
	else if (lower == "@daily" || lower == "@midnight")
	{
		schedule = "0 0 * * *";
	}
	else if (lower == "@hourly")
	{
		schedule = "0 * * * *";
	}
	else if (!lower.empty() && lower[0] == '@')
	{
		invalid(input, "\"" + schedule + "\" is not a recognized macro.");
	}

	std::vector<std::string> fields;
	{
		std::stringstream words(schedule);
		std::string w;
		while (words >> w)
		{
			fields.push_back(w);
		}
	}
	if (fields.size() == 2 && (fields[1] == "seconds" || fields[1] == "second"))
	{
		int n = parse_value(input, fields[0], 1, nullptr, 0, 0);
		if (n < 1 || n > 59)
		{
			invalid(input, "An interval in seconds must be between 1 and 59.");
		}
		return n;
	}
	if (fields.size() != 5)
	{
		invalid(input, "A schedule has five fields, not " + std::to_string(fields.size()) + ".");
	}
	Field minute = parse_field(input, fields[0], 0, 59);
	Field hour = parse_field(input, fields[1], 0, 23);
	Field dom = parse_field(input, fields[2], 1, 31, nullptr, 0, 0, true);
	Field month = parse_field(input, fields[3], 1, 12, month_names, 12, 1);
	Field dow = parse_field(input, fields[4], 0, 6, day_names, 7, 0, false, 7);

	std::vector<int> times; // minutes of the day at which the job runs, ascending
	for (int h = 0; h < 24; h++)
	{
		for (int m = 0; m < 60; m++)
		{
			if (hour.bits.test(static_cast<size_t>(h)) && minute.bits.test(static_cast<size_t>(m)))
			{
				times.push_back(h * 60 + m);
			}
		}
	}
	int64_t within_day = 0;
	for (size_t i = 1; i < times.size(); i++)
	{
		within_day = std::max<int64_t>(within_day, times[i] - times[i - 1]);
	}

	// Every day of one 400-year cycle (the Gregorian calendar repeats after it, weekdays included).
	const bool dom_restricted = !dom.star;
	const bool dow_restricted = !dow.star;
	int64_t first_day = -1;
	int64_t previous_day = -1;
	int64_t longest = within_day;
	const int64_t base_year = 2000;
	const int64_t cycle_days = 146097;
	for (int64_t y = base_year; y < base_year + 400; y++)
	{
		for (int m = 1; m <= 12; m++)
		{
			if (!month.bits.test(static_cast<size_t>(m)))
			{
				continue;
			}
			int last = month_days(y, m);
			for (int d = 1; d <= last; d++)
			{
				int64_t day = days_from_civil(y, m, d);
				int weekday = static_cast<int>(((day % 7) + 11) % 7); // 1970-01-01 was a Thursday (4)
				bool dom_match = dom.bits.test(static_cast<size_t>(d)) || (dom.last_day && d == last);
				bool dow_match = dow.bits.test(static_cast<size_t>(weekday));
				bool match;
				if (dom_restricted && dow_restricted)
				{
					match = dom_match || dow_match;
				}
				else
				{
					match = dom_match && dow_match;
				}
				if (!match || times.empty())
				{
					continue;
				}
				if (first_day < 0)
				{
					first_day = day;
				}
				if (previous_day >= 0)
				{
					longest = std::max<int64_t>(longest, (day - previous_day) * 1440 - times.back() + times.front());
				}
				previous_day = day;
			}
		}
	}
	if (first_day < 0)
	{
		invalid(input, "The schedule never runs.");
	}
	// Wrap around: the first run of the next cycle.
	longest = std::max<int64_t>(longest, (first_day + cycle_days - previous_day) * 1440 - times.back() + times.front());
	return longest * 60;
}

} // namespace bk
