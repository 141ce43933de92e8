#!/usr/bin/env bash
# The boundary rules scripts/check-boundary-rules.sh checks hold for src/, and the check fails for each kind
# of violation (a copy of src/ with one planted at a time): std::, throw and try in src/pg outside
# src/pg/boundary, a PostgreSQL header included from src/core, and a failed core call on a chunk raised as
# corruption whatever its SQLSTATE (the call sites as they were before bk_chunk_core_failure). Comments and strings do not count.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
n=0
check() {
	n=$((n + 1))
	if [ "$1" = "$2" ]; then echo "ok $n - $3"; else
		echo "not ok $n - $3"
		echo "# got '$1', expected '$2'"
	fi
}
rules() { bash "$ROOT/scripts/check-boundary-rules.sh" "$1" >"$WORK/out" 2>&1 && echo pass || echo fail; }
echo "1..9"

check "$(rules "$ROOT/src")" pass "src/ follows the boundary rules$(head -3 "$WORK/out" | sed 's/^/; /' | tr -d '\n')"

planted() { # planted <file under src/> <line appended>: the verdict on a copy of src/ with the line added
	rm -rf "$WORK/src" && (cd "$ROOT" && tar -cf - --exclude="*.o" src) | tar -xf - -C "$WORK"
	printf '%s\n' "$2" >>"$WORK/src/$1"
	rules "$WORK/src"
}
check "$(planted pg/restore/restore_plan.cpp 'static std::string planted_name;')" fail "std:: in src/pg is found"
check "$(planted pg/support/spi.cpp 'static void planted() { throw 1; }')" fail "throw in src/pg is found"
check "$(planted pg/storage/storage.cpp 'static void planted() { try { } catch (...) { } }')" fail "try in src/pg is found"
check "$(planted core/codec/checksum.cpp '#include "utils/builtins.h"')" fail "a PostgreSQL header in src/core is found"
check "$(planted pg/support/spi.cpp '// std::vector and throw in a comment, "try" in a string')" pass \
	"comments and string literals are not code"
check "$(planted pg/boundary/boundary.cpp 'static void planted() { try { } catch (...) { } }')" pass \
	"the boundary files may use try"
check "$(planted pg/restore/copy_loader.cpp 'static void planted(BkChunkReader *r, BkErrorInfo err) {
	bk_chunk_corrupted(r->entry, r->chunk_no, psprintf("%s %s", err.message, err.detail));
}')" fail "a chunk call site that raises any core failure as corruption is found"
check "$(planted pg/storage/chunk_reader.cpp 'static void planted(const BkTableEntry *e, const BkErrorInfo *err) {
	bk_chunk_corrupted(e, 0, err->message); }')" fail "bk_chunk_corrupted handed the message of a core error is found"
