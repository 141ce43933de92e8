#!/usr/bin/env bash
# Builds PostgreSQL's regression database ("regression") in the running cluster (PGHOST/PGPORT/PGUSER as
# scripts/cluster.sh exports them) from the regression tests of the server's own source package: the
# `apt-get source` of postgresql-<major> at the installed version when Debian still serves it, else the
# closest version the configured deb-src entries offer (recorded in $cache/src/VERSION). regress.so and the
# contrib/spi modules the schedule loads (autoinc, refint) are built through PGXS against PG_CONFIG, then
# `pg_regress --use-existing --schedule=parallel_schedule` runs and leaves the database behind. Individual
# regression tests may fail (their expected output assumes `make check`'s settings); only the database
# matters here, so the pass/fail line is logged, not judged.
#
#   test/regression-db/build.sh            log in $BK_REGRESS_LOG (default: $cache/last-run.log)
#   BK_REGRESS_CACHE=DIR                   where the source, the built modules and pg_regress output live
#                                          (default /var/cache/backupkit/regress-<major>; reruns reuse it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
: "${PGHOST:?start a cluster first (scripts/cluster.sh bk_cluster_start)}" "${PGPORT:?}"
version=$("$PG_CONFIG" --version | awk '{print $2}')   # e.g. 15.20
major=${version%%.*}
cache=${BK_REGRESS_CACHE:-/var/cache/backupkit/regress-$major}
log=${BK_REGRESS_LOG:-$cache/last-run.log}
bindir=$("$PG_CONFIG" --bindir)
pg_regress=$(dirname "$("$PG_CONFIG" --pgxs)")/../test/regress/pg_regress
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
mkdir -p "$cache" 2>/dev/null || { $SUDO mkdir -p "$cache" && $SUDO chown "$(id -u)" "$cache"; }

# 1. The source: only src/test/regress and contrib/spi are unpacked from the upstream tarball (Debian's
#    patches do not touch them).
if [ ! -f "$cache/src/VERSION" ]; then
	bash "$root/scripts/debian-sources.sh" >/dev/null
	dl=$(mktemp -d "$cache/download.XXXXXX")
	want=$(dpkg-query -W -f '${Version}' "postgresql-$major" 2>/dev/null || true)
	(
		cd "$dl"
		{ [ -n "$want" ] && apt-get source --download-only -q "postgresql-$major=$want"; } ||
			apt-get source --download-only -q "postgresql-$major"
	) >"$dl/apt.log" 2>&1 || { cat "$dl/apt.log" >&2; rm -rf "$dl"; exit 1; }
	dsc=$(ls "$dl"/*.dsc)
	got=$(sed -n 's/^Version: //p' "$dsc")
	tarball=$(ls "$dl"/*.orig.tar.*)
	rm -rf "$cache/src"
	mkdir -p "$cache/src"
	tar xf "$tarball" -C "$cache/src" --strip-components=1 --wildcards '*/src/test/regress/*' '*/contrib/spi/*'
	echo "$got" >"$cache/src/VERSION"
	rm -rf "$dl"
fi
src_version=$(cat "$cache/src/VERSION")

# 2. The modules, rebuilt when the server or the source changed.
stamp="$version $src_version $PG_CONFIG"
if [ "$(cat "$cache/lib/BUILT_FOR" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$cache/build" "$cache/lib"
	mkdir -p "$cache/build" "$cache/lib"
	cp "$cache/src/src/test/regress/regress.c" "$cache/src/contrib/spi/autoinc.c" \
		"$cache/src/contrib/spi/refint.c" "$cache/build/"
	# The triggers test expects refint's verbose notices, as contrib/spi/Makefile builds it.
	cat >"$cache/build/Makefile" <<'MK'
MODULES = regress autoinc refint
PG_CPPFLAGS = -DREFINT_VERBOSE
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
MK
	make -s -C "$cache/build" PG_CONFIG="$PG_CONFIG" >"$cache/build/make.log" 2>&1 ||
		{ cat "$cache/build/make.log" >&2; exit 1; }
	cp "$cache/build"/*.so "$cache/lib/"
	echo "$stamp" >"$cache/lib/BUILT_FOR"
fi

# 3. The schedule. The server (an unprivileged user when we are root) reads the data files and writes
#    into the output directory, so both must be reachable by it.
out="$cache/out"
rm -rf "$out"
mkdir -p "$out"
chmod -R a+rX "$cache"
run_as=()
if [ "$(id -u)" = 0 ]; then
	chown -R postgres: "$out"
	run_as=(runuser -u postgres --)
fi
"$bindir/psql" -X -q -d postgres -c 'DROP DATABASE IF EXISTS regression WITH (FORCE)' -c 'CREATE DATABASE regression'
start=$(date +%s)
set +e
"${run_as[@]}" env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="${PGUSER:-postgres}" \
	"$pg_regress" --use-existing --bindir="$bindir" --dlpath="$cache/lib" \
	--inputdir="$cache/src/src/test/regress" --outputdir="$out" \
	--schedule="$cache/src/src/test/regress/parallel_schedule" >"$log" 2>&1
rc=$?
set -e
summary=$(grep -E 'tests (passed|failed)|All [0-9]+ tests' "$log" | tail -1 | tr -s ' ')
echo "regression database built from postgresql-$major $src_version sources for server $version in $(( $(date +%s) - start )) s (pg_regress exit $rc:${summary:- no summary}); log: $log"
"$bindir/psql" -X -q -d regression -c 'SELECT 1' >/dev/null
