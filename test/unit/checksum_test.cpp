// XXH64 (bk::checksum64) against published vectors and an independent, deliberately plain reimplementation
// of the specification; checksum_combine must be order-sensitive. Stored checksums depend on these values.
#include "core/codec/checksum.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace
{

// Written from the XXH64 specification (xxhash/doc/xxhash_spec.md) without sharing code with src/core:
// reads words byte by byte, keeps the four lanes in an array, and consumes the tail in one loop.
uint64_t
ref_xxh64(const std::vector<unsigned char> &in, uint64_t seed)
{
	const uint64_t p[5] = {0x9E3779B185EBCA87ULL, 0xC2B2AE3D27D4EB4FULL, 0x165667B19E3779F9ULL, 0x85EBCA77C2B2AE63ULL,
	                       0x27D4EB2F165667C5ULL};
	auto rot = [](uint64_t x, unsigned r) { return (x << r) | (x >> (64 - r)); };
	auto le = [&](size_t at, size_t n)
	{
		uint64_t v = 0;
		for (size_t i = 0; i < n; i++)
		{
			v |= static_cast<uint64_t>(in[at + i]) << (8 * i);
		}
		return v;
	};
	auto rnd = [&](uint64_t acc, uint64_t lane) { return rot(acc + lane * p[1], 31) * p[0]; };
	size_t n = in.size(), i = 0;
	uint64_t h;
	if (n >= 32)
	{
		uint64_t acc[4] = {seed + p[0] + p[1], seed + p[1], seed, seed - p[0]};
		for (; i + 32 <= n; i += 32)
		{
			for (int l = 0; l < 4; l++)
			{
				acc[l] = rnd(acc[l], le(i + 8 * static_cast<size_t>(l), 8));
			}
		}
		h = rot(acc[0], 1) + rot(acc[1], 7) + rot(acc[2], 12) + rot(acc[3], 18);
		for (int l = 0; l < 4; l++)
		{
			h = (h ^ rnd(0, acc[l])) * p[0] + p[3];
		}
	}
	else
	{
		h = seed + p[4];
	}
	h += n;
	while (i < n)
	{
		size_t left = n - i;
		if (left >= 8)
		{
			h = rot(h ^ rnd(0, le(i, 8)), 27) * p[0] + p[3];
			i += 8;
		}
		else if (left >= 4)
		{
			h = rot(h ^ (le(i, 4) * p[0]), 23) * p[1] + p[2];
			i += 4;
		}
		else
		{
			h = rot(h ^ (in[i] * p[4]), 11) * p[0];
			i += 1;
		}
	}
	h = (h ^ (h >> 33)) * p[1];
	h = (h ^ (h >> 29)) * p[2];
	return h ^ (h >> 32);
}

uint64_t
bk_hash(const std::string &s, uint64_t seed = 0)
{
	return bk::checksum64(s.data(), s.size(), seed);
}

std::vector<unsigned char>
bytes(const std::string &s)
{
	return std::vector<unsigned char>(s.begin(), s.end());
}

} // namespace

TEST(Checksum, PublishedVectors)
{
	// From the xxHash project's documentation and test suite.
	EXPECT_EQ(bk_hash(""), 0xEF46DB3751D8E999ULL);
	EXPECT_EQ(bk_hash("a"), 0xD24EC4F1A98C6E5BULL);
	EXPECT_EQ(bk_hash("abc"), 0x44BC2CF5AD770999ULL);
}

TEST(Checksum, ReferenceAgreesWithPublishedVectors)
{
	EXPECT_EQ(ref_xxh64({}, 0), 0xEF46DB3751D8E999ULL);
	EXPECT_EQ(ref_xxh64(bytes("a"), 0), 0xD24EC4F1A98C6E5BULL);
	EXPECT_EQ(ref_xxh64(bytes("abc"), 0), 0x44BC2CF5AD770999ULL);
}

TEST(Checksum, MatchesReferenceForEveryLengthUpTo200)
{
	// Every length crosses each code path: the 32-byte stripes, 8-byte words, a 4-byte word and single bytes.
	std::string s;
	for (int i = 0; i < 200; i++)
	{
		s.push_back(static_cast<char>((i * 131 + 7) & 0xff));
	}
	for (size_t len = 0; len <= s.size(); len++)
	{
		std::string part = s.substr(0, len);
		for (uint64_t seed : {0ULL, 1ULL, 0x9E3779B97F4A7C15ULL})
		{
			ASSERT_EQ(bk_hash(part, seed), ref_xxh64(bytes(part), seed)) << "len " << len << " seed " << seed;
		}
	}
}

TEST(Checksum, HundredByteString)
{
	std::string s(100, 'x');
	for (size_t i = 0; i < s.size(); i++)
	{
		s[i] = static_cast<char>('a' + i % 26);
	}
	EXPECT_EQ(bk_hash(s), ref_xxh64(bytes(s), 0));
	EXPECT_NE(bk_hash(s), bk_hash(s.substr(0, 99)));
}

TEST(Checksum, UnalignedInputGivesSameResult)
{
	std::string buf(120, '\0');
	for (size_t i = 0; i < buf.size(); i++)
	{
		buf[i] = static_cast<char>(i * 7);
	}
	uint64_t aligned = bk::checksum64(buf.data(), 100);
	std::string shifted = std::string(1, 'z') + buf;
	EXPECT_EQ(bk::checksum64(shifted.data() + 1, 100), aligned);
}

TEST(Checksum, SeedChangesResult)
{
	EXPECT_NE(bk_hash("backupkit", 0), bk_hash("backupkit", 1));
}

TEST(Checksum, CombineIsOrderSensitive)
{
	uint64_t a = bk_hash("chunk one"), b = bk_hash("chunk two");
	uint64_t ab = bk::checksum_combine(bk::checksum_combine(0, a, 10), b, 20);
	uint64_t ba = bk::checksum_combine(bk::checksum_combine(0, b, 20), a, 10);
	EXPECT_NE(ab, ba);
	// Deterministic, and the row count takes part.
	EXPECT_EQ(ab, bk::checksum_combine(bk::checksum_combine(0, a, 10), b, 20));
	EXPECT_NE(bk::checksum_combine(0, a, 10), bk::checksum_combine(0, a, 11));
	EXPECT_NE(bk::checksum_combine(0, a, 10), bk::checksum_combine(1, a, 10));
}

TEST(Checksum, CombineIsXxh64OfLittleEndianTriple)
{
	// The stored table checksum is defined as XXH64 over (acc, chunk checksum, rows), 8 bytes little-endian each.
	uint64_t acc = 0x0102030405060708ULL, c = 0xA0B0C0D0E0F00011ULL, rows = 12345;
	std::vector<unsigned char> buf;
	for (uint64_t v : {acc, c, rows})
	{
		for (int i = 0; i < 8; i++)
		{
			buf.push_back(static_cast<unsigned char>(v >> (8 * i)));
		}
	}
	EXPECT_EQ(bk::checksum_combine(acc, c, rows), ref_xxh64(buf, 0));
}
