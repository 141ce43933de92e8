// Re-raising of errors caught at the C++ boundary (see boundary.hpp).
#include <cstring>
#include "core/error.hpp"
#include "pg/boundary/boundary.hpp"

static void
copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = src ? std::strlen(src) : 0;
	if (n >= cap)
	{
		n = cap - 1;
	}
	if (n > 0)
	{
		std::memcpy(dst, src, n);
	}
	dst[n] = '\0';
}

void
bk_error_info_set(BkErrorInfo *info, const char *sqlstate, const char *message, const char *detail,
                  const char *hint) noexcept
{
	copy_text(info->sqlstate, sizeof(info->sqlstate), sqlstate);
	copy_text(info->message, sizeof(info->message), message);
	copy_text(info->detail, sizeof(info->detail), detail);
	copy_text(info->hint, sizeof(info->hint), hint);
}

void
bk_raise(const BkErrorInfo *info)
{
	const char *s = info->sqlstate;
	int code = strlen(s) == 5 ? MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]) : ERRCODE_INTERNAL_ERROR;

	ereport(ERROR, (errcode(code), errmsg_internal("%s", info->message),
	                info->detail[0] ? errdetail_internal("%s", info->detail) : 0,
	                info->hint[0] ? errhint("%s", info->hint) : 0));
	pg_unreachable();
}

void
bk_raise_unless_corrupted(const BkErrorInfo *info)
{
	if (strcmp(info->sqlstate, bk::sqlstate::data_corrupted) != 0)
	{
		bk_raise(info);
	}
}
