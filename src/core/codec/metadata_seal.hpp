// Checksums over the stored metadata a restore relies on (the "seal" of a snapshot_table entry or of a
// snapshot row; the fields are listed in src/pg/storage/metadata_checksum.cpp and doc/export-format.md).
//
// A record is a kind ("table", "snapshot") and an ordered list of fields, each a name and either NULL or a
// byte string. Its canonical form is, field by field, the name, a null flag, the value's length and its
// bytes; every field gets a 64-bit digest of that form (XXH64 chained through the name, flag and length,
// then over the value), and the record's checksum chains the kind, the seal version and every digest in
// order. So a changed byte, a value moved from one field to the next, NULL turned into '' or two fields
// swapped all change the checksum.
//
// The stored seal keeps, besides the checksum, the low 32 bits of each field's digest: when the checksum
// no longer matches, they say which fields changed, so an error can name them.
//
//   byte 0: seal version | bytes 1..8: record checksum, little-endian | 4 bytes per field: digest, low half
//
// Later fields (e.g. a table's full definition) are added by a new seal version whose field list is the
// old one plus the new fields; a seal records its version, so seals written before keep verifying.
#pragma once
#include "core/core_only.hpp"

#include <cstddef>
#include <cstdint>

namespace bk
{

// 1: backupkit 1.0 fields; 2: a table entry's definition appended (schema-aware snapshots).
constexpr uint8_t metadata_seal_version = 2;

struct MetadataField
{
	const char *name;  // NUL-terminated
	const char *value; // nullptr means SQL NULL
	size_t len;
};

inline size_t
metadata_seal_size(size_t nfields) noexcept
{
	return 1 + 8 + 4 * nfields;
}

uint64_t metadata_field_digest(const MetadataField &field) noexcept;
uint64_t metadata_record_checksum(uint8_t version, const char *kind, const MetadataField *fields, size_t n) noexcept;

// Writes metadata_seal_size(n) bytes to out.
void metadata_seal(uint8_t version, const char *kind, const MetadataField *fields, size_t n,
                   unsigned char *out) noexcept;

enum class SealVerdict
{
	intact,        // the fields are the ones sealed
	fields_differ, // differs[i] is set for every field that changed
	seal_damaged,  // the seal itself is unreadable or inconsistent (wrong size, version, damaged bytes)
};

// The seal's version, or 0 when it is too short to have one.
uint8_t metadata_seal_version_of(const unsigned char *seal, size_t len) noexcept;

// Checks fields against a stored seal (of the version metadata_seal_version_of reports). differs holds n
// flags, all cleared unless the verdict is fields_differ.
SealVerdict metadata_seal_verify(const char *kind, const MetadataField *fields, size_t n, const unsigned char *seal,
                                 size_t len, bool *differs) noexcept;

} // namespace bk
