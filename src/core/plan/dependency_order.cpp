// Parents-first ordering of tables: iterative Tarjan SCCs, then Kahn's algorithm on the condensation with a
// name-keyed priority queue so the result does not depend on the order of the input.
#include "core/plan/dependency_order.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <queue>
#include <string>
#include <vector>

namespace bk
{

namespace
{

// Compressed adjacency: the targets of node v are adj[start[v] .. start[v + 1]).
struct Csr
{
	std::vector<int> start;
	std::vector<int> adj;
};

Csr
build_csr(size_t n, size_t nedges, const int *from, const int *to)
{
	Csr g;
	g.start.assign(n + 1, 0);
	for (size_t e = 0; e < nedges; e++)
	{
		if (from[e] != to[e])
		{
			g.start[from[e] + 1]++;
		}
	}
	for (size_t v = 0; v < n; v++)
	{
		g.start[v + 1] += g.start[v];
	}
	g.adj.resize(g.start[n]);
	std::vector<int> fill(g.start.begin(), g.start.end() - 1);
	for (size_t e = 0; e < nedges; e++)
	{
		if (from[e] != to[e])
		{
			g.adj[fill[from[e]]++] = to[e];
		}
	}
	return g;
}

// Tarjan's algorithm without recursion (a chain of 10,000 tables would overflow the stack). Returns the
// number of components; comp[v] is the component of node v.
int
strongly_connected(const Csr &g, size_t n, std::vector<int> &comp)
{
	std::vector<int> index(n, -1), low(n, 0), edge_pos(n, 0);
	std::vector<int> stack, call;
	std::vector<char> on_stack(n, 0);
	int next_index = 0;
	int ncomp = 0;

	comp.assign(n, -1);
	stack.reserve(n);
	call.reserve(n);
	for (size_t root = 0; root < n; root++)
	{
		if (index[root] >= 0)
		{
			continue;
		}
		call.push_back(static_cast<int>(root));
		index[root] = low[root] = next_index++;
		edge_pos[root] = g.start[root];
		stack.push_back(static_cast<int>(root));
		on_stack[root] = 1;
		while (!call.empty())
		{
			int v = call.back();
			if (edge_pos[v] < g.start[v + 1])
			{
				int w = g.adj[edge_pos[v]++];
				if (index[w] < 0)
				{
					index[w] = low[w] = next_index++;
					edge_pos[w] = g.start[w];
					stack.push_back(w);
					on_stack[w] = 1;
					call.push_back(w);
				}
				else if (on_stack[w])
				{
					low[v] = std::min(low[v], index[w]);
				}
				continue;
			}
			// All edges of v done: close its component if it is a root, then return to the caller.
			if (low[v] == index[v])
			{
				int w;
				do
				{
					w = stack.back();
					stack.pop_back();
					on_stack[w] = 0;
					comp[w] = ncomp;
				} while (w != v);
				ncomp++;
			}
			call.pop_back();
			if (!call.empty())
			{
				int u = call.back();
				low[u] = std::min(low[u], low[v]);
			}
		}
	}
	return ncomp;
}

} // namespace

void
order_tables(size_t n, const char *const *names, size_t nedges, const int *child, const int *parent, int *order,
             int *level, int *group)
{
	for (size_t e = 0; e < nedges; e++)
	{
		if (child[e] < 0 || static_cast<size_t>(child[e]) >= n || parent[e] < 0 || static_cast<size_t>(parent[e]) >= n)
		{
			throw Error(sqlstate::invalid_parameter_value,
			            "foreign key " + std::to_string(e) + " names a table outside the list",
			            "Edge " + std::to_string(e) + " goes from " + std::to_string(child[e]) + " to " +
			                std::to_string(parent[e]) + " but there are " + std::to_string(n) + " tables.");
		}
	}
	if (n == 0)
	{
		return;
	}

	// rank[v]: position of v when all tables are sorted by name (index breaks ties between equal names).
	std::vector<int> by_name(n);
	for (size_t v = 0; v < n; v++)
	{
		by_name[v] = static_cast<int>(v);
	}
	std::sort(by_name.begin(), by_name.end(),
	          [names](int a, int b)
	          {
		          int c = std::strcmp(names[a], names[b]);
		          return c != 0 ? c < 0 : a < b;
	          });
	std::vector<int> rank(n);
	for (size_t r = 0; r < n; r++)
	{
		rank[by_name[r]] = static_cast<int>(r);
	}

	// Parent -> child edges: a parent must come first.
	Csr g = build_csr(n, nedges, parent, child);
	std::vector<int> comp;
	int ncomp = strongly_connected(g, n, comp);

	// Members of each component in name order, and the component's key (its smallest member's rank).
	std::vector<int> comp_start(ncomp + 1, 0), members(n), comp_key(ncomp, 0);
	for (size_t v = 0; v < n; v++)
	{
		comp_start[comp[v] + 1]++;
	}
	for (int c = 0; c < ncomp; c++)
	{
		comp_start[c + 1] += comp_start[c];
	}
	{
		std::vector<int> fill(comp_start.begin(), comp_start.end() - 1);
		for (size_t r = 0; r < n; r++)
		{
			int v = by_name[r];
			members[fill[comp[v]]++] = v;
		}
	}
	std::vector<int> comp_of_key(n, -1);
	for (int c = 0; c < ncomp; c++)
	{
		comp_key[c] = rank[members[comp_start[c]]];
		comp_of_key[comp_key[c]] = c;
	}

	// Condensation edges (duplicates kept: in-degrees count them and Kahn removes them one by one).
	std::vector<int> cfrom, cto;
	cfrom.reserve(g.adj.size());
	cto.reserve(g.adj.size());
	for (size_t v = 0; v < n; v++)
	{
		for (int p = g.start[v]; p < g.start[v + 1]; p++)
		{
			int w = g.adj[p];
			if (comp[v] != comp[w])
			{
				cfrom.push_back(comp[v]);
				cto.push_back(comp[w]);
			}
		}
	}
	Csr cg = build_csr(static_cast<size_t>(ncomp), cfrom.size(), cfrom.data(), cto.data());
	std::vector<int> indegree(ncomp, 0), comp_level(ncomp, 0);
	for (int w : cg.adj)
	{
		indegree[w]++;
	}

	// Kahn's algorithm; the ready component with the smallest name goes first.
	std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
	for (int c = 0; c < ncomp; c++)
	{
		if (indegree[c] == 0)
		{
			ready.push(comp_key[c]);
		}
	}
	size_t k = 0;
	int next_group = 1;
	while (!ready.empty())
	{
		int c = comp_of_key[ready.top()];
		ready.pop();
		int size = comp_start[c + 1] - comp_start[c];
		int g_no = size >= 2 ? next_group++ : 0;
		for (int p = comp_start[c]; p < comp_start[c + 1]; p++)
		{
			int v = members[p];
			order[k++] = v;
			level[v] = comp_level[c];
			group[v] = g_no;
		}
		for (int p = cg.start[c]; p < cg.start[c + 1]; p++)
		{
			int w = cg.adj[p];
			comp_level[w] = std::max(comp_level[w], comp_level[c] + 1);
			if (--indegree[w] == 0)
			{
				ready.push(comp_key[w]);
			}
		}
	}
	if (k != n)
	{
		throw Error(sqlstate::internal_error, "restore order left " + std::to_string(n - k) + " tables unplaced");
	}
}

} // namespace bk
