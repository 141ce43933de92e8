#!/usr/bin/env bash
# The one test command (`make test`): builds and installs backupkit, runs the GoogleTest unit tests, then on
# a throwaway cluster (pg_cron preloaded) the pg_regress suite, the pgTAP files (pg_prove) and the TAP
# scripts (prove), then on PostgreSQL 15 the Citus suite (test/citus, its own coordinator and workers;
# skipped with the reason when the Citus source tarball is absent). Every suite runs even when an earlier
# one fails; the exit status is non-zero if any failed, and the clusters are stopped and removed in every case.
#
#   scripts/run-tests.sh [--quick] [--keep-cluster] [--all-versions [MAJOR...]]
#     --quick         skip test/tap/*slow*.sh (long runs: benchmarks, large tables), the regression-database
#                     round trip and the fault suite (BK_PROOF=0 skips only those two); exports BK_QUICK=1
#     --keep-cluster  leave the cluster's directory (data and server.log) in place for inspection
#     --all-versions  run the suite on every supported major (15 17 18 19, or those given), building the
#                     servers that are missing (scripts/test-matrix.sh), and print a summary per version
#   PG_CONFIG selects the server (default: /usr/lib/postgresql/15/bin/pg_config, else pg_config on PATH), e.g.
#   PG_CONFIG=$(scripts/build-postgres.sh 18) scripts/run-tests.sh
set -uo pipefail

cd "$(dirname "$0")/.."
BK_ROOT=$(pwd)
export BK_ROOT

quick=0
for arg in "$@"; do
	case "$arg" in
		--all-versions)
			args=()
			for a in "$@"; do [ "$a" = --all-versions ] || args+=("$a"); done
			exec bash scripts/test-matrix.sh "${args[@]}"
			;;
	esac
done
for arg in "$@"; do
	case "$arg" in
		--quick) quick=1 ;;
		--keep-cluster) export BK_KEEP_CLUSTER=1 ;;
		-h | --help)
			sed -n '2,/^[^#]/p' "$0" | sed -n 's/^# \{0,1\}//p'
			exit 0
			;;
		*)
			echo "run-tests.sh: unrecognized option: $arg" >&2
			exit 2
			;;
	esac
done
export BK_QUICK=$quick

# On a fresh machine the first run installs the Debian packages (nothing happens when they are present).
bash scripts/install-deps.sh --if-missing || { echo "could not install the dependencies" >&2; exit 1; }

