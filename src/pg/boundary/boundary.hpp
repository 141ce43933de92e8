// The C++/PostgreSQL boundary, the one way errors cross it (documented in doc/boundary.md):
//
//  * src/core never calls PostgreSQL, so no PostgreSQL error can ever longjmp across a C++ frame that
//    owns resources: there is no such frame below a PostgreSQL call.
//  * src/pg calls into src/core only through BK_CORE(...), which runs the call inside try/catch, copies the
//    error's SQLSTATE, message, detail and hint into a plain struct, leaves the try scope (destroying every
//    C++ object of the call) and only then raises the error with ereport(ERROR), keeping the SQLSTATE.
//  * src/pg code is C-style: no objects with destructors on the stack, palloc'd memory in one context per
//    operation, and anything allocated with new (zstd contexts) is freed by a memory-context reset callback.
//  * noexcept functions of src/core (hashing, escaping) may be called directly.
#pragma once

// Like every C++ header, included before postgres.h (see src/core/core_only.hpp).
#if defined(POSTGRES_H)
#error "include pg/boundary/boundary.hpp before the extern \"C\" block with postgres.h"
#endif

#include <exception>
#include <new>

extern "C"
{
#include "postgres.h"
}

#include "core/error.hpp"

typedef struct BkErrorInfo
{
	char sqlstate[6];
	char message[1024];
	char detail[1024];
	char hint[512];
} BkErrorInfo;

void bk_error_info_set(BkErrorInfo *info, const char *sqlstate, const char *message, const char *detail,
                       const char *hint) noexcept;

// Raises the captured error with its original SQLSTATE. Never returns.
[[noreturn]] void bk_raise(const BkErrorInfo *info);

// For callers that report corruption their own way (as a validation finding, as a damaged export stream):
// raises the captured error unless it is corruption (XX001), so that out of memory or any other failure is
// never reported as damaged data.
void bk_raise_unless_corrupted(const BkErrorInfo *info);

template <typename Fn>
bool
bk_try(Fn &&fn, BkErrorInfo *info) noexcept
{
	try
	{
		fn();
		return true;
	}
	catch (const bk::Error &e)
	{
		bk_error_info_set(info, e.sqlstate(), e.message().c_str(), e.detail().c_str(), e.hint().c_str());
	}
	catch (const std::bad_alloc &)
	{
		bk_error_info_set(info, bk::sqlstate::out_of_memory, "out of memory", "", "");
	}
	catch (const std::exception &e)
	{
		bk_error_info_set(info, bk::sqlstate::internal_error, e.what(), "", "");
	}
	catch (...)
	{
		bk_error_info_set(info, bk::sqlstate::internal_error, "unexpected C++ exception in backupkit", "", "");
	}
	return false;
}

// Runs a src/core call; any exception becomes a PostgreSQL error after the C++ frames are gone.
#define BK_CORE(...)                                                                                                   \
	do                                                                                                                 \
	{                                                                                                                  \
		BkErrorInfo bk_core_error_;                                                                                    \
		if (!bk_try([&]() { __VA_ARGS__; }, &bk_core_error_))                                                          \
			bk_raise(&bk_core_error_);                                                                                 \
	} while (0)
