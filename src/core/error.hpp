// The one exception type src/core throws. It carries what PostgreSQL's ereport needs (SQLSTATE, message,
// detail, hint) so the boundary in src/pg can re-raise it without losing the error class.
#pragma once
#include "core/core_only.hpp"

#include <stdexcept>
#include <string>

namespace bk
{

class Error : public std::runtime_error
{
public:
	Error(const char *sqlstate, std::string message, std::string detail = {}, std::string hint = {})
	    : std::runtime_error(message), message_(std::move(message)), detail_(std::move(detail)), hint_(std::move(hint))
	{
		for (int i = 0; i < 5; i++)
		{
			sqlstate_[i] = sqlstate[i];
		}
		sqlstate_[5] = '\0';
	}

	const char *sqlstate() const noexcept { return sqlstate_; }
	const std::string &message() const noexcept { return message_; }
	const std::string &detail() const noexcept { return detail_; }
	const std::string &hint() const noexcept { return hint_; }

private:
	char sqlstate_[6];
	std::string message_;
	std::string detail_;
	std::string hint_;
};

// SQLSTATEs used by src/core, spelled as in PostgreSQL's errcodes.txt.
namespace sqlstate
{
constexpr const char *data_corrupted = "XX001";
constexpr const char *invalid_parameter_value = "22023";
constexpr const char *internal_error = "XX000";
constexpr const char *out_of_memory = "53200";
constexpr const char *program_limit_exceeded = "54000";
} // namespace sqlstate

} // namespace bk
