#!/usr/bin/env bash
# Developer aid for working on several branches at once: copies the packaged PostgreSQL 15 installation
# (binaries, libraries, extension files, headers) into DIR, keeping Debian's relative layout. PostgreSQL
# installations are relocatable, so DIR/usr/lib/postgresql/15/bin/pg_config then reports paths inside DIR,
# and `make install PG_CONFIG=...` and the test scripts use that copy without touching the system's.
#
#   scripts/private-pg.sh DIR     prints the pg_config to use
set -euo pipefail
dir=${1:?usage: scripts/private-pg.sh DIR}
major=${BK_PG_MAJOR:-15}
if [ ! -x "$dir/usr/lib/postgresql/$major/bin/pg_config" ]; then
	mkdir -p "$dir/usr/lib/postgresql" "$dir/usr/share/postgresql" "$dir/usr/include"
	cp -a "/usr/lib/postgresql/$major" "$dir/usr/lib/postgresql/"
	cp -a "/usr/share/postgresql/$major" "$dir/usr/share/postgresql/"
	cp -a /usr/include/postgresql "$dir/usr/include/"
	chmod -R a+rX "$dir"
fi
echo "$dir/usr/lib/postgresql/$major/bin/pg_config"
