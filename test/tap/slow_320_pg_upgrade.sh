#!/usr/bin/env bash
# pg_upgrade 15 -> 17 -> 19 of a cluster holding snapshots, and snapshots exported on 15 and imported on 19
# and back: test/upgrade/pg_upgrade.sh (see there). Runs in the suite of the 15 server, the source of the
# upgrades, when scripts/build-postgres.sh has built the newer servers; skipped otherwise, saying why.
PG_CONFIG=${PG_CONFIG:-pg_config}
major=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
if [ "$major" != 15 ]; then
	echo "1..0 # SKIP pg_upgrade runs in the PostgreSQL 15 suite (this is $major)"
	exit 0
fi
BK_UPGRADE_FROM=$PG_CONFIG exec bash "$(dirname "$0")/../upgrade/pg_upgrade.sh"
