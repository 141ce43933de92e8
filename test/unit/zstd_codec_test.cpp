// zstd framing of chunk payloads: round trips, and XX001 for every way a stored frame can be damaged.
#include "core/error.hpp"
#include "core/codec/zstd_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace
{

std::string
sample(size_t n)
{
	std::string s;
	for (size_t i = 0; s.size() < n; i++)
	{
		s += "[\"" + std::to_string(i) + "\", \"row " + std::to_string(i * 7919 % 1000) + "\", null]";
	}
	s.resize(n);
	return s;
}

std::vector<char>
compress(const std::string &s, int level = 3)
{
	bk::ZstdCompressor c(level);
	std::vector<char> out(bk::ZstdCompressor::bound(s.size()));
	out.resize(c.compress(s.data(), s.size(), out.data(), out.size()));
	return out;
}

template <typename F>
void
expect_corrupt(F f, const std::string &what)
{
	try
	{
		f();
		ADD_FAILURE() << what << ": no error";
	}
	catch (const bk::Error &e)
	{
		EXPECT_STREQ(e.sqlstate(), "XX001") << what << ": " << e.message();
	}
	catch (...)
	{
		ADD_FAILURE() << what << ": unexpected exception type";
	}
}

} // namespace

TEST(Zstd, RoundTripVariousSizes)
{
	bk::ZstdDecompressor d;
	for (size_t n : {size_t(1), size_t(100), size_t(4096), size_t(1) << 20})
	{
		std::string s = sample(n);
		std::vector<char> frame = compress(s);
		EXPECT_EQ(bk::zstd_frame_content_size(frame.data(), frame.size()), n);
		std::string back(n, '\0');
		d.decompress(frame.data(), frame.size(), &back[0], n);
		EXPECT_EQ(back, s) << "size " << n;
	}
	EXPECT_LT(compress(sample(1 << 20)).size(), size_t(1) << 18) << "repetitive JSON should compress well";
}

TEST(Zstd, EmptyInputRoundTrips)
{
	std::vector<char> frame = compress("");
	EXPECT_EQ(bk::zstd_frame_content_size(frame.data(), frame.size()), 0u);
	bk::ZstdDecompressor d;
	char dummy = 0;
	d.decompress(frame.data(), frame.size(), &dummy, 0);
}

TEST(Zstd, ContextsAreReusable)
{
	bk::ZstdCompressor c(1);
	bk::ZstdDecompressor d;
	for (int i = 0; i < 5; i++)
	{
		std::string s = sample(1000 + static_cast<size_t>(i) * 333);
		std::vector<char> frame(bk::ZstdCompressor::bound(s.size()));
		frame.resize(c.compress(s.data(), s.size(), frame.data(), frame.size()));
		std::string back(s.size(), '\0');
		d.decompress(frame.data(), frame.size(), &back[0], back.size());
		EXPECT_EQ(back, s);
	}
}

TEST(Zstd, TruncatedFrame)
{
	std::string s = sample(10000);
	std::vector<char> frame = compress(s);
	bk::ZstdDecompressor d;
	std::string back(s.size(), '\0');
	for (size_t len : {size_t(0), size_t(3), size_t(10), frame.size() / 2, frame.size() - 1})
	{
		expect_corrupt([&] { d.decompress(frame.data(), len, &back[0], back.size()); },
		               "truncated to " + std::to_string(len));
	}
	expect_corrupt([&] { bk::zstd_frame_content_size(frame.data(), 2); }, "header too short");
}

TEST(Zstd, FlippedByteNeverYieldsWrongData)
{
	std::string s = sample(10000);
	std::vector<char> frame = compress(s);
	bk::ZstdDecompressor d;
	// A change at any position past the magic number is either caught (XX001) or harmless: a few bits of the
	// format are ignored by decoders, and then the content checksum proves the output is the original.
	size_t detected = 0;
	for (size_t pos = 4; pos < frame.size(); pos++)
	{
		std::vector<char> bad = frame;
		bad[pos] = static_cast<char>(bad[pos] ^ 0x10);
		std::string back(s.size(), '\0');
		try
		{
			d.decompress(bad.data(), bad.size(), &back[0], back.size());
			EXPECT_EQ(back, s) << "flipped byte " << pos << " produced different data without an error";
		}
		catch (const bk::Error &e)
		{
			EXPECT_STREQ(e.sqlstate(), "XX001") << "pos " << pos;
			detected++;
		}
	}
	EXPECT_GT(detected * 10, (frame.size() - 4) * 9) << "most flips must be detected";
	std::vector<char> bad_magic = frame;
	bad_magic[0] ^= 1;
	std::string back(s.size(), '\0');
	expect_corrupt([&] { d.decompress(bad_magic.data(), bad_magic.size(), &back[0], back.size()); }, "bad magic");
	// The last four bytes are the content checksum: changing it must always be caught.
	std::vector<char> bad_sum = frame;
	bad_sum.back() ^= 0x01;
	expect_corrupt([&] { d.decompress(bad_sum.data(), bad_sum.size(), &back[0], back.size()); }, "checksum byte");
}

TEST(Zstd, TrailingBytes)
{
	std::string s = sample(5000);
	std::vector<char> frame = compress(s);
	bk::ZstdDecompressor d;
	std::string back(s.size(), '\0');
	std::vector<char> longer = frame;
	longer.push_back('x');
	expect_corrupt([&] { d.decompress(longer.data(), longer.size(), &back[0], back.size()); }, "one trailing byte");
	std::vector<char> two = frame;
	two.insert(two.end(), frame.begin(), frame.end());
	expect_corrupt([&] { d.decompress(two.data(), two.size(), &back[0], back.size()); }, "second frame");
}

TEST(Zstd, WrongExpectedSize)
{
	std::string s = sample(5000);
	std::vector<char> frame = compress(s);
	bk::ZstdDecompressor d;
	std::string big(s.size() + 1, '\0');
	expect_corrupt([&] { d.decompress(frame.data(), frame.size(), &big[0], big.size()); }, "expected too large");
	std::string small(s.size() - 1, '\0');
	expect_corrupt([&] { d.decompress(frame.data(), frame.size(), &small[0], small.size()); }, "expected too small");
}
