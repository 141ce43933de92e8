// bk::order_tables on hand-made graphs (chains, diamonds, cycles, self-loops, ties) and on random graphs
// checked against an independent reference: reachability closure for the components, and the edge rule
// parent-before-child, levels and groups recomputed from scratch.
#include "core/plan/dependency_order.hpp"

#include "core/error.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace
{

struct Result
{
	std::vector<std::string> order; // names in restore order
	std::map<std::string, int> level;
	std::map<std::string, int> group;
};

// Edges as {child, parent} names: the child references the parent.
Result
run(const std::vector<std::string> &names, const std::vector<std::pair<std::string, std::string>> &fks)
{
	std::map<std::string, int> index;
	std::vector<const char *> cnames;
	for (size_t i = 0; i < names.size(); i++)
	{
		index[names[i]] = static_cast<int>(i);
		cnames.push_back(names[i].c_str());
	}
	std::vector<int> child, parent;
	for (const auto &fk : fks)
	{
		child.push_back(index.at(fk.first));
		parent.push_back(index.at(fk.second));
	}
	size_t n = names.size();
	std::vector<int> order(n, -1), level(n, -1), group(n, -1);
	bk::order_tables(n, cnames.data(), child.size(), child.data(), parent.data(), order.data(), level.data(),
	                 group.data());
	Result r;
	for (size_t k = 0; k < n; k++)
	{
		r.order.push_back(names[order[k]]);
		r.level[names[k]] = level[k];
		r.group[names[k]] = group[k];
	}
	return r;
}

using Names = std::vector<std::string>;

TEST(RestoreOrder, EmptyInputOrdersNothing)
{
	Result r = run({}, {});
	EXPECT_TRUE(r.order.empty());
}

TEST(RestoreOrder, ChainPutsParentsFirst)
{
	Result r = run({"public.c", "public.b", "public.a"}, {{"public.c", "public.b"}, {"public.b", "public.a"}});
	EXPECT_EQ(r.order, (Names{"public.a", "public.b", "public.c"}));
	EXPECT_EQ(r.level["public.a"], 0);
	EXPECT_EQ(r.level["public.b"], 1);
	EXPECT_EQ(r.level["public.c"], 2);
	EXPECT_EQ(r.group["public.a"] + r.group["public.b"] + r.group["public.c"], 0);
}

TEST(RestoreOrder, ChainAgainstNameOrderStillPutsParentsFirst)
{
	// Names sort opposite to the dependencies: the foreign keys win over the names.
	Result r = run({"a", "b", "c"}, {{"a", "b"}, {"b", "c"}});
	EXPECT_EQ(r.order, (Names{"c", "b", "a"}));
}

TEST(RestoreOrder, DiamondLevelIsLongestPath)
{
	// d references b and c, which reference a; e references a and d.
	Result r = run({"e", "d", "c", "b", "a"}, {{"d", "b"}, {"d", "c"}, {"b", "a"}, {"c", "a"}, {"e", "a"}, {"e", "d"}});
	EXPECT_EQ(r.order, (Names{"a", "b", "c", "d", "e"}));
	EXPECT_EQ(r.level["a"], 0);
	EXPECT_EQ(r.level["b"], 1);
	EXPECT_EQ(r.level["c"], 1);
	EXPECT_EQ(r.level["d"], 2);
	EXPECT_EQ(r.level["e"], 3);
}

TEST(RestoreOrder, TwoCycleKeptTogetherAndGrouped)
{
	Result r = run({"y", "x", "child", "root"}, {{"x", "y"}, {"y", "x"}, {"child", "x"}, {"x", "root"}});
	EXPECT_EQ(r.order, (Names{"root", "x", "y", "child"}));
	EXPECT_EQ(r.group["x"], 1);
	EXPECT_EQ(r.group["y"], 1);
	EXPECT_EQ(r.group["root"], 0);
	EXPECT_EQ(r.group["child"], 0);
	EXPECT_EQ(r.level["x"], 1);
	EXPECT_EQ(r.level["y"], 1);
	EXPECT_EQ(r.level["child"], 2);
}

TEST(RestoreOrder, LongerRingMembersAdjacentInNameOrder)
{
	Result r = run({"r4", "r2", "r3", "r1", "a", "z"},
	               {{"r1", "r2"}, {"r2", "r3"}, {"r3", "r4"}, {"r4", "r1"}, {"z", "r3"}, {"r2", "a"}});
	EXPECT_EQ(r.order, (Names{"a", "r1", "r2", "r3", "r4", "z"}));
	for (const char *m : {"r1", "r2", "r3", "r4"})
	{
		EXPECT_EQ(r.group[m], 1) << m;
		EXPECT_EQ(r.level[m], 1) << m;
	}
	EXPECT_EQ(r.level["z"], 2);
}

TEST(RestoreOrder, SeveralSeparateCyclesNumberedInOrderOfAppearance)
{
	Result r = run({"q2", "q1", "p2", "p1", "m", "n"},
	               {{"q1", "q2"}, {"q2", "q1"}, {"p1", "p2"}, {"p2", "p1"}, {"p1", "q1"}, {"m", "p2"}, {"n", "n"}});
	EXPECT_EQ(r.order, (Names{"n", "q1", "q2", "p1", "p2", "m"}));
	EXPECT_EQ(r.group["q1"], 1);
	EXPECT_EQ(r.group["q2"], 1);
	EXPECT_EQ(r.group["p1"], 2);
	EXPECT_EQ(r.group["p2"], 2);
	EXPECT_EQ(r.group["m"], 0);
	EXPECT_EQ(r.group["n"], 0);
	EXPECT_EQ(r.level["p1"], 1);
	EXPECT_EQ(r.level["m"], 2);
}

TEST(RestoreOrder, SelfReferenceIsNotACycleGroupAndDoesNotBlock)
{
	Result r = run({"tree", "leaf"}, {{"tree", "tree"}, {"leaf", "tree"}, {"leaf", "leaf"}, {"tree", "tree"}});
	EXPECT_EQ(r.order, (Names{"tree", "leaf"}));
	EXPECT_EQ(r.group["tree"], 0);
	EXPECT_EQ(r.group["leaf"], 0);
	EXPECT_EQ(r.level["tree"], 0);
	EXPECT_EQ(r.level["leaf"], 1);
}

TEST(RestoreOrder, DuplicateForeignKeysCountOnce)
{
	Result r = run({"b", "a"}, {{"b", "a"}, {"b", "a"}, {"b", "a"}});
	EXPECT_EQ(r.order, (Names{"a", "b"}));
	EXPECT_EQ(r.level["b"], 1);
}

TEST(RestoreOrder, DisconnectedTablesInNameOrder)
{
	Result r = run({"s.d", "s.b", "s.c", "s.a"}, {});
	EXPECT_EQ(r.order, (Names{"s.a", "s.b", "s.c", "s.d"}));
	for (const auto &l : r.level)
	{
		EXPECT_EQ(l.second, 0);
	}
}

TEST(RestoreOrder, TiesBrokenByNameAmongReadyTables)
{
	// After "a", both "c" and "b" become ready; "b" first although "c" is listed first and "z" was ready
	// before them.
	Result r = run({"z", "c", "b", "a", "d"}, {{"c", "a"}, {"b", "a"}, {"d", "b"}});
	EXPECT_EQ(r.order, (Names{"a", "b", "c", "d", "z"}));
}

TEST(RestoreOrder, ResultDoesNotDependOnInputOrder)
{
	Names names = {"s.e", "s.d", "s.c", "s.b", "s.a", "s.f"};
	std::vector<std::pair<std::string, std::string>> fks = {{"s.b", "s.a"}, {"s.c", "s.b"}, {"s.b", "s.c"},
	                                                        {"s.d", "s.a"}, {"s.f", "s.d"}, {"s.e", "s.e"}};
	Result first = run(names, fks);
	std::mt19937 rng(7);
	for (int i = 0; i < 20; i++)
	{
		std::shuffle(names.begin(), names.end(), rng);
		std::shuffle(fks.begin(), fks.end(), rng);
		Result again = run(names, fks);
		EXPECT_EQ(again.order, first.order);
		EXPECT_EQ(again.level, first.level);
		EXPECT_EQ(again.group, first.group);
	}
}

TEST(RestoreOrder, EdgeOutsideTheListIsRejected)
{
	const char *names[2] = {"a", "b"};
	int child[1] = {0};
	int parent[1] = {2};
	int order[2], level[2], group[2];
	try
	{
		bk::order_tables(2, names, 1, child, parent, order, level, group);
		FAIL() << "expected bk::Error";
	}
	catch (const bk::Error &e)
	{
		EXPECT_STREQ(e.sqlstate(), "22023");
	}
	child[0] = -1;
	parent[0] = 0;
	EXPECT_THROW(bk::order_tables(2, names, 1, child, parent, order, level, group), bk::Error);
}

TEST(RestoreOrder, LongChainNeedsNoRecursion)
{
	// 200,000 tables in one chain and one ring: a recursive Tarjan would overflow the stack.
	const size_t n = 200000;
	std::vector<std::string> names(n);
	std::vector<const char *> cnames(n);
	std::vector<int> child, parent;
	for (size_t i = 0; i < n; i++)
	{
		char buf[32];
		std::snprintf(buf, sizeof(buf), "t%07zu", i);
		names[i] = buf;
		cnames[i] = names[i].c_str();
		if (i > 0)
		{
			child.push_back(static_cast<int>(i - 1)); // t0 references t1 ... the last one is the root
			parent.push_back(static_cast<int>(i));
		}
	}
	std::vector<int> order(n), level(n), group(n);
	bk::order_tables(n, cnames.data(), child.size(), child.data(), parent.data(), order.data(), level.data(),
	                 group.data());
	for (size_t k = 0; k < n; k++)
	{
		ASSERT_EQ(order[k], static_cast<int>(n - 1 - k));
		ASSERT_EQ(level[order[k]], static_cast<int>(k));
	}
	child.push_back(static_cast<int>(n - 1)); // close the ring
	parent.push_back(0);
	bk::order_tables(n, cnames.data(), child.size(), child.data(), parent.data(), order.data(), level.data(),
	                 group.data());
	for (size_t k = 0; k < n; k++)
	{
		ASSERT_EQ(order[k], static_cast<int>(k));
		ASSERT_EQ(group[k], 1);
		ASSERT_EQ(level[k], 0);
	}
}

// ---- Random graphs against an independent reference ----

struct Graph
{
	size_t n;
	std::vector<std::string> names;
	std::vector<int> child, parent;
};

// Mostly acyclic edges (child has a higher hidden rank than its parent) plus a few back edges and
// self-loops that create cycles of various sizes; names are shuffled so they say nothing about the ranks.
Graph
random_graph(size_t n, size_t nedges, size_t nback, unsigned seed)
{
	std::mt19937 rng(seed);
	Graph g;
	g.n = n;
	std::vector<int> perm(n);
	for (size_t i = 0; i < n; i++)
	{
		perm[i] = static_cast<int>(i);
	}
	std::shuffle(perm.begin(), perm.end(), rng);
	for (size_t i = 0; i < n; i++)
	{
		char buf[40];
		std::snprintf(buf, sizeof(buf), "s%u.t%06d", static_cast<unsigned>(perm[i] % 7), perm[i]);
		g.names.push_back(buf);
	}
	std::uniform_int_distribution<int> pick(0, static_cast<int>(n) - 1);
	for (size_t e = 0; e < nedges; e++)
	{
		int a = pick(rng), b = pick(rng);
		if (a == b)
		{
			continue;
		}
		g.child.push_back(std::max(a, b));
		g.parent.push_back(std::min(a, b));
	}
	// Cycles: from a random table walk 1 to 4 steps down the foreign keys to a descendant and let the start
	// reference it (rings of 2 to 5 tables, sometimes overlapping); every fifth one is a self-loop instead.
	std::vector<std::vector<int>> children(n);
	for (size_t e = 0; e < g.child.size(); e++)
	{
		children[g.parent[e]].push_back(g.child[e]);
	}
	for (size_t e = 0; e < nback; e++)
	{
		int a = pick(rng);
		int z = a;
		if (rng() % 5 != 0)
		{
			for (unsigned steps = 1 + rng() % 4; steps > 0 && !children[z].empty(); steps--)
			{
				z = children[z][rng() % children[z].size()];
			}
		}
		g.child.push_back(a);
		g.parent.push_back(z);
	}
	return g;
}

// Reachability closure by BFS from every node (parent -> child direction); O(n * (n + e)).
std::vector<std::vector<char>>
closure(const Graph &g)
{
	std::vector<std::vector<int>> out(g.n);
	for (size_t e = 0; e < g.child.size(); e++)
	{
		out[g.parent[e]].push_back(g.child[e]);
	}
	std::vector<std::vector<char>> reach(g.n, std::vector<char>(g.n, 0));
	for (size_t s = 0; s < g.n; s++)
	{
		std::vector<int> queue = {static_cast<int>(s)};
		reach[s][s] = 1;
		for (size_t q = 0; q < queue.size(); q++)
		{
			for (int w : out[queue[q]])
			{
				if (!reach[s][w])
				{
					reach[s][w] = 1;
					queue.push_back(w);
				}
			}
		}
	}
	return reach;
}

struct Ordered
{
	std::vector<int> order, level, group, pos;
};

Ordered
order_graph(const Graph &g)
{
	std::vector<const char *> cnames;
	for (const auto &s : g.names)
	{
		cnames.push_back(s.c_str());
	}
	Ordered o;
	o.order.assign(g.n, -1);
	o.level.assign(g.n, -1);
	o.group.assign(g.n, -1);
	bk::order_tables(g.n, cnames.data(), g.child.size(), g.child.data(), g.parent.data(), o.order.data(),
	                 o.level.data(), o.group.data());
	o.pos.assign(g.n, -1);
	for (size_t k = 0; k < g.n; k++)
	{
		o.pos[o.order[k]] = static_cast<int>(k);
	}
	return o;
}

bool
names_less(const Graph &g, size_t a, size_t b)
{
	return g.names[a] < g.names[b];
}

// Checks valid for any size: a permutation; every edge between different components goes parent first with
// a strictly lower level, within a component levels and groups agree; each level is 0 or 1 + the maximum of
// its parents (recomputed by relaxation); groups are numbered 1, 2, ... in order of appearance.
void
check_order_rules(const Graph &g, const Ordered &o, const std::vector<int> &same_comp_key)
{
	std::vector<char> seen(g.n, 0);
	for (size_t k = 0; k < g.n; k++)
	{
		ASSERT_GE(o.order[k], 0);
		ASSERT_LT(o.order[k], static_cast<int>(g.n));
		ASSERT_FALSE(seen[o.order[k]]) << "table listed twice";
		seen[o.order[k]] = 1;
	}
	std::vector<int> expected_level(g.n, 0);
	for (size_t e = 0; e < g.child.size(); e++)
	{
		int c = g.child[e], p = g.parent[e];
		if (same_comp_key[c] == same_comp_key[p])
		{
			ASSERT_EQ(o.level[c], o.level[p]);
			ASSERT_EQ(o.group[c], o.group[p]);
			continue;
		}
		ASSERT_LT(o.pos[p], o.pos[c]) << g.names[p] << " must come before " << g.names[c];
		ASSERT_LT(o.level[p], o.level[c]);
		expected_level[c] = std::max(expected_level[c], o.level[p] + 1);
	}
	// Levels of a component: the maximum over its members' incoming edges.
	std::map<int, int> comp_level;
	for (size_t v = 0; v < g.n; v++)
	{
		comp_level[same_comp_key[v]] = std::max(comp_level[same_comp_key[v]], expected_level[v]);
	}
	for (size_t v = 0; v < g.n; v++)
	{
		ASSERT_EQ(o.level[v], comp_level[same_comp_key[v]]) << g.names[v];
	}
	int next_group = 1;
	for (size_t k = 0; k < g.n; k++)
	{
		int g_no = o.group[o.order[k]];
		if (g_no == 0)
		{
			continue;
		}
		ASSERT_LE(g_no, next_group);
		if (g_no == next_group)
		{
			next_group++;
		}
	}
}

TEST(RestoreOrder, RandomGraphsMatchReachabilityReference)
{
	for (unsigned seed = 1; seed <= 25; seed++)
	{
		const size_t n = 300;
		Graph g = random_graph(n, 450 + seed * 10, 5 + seed, seed);
		auto reach = closure(g);
		Ordered o = order_graph(g);

		// Reference components: u and v together iff each reaches the other. Key = smallest member.
		std::vector<int> key(n);
		std::vector<int> size(n, 0);
		for (size_t v = 0; v < n; v++)
		{
			key[v] = static_cast<int>(v);
			for (size_t u = 0; u < v; u++)
			{
				if (reach[u][v] && reach[v][u])
				{
					key[v] = static_cast<int>(u);
					break;
				}
			}
			size[key[v]]++;
		}
		check_order_rules(g, o, key);

		for (size_t v = 0; v < n; v++)
		{
			bool in_cycle = size[key[v]] >= 2;
			ASSERT_EQ(o.group[v] > 0, in_cycle) << "seed " << seed << " " << g.names[v];
		}
		for (size_t u = 0; u < n; u++)
		{
			for (size_t v = 0; v < n; v++)
			{
				if (u == v)
				{
					continue;
				}
				bool together = key[u] == key[v];
				if (together)
				{
					// Members adjacent: nothing from another component between them.
					int lo = std::min(o.pos[u], o.pos[v]), hi = std::max(o.pos[u], o.pos[v]);
					ASSERT_LT(hi - lo, size[key[u]]);
					ASSERT_EQ(o.group[u], o.group[v]);
					ASSERT_EQ(names_less(g, u, v), o.pos[u] < o.pos[v]) << "members in name order";
				}
				else if (reach[u][v])
				{
					ASSERT_LT(o.pos[u], o.pos[v]) << "ancestor after descendant, seed " << seed;
				}
				if (o.group[u] > 0 && o.group[u] == o.group[v])
				{
					ASSERT_TRUE(together);
				}
			}
		}

		// Determinism: a shuffled copy of the same graph gives the same names in the same order.
		std::mt19937 rng(seed * 31);
		std::vector<int> perm(n);
		for (size_t i = 0; i < n; i++)
		{
			perm[i] = static_cast<int>(i);
		}
		std::shuffle(perm.begin(), perm.end(), rng);
		Graph h;
		h.n = n;
		h.names.resize(n);
		for (size_t i = 0; i < n; i++)
		{
			h.names[perm[i]] = g.names[i];
		}
		for (size_t e = 0; e < g.child.size(); e++)
		{
			h.child.push_back(perm[g.child[e]]);
			h.parent.push_back(perm[g.parent[e]]);
		}
		Ordered o2 = order_graph(h);
		for (size_t k = 0; k < n; k++)
		{
			ASSERT_EQ(h.names[o2.order[k]], g.names[o.order[k]]);
		}
	}
}

// Smallest-name-first among ready components, checked by a plain quadratic simulation of Kahn's algorithm
// over the reference components.
TEST(RestoreOrder, RandomGraphsFollowNameKeyedKahn)
{
	for (unsigned seed = 100; seed < 110; seed++)
	{
		const size_t n = 300;
		Graph g = random_graph(n, 400, 10, seed);
		auto reach = closure(g);
		Ordered o = order_graph(g);
		std::vector<int> key(n);
		for (size_t v = 0; v < n; v++)
		{
			key[v] = static_cast<int>(v);
			for (size_t u = 0; u < v; u++)
			{
				if (reach[u][v] && reach[v][u])
				{
					key[v] = static_cast<int>(u);
					break;
				}
			}
		}
		std::vector<char> placed(n, 0);
		std::vector<int> expected;
		while (expected.size() < n)
		{
			// Ready components: every parent outside the component is placed. Pick the smallest name.
			int best = -1;
			for (size_t v = 0; v < n; v++)
			{
				if (placed[v])
				{
					continue;
				}
				bool ready = true;
				for (size_t e = 0; e < g.child.size() && ready; e++)
				{
					int c = g.child[e], p = g.parent[e];
					ready = !(key[c] == key[v] && key[p] != key[v] && !placed[p]);
				}
				if (ready && (best < 0 || g.names[v] < g.names[best]))
				{
					best = static_cast<int>(v);
				}
			}
			ASSERT_GE(best, 0);
			std::vector<int> members;
			for (size_t v = 0; v < n; v++)
			{
				if (key[v] == key[best])
				{
					members.push_back(static_cast<int>(v));
					placed[v] = 1;
				}
			}
			std::sort(members.begin(), members.end(), [&g](int a, int b) { return g.names[a] < g.names[b]; });
			expected.insert(expected.end(), members.begin(), members.end());
		}
		ASSERT_EQ(o.order, expected) << "seed " << seed;
	}
}

TEST(RestoreOrder, TenThousandTablesCheckedAndTimed)
{
	const size_t n = 10000;
	Graph g = random_graph(n, 20000, 300, 4242);
	std::vector<const char *> cnames;
	for (const auto &s : g.names)
	{
		cnames.push_back(s.c_str());
	}
	std::vector<int> order(n), level(n), group(n);
	auto start = std::chrono::steady_clock::now();
	const int rounds = 10;
	for (int i = 0; i < rounds; i++)
	{
		bk::order_tables(n, cnames.data(), g.child.size(), g.child.data(), g.parent.data(), order.data(), level.data(),
		                 group.data());
	}
	double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / rounds;
	std::printf("[ timing ] order_tables: %zu tables, %zu foreign keys: %.3f ms per call (mean of %d)\n", n,
	            g.child.size(), ms, rounds);

	// Independent component reference without an O(n^2) closure: forward and backward BFS from each
	// unassigned node (Kosaraju-free, plain set intersection), fine for graphs whose cycles are short.
	std::vector<std::vector<int>> out(n), in(n);
	for (size_t e = 0; e < g.child.size(); e++)
	{
		out[g.parent[e]].push_back(g.child[e]);
		in[g.child[e]].push_back(g.parent[e]);
	}
	std::vector<int> key(n, -1);
	std::vector<int> mark_f(n, -1), mark_b(n, -1);
	for (size_t s = 0; s < n; s++)
	{
		if (key[s] >= 0)
		{
			continue;
		}
		auto bfs = [&](const std::vector<std::vector<int>> &adj, std::vector<int> &mark)
		{
			std::vector<int> queue = {static_cast<int>(s)};
			mark[s] = static_cast<int>(s);
			for (size_t q = 0; q < queue.size(); q++)
			{
				for (int w : adj[queue[q]])
				{
					if (mark[w] != static_cast<int>(s))
					{
						mark[w] = static_cast<int>(s);
						queue.push_back(w);
					}
				}
			}
			return queue;
		};
		bfs(out, mark_f);
		std::vector<int> back = bfs(in, mark_b);
		for (int v : back)
		{
			if (mark_f[v] == static_cast<int>(s))
			{
				key[v] = static_cast<int>(s);
			}
		}
	}
	Ordered o;
	o.order = order;
	o.level = level;
	o.group = group;
	o.pos.assign(n, -1);
	for (size_t k = 0; k < n; k++)
	{
		o.pos[order[k]] = static_cast<int>(k);
	}
	check_order_rules(g, o, key);
	std::map<int, std::vector<int>> comps;
	for (size_t v = 0; v < n; v++)
	{
		comps[key[v]].push_back(static_cast<int>(v));
	}
	size_t cyclic = 0;
	for (const auto &c : comps)
	{
		std::vector<int> p;
		for (int v : c.second)
		{
			p.push_back(o.pos[v]);
			ASSERT_EQ(o.group[v] > 0, c.second.size() >= 2);
		}
		std::sort(p.begin(), p.end());
		ASSERT_EQ(p.back() - p.front(), static_cast<int>(p.size()) - 1) << "component members not adjacent";
		cyclic += c.second.size() >= 2;
	}
	EXPECT_GT(cyclic, 10u) << "the random graph should contain cycles";
}

} // namespace
