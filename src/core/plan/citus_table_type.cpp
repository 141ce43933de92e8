// Classification of Citus tables from their pg_dist_partition row (see citus_table_type.hpp).
#include "core/plan/citus_table_type.hpp"

namespace bk
{

CitusTableType
classify_citus_table(char partmethod, char repmodel, unsigned colocationid) noexcept
{
	switch (partmethod)
	{
		case 'h':
		case 'r':
		case 'a':
			return CitusTableType::distributed;
		case 'n':
			// Without a distribution column, two-phase replication marks a reference table; otherwise the
			// co-location group tells a single-shard distributed table from a Citus local table.
			if (repmodel == 't')
			{
				return CitusTableType::reference;
			}
			return colocationid == 0 ? CitusTableType::citus_local : CitusTableType::single_shard;
		default:
			return CitusTableType::unrecognized;
	}
}

const char *
citus_table_type_name(CitusTableType type) noexcept
{
	switch (type)
	{
		case CitusTableType::distributed:
			return "distributed";
		case CitusTableType::reference:
			return "reference";
		case CitusTableType::citus_local:
			return "local";
		case CitusTableType::single_shard:
			return "single-shard";
		case CitusTableType::unrecognized:
			break;
	}
	return "";
}

} // namespace bk
