#include "core/plan/options.hpp"
#include "core/error.hpp"

#include <cstring>
#include <string>

namespace bk
{

Compression
parse_compression(const char *text)
{
	if (std::strcmp(text, "zstd") == 0)
	{
		return Compression::zstd;
	}
	if (std::strcmp(text, "none") == 0)
	{
		return Compression::none;
	}
	throw Error(sqlstate::invalid_parameter_value, std::string("unrecognized compression method: \"") + text + "\"", {},
	            "Valid values are \"zstd\" and \"none\".");
}

RestoreMode
parse_restore_mode(const char *text)
{
	if (std::strcmp(text, "replace") == 0)
	{
		return RestoreMode::replace;
	}
	if (std::strcmp(text, "merge") == 0)
	{
		return RestoreMode::merge;
	}
	if (std::strcmp(text, "missing") == 0)
	{
		return RestoreMode::missing;
	}
	throw Error(sqlstate::invalid_parameter_value, std::string("unrecognized restore mode: \"") + text + "\"", {},
	            "Valid values are \"replace\", \"merge\" and \"missing\".");
}

const char *
compression_name(Compression c) noexcept
{
	return c == Compression::zstd ? "zstd" : "none";
}

const char *
restore_mode_name(RestoreMode m) noexcept
{
	switch (m)
	{
		case RestoreMode::replace:
			return "replace";
		case RestoreMode::merge:
			return "merge";
		case RestoreMode::missing:
			return "missing";
	}
	return "replace";
}

} // namespace bk
