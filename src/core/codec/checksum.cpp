// XXH64 over a byte range. Reads unaligned words with memcpy; little-endian byte order is fixed so
// that a stored checksum means the same thing on every platform.
#include "core/codec/checksum.hpp"

#include <cstring>

namespace bk
{
namespace
{

constexpr uint64_t P1 = 11400714785074694791ULL;
constexpr uint64_t P2 = 14029467366897019727ULL;
constexpr uint64_t P3 = 1609587929392839161ULL;
constexpr uint64_t P4 = 9650029242287828579ULL;
constexpr uint64_t P5 = 2870177450012600261ULL;

inline uint64_t
rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

inline uint64_t
read64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;
	std::memcpy(&v, p, sizeof(v)); // one unaligned load on little-endian machines
	return v;
#else
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
	{
		v = (v << 8) | p[i];
	}
	return v;
#endif
}

inline uint32_t
read32(const unsigned char *p)
{
	return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
	       (static_cast<uint32_t>(p[3]) << 24);
}

inline uint64_t
round(uint64_t acc, uint64_t input)
{
	acc += input * P2;
	acc = rotl(acc, 31);
	return acc * P1;
}

inline uint64_t
merge_round(uint64_t acc, uint64_t val)
{
	acc ^= round(0, val);
	return acc * P1 + P4;
}

} // namespace

uint64_t
checksum64(const void *data, size_t len, uint64_t seed) noexcept
{
	const unsigned char *p = static_cast<const unsigned char *>(data);
	const unsigned char *end = p + len;
	uint64_t h;

	if (len >= 32)
	{
		uint64_t v1 = seed + P1 + P2;
		uint64_t v2 = seed + P2;
		uint64_t v3 = seed;
		uint64_t v4 = seed - P1;
		const unsigned char *limit = end - 32;
		do
		{
			v1 = round(v1, read64(p));
			v2 = round(v2, read64(p + 8));
			v3 = round(v3, read64(p + 16));
			v4 = round(v4, read64(p + 24));
			p += 32;
		} while (p <= limit);
		h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
		h = merge_round(h, v1);
		h = merge_round(h, v2);
		h = merge_round(h, v3);
		h = merge_round(h, v4);
	}
	else
	{
		h = seed + P5;
	}
	h += static_cast<uint64_t>(len);

	while (p + 8 <= end)
	{
		h ^= round(0, read64(p));
		h = rotl(h, 27) * P1 + P4;
		p += 8;
	}
	if (p + 4 <= end)
	{
		h ^= static_cast<uint64_t>(read32(p)) * P1;
		h = rotl(h, 23) * P2 + P3;
		p += 4;
	}
	while (p < end)
	{
		h ^= (*p) * P5;
		h = rotl(h, 11) * P1;
		p++;
	}
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

uint64_t
checksum_combine(uint64_t acc, uint64_t chunk_checksum, uint64_t chunk_rows) noexcept
{
	unsigned char buf[24];
	for (int i = 0; i < 8; i++)
	{
		buf[i] = static_cast<unsigned char>(acc >> (8 * i));
		buf[8 + i] = static_cast<unsigned char>(chunk_checksum >> (8 * i));
		buf[16 + i] = static_cast<unsigned char>(chunk_rows >> (8 * i));
	}
	return checksum64(buf, sizeof(buf));
}

} // namespace bk
