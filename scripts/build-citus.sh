#!/usr/bin/env bash
# Builds Citus 13.2.2 from the unmodified source tarball (a test dependency, never part of backupkit) into a
# cache outside the work tree, then installs it into the server PG_CONFIG names. The build is skipped when
# the cache already holds one for the same PostgreSQL major version; the install always runs (cheap).
#
#   scripts/build-citus.sh            build if needed, install into PG_CONFIG's server
#   CITUS_TARBALL=path                the source (only this path when set; by default
#                                     ../shared/third_party/citus-13.2.2.tar.gz relative to the repository, then
#                                     /work/shared/third_party/citus-13.2.2.tar.gz)
#   BK_CACHE=dir                      cache root (default /var/cache/backupkit, or ~/.cache/backupkit when that
#                                     cannot be created)
#   scripts/build-citus.sh --find     only print the tarball's path (exit 1 when there is none)
#
# Citus 13.2.2 does not compile against PostgreSQL 15.20 or later: both define have_createdb_privilege().
# The build renames Citus's static copy with a #define in the extracted tree (sed below); nothing of Citus is
# committed or patched outside the cache.
set -euo pipefail
cd "$(dirname "$0")/.."

citus_version=13.2.2
find_tarball() {
	local candidate
	local candidates=("../shared/third_party/citus-$citus_version.tar.gz"
		"/work/shared/third_party/citus-$citus_version.tar.gz")
	[ -z "${CITUS_TARBALL:-}" ] || candidates=("$CITUS_TARBALL")
	for candidate in "${candidates[@]}"; do
		if [ -f "$candidate" ]; then
			realpath "$candidate"
			return 0
		fi
	done
	return 1
}

if [ "${1:-}" = --find ]; then
	find_tarball
	exit
fi

tarball=$(find_tarball) || {
	echo "build-citus.sh: the Citus source was not found (${CITUS_TARBALL:-../shared/third_party/citus-$citus_version.tar.gz or /work/shared/third_party/citus-$citus_version.tar.gz}); set CITUS_TARBALL" >&2
	exit 1
}
PG_CONFIG=${PG_CONFIG:-pg_config}
pg_major=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
cache_root=${BK_CACHE:-/var/cache/backupkit}
# Without root, a user cache instead of failing on /var/cache.
if [ -z "${BK_CACHE:-}" ] && ! mkdir -p "$cache_root" 2>/dev/null; then
	cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/backupkit
fi
cache=$cache_root/citus-$citus_version-pg$pg_major
src=$cache/citus-$citus_version

if [ ! -f "$cache/built" ]; then
	echo "build-citus.sh: building Citus $citus_version for PostgreSQL $pg_major in $cache" >&2
	start=$(date +%s)
	rm -rf "$cache"
	mkdir -p "$cache"
	tar -xzf "$tarball" -C "$cache"
	# The compatibility fix: a #define placed just before Citus's own definition renames it (and its callers
	# below) so it no longer clashes with the one PostgreSQL 15.20+ exports from dbcommands.h.
	sed -i '/^have_createdb_privilege(void)$/i #define have_createdb_privilege citus_have_createdb_privilege' \
		"$src/src/include/pg_version_compat.h"
	grep -q '^#define have_createdb_privilege citus_have_createdb_privilege' "$src/src/include/pg_version_compat.h" || {
		echo "build-citus.sh: the compatibility fix no longer applies to pg_version_compat.h" >&2
		exit 1
	}
	(
		cd "$src"
		PG_CONFIG="$PG_CONFIG" ./configure --without-libcurl >"$cache/configure.log" 2>&1 ||
			{ tail -n 30 "$cache/configure.log" >&2; exit 1; }
		make -j"$(nproc)" with_llvm=no >"$cache/make.log" 2>&1 || { tail -n 40 "$cache/make.log" >&2; exit 1; }
	)
	echo "$(($(date +%s) - start))" >"$cache/build-seconds"
	touch "$cache/built"
	echo "build-citus.sh: built in $(cat "$cache/build-seconds") s" >&2
fi

# Install into the server given now (PG_CONFIG on the command line overrides the one configure recorded).
sudo_cmd=()
[ -w "$("$PG_CONFIG" --pkglibdir)" ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" make -C "$src" -s PG_CONFIG="$PG_CONFIG" with_llvm=no install >"$cache/install.log" 2>&1 ||
	{ tail -n 30 "$cache/install.log" >&2; exit 1; }
echo "build-citus.sh: Citus $citus_version installed into $("$PG_CONFIG" --pkglibdir)" >&2
