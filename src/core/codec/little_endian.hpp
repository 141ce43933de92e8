// Fixed little-endian integers in byte buffers: export frames and metadata seals are read back on any
// platform, so their byte order never depends on the machine's.
#pragma once
#include "core/core_only.hpp"

#include <cstdint>

namespace bk
{

inline void
put_u16(unsigned char *p, uint16_t v) noexcept
{
	p[0] = static_cast<unsigned char>(v);
	p[1] = static_cast<unsigned char>(v >> 8);
}

inline void
put_u32(unsigned char *p, uint32_t v) noexcept
{
	for (int i = 0; i < 4; i++)
	{
		p[i] = static_cast<unsigned char>(v >> (8 * i));
	}
}

inline void
put_u64(unsigned char *p, uint64_t v) noexcept
{
	for (int i = 0; i < 8; i++)
	{
		p[i] = static_cast<unsigned char>(v >> (8 * i));
	}
}

inline uint16_t
get_u16(const unsigned char *p) noexcept
{
	return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

inline uint32_t
get_u32(const unsigned char *p) noexcept
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
	{
		v = (v << 8) | p[i];
	}
	return v;
}

inline uint64_t
get_u64(const unsigned char *p) noexcept
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
	{
		v = (v << 8) | p[i];
	}
	return v;
}

} // namespace bk
