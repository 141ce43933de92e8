// A row's fingerprint: XXH64 (seeded) over, for each kept column in captured order, a 4-byte little-endian
// length (0xFFFFFFFF for null) followed by the value's text under backupkit's fixed output settings.
// The restore engine computes it from a chunk (chunk_to_key_text) and from the live row
// (backupkit.row_fingerprint), so a live row whose fingerprint matches the captured one already holds the
// captured values and is left alone without staging it. Equal fingerprints of different rows happen with
// probability 2^-64 per row.
#pragma once
#include "core/core_only.hpp"

#include <cstddef>
#include <cstdint>

namespace bk
{

constexpr uint64_t fingerprint_seed = 0x6261636b75706b74ULL; // "backupkt"
constexpr size_t fingerprint_header_size = 4;
// Keys (primary keys and unique indexes) have at most INDEX_MAX_KEYS (32) columns.
constexpr int max_key_columns = 32;

inline void
fingerprint_header(char *out, bool is_null, size_t len) noexcept
{
	uint32_t v = is_null ? 0xFFFFFFFFu : static_cast<uint32_t>(len);
	out[0] = static_cast<char>(v & 0xFF);
	out[1] = static_cast<char>((v >> 8) & 0xFF);
	out[2] = static_cast<char>((v >> 16) & 0xFF);
	out[3] = static_cast<char>((v >> 24) & 0xFF);
}

} // namespace bk
