# backupkit: built with PGXS. `make && make install` builds and installs the extension; `make installcheck`
# runs the pg_regress suite against a running server; `make test` runs every suite on a throwaway cluster.
EXTENSION = backupkit
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" backupkit.control)
MODULE_big = backupkit
# Sources live one folder deep by concern (src/pg/restore, src/core/codec, ...; doc/architecture.md).
BK_SOURCES = $(sort $(wildcard src/core/*.cpp src/core/*/*.cpp src/pg/*.cpp src/pg/*/*.cpp))
BK_HEADERS = $(sort $(wildcard src/core/*.hpp src/core/*/*.hpp src/pg/*.hpp src/pg/*/*.hpp))
OBJS = $(patsubst %.cpp,%.o,$(BK_SOURCES))
# The install script of the current version is assembled from sql/install/*.sql; the upgrade script from
# version A to B from sql/update/A--B/*.sql (name order), so that several changes can each add their own file.
# Released versions' install scripts are frozen, committed files (sql/backupkit--0.1.sql): installing an old
# version and updating it is what test/tap/090_extension_update.sh checks.
UPDATE_SCRIPTS = $(patsubst sql/update/%,sql/backupkit--%.sql,$(wildcard sql/update/*--*))
DATA_built = sql/backupkit--$(EXTVERSION).sql $(UPDATE_SCRIPTS)
DATA = $(filter-out $(DATA_built),$(wildcard sql/backupkit--*.sql))
# Every sql/*.sql except install and upgrade scripts is a pg_regress test with its expected/*.out.
REGRESS = $(sort $(patsubst sql/%.sql,%,$(filter-out sql/backupkit--%,$(wildcard sql/*.sql))))
CONTRIB_TESTDB = backupkit_regression
REGRESS_OPTS = --inputdir=. --load-extension=backupkit
EXTRA_CLEAN = build results regression.diffs regression.out .pg-server src/cli/*.o src/cli/backupkit $(EXTENSION)-$(EXTVERSION).tar.gz

PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-register -fno-omit-frame-pointer
SHLIB_LINK = -lzstd -lstdc++
# Includes are written from src/ ("pg/support/progress.hpp", "core/codec/chunk_codec.hpp"): a file can move
# without touching its neighbours, and each include says which side of the boundary it comes from.
PG_CPPFLAGS = -I$(CURDIR)/src

PG_CONFIG ?= pg_config
# No LLVM bitcode for JIT inlining: it would need clang and gains nothing for this code.
override with_llvm = no
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/backupkit--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@

# Each upgrade script: its folder's files in name order. A file NN_name.from-install holds the name of an
# install part that the upgrade takes whole (objects new in that version), so their definitions are written
# once. Every CREATE FUNCTION carries its own SET search_path (sql/search_path.sql checks), in the upgrade
# files as in sql/install. The folder is a prerequisite too: adding or removing a file rebuilds.
define bk_update_rule
$(patsubst sql/update/%,sql/backupkit--%.sql,$(1)): $(1) $(sort $(wildcard $(1)/*.sql $(1)/*.from-install)) $(wildcard sql/install/*.sql)
	for f in $$(filter $(1)/%,$$^); do \
		case $$$$f in *.from-install) cat "sql/install/$$$$(cat $$$$f)" ;; *) cat $$$$f ;; esac; \
	done > $$@
endef
$(foreach d,$(wildcard sql/update/*--*),$(eval $(call bk_update_rule,$(d))))

$(OBJS): $(BK_HEADERS) .pg-server

# The objects are built for one server: .pg-server names it, and is rewritten (so the objects are rebuilt)
# when PG_CONFIG points at another installation or version. Done while reading the Makefile, because PGXS
# marks every target secondary, so a forced rule would never run.
BK_SERVER := $(abspath $(shell command -v $(PG_CONFIG))) $(VERSION)
ifneq ($(BK_SERVER),$(shell cat .pg-server 2>/dev/null))
$(shell echo '$(BK_SERVER)' > .pg-server)
endif

# The library/catalog version guard (src/pg/support/version_check.cpp) knows the version it was built for.
src/pg/support/version_check.o: override CPPFLAGS += -DBK_EXTVERSION='"$(EXTVERSION)"'
src/pg/support/version_check.o: backupkit.control

# src/core never sees PostgreSQL's headers (see src/core/core_only.hpp).
src/core/%.o: override CPPFLAGS = -DBK_CORE_ONLY -I$(CURDIR)/src

# The command-line client (src/cli): a program built with its own rules (PGXS builds one MODULE_big or one
# PROGRAM, not both). libpq and libsodium only; it sees libpq's headers, never the server's, and reuses the
# core's frame parser and checksum. Installed next to pg_dump.
CLI_OBJS = $(patsubst %.cpp,%.o,$(sort $(wildcard src/cli/*.cpp)))
CLI_CORE_OBJS = src/core/codec/export_frame.o src/core/codec/checksum.o
PG_INCLUDEDIR := $(shell $(PG_CONFIG) --includedir)
PG_LIBDIR := $(shell $(PG_CONFIG) --libdir)

all: src/cli/backupkit

$(CLI_OBJS): src/cli/cli.hpp $(wildcard src/core/*.hpp src/core/*/*.hpp)
src/cli/%.o: src/cli/%.cpp
	$(CXX) $(CXXFLAGS) $(PG_CXXFLAGS) -DBK_CORE_ONLY -I$(CURDIR)/src -I$(PG_INCLUDEDIR) -c -o $@ $<

src/cli/backupkit: $(CLI_OBJS) $(CLI_CORE_OBJS)
	$(CXX) -o $@ $^ -L$(PG_LIBDIR) -lpq -lsodium

install: install-cli
.PHONY: install-cli
install-cli: src/cli/backupkit
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) src/cli/backupkit '$(DESTDIR)$(bindir)/backupkit'

.PHONY: test unit bench demo format dist roundtrip fault
# The release tarball for PGXN: the committed tree at HEAD (uncommitted changes are not in it), under
# backupkit-<version>/. DIST_DIR chooses where it is written (test/tap/095_dist_tarball.sh uses that).
DIST_DIR ?= .
dist:
	@git diff --quiet HEAD -- || echo "make dist: uncommitted changes are not in the tarball (it is built from HEAD)" >&2
	git archive --format=tar.gz --prefix=$(EXTENSION)-$(EXTVERSION)/ -o $(DIST_DIR)/$(EXTENSION)-$(EXTVERSION).tar.gz HEAD

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
	clang-format -i $(BK_SOURCES) $(BK_HEADERS) src/cli/*.cpp src/cli/*.hpp test/unit/*.cpp
