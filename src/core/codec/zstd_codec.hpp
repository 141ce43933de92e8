// zstd compression of chunk payloads. Contexts are reused across the chunks of one operation; their
// owner in src/pg frees them from a memory-context reset callback, so an aborted transaction leaks nothing.
#pragma once
#include "core/core_only.hpp"

#include <cstddef>

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace bk
{

class ZstdCompressor
{
public:
	explicit ZstdCompressor(int level);
	~ZstdCompressor();
	ZstdCompressor(const ZstdCompressor &) = delete;
	ZstdCompressor &operator=(const ZstdCompressor &) = delete;

	// Worst-case compressed size of len bytes; the caller allocates that much.
	static size_t bound(size_t len) noexcept;
	// Compresses src into dst (capacity cap, at least bound(len)) as one frame that records its content
	// size and a content checksum; returns the frame's size.
	size_t compress(const void *src, size_t len, void *dst, size_t cap);

private:
	ZSTD_CCtx_s *cctx_;
	int level_;
};

class ZstdDecompressor
{
public:
	ZstdDecompressor();
	~ZstdDecompressor();
	ZstdDecompressor(const ZstdDecompressor &) = delete;
	ZstdDecompressor &operator=(const ZstdDecompressor &) = delete;

	// Decompresses one whole frame whose content size must equal expected_len; anything else
	// (truncation, trailing bytes, a flipped bit caught by zstd's checksum) throws bk::Error XX001.
	void decompress(const void *src, size_t len, void *dst, size_t expected_len);

private:
	ZSTD_DCtx_s *dctx_;
};

// Content size recorded in a frame header, or throws XX001 when the header is unreadable.
size_t zstd_frame_content_size(const void *src, size_t len);

} // namespace bk
