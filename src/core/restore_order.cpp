// Foreign-key ordering: iterative Tarjan for strongly connected components, then Kahn's algorithm on the
// component graph with a min-heap keyed by each component's smallest member name.
#include "restore_order.hpp"
#include "error.hpp"

#include <algorithm>
#include <functional>
#include <queue>
#include <string>
#include <utility>
#include <vector>

namespace bk
{
namespace
{

// Components in Tarjan's order; comp[v] = component index of v.
std::vector<int>
strongly_connected(size_t n, const std::vector<std::vector<int>> &out, int *ncomp)
{
	std::vector<int> index(n, -1), low(n, 0), comp(n, -1), stack;
	std::vector<char> on_stack(n, 0);
	std::vector<std::pair<int, size_t>> call; // (node, next edge position)
	int counter = 0;
	*ncomp = 0;
	for (size_t root = 0; root < n; root++)
	{
		if (index[root] >= 0)
		{
			continue;
		}
		call.push_back({static_cast<int>(root), 0});
		while (!call.empty())
		{
			int v = call.back().first;
			size_t &pos = call.back().second;
			if (pos == 0 && index[v] < 0)
			{
				index[v] = low[v] = counter++;
				stack.push_back(v);
				on_stack[v] = 1;
			}
			if (pos < out[v].size())
			{
				int w = out[v][pos++];
				if (index[w] < 0)
				{
					call.push_back({w, 0});
				}
				else if (on_stack[w])
				{
					low[v] = std::min(low[v], index[w]);
				}
				continue;
			}
			if (low[v] == index[v])
			{
				int w;
				do
				{
					w = stack.back();
					stack.pop_back();
					on_stack[w] = 0;
					comp[w] = *ncomp;
				} while (w != v);
				(*ncomp)++;
			}
			call.pop_back();
			if (!call.empty())
			{
				int parent = call.back().first;
				low[parent] = std::min(low[parent], low[v]);
			}
		}
	}
	return comp;
}

} // namespace

void
order_tables(size_t n, const char *const *names, size_t nedges, const int *child, const int *parent, int *order,
             int *level, int *group)
{
	std::vector<std::vector<int>> depends(n); // child -> parents
	for (size_t e = 0; e < nedges; e++)
	{
		if (child[e] < 0 || parent[e] < 0 || static_cast<size_t>(child[e]) >= n || static_cast<size_t>(parent[e]) >= n)
		{
			throw Error(sqlstate::invalid_parameter_value, "foreign-key edge names a table outside the set");
		}
		if (child[e] != parent[e])
		{
			depends[child[e]].push_back(parent[e]);
		}
	}
	int ncomp = 0;
	std::vector<int> comp = strongly_connected(n, depends, &ncomp);

	std::vector<std::vector<int>> members(ncomp);
	for (size_t v = 0; v < n; v++)
	{
		members[comp[v]].push_back(static_cast<int>(v));
	}
	auto by_name = [names](int a, int b)
	{
		int c = std::string(names[a]).compare(names[b]);
		return c != 0 ? c < 0 : a < b;
	};
	for (auto &m : members)
	{
		std::sort(m.begin(), m.end(), by_name);
	}

	// Component graph: parent component -> child components, with in-degree counting parents.
	std::vector<std::vector<int>> children(ncomp);
	std::vector<int> indegree(ncomp, 0);
	for (size_t v = 0; v < n; v++)
	{
		for (int p : depends[v])
		{
			if (comp[p] != comp[v])
			{
				children[comp[p]].push_back(comp[v]);
				indegree[comp[v]]++;
			}
		}
	}
	auto heap_after = [&](int a, int b) { return by_name(members[b].front(), members[a].front()); };
	std::priority_queue<int, std::vector<int>, decltype(heap_after)> ready(heap_after);
	std::vector<int> comp_level(ncomp, 0);
	for (int c = 0; c < ncomp; c++)
	{
		if (indegree[c] == 0)
		{
			ready.push(c);
		}
	}
	size_t k = 0;
	int next_group = 1;
	while (!ready.empty())
	{
		int c = ready.top();
		ready.pop();
		int g = members[c].size() > 1 ? next_group++ : 0;
		for (int v : members[c])
		{
			order[k++] = v;
			level[v] = comp_level[c];
			group[v] = g;
		}
		for (int d : children[c])
		{
			comp_level[d] = std::max(comp_level[d], comp_level[c] + 1);
			if (--indegree[d] == 0)
			{
				ready.push(d);
			}
		}
	}
}

} // namespace bk
