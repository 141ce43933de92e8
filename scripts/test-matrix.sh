#!/usr/bin/env bash
# The whole test suite against every supported PostgreSQL major, one after the other, with a per-version
# summary (build and suite times). 15 is Debian 12's packaged server; 17, 18 and 19 are built from Debian's
# source packages by scripts/build-postgres.sh into a cache (built once, then reused).
#
#   scripts/test-matrix.sh [--quick] [MAJOR...]      (also: scripts/run-tests.sh --all-versions)
#     MAJOR            versions to test (default: 15 17 18 19)
#     --quick          skip the slow TAP scripts on every version
#   BK_PG_CONFIG_15    pg_config of the 15 server (default: the packaged one)
#   BK_PG_CONFIG_<N>   pg_config of a server of major N to test as it is, instead of building N with
#                      scripts/build-postgres.sh (a server built some other way, e.g. from PostgreSQL's own git
#                      sources when the registry serves none: the README's table says which were tested so)
#   BK_SLOW_ON         versions that run the slow TAP scripts (default: 15 and the newest one available); the
#                      others run with --quick, which keeps CI from scratch (three server builds) well under an hour
#
# A version whose source the package registry does not serve is reported as "unavailable" with the reason
# and does not fail the run; a build or suite failure does.
set -uo pipefail
cd "$(dirname "$0")/.." || exit

quick=0
majors=()
for arg in "$@"; do
	case "$arg" in
		--quick) quick=1 ;;
		[0-9][0-9]) majors+=("$arg") ;;
		-h | --help)
			sed -n '2,/^[^#]/p' "$0" | sed -n 's/^# \{0,1\}//p'
			exit 0
			;;
		*)
			echo "test-matrix.sh: unrecognized argument: $arg" >&2
			exit 2
			;;
	esac
done
[ ${#majors[@]} -gt 0 ] || majors=(15 17 18 19)

bash scripts/install-deps.sh --if-missing || {
	echo "could not install the dependencies" >&2
	exit 1
}

declare -A result build_s suite_s detail pgc
overall=0
start_all=$(date +%s)
# First every server (built or found in the cache), so that the slow scripts can go to the newest one there is.
available=()
for major in "${majors[@]}"; do
	t0=$(date +%s)
	if [ "$major" = 15 ]; then
		pgc[$major]=${BK_PG_CONFIG_15:-/usr/lib/postgresql/15/bin/pg_config}
		status=0
	elif given=BK_PG_CONFIG_$major && [ -n "${!given:-}" ]; then
		pgc[$major]=${!given}
		printf '\n######## PostgreSQL %s: %s (%s, not built here) ########\n' "$major" "${pgc[$major]}" "$given"
		status=0
		if [ "$("${pgc[$major]}" --version 2>/dev/null | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')" != "$major" ]; then
			echo "$given=${pgc[$major]} is not the pg_config of a PostgreSQL $major server" >&2
			status=1
		fi
	else
		printf '\n######## building PostgreSQL %s (cached) ########\n' "$major"
		pgc[$major]=$(bash scripts/build-postgres.sh "$major" | tail -n 1)
		status=${PIPESTATUS[0]}
	fi
	build_s[$major]=$(($(date +%s) - t0))
	suite_s[$major]=0
	case "$status" in
		0) available+=("$major") ;;
		3)
			result[$major]=unavailable
			detail[$major]="its source is not served by the package registry (see the build log above)"
			;;
		*)
			result[$major]=FAILED
			detail[$major]="server build failed"
			overall=1
			;;
	esac
done
newest=$(printf '%s\n' "${available[@]}" | sort -n | tail -n 1)
slow_on=${BK_SLOW_ON:-"15 $newest"}

for major in "${available[@]}"; do
	printf '\n######## PostgreSQL %s ########\n' "$major"
	t1=$(date +%s)
	args=()
	if [ $quick = 1 ] || [[ " $slow_on " != *" $major "* ]]; then args+=(--quick); fi
	log=$(mktemp "${TMPDIR:-/tmp}/backupkit-matrix-$major.XXXXXX")
	# The regression-database round trip and the fault suite run on 15 only: the regression database is built
	# from the packaged 15's own sources, and the faults do not depend on the server version.
	proof=0
	[ "$major" = 15 ] && proof=${BK_PROOF:-1}
	BK_PROOF=$proof PG_CONFIG=${pgc[$major]} bash scripts/run-tests.sh "${args[@]}" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	suite_s[$major]=$(($(date +%s) - t1))
	detail[$major]="$("${pgc[$major]}" --version)${args[*]:+ (${args[*]})}: $(grep -E '^suites: ' "$log" | tail -n 1)"
	rm -f "$log"
	if [ "$status" = 0 ]; then result[$major]=passed; else
		result[$major]=FAILED
		overall=1
	fi
done

printf '\n######## summary (total %d s) ########\n' $(($(date +%s) - start_all))
printf '%-8s %-12s %8s %8s  %s\n' version result build_s suite_s detail
npass=0
nfail=0
nskip=0
for major in "${majors[@]}"; do
	printf '%-8s %-12s %8s %8s  %s\n' "$major" "${result[$major]}" "${build_s[$major]}" "${suite_s[$major]}" "${detail[$major]}"
	case "${result[$major]}" in
		passed) npass=$((npass + 1)) ;;
		FAILED) nfail=$((nfail + 1)) ;;
		*) nskip=$((nskip + 1)) ;;
	esac
done
# Versions that could not be built here (source not served) count as skipped, never as passed.
echo "versions: $npass passed, $nfail failed, $nskip skipped"
exit $overall