if [ -z "${PG_CONFIG:-}" ]; then
	if [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
		PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	else
		PG_CONFIG=pg_config
	fi
fi
export PG_CONFIG
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh
# The server's own client programs (psql for pg_prove and the TAP scripts) come first.
export PATH="$PG_BINDIR:$PATH"

failed=()
passed=()
section() { printf '\n==== %s ====\n' "$*"; }
record() { # record <suite> <status>
	if [ "$2" = 0 ]; then passed+=("$1"); else failed+=("$1"); fi
}

section "build and install ($("$PG_CONFIG" --version), $PG_CONFIG)"
if ! MAKEFLAGS="-j$(nproc)" bk_build_install; then
	echo "build or install failed; nothing else can run" >&2
	exit 1
fi

section "unit tests (GoogleTest via ctest)"
(
	set -e
	# One build tree per server, so that switching servers does not rebuild everything each time.
	dir=build/pg$("$PG_CONFIG" --version | sed 's/[^0-9]*\([0-9]*\).*/\1/')
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPG_CONFIG="$PG_CONFIG" >/dev/null
	cmake --build "$dir" -j"$(nproc)" >/dev/null
	cd "$dir" && ctest --output-on-failure --timeout 300
)
record unit $?

section "starting a throwaway cluster"
cron_conf=("shared_preload_libraries = 'pg_cron'" "cron.database_name = 'postgres'" "cron.use_background_workers = on")
if [ ! -f "$("$PG_CONFIG" --pkglibdir)/pg_cron.so" ]; then
	# A server built from source when the registry did not serve pg_cron's source: the scheduling tests skip.
	BK_NO_PG_CRON="pg_cron is not installed for $("$PG_CONFIG" --version)"
	export BK_NO_PG_CRON
	echo "$BK_NO_PG_CRON: the tests that need it are skipped"
	cron_conf=()
fi
if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/pgtap.control" ]; then
	echo "pgTAP is not installed for $("$PG_CONFIG" --version) (scripts/build-postgres.sh installs it)" >&2
	exit 1
fi
if ! bk_cluster_start "${cron_conf[@]}" "max_worker_processes = 16" "fsync = off"; then
	echo "cluster did not start" >&2
	exit 1
fi
echo "cluster in $BK_CLUSTER_DIR (socket), port $PGPORT"

server_log_tail() {
	echo "---- last 60 lines of the server log ----"
	tail -n 60 "$BK_CLUSTER_DIR/server.log"
}

section "pg_regress (make installcheck)"
rm -f regression.diffs regression.out
# PGXS appends --dbname=$(CONTRIB_TESTDB) after REGRESS_OPTS; name the database the tests expect.
make -s PG_CONFIG="$PG_CONFIG" CONTRIB_TESTDB=backupkit_regression installcheck
status=$?
if [ $status != 0 ]; then
	[ -f regression.diffs ] && { echo "---- regression.diffs ----"; cat regression.diffs; }
	server_log_tail
fi
record pg_regress $status

section "pgTAP (pg_prove test/pgtap/*.sql)"
shopt -s nullglob
pgtap_files=(test/pgtap/*.sql)
if [ ${#pgtap_files[@]} = 0 ]; then
	echo "no pgTAP files"
else
	PGOPTIONS='-c client_min_messages=warning' bk_psql -d postgres -c 'DROP DATABASE IF EXISTS backupkit_tap' \
		-c 'CREATE DATABASE backupkit_tap' &&
		bk_psql -d backupkit_tap -c 'CREATE EXTENSION backupkit' -c 'CREATE EXTENSION pgtap' &&
		pg_prove --dbname backupkit_tap --psql-bin "$PG_BINDIR/psql" "${pgtap_files[@]}"
	status=$?
	[ $status = 0 ] || server_log_tail
	record pgtap $status
fi

section "TAP scripts (prove test/tap/*.sh)"
tap_files=()
for f in test/tap/*.sh; do
	if [ $quick = 1 ] && [[ $(basename "$f") == *slow* ]]; then
		echo "skipped (--quick): $f"
		continue
	fi
	tap_files+=("$f")
done
if [ ${#tap_files[@]} = 0 ]; then
	echo "no TAP scripts"
else
	prove --exec bash "${tap_files[@]}"
	status=$?
	[ $status = 0 ] || server_log_tail
	record tap $status
fi

section "Citus (test/citus/*.sh on a coordinator and two workers)"
# Only on PostgreSQL 15 (the server the Citus tests are written for) and when the Citus source tarball is
# there; the build is cached (scripts/build-citus.sh), then installed into PG_CONFIG's server. Each test
# starts its own cluster (010 refusals, 020 restores and diffs, 030 snapshot consistency under a writer);
# test/citus/helpers.bash is sourced by them, not run.
pg_major=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
citus_files=(test/citus/*.sh)
if [ "$pg_major" != 15 ]; then
	echo "skipped: the Citus suite runs on PostgreSQL 15 only (this is $pg_major)"
elif ! citus_tarball=$(bash scripts/build-citus.sh --find); then
	echo "skipped: the Citus source was not found (${CITUS_TARBALL:-../shared/third_party/citus-13.2.2.tar.gz or /work/shared/third_party/citus-13.2.2.tar.gz}; set CITUS_TARBALL)"
elif [ ${#citus_files[@]} = 0 ]; then
	echo "skipped: no test/citus/*.sh"
else
	echo "Citus from $citus_tarball"
	citus_started=$(date +%s)
	if bash scripts/build-citus.sh; then
		prove --exec bash "${citus_files[@]}"
		status=$?
	else
		echo "could not build or install Citus" >&2
		status=1
	fi
	echo "Citus suite: $(($(date +%s) - citus_started)) s (build included when not cached)"
	record citus $status
fi

# Each starts a throwaway cluster of its own (kill -9 restarts a whole cluster; the round trip needs a
# database built by PostgreSQL's regression suite). BK_PROOF=0 leaves them out (e.g. for all but one
# server version of a multi-version run); --quick does too.
if [ $quick = 1 ] || [ "${BK_PROOF:-1}" = 0 ]; then
	section "regression-database round trip and fault suite: skipped (--quick or BK_PROOF=0)"
else
	section "round trip of PostgreSQL's regression database (test/regression-db/roundtrip.sh)"
	prove --exec bash test/regression-db/roundtrip.sh
	record roundtrip $?

	section "fault suite (test/fault/*.sh)"
	prove --exec bash test/fault/[0-9]*.sh
	record fault $?
fi

section "summary"
echo "passed: ${passed[*]:-none}"
[ ${#failed[@]} = 0 ] || echo "FAILED: ${failed[*]}"
echo "suites: ${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} = 0 ]
