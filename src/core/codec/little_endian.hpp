// Fixed little-endian integers in byte buffers: export frames and metadata seals are read back on any
// platform, so their byte order never depends on the machine's.
#pragma once
#include "core/core_only.hpp"

#include <cstddef>
#include <cstdint>

namespace bk
{

template <typename T>
inline void
put_le(unsigned char *p, T v) noexcept
{
	for (size_t i = 0; i < sizeof(T); i++)
	{
		p[i] = static_cast<unsigned char>(v >> (8 * i));
	}
}

template <typename T>
inline T
get_le(const unsigned char *p) noexcept
{
	T v = 0;
	for (size_t i = sizeof(T); i-- > 0;)
	{
		v = static_cast<T>((v << 8) | p[i]);
	}
	return v;
}

inline void
put_u16(unsigned char *p, uint16_t v) noexcept
{
	put_le(p, v);
}

inline void
put_u32(unsigned char *p, uint32_t v) noexcept
{
	put_le(p, v);
}

inline void
put_u64(unsigned char *p, uint64_t v) noexcept
{
	put_le(p, v);
}

inline uint16_t
get_u16(const unsigned char *p) noexcept
{
	return get_le<uint16_t>(p);
}

inline uint32_t
get_u32(const unsigned char *p) noexcept
{
	return get_le<uint32_t>(p);
}

inline uint64_t
get_u64(const unsigned char *p) noexcept
{
	return get_le<uint64_t>(p);
}

} // namespace bk
