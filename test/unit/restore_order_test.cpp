// Foreign-key ordering: hand-made graphs and random graphs of up to 10,000 tables checked against an
// independent reference (reachability closure on small graphs, edge and adjacency rules on large ones).
#include "../../src/core/restore_order.hpp"
#include "../../src/core/error.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace
{

struct Result
{
	std::vector<int> order, level, group;
};

Result
run(const std::vector<std::string> &names, const std::vector<std::pair<int, int>> &edges)
{
	std::vector<const char *> n;
	for (const auto &s : names)
	{
		n.push_back(s.c_str());
	}
	std::vector<int> child, parent;
	for (auto e : edges)
	{
		child.push_back(e.first);
		parent.push_back(e.second);
	}
	Result r;
	r.order.resize(names.size());
	r.level.resize(names.size());
	r.group.resize(names.size());
	bk::order_tables(names.size(), n.data(), edges.size(), child.data(), parent.data(), r.order.data(), r.level.data(),
	                 r.group.data());
	return r;
}

std::vector<std::string>
names_of(const Result &r, const std::vector<std::string> &names)
{
	std::vector<std::string> out;
	for (int i : r.order)
	{
		out.push_back(names[i]);
	}
	return out;
}

std::vector<int>
position_of(const Result &r)
{
	std::vector<int> pos(r.order.size());
	for (size_t k = 0; k < r.order.size(); k++)
	{
		pos[r.order[k]] = static_cast<int>(k);
	}
	return pos;
}

} // namespace

TEST(RestoreOrder, ChainIsParentsFirst)
{
	// c references b, b references a
	std::vector<std::string> names{"public.c", "public.b", "public.a"};
	Result r = run(names, {{0, 1}, {1, 2}});
	EXPECT_EQ(names_of(r, names), (std::vector<std::string>{"public.a", "public.b", "public.c"}));
	EXPECT_EQ(r.level, (std::vector<int>{2, 1, 0}));
	EXPECT_EQ(r.group, (std::vector<int>{0, 0, 0}));
}

TEST(RestoreOrder, DiamondLevels)
{
	// d -> b, d -> c, b -> a, c -> a
	std::vector<std::string> names{"a", "b", "c", "d"};
	Result r = run(names, {{3, 1}, {3, 2}, {1, 0}, {2, 0}});
	EXPECT_EQ(names_of(r, names), (std::vector<std::string>{"a", "b", "c", "d"}));
	EXPECT_EQ(r.level, (std::vector<int>{0, 1, 1, 2}));
}

TEST(RestoreOrder, TiesBrokenByName)
{
	std::vector<std::string> names{"s.zeta", "s.alpha", "s.mid"};
	Result r = run(names, {});
	EXPECT_EQ(names_of(r, names), (std::vector<std::string>{"s.alpha", "s.mid", "s.zeta"}));
}

TEST(RestoreOrder, SelfReferenceIsNotACycleGroup)
{
	std::vector<std::string> names{"emp", "dept"};
	Result r = run(names, {{0, 0}, {0, 1}});
	EXPECT_EQ(names_of(r, names), (std::vector<std::string>{"dept", "emp"}));
	EXPECT_EQ(r.group, (std::vector<int>{0, 0}));
}

TEST(RestoreOrder, TwoCycleKeptTogether)
{
	std::vector<std::string> names{"b", "x", "a", "child"};
	// a <-> b, child -> a, x alone
	Result r = run(names, {{2, 0}, {0, 2}, {3, 2}});
	auto order = names_of(r, names);
	EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "child", "x"}));
	EXPECT_GT(r.group[0], 0);
	EXPECT_EQ(r.group[0], r.group[2]);
	EXPECT_EQ(r.group[1], 0);
	EXPECT_EQ(r.level[3], r.level[2] + 1);
}

TEST(RestoreOrder, LongRingAndSeparateCycles)
{
	std::vector<std::string> names{"r1", "r2", "r3", "r4", "q1", "q2", "solo"};
	Result r = run(names, {{0, 1}, {1, 2}, {2, 3}, {3, 0}, {4, 5}, {5, 4}, {6, 4}});
	EXPECT_EQ(r.group[0], r.group[3]);
	EXPECT_EQ(r.group[4], r.group[5]);
	EXPECT_NE(r.group[0], r.group[4]);
	EXPECT_GT(r.group[0], 0);
	EXPECT_GT(r.group[4], 0);
	auto pos = position_of(r);
	EXPECT_LT(pos[5], pos[6]);
	EXPECT_LT(pos[4], pos[6]);
}

