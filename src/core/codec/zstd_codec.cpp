// Thin RAII layer over libzstd's simple one-frame API.
#include "core/codec/zstd_codec.hpp"
#include "core/error.hpp"

#include <new>
#include <string>
#include <zstd.h>

namespace bk
{

ZstdCompressor::ZstdCompressor(int level) : cctx_(ZSTD_createCCtx()), level_(level)
{
	if (cctx_ == nullptr)
	{
		throw std::bad_alloc();
	}
	ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level_);
	ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(cctx_, ZSTD_c_contentSizeFlag, 1);
}

ZstdCompressor::~ZstdCompressor()
{
	ZSTD_freeCCtx(cctx_);
}

size_t
ZstdCompressor::bound(size_t len) noexcept
{
	return ZSTD_compressBound(len);
}

size_t
ZstdCompressor::compress(const void *src, size_t len, void *dst, size_t cap)
{
	size_t n = ZSTD_compress2(cctx_, dst, cap, src, len);
	if (ZSTD_isError(n))
	{
		throw Error(sqlstate::internal_error, std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
	}
	return n;
}

ZstdDecompressor::ZstdDecompressor() : dctx_(ZSTD_createDCtx())
{
	if (dctx_ == nullptr)
	{
		throw std::bad_alloc();
	}
}

ZstdDecompressor::~ZstdDecompressor()
{
	ZSTD_freeDCtx(dctx_);
}

size_t
zstd_frame_content_size(const void *src, size_t len)
{
	unsigned long long n = ZSTD_getFrameContentSize(src, len);
	if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN)
	{
		throw Error(sqlstate::data_corrupted, "zstd frame header is unreadable");
	}
	return static_cast<size_t>(n);
}

void
ZstdDecompressor::decompress(const void *src, size_t len, void *dst, size_t expected_len)
{
	size_t frame = ZSTD_findFrameCompressedSize(src, len);
	if (ZSTD_isError(frame))
	{
		throw Error(sqlstate::data_corrupted, std::string("zstd frame is damaged: ") + ZSTD_getErrorName(frame));
	}
	if (frame != len)
	{
		throw Error(sqlstate::data_corrupted, "zstd payload has bytes after its frame");
	}
	if (zstd_frame_content_size(src, len) != expected_len)
	{
		throw Error(sqlstate::data_corrupted, "zstd frame size does not match the recorded chunk size");
	}
	size_t n = ZSTD_decompressDCtx(dctx_, dst, expected_len, src, len);
	if (ZSTD_isError(n))
	{
		throw Error(sqlstate::data_corrupted, std::string("zstd frame is damaged: ") + ZSTD_getErrorName(n));
	}
	if (n != expected_len)
	{
		throw Error(sqlstate::data_corrupted, "zstd frame decompressed to an unexpected size");
	}
}

} // namespace bk
