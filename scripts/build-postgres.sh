#!/usr/bin/env bash
# Builds a PostgreSQL server from Debian's source package (the upstream tarball, not Debian's packaging),
# with pg_cron and pgTAP for it, into its own prefix in a cache outside the work tree, so that backupkit can
# be built and tested against servers Debian 12 does not package (17 from trixie, 18 from sid, 19 from
# experimental: the newest version the registry offers). Nothing is rebuilt when the stamp file names the
# wanted versions already.
#
#   scripts/build-postgres.sh [--print-prefix] MAJOR...   e.g. scripts/build-postgres.sh 17 18 19
#     --print-prefix  only print where MAJOR is (or would be) installed, and build nothing
#   BK_PG_CACHE       cache directory (default /var/cache/backupkit, or ~/.cache/backupkit when that is not
#                     writable); MAJOR is installed in $BK_PG_CACHE/pg-MAJOR, sources kept in $BK_PG_CACHE/src
#   BK_PG_CONFIGURE   extra configure options (e.g. --enable-cassert --enable-debug)
# Exit status 3: the registry does not serve the server's (or pgTAP's) source, so nothing could be built.
#
# Then: PG_CONFIG=$BK_PG_CACHE/pg-MAJOR/bin/pg_config bash scripts/run-tests.sh
#
# Configure options, and why:
#   --with-zstd --with-lz4  compression the packaged servers have: lz4 TOAST compression and zstd/lz4
#                           pg_dump, base backup and WAL compression, so tests can use what users have
#   --with-openssl          pgcrypto and sslinfo in contrib, SSL-capable libpq, as packaged
#   --with-icu              ICU collations (16+ expects ICU by default; packages have it)
#   --with-libxml           the xml type works (the type round-trip tests capture xml columns)
#   no NLS, no docs, no LLVM JIT, no PL/Perl/Python/Tcl: not needed by backupkit or its tests; shorter builds
# `make world-bin` builds the server, client programs (pg_dump, pg_upgrade, psql) and every contrib module
# (btree_gist is needed for WITHOUT OVERLAPS keys on scalar columns; others help cross-version tests).
set -euo pipefail
cd "$(dirname "$0")/.."
BK_ROOT=$(pwd)

print_prefix=0
majors=()
for arg in "$@"; do
	case "$arg" in
		--print-prefix) print_prefix=1 ;;
		-h | --help)
			sed -n '2,/^[^#]/p' "$0" | sed -n 's/^# \{0,1\}//p'
			exit 0
			;;
		[0-9][0-9]) majors+=("$arg") ;;
		*)
			echo "build-postgres.sh: unrecognized argument: $arg" >&2
			exit 2
			;;
	esac
