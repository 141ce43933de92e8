#!/usr/bin/env bash
# Every user-reachable message of backupkit (ereport ERROR/WARNING/NOTICE in src/pg, RAISE in sql/install) appears
# in some pg_regress expected output, or is in test/messages/allowlist.txt with the reason no regression test
# can show it (test/messages/uncovered.pl lists the others). Needs no server.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
echo "1..1"
if out=$(perl "$ROOT/test/messages/uncovered.pl" 2>&1); then
	echo "ok 1 - every user-reachable message is in an expected output or allowed with a reason ($(echo "$out" | tail -n 1))"
else
	echo "not ok 1 - messages in no expected output (add a test in sql/messages_*.sql, or a reason to test/messages/allowlist.txt):"
	echo "$out" | sed 's/^/# /'
fi
