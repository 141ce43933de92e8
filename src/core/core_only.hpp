// Included first by every src/core header. src/core is plain C++17: the Makefile and CMakeLists.txt compile
// it without PostgreSQL's include path and with BK_CORE_ONLY defined, so a PostgreSQL header cannot slip in;
// it is unit-tested without a server, and its exceptions never meet longjmp.
//
// No #pragma once: the check below runs at every core header's first inclusion. src/pg includes core headers
// (and so the C++ standard headers they need) before postgres.h, whose port.h redefines printf, snprintf and
// friends as macros that must not leak into the standard library's headers (doc/boundary.md, include order).
#if !defined(BK_CORE_ONLY) && defined(POSTGRES_H)
#error "include src/core headers (and C++ standard headers) before the extern \"C\" block with postgres.h"
#endif

#if defined(BK_CORE_ONLY) && (defined(PG_VERSION_NUM) || defined(POSTGRES_H))
#error "src/core must not include PostgreSQL headers; put PostgreSQL-facing code in src/pg"
#endif
