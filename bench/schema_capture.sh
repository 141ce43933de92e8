#!/bin/bash
# Added capture time of table definitions: runs bench/schema_capture.sql in a throwaway cluster of this build
# ($PG_CONFIG, installed beforehand) and of a build without definitions ($BASE_PG_CONFIG, e.g. commit 08f072c
# installed into another private server copy with scripts/private-pg.sh), and prints medians (ms) per case.
#   PG_CONFIG=... BASE_PG_CONFIG=... [BIG_ROWS=1000000] bash bench/schema_capture.sh
set -eu
cd "$(dirname "$0")/.."
BIG_ROWS=${BIG_ROWS:-1000000}
run() {
    (
        export PG_CONFIG=$1
        # shellcheck source=scripts/cluster.sh
        source scripts/cluster.sh
        bk_cluster_start "shared_buffers = 256MB" "max_wal_size = 4GB" >/dev/null
        bk_psql -d postgres -q -v big_rows="$BIG_ROWS" -f bench/schema_capture.sql 2>&1 | grep '|'
    )
}
echo "case|median ms|min|max (with definitions: $PG_CONFIG)"
run "$PG_CONFIG"
echo "case|median ms|min|max (without: $BASE_PG_CONFIG)"
run "$BASE_PG_CONFIG"