TEST(RestoreOrder, RejectsEdgesOutsideTheSet)
{
	std::vector<std::string> names{"a"};
	try
	{
		run(names, {{0, 5}});
		FAIL() << "expected bk::Error";
	}
	catch (const bk::Error &e)
	{
		EXPECT_STREQ(e.sqlstate(), "22023");
	}
}

// Reference: strongly connected components by reachability closure (Floyd–Warshall), independent of Tarjan.
static void
check_against_closure(size_t n, const std::vector<std::pair<int, int>> &edges, const Result &r)
{
	std::vector<std::vector<char>> reach(n, std::vector<char>(n, 0));
	for (size_t i = 0; i < n; i++)
	{
		reach[i][i] = 1;
	}
	for (auto e : edges)
	{
		reach[e.first][e.second] = 1;
	}
	for (size_t k = 0; k < n; k++)
	{
		for (size_t i = 0; i < n; i++)
		{
			if (!reach[i][k])
			{
				continue;
			}
			for (size_t j = 0; j < n; j++)
			{
				reach[i][j] |= reach[k][j];
			}
		}
	}
	auto pos = position_of(r);
	for (size_t i = 0; i < n; i++)
	{
		for (size_t j = 0; j < n; j++)
		{
			bool same = i != j && reach[i][j] && reach[j][i];
			if (same)
			{
				ASSERT_GT(r.group[i], 0);
				ASSERT_EQ(r.group[i], r.group[j]);
				ASSERT_EQ(r.level[i], r.level[j]);
			}
			else if (i != j && reach[i][j])
			{
				// i depends (transitively) on j and not the reverse: j comes first, at a lower level.
				ASSERT_LT(pos[j], pos[i]);
				ASSERT_LT(r.level[j], r.level[i]);
			}
			if (i != j && r.group[i] > 0 && r.group[i] == r.group[j])
			{
				ASSERT_TRUE(reach[i][j] && reach[j][i]);
			}
		}
	}
	// Members of a cycle group are adjacent in the order.
	for (size_t k = 0; k + 1 < n; k++)
	{
		int g = r.group[r.order[k]];
		if (g == 0)
		{
			continue;
		}
		size_t last = k;
		for (size_t m = k; m < n; m++)
		{
			if (r.group[r.order[m]] == g)
			{
				last = m;
			}
		}
		for (size_t m = k; m <= last; m++)
		{
			ASSERT_EQ(r.group[r.order[m]], g);
		}
	}
}

TEST(RestoreOrder, RandomSmallGraphsMatchClosureReference)
{
	std::mt19937 rng(42);
	for (int round = 0; round < 40; round++)
	{
		size_t n = 50 + rng() % 250;
		std::vector<std::string> names;
		for (size_t i = 0; i < n; i++)
		{
			names.push_back("s.t" + std::to_string(rng() % 100000) + "_" + std::to_string(i));
		}
		std::vector<std::pair<int, int>> edges;
		size_t m = n + rng() % (2 * n);
		for (size_t e = 0; e < m; e++)
		{
			edges.push_back({static_cast<int>(rng() % n), static_cast<int>(rng() % n)});
		}
		Result r = run(names, edges);
		std::vector<int> sorted = r.order;
		std::sort(sorted.begin(), sorted.end());
		for (size_t i = 0; i < n; i++)
		{
			ASSERT_EQ(sorted[i], static_cast<int>(i)) << "order is a permutation";
		}
		check_against_closure(n, edges, r);
	}
}

TEST(RestoreOrder, TenThousandTablesChainedAndCrossLinked)
{
	const size_t n = 10000;
	std::mt19937 rng(7);
	std::vector<std::string> names;
	for (size_t i = 0; i < n; i++)
	{
		names.push_back("public.table_" + std::to_string(i));
	}
	std::vector<std::pair<int, int>> edges;
	for (size_t i = 1; i < n; i++)
	{
		edges.push_back({static_cast<int>(i), static_cast<int>(i - 1)});     // chain
		edges.push_back({static_cast<int>(i), static_cast<int>(rng() % i)}); // cross links to older tables
	}
	for (int c = 0; c < 50; c++) // and a few back links making cycles
	{
		int a = static_cast<int>(rng() % n), b = static_cast<int>(rng() % n);
		edges.push_back({std::min(a, b), std::max(a, b)});
	}
	auto start = std::chrono::steady_clock::now();
	Result r = run(names, edges);
	auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
	std::printf("ordering %zu tables with %zu foreign keys took %.1f ms\n", n, edges.size(), ms);
	auto pos = position_of(r);
	for (auto e : edges)
	{
		if (e.first == e.second || (r.group[e.first] > 0 && r.group[e.first] == r.group[e.second]))
		{
			continue;
		}
		ASSERT_LT(pos[e.second], pos[e.first]);
		ASSERT_LT(r.level[e.second], r.level[e.first]);
	}
}
