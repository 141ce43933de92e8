// 64-bit content checksum of chunk payloads (the XXH64 algorithm, written from its public specification).
// Chosen over CRC-32C for a 64-bit result at memory speed; the value is stored, so it must never change.
#pragma once
#include "core/core_only.hpp"

#include <cstddef>
#include <cstdint>

namespace bk
{

uint64_t checksum64(const void *data, size_t len, uint64_t seed = 0) noexcept;

// Combines per-chunk checksums into one table checksum; order matters, so a reordered chunk is detected.
uint64_t checksum_combine(uint64_t acc, uint64_t chunk_checksum, uint64_t chunk_rows) noexcept;

} // namespace bk
