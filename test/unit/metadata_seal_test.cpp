// Metadata seals (src/core/codec/metadata_seal.hpp): every changed byte of every field is detected and named,
// and the seal tells a changed field from a damaged seal.
#include "core/codec/metadata_seal.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace
{

struct Record
{
	std::vector<std::string> names;
	std::vector<std::string> values;
	std::vector<bool> nulls;

	std::vector<bk::MetadataField> fields() const
	{
		std::vector<bk::MetadataField> out;
		for (size_t i = 0; i < names.size(); i++)
		{
			out.push_back({names[i].c_str(), nulls[i] ? nullptr : values[i].data(), values[i].size()});
		}
		return out;
	}

	std::vector<unsigned char> seal(const char *kind = "table") const
	{
		auto f = fields();
		std::vector<unsigned char> out(bk::metadata_seal_size(f.size()));
		bk::metadata_seal(bk::metadata_seal_version, kind, f.data(), f.size(), out.data());
		return out;
	}

	bk::SealVerdict verify(const std::vector<unsigned char> &seal, std::vector<bool> *which = nullptr,
	                       const char *kind = "table") const
	{
		auto f = fields();
		bool differs[64] = {};
		bk::SealVerdict v = bk::metadata_seal_verify(kind, f.data(), f.size(), seal.data(), seal.size(), differs);
		if (which)
		{
			which->assign(differs, differs + f.size());
		}
		return v;
	}
};

Record
sample()
{
	Record r;
	r.names = {"snapshot_id", "schema_name", "table_name", "columns", "key_columns", "key_kind", "row_count"};
	r.values = {
	    "42",
	    "public",
	    "orders",
	    R"([{"name": "id", "type": "bigint", "captured": true, "not_null": true}, {"name": "note", "type": "text"}])",
	    R"(["id"])",
	    "",
	    "60000"};
	r.nulls = {false, false, false, false, false, true, false};
	return r;
}

} // namespace

TEST(MetadataSeal, IntactRecordVerifies)
{
	Record r = sample();
	auto seal = r.seal();
	EXPECT_EQ(seal.size(), 1u + 8u + 4u * r.names.size());
	EXPECT_EQ(seal[0], bk::metadata_seal_version);
	EXPECT_EQ(r.verify(seal), bk::SealVerdict::intact);
}

TEST(MetadataSeal, EveryFlippedByteOfEveryValueIsDetectedAndNamed)
{
	Record r = sample();
	auto seal = r.seal();
	for (size_t f = 0; f < r.values.size(); f++)
	{
		for (size_t pos = 0; pos < r.values[f].size(); pos++)
		{
			for (unsigned char bit : {0x01, 0x20, 0x80})
			{
				Record t = r;
				t.values[f][pos] = static_cast<char>(t.values[f][pos] ^ bit);
				std::vector<bool> which;
				ASSERT_EQ(t.verify(seal, &which), bk::SealVerdict::fields_differ) << "field " << f << " byte " << pos;
				for (size_t g = 0; g < which.size(); g++)
				{
					EXPECT_EQ(which[g], g == f) << "field " << f << " byte " << pos;
				}
			}
		}
	}
}

TEST(MetadataSeal, EveryFlippedByteOfEveryNameIsDetected)
{
	Record r = sample();
	auto seal = r.seal();
	for (size_t f = 0; f < r.names.size(); f++)
	{
		for (size_t pos = 0; pos < r.names[f].size(); pos++)
		{
			Record t = r;
			t.names[f][pos] = static_cast<char>(t.names[f][pos] ^ 0x01);
			EXPECT_EQ(t.verify(seal), bk::SealVerdict::fields_differ) << "name " << f << " byte " << pos;
		}
	}
}

TEST(MetadataSeal, StructureChangesAreDetected)
{
	Record r = sample();
	auto seal = r.seal();

	Record null_to_empty = r; // NULL and '' differ
	null_to_empty.nulls[5] = false;
	EXPECT_EQ(null_to_empty.verify(seal), bk::SealVerdict::fields_differ);

	Record empty_to_null = r;
	empty_to_null.values[1] = "";
	empty_to_null.nulls[1] = true;
	EXPECT_EQ(empty_to_null.verify(seal), bk::SealVerdict::fields_differ);

	Record shifted = r; // a byte moved from one field to the next
	shifted.values[1] = "publico";
	shifted.values[2] = "rders";
	EXPECT_EQ(shifted.verify(seal), bk::SealVerdict::fields_differ);

	Record swapped = r; // two values swapped
	std::swap(swapped.values[1], swapped.values[2]);
	std::vector<bool> which;
	EXPECT_EQ(swapped.verify(seal, &which), bk::SealVerdict::fields_differ);
	EXPECT_TRUE(which[1] && which[2]);

	Record longer = r; // a byte appended
	longer.values[6] += "0";
	EXPECT_EQ(longer.verify(seal), bk::SealVerdict::fields_differ);

	Record fewer = r; // a field removed: the seal no longer fits
	fewer.names.pop_back();
	fewer.values.pop_back();
	fewer.nulls.pop_back();
	EXPECT_EQ(fewer.verify(seal), bk::SealVerdict::seal_damaged);

	// The kind is part of the checksum: a table's seal does not verify a snapshot row.
	EXPECT_NE(r.verify(seal, nullptr, "snapshot"), bk::SealVerdict::intact);
}

TEST(MetadataSeal, EveryFlippedByteOfTheSealIsDetected)
{
	Record r = sample();
	auto seal = r.seal();
	for (size_t pos = 0; pos < seal.size(); pos++)
	{
		auto damaged = seal;
		damaged[pos] ^= 0x10;
		EXPECT_EQ(r.verify(damaged), bk::SealVerdict::seal_damaged) << "seal byte " << pos;
	}
	auto cut = seal;
	cut.pop_back();
	EXPECT_EQ(r.verify(cut), bk::SealVerdict::seal_damaged);
	EXPECT_EQ(bk::metadata_seal_version_of(seal.data(), 0), 0);
}
