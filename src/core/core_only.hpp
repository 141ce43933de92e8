// Included first by every src/core header. src/core is plain C++17: the Makefile and CMakeLists.txt compile
// it without PostgreSQL's include path and with BK_CORE_ONLY defined, so a PostgreSQL header cannot slip in;
// it is unit-tested without a server, and its exceptions never meet longjmp.
#pragma once

#if defined(BK_CORE_ONLY) && (defined(PG_VERSION_NUM) || defined(POSTGRES_H))
#error "src/core must not include PostgreSQL headers; put PostgreSQL-facing code in src/pg"
#endif
