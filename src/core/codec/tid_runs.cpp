#include "core/codec/tid_runs.hpp"

#include "core/codec/checksum.hpp"
#include "core/error.hpp"

#include <cstring>

namespace bk
{

namespace
{

constexpr char magic[tid_runs_header_size] = {'B', 'K', 'T', '1'};

size_t
put_varint(char *out, uint64_t v) noexcept
{
	size_t n = 0;
	while (v >= 0x80)
	{
		out[n++] = static_cast<char>((v & 0x7F) | 0x80);
		v >>= 7;
	}
	out[n++] = static_cast<char>(v);
	return n;
}

uint64_t
get_varint(const unsigned char *&p, const unsigned char *end)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7)
	{
		if (p >= end)
		{
			throw Error(sqlstate::data_corrupted, "tuple id list ends inside a number");
		}
		unsigned char b = *p++;
		v |= static_cast<uint64_t>(b & 0x7F) << shift;
		if ((b & 0x80) == 0)
		{
			return v;
		}
	}
	throw Error(sqlstate::data_corrupted, "tuple id list holds an overlong number");
}

} // namespace

size_t
tid_runs_header(char *out) noexcept
{
	std::memcpy(out, magic, sizeof(magic));
	return sizeof(magic);
}

size_t
tid_run_encode(uint32_t prev_block, uint32_t block, uint16_t first, uint32_t count, char *out) noexcept
{
	int64_t delta = static_cast<int64_t>(block) - static_cast<int64_t>(prev_block);
	size_t n = put_varint(out, (static_cast<uint64_t>(delta) << 1) ^ static_cast<uint64_t>(delta >> 63));
	n += put_varint(out + n, first);
	n += put_varint(out + n, count);
	return n;
}

void
tid_runs_seal(const char *data, size_t len, char *out) noexcept
{
	uint64_t sum = checksum64(data, len, tid_runs_seed);
	for (size_t i = 0; i < tid_runs_trailer_size; i++)
	{
		out[i] = static_cast<char>((sum >> (8 * i)) & 0xFF);
	}
}

void
tid_runs_decode(const char *data, size_t len, size_t rows, uint32_t *blocks, uint16_t *offsets)
{
	if (len < sizeof(magic) + tid_runs_trailer_size || std::memcmp(data, magic, sizeof(magic)) != 0)
	{
		throw Error(sqlstate::data_corrupted, "tuple id list has no valid header");
	}
	const unsigned char *p = reinterpret_cast<const unsigned char *>(data);
	const unsigned char *end = p + len - 8;
	uint64_t stored = 0;
	for (int i = 0; i < 8; i++)
	{
		stored |= static_cast<uint64_t>(end[i]) << (8 * i);
	}
	if (checksum64(data, len - 8, tid_runs_seed) != stored)
	{
		throw Error(sqlstate::data_corrupted, "tuple id list fails its checksum");
	}
	p += sizeof(magic);
	int64_t block = 0;
	size_t row = 0;
	while (p < end)
	{
		uint64_t z = get_varint(p, end);
		int64_t delta = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
		uint64_t first = get_varint(p, end);
		uint64_t count = get_varint(p, end);
		block += delta;
		if (block < 0 || block > static_cast<int64_t>(UINT32_MAX) || first == 0 || count == 0 ||
		    first + count - 1 > UINT16_MAX)
		{
			throw Error(sqlstate::data_corrupted, "tuple id list holds an impossible tuple id");
		}
		if (count > rows - row)
		{
			throw Error(sqlstate::data_corrupted, "tuple id list holds more tuple ids than the chunk has rows");
		}
		for (uint64_t i = 0; i < count; i++)
		{
			blocks[row] = static_cast<uint32_t>(block);
			offsets[row] = static_cast<uint16_t>(first + i);
			row++;
		}
	}
	if (row != rows)
	{
		throw Error(sqlstate::data_corrupted, "tuple id list holds fewer tuple ids than the chunk has rows");
	}
}

} // namespace bk
