// The frames of backupkit.export_snapshot / import_snapshot (documented in doc/export-format.md):
//   magic "BKX1" | format version u16 | kind u8 | flags u8 | sequence u32 | payload length u32 |
//   export id u64 | payload | XXH64 (bk::checksum64) of everything before it, u64. Integers little-endian.
// The export id, drawn at random by each export, is the same in every frame of one stream: frames of two
// exports spliced together are refused. Version 1 (no export id, no metadata checksums) is refused too.
#pragma once
#include "core/core_only.hpp"

#include <cstddef>
#include <cstdint>

namespace bk
{

constexpr uint16_t export_format_version = 2;
constexpr size_t export_frame_header_size = 24;
constexpr size_t export_frame_checksum_size = 8;
// No frame is larger than 4 MB: bigger chunks continue in chunk_part frames.
constexpr size_t export_max_payload = 4 * 1024 * 1024 - export_frame_header_size - export_frame_checksum_size;

enum class FrameKind : uint8_t
{
	header = 1,     // snapshot row as jsonb text
	table = 2,      // one snapshot_table row as jsonb text
	chunk = 3,      // ChunkFramePrefix + the first bytes of the chunk payload as stored
	chunk_part = 4, // the following bytes of the same chunk payload
	trailer = 5,    // counts as jsonb text
};

const char *frame_kind_name(FrameKind kind) noexcept;

inline size_t
export_frame_size(size_t payload_len) noexcept
{
	return export_frame_header_size + payload_len + export_frame_checksum_size;
}

// Writes export_frame_size(len) bytes to out. len must not exceed export_max_payload.
void encode_frame(FrameKind kind, uint32_t sequence, uint64_t export_id, const void *payload, size_t len,
                  unsigned char *out) noexcept;

struct FrameView
{
	FrameKind kind;
	uint32_t sequence;
	uint64_t export_id;
	const unsigned char *payload;
	size_t payload_len;
};

// Checks magic, version, length, checksum, kind, sequence and, unless expected_export_id is null (the first
// frame), the export id; throws bk::Error XX001 (0A000 for a format version other than this one, 22023 for a
// frame of another export) with a message saying what is wrong.
FrameView parse_frame(const void *data, size_t len, uint32_t expected_sequence, const uint64_t *expected_export_id);

struct ChunkFramePrefix
{
	int32_t table_no;
	int32_t chunk_no;
	int32_t row_count;
	int32_t raw_bytes;
	uint64_t checksum;
	uint8_t encoding;  // 0: payload is jsonb text, 1: payload_zstd bytes
	uint64_t data_len; // whole chunk payload, across chunk_part frames
};
constexpr size_t chunk_frame_prefix_size = 33;

void encode_chunk_prefix(const ChunkFramePrefix &prefix, unsigned char *out) noexcept;
ChunkFramePrefix parse_chunk_prefix(const unsigned char *data, size_t len);

} // namespace bk
