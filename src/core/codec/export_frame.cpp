// Encoding and checked decoding of export frames (see export_frame.hpp).
#include "core/codec/export_frame.hpp"
#include "core/codec/checksum.hpp"
#include "core/error.hpp"
#include "core/codec/little_endian.hpp"

#include <cstring>
#include <string>

namespace bk
{

namespace
{

const unsigned char magic[4] = {'B', 'K', 'X', '1'};

const char *const retry_hint = "Export the snapshot again and copy all its frames, in order, without modification.";

} // namespace

const char *
frame_kind_name(FrameKind kind) noexcept
{
	switch (kind)
	{
		case FrameKind::header:
			return "header";
		case FrameKind::table:
			return "table";
		case FrameKind::chunk:
			return "chunk";
		case FrameKind::chunk_part:
			return "chunk part";
		case FrameKind::trailer:
			return "trailer";
	}
	return "unrecognized";
}

void
encode_frame(FrameKind kind, uint32_t sequence, uint64_t export_id, const void *payload, size_t len,
             unsigned char *out) noexcept
{
	std::memcpy(out, magic, 4);
	put_u16(out + 4, export_format_version);
	out[6] = static_cast<unsigned char>(kind);
	out[7] = 0;
	put_u32(out + 8, sequence);
	put_u32(out + 12, static_cast<uint32_t>(len));
	put_u64(out + 16, export_id);
	if (len > 0)
	{
		std::memcpy(out + export_frame_header_size, payload, len);
	}
	put_u64(out + export_frame_header_size + len, checksum64(out, export_frame_header_size + len));
}

FrameView
parse_frame(const void *data, size_t len, uint32_t expected_sequence, const uint64_t *expected_export_id)
{
	const unsigned char *p = static_cast<const unsigned char *>(data);
	if (len < 4 || std::memcmp(p, magic, 4) != 0)
	{
		throw Error(sqlstate::data_corrupted, "value is not a backupkit export frame",
		            "An export frame starts with the bytes \"BKX1\".", retry_hint);
	}
	uint16_t version = len >= 6 ? get_u16(p + 4) : export_format_version;
	if (version == 1)
	{
		throw Error("0A000", "export format version 1 is no longer supported",
		            "Version 1 streams carry no export id and no metadata checksums, so an import cannot prove that "
		            "all their frames come from one export and describe the snapshot as it was taken.",
		            "Update backupkit where the snapshot was exported (ALTER EXTENSION backupkit UPDATE) and export "
		            "it again.");
	}
	if (len < export_frame_header_size + export_frame_checksum_size)
	{
		throw Error(sqlstate::data_corrupted, "export frame is truncated",
		            "The frame has " + std::to_string(len) + " bytes, fewer than a frame header and checksum.",
		            retry_hint);
	}
	if (version > export_format_version)
	{
		throw Error("0A000", "export format version " + std::to_string(version) + " is not supported",
		            "This version of backupkit reads export format versions up to " +
		                std::to_string(export_format_version) + ".",
		            "Update the backupkit extension with ALTER EXTENSION backupkit UPDATE.");
	}
	uint32_t sequence = get_u32(p + 8);
	size_t payload_len = get_u32(p + 12);
	if (len != export_frame_size(payload_len))
	{
		throw Error(sqlstate::data_corrupted, "export frame " + std::to_string(sequence) + " is truncated",
		            "The frame announces " + std::to_string(payload_len) + " bytes of payload but has " +
		                std::to_string(len) + " bytes in all.",
		            retry_hint);
	}
	uint64_t stored = get_u64(p + export_frame_header_size + payload_len);
	uint64_t computed = checksum64(p, export_frame_header_size + payload_len);
	if (stored != computed)
	{
		throw Error(sqlstate::data_corrupted, "checksum mismatch in export frame " + std::to_string(sequence),
		            "The frame is damaged: its content does not match its checksum.", retry_hint);
	}
	if (version == 0 || p[6] < static_cast<uint8_t>(FrameKind::header) ||
	    p[6] > static_cast<uint8_t>(FrameKind::trailer))
	{
		throw Error(sqlstate::data_corrupted,
		            "unrecognized export frame kind " + std::to_string(p[6]) + " in frame " + std::to_string(sequence),
		            "", retry_hint);
	}
	uint64_t export_id = get_u64(p + 16);
	if (expected_export_id != nullptr && export_id != *expected_export_id)
	{
		throw Error(sqlstate::invalid_parameter_value,
		            "export frame " + std::to_string(sequence) + " belongs to another export",
		            "The stream's first frame was written by one export and this frame by another; frames of two "
		            "exports cannot be mixed.",
		            "Feed all the frames of one export_snapshot call, and only those.");
	}
	if (sequence != expected_sequence)
	{
		throw Error(sqlstate::data_corrupted, "export frame " + std::to_string(sequence) + " is out of order",
		            "Frame " + std::to_string(expected_sequence) + " was expected next.",
		            "Feed the frames in the order export_snapshot returned them, e.g. ORDER BY their ordinality.");
	}
	return FrameView{static_cast<FrameKind>(p[6]), sequence, export_id, p + export_frame_header_size, payload_len};
}

void
encode_chunk_prefix(const ChunkFramePrefix &prefix, unsigned char *out) noexcept
{
	put_u32(out, static_cast<uint32_t>(prefix.table_no));
	put_u32(out + 4, static_cast<uint32_t>(prefix.chunk_no));
	put_u32(out + 8, static_cast<uint32_t>(prefix.row_count));
	put_u32(out + 12, static_cast<uint32_t>(prefix.raw_bytes));
	put_u64(out + 16, prefix.checksum);
	out[24] = prefix.encoding;
	put_u64(out + 25, prefix.data_len);
}

ChunkFramePrefix
parse_chunk_prefix(const unsigned char *data, size_t len)
{
	if (len < chunk_frame_prefix_size)
	{
		throw Error(sqlstate::data_corrupted, "chunk frame is truncated",
		            "A chunk frame starts with " + std::to_string(chunk_frame_prefix_size) + " bytes of metadata.",
		            retry_hint);
	}
	ChunkFramePrefix prefix;
	prefix.table_no = static_cast<int32_t>(get_u32(data));
	prefix.chunk_no = static_cast<int32_t>(get_u32(data + 4));
	prefix.row_count = static_cast<int32_t>(get_u32(data + 8));
	prefix.raw_bytes = static_cast<int32_t>(get_u32(data + 12));
	prefix.checksum = get_u64(data + 16);
	prefix.encoding = data[24];
	prefix.data_len = get_u64(data + 25);
	if (prefix.encoding > 1 || prefix.data_len < len - chunk_frame_prefix_size ||
	    prefix.data_len > (static_cast<uint64_t>(1) << 30))
	{
		throw Error(sqlstate::data_corrupted, "chunk frame has inconsistent metadata",
		            "Encoding " + std::to_string(prefix.encoding) + ", announced length " +
		                std::to_string(prefix.data_len) + ".",
		            retry_hint);
	}
	return prefix;
}

} // namespace bk
