// Where each captured row was stored: the heap tuple ids (block, line pointer) of a chunk's rows, in row
// order, as runs of consecutive line pointers. A sequential scan yields one run per heap page, so a chunk of
// 10,000 rows costs a few hundred bytes. merge and missing use them to skip rows still held by the very tuple
// they were captured from (see src/pg/restore/unchanged_rows.hpp); they are a hint, never restored data, so a blob
// that fails its checksum only costs that shortcut.
//
// Format: "BKT1", then per run three unsigned LEB128 varints (zigzag delta of the run's block from the
// previous run's block, first line pointer, run length), then the XXH64 (seed below) of everything before
// it, 8 bytes little-endian.
#pragma once
#include "core/core_only.hpp"

#include <cstddef>
#include <cstdint>

namespace bk
{

constexpr uint64_t tid_runs_seed = 0x626b746964730001ULL;

constexpr size_t tid_runs_header_size = 4;
constexpr size_t tid_runs_trailer_size = 8;
constexpr size_t tid_run_max_size = 3 * 10; // three varints of at most 64 bits

// Writes the header; returns its size.
size_t tid_runs_header(char *out) noexcept;
// Writes one run (block prev_block was the previous run's, 0 for the first); returns its size.
size_t tid_run_encode(uint32_t prev_block, uint32_t block, uint16_t first, uint32_t count, char *out) noexcept;
// Writes the trailer over the len bytes of header and runs before it.
void tid_runs_seal(const char *data, size_t len, char *out) noexcept;

// Decodes a blob into blocks[i], offsets[i] for the chunk's rows 0 .. rows - 1. Throws bk::Error XX001 when the
// blob is malformed, fails its checksum, or does not describe exactly rows tuple ids.
void tid_runs_decode(const char *data, size_t len, size_t rows, uint32_t *blocks, uint16_t *offsets);

} // namespace bk
