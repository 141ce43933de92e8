// Which kind of Citus table a row of Citus's pg_dist_partition describes, by the rules Citus itself applies
// (metadata_cache.c, IsCitusTableTypeInternal): the partition method, the replication model and whether the
// table belongs to a co-location group. backupkit names the type in the errors that refuse Citus tables.
#pragma once
#include "core/core_only.hpp"

namespace bk
{

enum class CitusTableType
{
	distributed,  // hash, range or append distributed: rows spread over shards on the workers
	reference,    // one shard, a copy on every node, written with two-phase commit
	citus_local,  // a coordinator table added to Citus's metadata (one shard on the coordinator, no group)
	single_shard, // distributed without a distribution column: one shard, in a co-location group
	unrecognized, // a partition method this version of backupkit does not know
};

// partmethod: 'h', 'r', 'a' or 'n'; repmodel: 'c', 's' or 't'; colocationid 0 means no group.
CitusTableType classify_citus_table(char partmethod, char repmodel, unsigned colocationid) noexcept;

// "distributed", "reference", "local", "single-shard" or "" (unrecognized): the word that follows "Citus" in
// "Citus distributed table".
const char *citus_table_type_name(CitusTableType type) noexcept;

} // namespace bk
