#!/usr/bin/env bash
# Round trip of PostgreSQL's regression database (`make roundtrip`; also run by scripts/run-tests.sh): on a
# throwaway cluster of its own, test/regression-db/build.sh builds the database the server's regression
# suite leaves behind, then test/regression-db/roundtrip.sql snapshots, damages and restores every user
# table (replace; merge and missing too when the table has a key) and compares it with a COPY out/in
# reference, one table at a time; then the whole database is snapshotted, damaged and restored with one
# restore_snapshot. backupkit runs under hostile session settings (DateStyle, TimeZone, extra_float_digits,
# bytea_output, IntervalStyle, search_path); references are taken under fixed ones. TAP output, one test
# per table:
#   ok      the table round-trips in every mode tried, or it cannot and COPY fails the same way
#   not ok  a backupkit defect (restores ignore rules, as COPY does, so a table with rules is no exception)
#
#   test/regression-db/roundtrip.sh             BK_ROUNDTRIP_REPORT=FILE also writes a Markdown summary
set -uo pipefail
cd "$(dirname "$0")/../.."
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh
export PATH="$PG_BINDIR:$PATH"

bail() { echo "Bail out! $*"; exit 1; }
bk_cluster_start "fsync = off" "max_prepared_transactions = 10" >/dev/null || bail "the cluster did not start"
work=$BK_CLUSTER_DIR # the server writes its COPY files there
bash test/regression-db/build.sh | sed 's/^/# /'
[ "${PIPESTATUS[0]}" = 0 ] || bail "the regression database could not be built"
P() { bk_psql -d regression -At "$@"; }
P -c 'CREATE EXTENSION backupkit' -f test/regression-db/roundtrip.sql >/dev/null || bail "set-up failed"

hostile="-c backupkit.progress_notices=off -c DateStyle=SQL,DMY -c TimeZone=Pacific/Chatham"
hostile+=" -c extra_float_digits=-15 -c bytea_output=escape -c IntervalStyle=sql_standard"
hostile+=" -c search_path=public,pg_temp -c client_min_messages=warning"

# A backend that dies mid-table (a crash) leaves that table 'running': it is marked and the run goes on
# with the next one once the server accepts connections again.
start=$(date +%s)
for attempt in $(seq 1 20); do
	PGOPTIONS="$hostile" P -c "CALL bk_roundtrip.run('$work')" >"$work/run.log" 2>&1 && break
	sed 's/^/# /' "$work/run.log" | head -20
	for _ in $(seq 1 60); do pg_isready -q -d regression && break; sleep 1; done
	P -c "UPDATE bk_roundtrip.result SET state = 'crashed' WHERE state = 'running'" >/dev/null
done
per_table_s=$(($(date +%s) - start))
start=$(date +%s)
whole=$(PGOPTIONS="$hostile" P -F ' ' -c "CALL bk_roundtrip.run_whole('$work')" 2>&1)
whole_s=$(($(date +%s) - start))

# One line per table: kind|name|verdict|detail
P -F '|' >"$work/verdicts" <<'SQL'
WITH r AS (
    SELECT *,
        coalesce(snapshot_error, CASE WHEN replace_outcome = 'same' THEN NULL
                                      ELSE coalesce(replace_error, 'rows differ after replace') END) AS replace_problem,
        CASE WHEN coalesce(merge_outcome, 'same') = 'same' THEN NULL
             ELSE coalesce(merge_error, 'rows differ after merge') END AS merge_problem,
        CASE WHEN coalesce(missing_outcome, 'same') = 'same' THEN NULL
             ELSE coalesce(missing_error, 'rows differ after missing') END AS missing_problem,
        coalesce(reference_error, copy_error, CASE WHEN copy_outcome = 'differs' THEN 'rows differ after COPY' END)
            AS copy_problem
    FROM bk_roundtrip.result
)
SELECT CASE relkind WHEN 'p' THEN 'partitioned' ELSE 'table' END, name,
    CASE
        WHEN state = 'crashed' THEN 'bug'
        WHEN reference_error IS NOT NULL THEN 'copy-cannot'
        WHEN replace_problem IS NULL AND merge_problem IS NULL AND missing_problem IS NULL THEN 'ok'
        WHEN copy_problem IS NOT NULL AND split_part(copy_problem, ':', 1)
             = split_part(coalesce(replace_problem, merge_problem, missing_problem), ':', 1) THEN 'copy-cannot'
        WHEN has_rules THEN 'rules'
        ELSE 'bug'
    END,
    concat_ws('; ', CASE WHEN state = 'crashed' THEN 'the backend died' END,
              'rows ' || rows, CASE WHEN keyed THEN 'keyed' END,
              'replace: ' || replace_problem, 'merge: ' || merge_problem, 'missing: ' || missing_problem,
              'COPY: ' || copy_problem, 'put back by ' || repaired)
