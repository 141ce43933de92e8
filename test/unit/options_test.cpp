// Parsing of the compression and restore-mode options: exact lower-case names only, 22023 with a hint otherwise.
#include "core/error.hpp"
#include "core/plan/options.hpp"

#include <gtest/gtest.h>

#include <string>

TEST(Options, Compression)
{
	EXPECT_EQ(bk::parse_compression("zstd"), bk::Compression::zstd);
	EXPECT_EQ(bk::parse_compression("none"), bk::Compression::none);
	EXPECT_STREQ(bk::compression_name(bk::Compression::zstd), "zstd");
	EXPECT_STREQ(bk::compression_name(bk::Compression::none), "none");
	EXPECT_EQ(bk::parse_compression(bk::compression_name(bk::Compression::zstd)), bk::Compression::zstd);
}

TEST(Options, RestoreMode)
{
	for (bk::RestoreMode m : {bk::RestoreMode::replace, bk::RestoreMode::merge, bk::RestoreMode::missing})
	{
		EXPECT_EQ(bk::parse_restore_mode(bk::restore_mode_name(m)), m);
	}
	EXPECT_STREQ(bk::restore_mode_name(bk::RestoreMode::replace), "replace");
	EXPECT_STREQ(bk::restore_mode_name(bk::RestoreMode::merge), "merge");
	EXPECT_STREQ(bk::restore_mode_name(bk::RestoreMode::missing), "missing");
}

TEST(Options, UnrecognizedValuesAreRejectedWithHint)
{
	for (const char *bad : {"lz4", "ZSTD", "Zstd", " zstd", "zstd ", "", "gzip"})
	{
		try
		{
			bk::parse_compression(bad);
			ADD_FAILURE() << "accepted compression \"" << bad << "\"";
		}
		catch (const bk::Error &e)
		{
			EXPECT_STREQ(e.sqlstate(), "22023");
			EXPECT_EQ(e.message(), std::string("unrecognized compression method: \"") + bad + "\"");
			EXPECT_FALSE(e.hint().empty());
		}
	}
	for (const char *bad : {"upsert", "REPLACE", "Merge", "", "replace "})
	{
		try
		{
			bk::parse_restore_mode(bad);
			ADD_FAILURE() << "accepted mode \"" << bad << "\"";
		}
		catch (const bk::Error &e)
		{
			EXPECT_STREQ(e.sqlstate(), "22023");
			EXPECT_EQ(e.message(), std::string("unrecognized restore mode: \"") + bad + "\"");
			EXPECT_NE(e.hint().find("replace"), std::string::npos);
		}
	}
}
