# backupkit: built with PGXS. `make && make install` builds and installs the extension; `make installcheck`
# runs the pg_regress suite against a running server; `make test` runs every suite on a throwaway cluster.
EXTENSION = backupkit
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" backupkit.control)
MODULE_big = backupkit
OBJS = $(patsubst %.cpp,%.o,$(sort $(wildcard src/core/*.cpp src/pg/*.cpp)))
DATA_built = sql/backupkit--$(EXTVERSION).sql
DATA = $(wildcard sql/backupkit--*--*.sql)
# Every sql/*.sql except install and upgrade scripts is a pg_regress test with its expected/*.out.
REGRESS = $(sort $(patsubst sql/%.sql,%,$(filter-out sql/backupkit--%,$(wildcard sql/*.sql))))
CONTRIB_TESTDB = backupkit_regression
REGRESS_OPTS = --inputdir=. --load-extension=backupkit
EXTRA_CLEAN = build results regression.diffs regression.out

PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-register -fno-omit-frame-pointer
SHLIB_LINK = -lzstd -lstdc++

PG_CONFIG ?= pg_config
# No LLVM bitcode for JIT inlining: it would need clang and gains nothing for this code.
override with_llvm = no
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/backupkit--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@

$(OBJS): $(wildcard src/core/*.hpp src/pg/*.hpp)

# src/core never sees PostgreSQL's headers (see src/core/core_only.hpp).
src/core/%.o: override CPPFLAGS = -DBK_CORE_ONLY

.PHONY: test unit bench demo format roundtrip fault
test:
	bash scripts/run-tests.sh

# Round trip of PostgreSQL's regression database (test/regression-db/README.md) and the fault suite
# (test/fault/RESULTS.md); each runs on a throwaway cluster of its own. scripts/run-tests.sh runs both too.
roundtrip: install
	PG_CONFIG=$(PG_CONFIG) prove --exec bash test/regression-db/roundtrip.sh

fault: install
	PG_CONFIG=$(PG_CONFIG) prove --exec bash test/fault/[0-9]*.sh

unit:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPG_CONFIG=$(PG_CONFIG) >/dev/null
	cmake --build build -j2
	cd build && ctest --output-on-failure

bench:
	bash bench/run.sh

demo:
	bash scripts/demo.sh

format:
	clang-format -i src/core/*.cpp src/core/*.hpp src/pg/*.cpp src/pg/*.hpp test/unit/*.cpp