FROM r ORDER BY name
SQL
total=$(wc -l <"$work/verdicts")
echo "1..$((total + 2))"
n=0
while IFS='|' read -r kind name verdict detail; do
	n=$((n + 1))
	case $verdict in
		ok) echo "ok $n - $kind $name round-trips ($detail)" ;;
		copy-cannot) echo "ok $n - $kind $name cannot round-trip, and COPY cannot either ($detail)" ;;
		rules) echo "not ok $n - $kind $name: $detail (a rule rewrote the restore)" ;;
		*) echo "not ok $n - $kind $name: $detail" ;;
	esac
done <"$work/verdicts"

# The whole database in one snapshot and one restore.
read -r whole_sid whole_error <<<"$whole"
n=$((n + 1))
if [ -n "$whole_sid" ] && [ -z "$whole_error" ]; then
	echo "ok $n - one snapshot of every table that is not a partition, restored by one restore_snapshot"
else
	echo "not ok $n - one snapshot of every table that is not a partition, restored by one restore_snapshot"
	echo "# $whole"
fi
# Tables with rules, and tables a rule reads or writes (pg_depend of the rules), are what issue 15's rule
# fix concerns.
P -F '|' -c "SELECT w.name, c.relhasrules OR EXISTS (SELECT FROM pg_depend d JOIN pg_rewrite r
		ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND r.rulename <> '_RETURN'
		WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = w.relid)
	FROM bk_roundtrip.whole w JOIN pg_class c ON c.oid = w.relid
	WHERE outcome IS DISTINCT FROM 'same' ORDER BY 1" >"$work/whole_differs"
n=$((n + 1))
if [ ! -s "$work/whole_differs" ]; then
	echo "ok $n - after it, every table equals its reference"
elif ! grep -q '|f$' "$work/whole_differs"; then
	echo "not ok $n - after it, every table equals its reference (tables with rules, or written by one, differ)"
else
	echo "not ok $n - after it, every table equals its reference"
fi
sed 's/^/# differs after the whole restore: /' "$work/whole_differs"

count() { awk -F'|' -v v="$1" '$3 == v' "$work/verdicts" | wc -l; }
tables=$(P -c "SELECT count(*) FROM bk_roundtrip.whole")
keyed=$(P -c "SELECT count(*) FROM bk_roundtrip.result WHERE keyed")
summary="$total tables ($tables not partitions, $keyed with a key, also tried with merge and missing): $(count ok) round-trip, $(count copy-cannot) cannot and COPY cannot either, $(count rules) fail through rules, $(count bug) backupkit defects; whole-database restore: $(($(wc -l <"$work/whole_differs"))) tables differ"
echo "# $summary"
echo "# per-table pass ${per_table_s} s, whole-database pass ${whole_s} s"

if [ -n "${BK_ROUNDTRIP_REPORT:-}" ]; then
	{
		echo "# Round trip of PostgreSQL's regression database"
		echo
		echo "Produced by \`make roundtrip\` (\`BK_ROUNDTRIP_REPORT=test/regression-db/RESULTS.md bash test/regression-db/roundtrip.sh\`)"
		echo "on $(date -u +%Y-%m-%d), server $("$PG_CONFIG" --version), regression tests of postgresql-$("$PG_CONFIG" --version | awk '{print $2}' | cut -d. -f1) $(cat "${BK_REGRESS_CACHE:-/var/cache/backupkit/regress-$("$PG_CONFIG" --version | awk '{print $2}' | cut -d. -f1)}/src/VERSION" 2>/dev/null)."
		echo
		echo "$summary."
		echo
		echo "Per-table pass ${per_table_s} s, whole-database pass ${whole_s} s."
		echo
		echo "| table | verdict | detail |"
		echo "|---|---|---|"
		awk -F'|' '$3 != "ok" { printf "| %s | %s | %s |\n", $2, $3, $4 }' "$work/verdicts"
		while IFS='|' read -r name rules; do
			echo "| $name | differs after the whole-database restore | has rules or a rule uses it: $rules |"
		done <"$work/whole_differs"
	} >"$BK_ROUNDTRIP_REPORT"
fi
