// Seals over stored metadata (see metadata_seal.hpp).
#include "core/codec/metadata_seal.hpp"
#include "core/codec/checksum.hpp"
#include "core/codec/little_endian.hpp"

#include <cstring>

namespace bk
{
namespace
{

const char seal_domain[] = "backupkit metadata";

} // namespace

uint64_t
metadata_field_digest(const MetadataField &field) noexcept
{
	// The field's canonical form, hashed as a chain: null flag and length, then the name, then the value.
	unsigned char head[9];
	head[0] = field.value == nullptr ? 1 : 0;
	put_u64(head + 1, field.value == nullptr ? 0 : static_cast<uint64_t>(field.len));
	uint64_t h = checksum64(head, sizeof(head));
	h = checksum64(field.name, std::strlen(field.name), h);
	return checksum64(field.value == nullptr ? "" : field.value, field.value == nullptr ? 0 : field.len, h);
}

uint64_t
metadata_record_checksum(uint8_t version, const char *kind, const MetadataField *fields, size_t n) noexcept
{
	uint64_t acc = checksum64(seal_domain, sizeof(seal_domain) - 1, version);
	acc = checksum64(kind, std::strlen(kind), acc);
	for (size_t i = 0; i < n; i++)
	{
		acc = checksum_combine(acc, metadata_field_digest(fields[i]), static_cast<uint64_t>(i));
	}
	return checksum_combine(acc, static_cast<uint64_t>(n), ~static_cast<uint64_t>(0));
}

void
metadata_seal(uint8_t version, const char *kind, const MetadataField *fields, size_t n, unsigned char *out) noexcept
{
	out[0] = version;
	put_u64(out + 1, metadata_record_checksum(version, kind, fields, n));
	for (size_t i = 0; i < n; i++)
	{
		put_u32(out + 9 + 4 * i, static_cast<uint32_t>(metadata_field_digest(fields[i])));
	}
}

uint8_t
metadata_seal_version_of(const unsigned char *seal, size_t len) noexcept
{
	return len == 0 ? 0 : seal[0];
}

SealVerdict
metadata_seal_verify(const char *kind, const MetadataField *fields, size_t n, const unsigned char *seal, size_t len,
                     bool *differs) noexcept
{
	bool any = false;
	bool total_ok;

	for (size_t i = 0; i < n; i++)
	{
		differs[i] = false;
	}
	if (len != metadata_seal_size(n) || seal[0] == 0)
	{
		return SealVerdict::seal_damaged;
	}
	total_ok = get_u64(seal + 1) == metadata_record_checksum(seal[0], kind, fields, n);
	for (size_t i = 0; i < n; i++)
	{
		differs[i] = static_cast<uint32_t>(metadata_field_digest(fields[i])) != get_u32(seal + 9 + 4 * i);
		any = any || differs[i];
	}
	if (total_ok && !any)
	{
		return SealVerdict::intact;
	}
	if (!total_ok && any)
	{
		return SealVerdict::fields_differ;
	}
	// One half agrees and the other not: the seal's own bytes changed.
	for (size_t i = 0; i < n; i++)
	{
		differs[i] = false;
	}
	return SealVerdict::seal_damaged;
}

} // namespace bk
