// Tuple id lists: round trips of scan-order and scattered tuple ids, and XX001 for every damaged list.
#include "core/error.hpp"
#include "core/codec/tid_runs.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace
{

using Tid = std::pair<uint32_t, uint16_t>;

// Encodes as the chunk writer does: consecutive line pointers of one block form a run.
std::string
encode(const std::vector<Tid> &tids)
{
	std::string out(bk::tid_runs_header_size, '\0');
	bk::tid_runs_header(&out[0]);
	uint32_t prev = 0;
	size_t i = 0;
	while (i < tids.size())
	{
		size_t j = i + 1;
		while (j < tids.size() && tids[j].first == tids[i].first && tids[j].second == tids[i].second + (j - i))
		{
			j++;
		}
		char buf[bk::tid_run_max_size];
		size_t n = bk::tid_run_encode(prev, tids[i].first, tids[i].second, static_cast<uint32_t>(j - i), buf);
		out.append(buf, n);
		prev = tids[i].first;
		i = j;
	}
	char trailer[bk::tid_runs_trailer_size];
	bk::tid_runs_seal(out.data(), out.size(), trailer);
	out.append(trailer, sizeof(trailer));
	return out;
}

std::vector<Tid>
decode(const std::string &blob, size_t rows)
{
	std::vector<uint32_t> blocks(rows);
	std::vector<uint16_t> offsets(rows);
	bk::tid_runs_decode(blob.data(), blob.size(), rows, blocks.data(), offsets.data());
	std::vector<Tid> out;
	for (size_t i = 0; i < rows; i++)
	{
		out.emplace_back(blocks[i], offsets[i]);
	}
	return out;
}

TEST(TidRuns, SequentialScanIsOneRunPerPage)
{
	std::vector<Tid> tids;
	for (uint32_t b = 0; b < 100; b++)
	{
		for (uint16_t o = 1; o <= 61; o++)
		{
			tids.emplace_back(b, o);
		}
	}
	std::string blob = encode(tids);
	EXPECT_LE(blob.size(), 4u + 100u * 3u + 8u);
	EXPECT_EQ(decode(blob, tids.size()), tids);
}

TEST(TidRuns, ScatteredAndDescendingTidsRoundTrip)
{
	std::mt19937 rng(42);
	std::vector<Tid> tids;
	for (int i = 0; i < 5000; i++)
	{
		tids.emplace_back(rng() % 4000000000u, static_cast<uint16_t>(1 + rng() % 65535));
	}
	tids.emplace_back(UINT32_MAX, UINT16_MAX);
	tids.emplace_back(0, 1);
	EXPECT_EQ(decode(encode(tids), tids.size()), tids);
}

TEST(TidRuns, EveryFlippedByteIsDetected)
{
	std::vector<Tid> tids = {{7, 1}, {7, 2}, {7, 3}, {9, 5}, {2, 1}};
	std::string blob = encode(tids);
	for (size_t i = 0; i < blob.size(); i++)
	{
		std::string bad = blob;
		bad[i] = static_cast<char>(bad[i] ^ 0x10);
		EXPECT_THROW(decode(bad, tids.size()), bk::Error) << "byte " << i;
	}
}

TEST(TidRuns, RowCountMustMatch)
{
	std::vector<Tid> tids = {{1, 1}, {1, 2}, {1, 3}};
	std::string blob = encode(tids);
	EXPECT_THROW(decode(blob, 2), bk::Error);
	EXPECT_THROW(decode(blob, 4), bk::Error);
	EXPECT_THROW(decode(std::string("BKT1"), 0), bk::Error);
	EXPECT_THROW(decode(std::string(), 0), bk::Error);
	try
	{
		decode(blob, 4);
	}
	catch (const bk::Error &e)
	{
		EXPECT_STREQ(e.sqlstate(), "XX001");
		EXPECT_EQ(e.message(), "tuple id list holds fewer tuple ids than the chunk has rows");
	}
}

TEST(TidRuns, ZeroLineOffsetIsRejected)
{
	std::string out(bk::tid_runs_header_size, '\0');
	bk::tid_runs_header(&out[0]);
	char buf[bk::tid_run_max_size];
	out.append(buf, bk::tid_run_encode(0, 3, 0, 1, buf));
	char trailer[bk::tid_runs_trailer_size];
	bk::tid_runs_seal(out.data(), out.size(), trailer);
	out.append(trailer, sizeof(trailer));
	EXPECT_THROW(decode(out, 1), bk::Error);
}

// A list whose seal is right but whose numbers are not: the message names what is wrong (these cannot be
// forged from SQL, where no function computes the seeded checksum; test/messages/allowlist.txt says so).
std::string
sealed(const std::string &body)
{
	std::string out(bk::tid_runs_header_size, '\0');
	bk::tid_runs_header(&out[0]);
	out += body;
	char trailer[bk::tid_runs_trailer_size];
	bk::tid_runs_seal(out.data(), out.size(), trailer);
	out.append(trailer, sizeof(trailer));
	return out;
}

std::string
decode_error(const std::string &blob, size_t rows)
{
	try
	{
		decode(blob, rows);
	}
	catch (const bk::Error &e)
	{
		EXPECT_STREQ(e.sqlstate(), "XX001");
		return e.message();
	}
	return "no error";
}

TEST(TidRuns, SealedButMalformedListsSayWhy)
{
	EXPECT_EQ(decode_error(sealed(std::string(1, '\x80')), 1), "tuple id list ends inside a number");
	EXPECT_EQ(decode_error(sealed(std::string(11, '\x80')), 1), "tuple id list holds an overlong number");
	char buf[bk::tid_run_max_size];
	EXPECT_EQ(decode_error(sealed(std::string(buf, bk::tid_run_encode(0, 3, 0, 1, buf))), 1),
	          "tuple id list holds an impossible tuple id");
}

} // namespace