done
[ ${#majors[@]} -gt 0 ] || {
	echo "usage: scripts/build-postgres.sh [--print-prefix] MAJOR..." >&2
	exit 2
}

shared_cache=/var/cache/backupkit
if [ -z "${BK_PG_CACHE:-}" ]; then
	BK_PG_CACHE=$shared_cache
	if ! { mkdir -p "$BK_PG_CACHE" 2>/dev/null && [ -w "$BK_PG_CACHE" ]; }; then
		BK_PG_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/backupkit
	fi
fi
# A developer who cannot write the shared cache still uses the servers built there (by root, for CI).
readonly_prefix() { # readonly_prefix <major>: the shared cache's build of major, when it exists and is not ours
	[ "$BK_PG_CACHE" != "$shared_cache" ] && [ -f "$shared_cache/pg-$1/.bk-server-stamp" ] && echo "$shared_cache/pg-$1"
}

if [ $print_prefix = 1 ]; then
	for major in "${majors[@]}"; do readonly_prefix "$major" || echo "$BK_PG_CACHE/pg-$major"; done
	exit 0
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
# Build dependencies (also listed in scripts/install-deps.sh, installed here only when missing).
build_deps=(build-essential dpkg-dev pkg-config bison flex perl libreadline-dev zlib1g-dev libzstd-dev liblz4-dev libssl-dev
	libicu-dev libxml2-dev)
missing=()
for p in "${build_deps[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
bash "$BK_ROOT/scripts/debian-sources.sh" >&2

srcdir=$BK_PG_CACHE/src
mkdir -p "$srcdir"
jobs=$(nproc)
# Progress goes to stderr; stdout carries only the pg_config path of each server.
log() { printf '[build-postgres %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# newest_version <source package>: the highest version any configured suite offers.
newest_version() {
	local best="" v
	for v in $(apt-cache showsrc "$1" 2>/dev/null | sed -n 's/^Version: //p'); do
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
	done
	echo "$best"
}

# fetch_orig <source package> <version>: downloads the source package and prints its upstream tarball.
fetch_orig() {
	local pkg=$1 ver=$2 upstream
	upstream=${ver#*:}
	upstream=${upstream%-*}
	if ! ls "$srcdir/${pkg}_${upstream}.orig.tar."* >/dev/null 2>&1; then
		# --tar-only: the upstream tarball is all that is built (and the registry may serve nothing else).
		(cd "$srcdir" && apt-get source -q --download-only --tar-only -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
			{
				log "the package registry does not serve the source of $pkg $ver"
				return 3
			}
	fi
	ls "$srcdir/${pkg}_${upstream}.orig.tar."* | head -n 1
}

# unpack <tarball> <directory>: a fresh copy of the upstream tree.
unpack() {
	rm -rf "$2"
	mkdir -p "$2"
	tar -xf "$1" -C "$2" --strip-components=1
}

build_server() { # build_server <major> <prefix>
	local major=$1 prefix=$2 pkg=postgresql-$1 ver tarball tree start
	ver=$(newest_version "$pkg")
	[ -n "$ver" ] || {
		log "no source package $pkg in the configured suites"
		return 3
	}
	local want="$pkg $ver ${BK_PG_CONFIGURE:-}"
	if [ -f "$prefix/.bk-server-stamp" ] && [ "$(cat "$prefix/.bk-server-stamp")" = "$want" ]; then
		log "$pkg $ver already built in $prefix"
		return 0
	fi
	start=$(date +%s)
	tarball=$(fetch_orig "$pkg" "$ver") || return
	tree=$srcdir/build-$major
	log "building $pkg $ver from $(basename "$tarball") into $prefix"
	unpack "$tarball" "$tree"
	rm -rf "$prefix"
	# shellcheck disable=SC2086
	(cd "$tree" && ./configure --prefix="$prefix" --with-zstd --with-lz4 --with-openssl --with-icu --with-libxml \
		--without-llvm --disable-nls ${BK_PG_CONFIGURE:-} >"$tree/configure.out" 2>&1) ||
		{
			tail -n 30 "$tree/configure.out" >&2
			return 1
		}
	(cd "$tree" && make -s -j"$jobs" world-bin >"$tree/make.out" 2>&1 && make -s install-world-bin >>"$tree/make.out" 2>&1) ||
		{
			tail -n 40 "$tree/make.out" >&2
			return 1
		}
	echo "$want" >"$prefix/.bk-server-stamp"
	rm -f "$prefix"/.bk-*-ext-stamp
	log "$pkg $ver built in $(($(date +%s) - start)) s"
	rm -rf "$tree"
}

build_extension() { # build_extension <source package> <prefix>
	local pkg=$1 prefix=$2 ver tarball tree start
	ver=$(newest_version "$pkg")
	[ -n "$ver" ] || {
		log "no source package $pkg in the configured suites"
		return 3
	}
	if [ -f "$prefix/.bk-$pkg-ext-stamp" ] && [ "$(cat "$prefix/.bk-$pkg-ext-stamp")" = "$pkg $ver" ]; then
		log "$pkg $ver already installed in $prefix"
		return 0
	fi
	start=$(date +%s)
	tarball=$(fetch_orig "$pkg" "$ver") || return
	tree=$srcdir/build-$pkg-$(basename "$prefix")
	unpack "$tarball" "$tree"
	(cd "$tree" && make -s -j"$jobs" PG_CONFIG="$prefix/bin/pg_config" >"$tree/make.out" 2>&1 &&
		make -s PG_CONFIG="$prefix/bin/pg_config" install >>"$tree/make.out" 2>&1) ||
		{
			tail -n 40 "$tree/make.out" >&2
			return 1
		}
	echo "$pkg $ver" >"$prefix/.bk-$pkg-ext-stamp"
	log "$pkg $ver built into $prefix in $(($(date +%s) - start)) s"
	rm -rf "$tree"
}

for major in "${majors[@]}"; do
	if prefix=$(readonly_prefix "$major"); then
		log "using $prefix (built by another user; not refreshed)"
		echo "$prefix/bin/pg_config"
		continue
	fi
	prefix=$BK_PG_CACHE/pg-$major
	# One build per prefix at a time (several work trees may share the cache); a second caller waits.
	exec 9>"$BK_PG_CACHE/pg-$major.lock"
	flock 9
	build_server "$major" "$prefix" || exit
	build_extension pgtap "$prefix" || exit
	# Without pg_cron only the scheduling tests cannot run (scripts/run-tests.sh says so and skips them).
	build_extension pg-cron "$prefix" || { [ $? = 3 ] && log "no pg_cron for PostgreSQL $major: scheduling tests will be skipped"; } || exit
	# The test clusters run as "postgres" when the caller is root: everything must be readable by it.
	chmod -R a+rX "$prefix"
	flock -u 9
	echo "$prefix/bin/pg_config"
done
