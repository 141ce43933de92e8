# Sourced by the upgrade tests (test/tap/090_extension_update.sh, test/upgrade/pg_upgrade.sh): a released
# backupkit library built from its commit, and swapping the installed library between it and the current one,
# so that snapshots under an old version are taken by that version's own code, as on a user's server.
#
#   dir=$(bk_old_build COMMIT PG_CONFIG)    the old build's backupkit.so, backupkit.control and install script
#                                           in dir; cached by commit and server version in
#                                           ${BK_CACHE:-/var/cache/backupkit} (else a directory under $TMPDIR)
#   bk_installed_save PG_CONFIG DIR         copies the installed backupkit.so, control and sql scripts to DIR
#   bk_installed_put PG_CONFIG DIR          installs what DIR holds (as saved or built) into PG_CONFIG's server
# Needs BK_ROOT (or the current directory) to be a git clone holding COMMIT.

bk_old_cache_dir() {
	local c=${BK_CACHE:-/var/cache/backupkit}
	if mkdir -p "$c" 2>/dev/null && [ -w "$c" ]; then echo "$c"; else
		c=${TMPDIR:-/tmp}/backupkit-cache-$(id -u)
		mkdir -p "$c" && echo "$c"
	fi
}

bk_old_build() { # COMMIT PG_CONFIG
	local root=${BK_ROOT:-.} commit cache dir tmp
	commit=$(git -C "$root" rev-parse --verify -q "$1^{commit}") || {
		echo "bk_old_build: commit $1 is not in $root (a shallow clone? git fetch --unshallow)" >&2
		return 1
	}
	cache=$(bk_old_cache_dir) || return 1
	dir=$cache/backupkit-$commit-$("$2" --version | tr -c 'A-Za-z0-9.\n' '_')
	if [ ! -f "$dir/backupkit.so" ]; then
		tmp=$(mktemp -d "$cache/build.XXXXXX") || return 1
		if ! git -C "$root" archive "$commit" | tar -x -C "$tmp" ||
			! make -s -C "$tmp" -j"$(nproc)" PG_CONFIG="$2" >"$tmp/build.log" 2>&1; then
			echo "bk_old_build: building $commit failed; last lines of $tmp/build.log:" >&2
			tail -n 15 "$tmp/build.log" >&2
			return 1
		fi
		mkdir -p "$tmp/out"
		cp "$tmp/backupkit.so" "$tmp/backupkit.control" "$tmp"/sql/backupkit--*.sql "$tmp/out/"
		# a concurrent run may have cached it first: keep theirs
		mv -T "$tmp/out" "$dir" 2>/dev/null || true
		rm -rf "$tmp"
	fi
	echo "$dir"
}

bk_installed_save() { # PG_CONFIG DIR
	mkdir -p "$2" &&
		cp "$("$1" --pkglibdir)/backupkit.so" "$("$1" --sharedir)/extension/backupkit.control" \
			"$("$1" --sharedir)"/extension/backupkit--*.sql "$2/"
}

bk_installed_put() { # PG_CONFIG DIR
	local lib ext sudo=
	lib=$("$1" --pkglibdir)
	ext=$("$1" --sharedir)/extension
	{ [ -w "$lib" ] && [ -w "$ext" ]; } || sudo=sudo
	# a copy beside, then a rename: backends that have the library loaded keep their mapping intact
	$sudo cp "$2/backupkit.so" "$lib/.backupkit.so.new" && $sudo mv -f "$lib/.backupkit.so.new" "$lib/backupkit.so" &&
		$sudo cp "$2/backupkit.control" "$2"/backupkit--*.sql "$ext/"
}
