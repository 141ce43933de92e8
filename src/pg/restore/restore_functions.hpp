// Argument helpers shared by the restore entry points (defined in restore_functions.cpp).
#pragma once

#include "core/plan/options.hpp"

extern "C"
{
#include "postgres.h"
#include "fmgr.h"
}

bk::RestoreMode bk_mode_arg(FunctionCallInfo fcinfo, int argno);
bool bk_bool_arg(FunctionCallInfo fcinfo, int argno, const char *name);
