// Classification of Citus tables from pg_dist_partition's partmethod, repmodel and colocationid, as Citus
// 13 defines the types (reference: no distribution column and two-phase replication; citus local: no
// co-location group; single-shard: no distribution column but a group).
#include "core/plan/citus_table_type.hpp"

#include <gtest/gtest.h>

using bk::CitusTableType;

TEST(CitusTableType, DistributionMethodsAreDistributed)
{
	for (char method : {'h', 'r', 'a'})
	{
		EXPECT_EQ(bk::classify_citus_table(method, 's', 3), CitusTableType::distributed) << method;
		EXPECT_EQ(bk::classify_citus_table(method, 'c', 0), CitusTableType::distributed) << method;
	}
}

TEST(CitusTableType, NoDistributionColumn)
{
	EXPECT_EQ(bk::classify_citus_table('n', 't', 1), CitusTableType::reference);
	EXPECT_EQ(bk::classify_citus_table('n', 't', 0), CitusTableType::reference);
	EXPECT_EQ(bk::classify_citus_table('n', 's', 0), CitusTableType::citus_local);
	EXPECT_EQ(bk::classify_citus_table('n', 's', 7), CitusTableType::single_shard);
	EXPECT_EQ(bk::classify_citus_table('n', 'c', 7), CitusTableType::single_shard);
}

TEST(CitusTableType, UnrecognizedMethod)
{
	EXPECT_EQ(bk::classify_citus_table('x', 's', 1), CitusTableType::unrecognized);
	EXPECT_EQ(bk::classify_citus_table('\0', 't', 0), CitusTableType::unrecognized);
	EXPECT_STREQ(bk::citus_table_type_name(CitusTableType::unrecognized), "");
}

TEST(CitusTableType, Names)
{
	EXPECT_STREQ(bk::citus_table_type_name(CitusTableType::distributed), "distributed");
	EXPECT_STREQ(bk::citus_table_type_name(CitusTableType::reference), "reference");
	EXPECT_STREQ(bk::citus_table_type_name(CitusTableType::citus_local), "local");
	EXPECT_STREQ(bk::citus_table_type_name(CitusTableType::single_shard), "single-shard");
}
