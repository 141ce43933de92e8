// Export frames (src/core/codec/export_frame.hpp): round trip and every rejection import relies on.
#include "core/error.hpp"
#include "core/codec/export_frame.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace
{

const uint64_t export_id = 0x0123456789abcdefULL;

std::vector<unsigned char>
frame(bk::FrameKind kind, uint32_t seq, const std::string &payload, uint64_t id = export_id)
{
	std::vector<unsigned char> out(bk::export_frame_size(payload.size()));
	bk::encode_frame(kind, seq, id, payload.data(), payload.size(), out.data());
	return out;
}

std::string
error_of(const std::vector<unsigned char> &f, uint32_t expected, std::string *sqlstate = nullptr,
         const uint64_t *expected_id = nullptr)
{
	try
	{
		bk::parse_frame(f.data(), f.size(), expected, expected_id);
	}
	catch (const bk::Error &e)
	{
		if (sqlstate)
		{
			*sqlstate = e.sqlstate();
		}
		return e.message();
	}
	return "";
}

} // namespace

TEST(ExportFrame, RoundTrip)
{
	auto f = frame(bk::FrameKind::table, 7, "{\"a\": 1}");
	ASSERT_EQ(f.size(), 24u + 8u + 8u);
	EXPECT_EQ(std::string(f.begin(), f.begin() + 4), "BKX1");
	bk::FrameView v = bk::parse_frame(f.data(), f.size(), 7, &export_id);
	EXPECT_EQ(v.kind, bk::FrameKind::table);
	EXPECT_EQ(v.sequence, 7u);
	EXPECT_EQ(v.export_id, export_id);
	EXPECT_EQ(std::string(reinterpret_cast<const char *>(v.payload), v.payload_len), "{\"a\": 1}");
	auto empty = frame(bk::FrameKind::trailer, 0, "");
	EXPECT_EQ(bk::parse_frame(empty.data(), empty.size(), 0, nullptr).payload_len, 0u);
}

TEST(ExportFrame, RejectsEveryKindOfDamage)
{
	auto f = frame(bk::FrameKind::chunk_part, 3, std::string(1000, 'x'));
	std::string code;

	EXPECT_EQ(error_of(f, 4, &code), "export frame 3 is out of order");
	EXPECT_EQ(code, "XX001");

	auto truncated = f;
	truncated.resize(truncated.size() - 1);
	EXPECT_EQ(error_of(truncated, 3), "export frame 3 is truncated");
	truncated.resize(10);
	EXPECT_EQ(error_of(truncated, 3), "export frame is truncated");

	for (size_t pos : {size_t(6), size_t(9), size_t(17), size_t(500), f.size() - 1})
	{
		auto corrupt = f;
		corrupt[pos] ^= 0x20;
		std::string msg = error_of(corrupt, 3);
		EXPECT_NE(msg, "") << "flip at " << pos;
	}
	auto corrupt = f;
	corrupt[200] ^= 1;
	EXPECT_EQ(error_of(corrupt, 3, &code), "checksum mismatch in export frame 3");
	EXPECT_EQ(code, "XX001");

	std::vector<unsigned char> junk = {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	EXPECT_EQ(error_of(junk, 0), "value is not a backupkit export frame");
}

TEST(ExportFrame, FutureVersionIsNotSupported)
{
	auto f = frame(bk::FrameKind::header, 0, "{}");
	f[4] = 3; // version 3; the checksum is checked after the version, so the message names the version
	std::string code;
	EXPECT_EQ(error_of(f, 0, &code), "export format version 3 is not supported");
	EXPECT_EQ(code, "0A000");
}

TEST(ExportFrame, VersionOneIsRefusedClearly)
{
	// A version 1 frame: 16-byte header (no export id), as backupkit 0.1 wrote it.
	auto f = frame(bk::FrameKind::header, 0, "{}");
	f[4] = 1;
	std::string code;
	EXPECT_EQ(error_of(f, 0, &code), "export format version 1 is no longer supported");
	EXPECT_EQ(code, "0A000");
}

TEST(ExportFrame, FramesOfAnotherExportAreRefused)
{
	auto mine = frame(bk::FrameKind::table, 4, "{}");
	auto theirs = frame(bk::FrameKind::table, 4, "{}", export_id ^ 1);
	std::string code;
	EXPECT_EQ(error_of(mine, 4, &code, &export_id), "");
	EXPECT_EQ(error_of(theirs, 4, &code, &export_id), "export frame 4 belongs to another export");
	EXPECT_EQ(code, "22023");
	// Changing the id without resealing is damage, caught by the frame checksum first.
	auto forged = mine;
	forged[16] ^= 1;
	EXPECT_EQ(error_of(forged, 4, &code, &export_id), "checksum mismatch in export frame 4");
	EXPECT_EQ(code, "XX001");
}

TEST(ExportFrame, ChunkPrefixRoundTrip)
{
	bk::ChunkFramePrefix in{3, 17, 1000, 123456, 0xdeadbeefcafef00dULL, 1, 5000000};
	unsigned char buf[bk::chunk_frame_prefix_size + 10] = {};
	bk::encode_chunk_prefix(in, buf);
	bk::ChunkFramePrefix out = bk::parse_chunk_prefix(buf, sizeof buf);
	EXPECT_EQ(out.table_no, 3);
	EXPECT_EQ(out.chunk_no, 17);
	EXPECT_EQ(out.row_count, 1000);
	EXPECT_EQ(out.raw_bytes, 123456);
	EXPECT_EQ(out.checksum, 0xdeadbeefcafef00dULL);
	EXPECT_EQ(out.encoding, 1);
	EXPECT_EQ(out.data_len, 5000000u);
	EXPECT_THROW(bk::parse_chunk_prefix(buf, 20), bk::Error);
	buf[24] = 9;
	EXPECT_THROW(bk::parse_chunk_prefix(buf, sizeof buf), bk::Error);
}

TEST(ExportFrame, MaximumFrameIsFourMegabytes)
{
	EXPECT_EQ(bk::export_frame_size(bk::export_max_payload), 4u * 1024 * 1024);
}
