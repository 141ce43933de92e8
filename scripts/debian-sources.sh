#!/usr/bin/env bash
# Adds Debian's source-package entries (deb-src) for bookworm, trixie, sid and experimental, so that
# `apt-get source` can fetch the PostgreSQL servers (17 from trixie, 18 from sid, 19 from experimental),
# pg_cron and pgTAP that backupkit is tested against, and PostgreSQL 15's own regression tests.
# Idempotent; needs root or sudo. Binary packages keep coming from bookworm only.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
list=/etc/apt/sources.list.d/backupkit-src.sources
want='Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm trixie sid experimental
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'
if [ ! -f "$list" ] || [ "$(cat "$list")" != "$want" ]; then
	printf '%s\n' "$want" | $SUDO tee "$list" >/dev/null
	$SUDO apt-get update -q
elif ! apt-cache showsrc postgresql-17 >/dev/null 2>&1; then
	$SUDO apt-get update -q
fi
