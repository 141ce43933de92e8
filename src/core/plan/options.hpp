// Parsing of the text options users pass to the SQL functions (compression, restore mode).
// Values are matched exactly (lower case), as PostgreSQL matches enum-like text options.
#pragma once
#include "core/core_only.hpp"

namespace bk
{

enum class Compression
{
	none,
	zstd
};

enum class RestoreMode
{
	replace,
	merge,
	missing
};

// Both throw bk::Error 22023 naming the accepted values.
Compression parse_compression(const char *text);
RestoreMode parse_restore_mode(const char *text);

const char *compression_name(Compression c) noexcept;
const char *restore_mode_name(RestoreMode m) noexcept;

} // namespace bk
