#!/usr/bin/env bash
# The boundary rules of doc/boundary.md that a compiler cannot see, checked on a source tree (default: this
# repository's src/): prints one line per violation and exits 1 when there is any.
#  * src/pg is C-style C++: no `std::`, `throw` or `try` outside src/pg/boundary (comments and string
#    literals are ignored; `bk_try` is not `try`);
#  * a failed src/core call on a chunk is raised through bk_chunk_core_failure, which keeps a failure that is
#    not corruption as the core reported it: no call of bk_chunk_corrupted (always XX001) is handed the
#    message or detail of a caught core error;
#  * src/core never includes a PostgreSQL header: its quoted includes all start with "core/", and no angle
#    include names a PostgreSQL or libpq header.
#   scripts/check-boundary-rules.sh [SRC_DIR]
set -u
src=${1:-$(cd "$(dirname "$0")/.." && pwd)/src}
status=0
while IFS= read -r -d '' f; do
	case "$f" in "$src"/pg/boundary/*) continue ;; esac
	# Strip // comments, /* */ comments and string and character literals, then look for the words.
	perl -0777 -ne '
		s{/\*.*?\*/}{ my $c = $&; $c =~ s/[^\n]//g; $c }gse;
		s{"(?:\\.|[^"\\\n])*"}{""}g; s{\x27(?:\\.|[^\x27\\\n])*\x27}{\x27\x27}g; s{//[^\n]*}{}g;
		my $n = 0;
		for my $line (split /\n/, $_, -1) {
			$n++;
			print "$ARGV:$n: $1 in src/pg outside the boundary\n" while $line =~ /(\bstd::|\bthrow\b|\btry\b)/g;
		}' "$f" && true
done < <(find "$src/pg" -name '*.cpp' -print0 -o -name '*.hpp' -print0) | tee /tmp/.bk_rules.$$ | cat
[ -s /tmp/.bk_rules.$$ ] && status=1
rm -f /tmp/.bk_rules.$$
# Calls (indented, not the definition or a declaration) of bk_chunk_corrupted whose arguments name an error's
# message or detail.
while IFS= read -r -d '' f; do
	perl -0777 -ne '
		s{/\*.*?\*/}{ my $c = $&; $c =~ s/[^\n]//g; $c }gse; s{//[^\n]*}{}g;
		while (/[ \t(](?<!void )bk_chunk_corrupted\s*\(([^;]*)\)\s*;/g) {
			my ($args, $at) = ($1, $-[0]);
			next unless $args =~ /(?:\.|->)(?:message|detail)\b/;
			my $n = 1 + (substr($_, 0, $at) =~ tr/\n//);
			print "$ARGV:$n: a core error raised as corruption (use bk_chunk_core_failure)\n";
		}' "$f"
done < <(find "$src/pg" -name '*.cpp' -print0) | tee /tmp/.bk_rules.$$ | cat
[ -s /tmp/.bk_rules.$$ ] && status=1
rm -f /tmp/.bk_rules.$$
pg_headers='postgres|postgres_ext|pg_config|fmgr|funcapi|miscadmin|libpq|utils/|catalog/|executor/|access/|nodes/|commands/|storage/|lib/|mb/|parser/|port/|common/|tcop/|optimizer/|replication/|varatt'
if grep -rnE "^\s*#\s*include\s*(\"(postgres|$pg_headers)|<($pg_headers))" "$src/core"; then
	status=1
fi
if grep -rnE '^\s*#\s*include\s*"' "$src/core" | grep -vE '#\s*include\s*"core/'; then
	status=1
fi
exit $status
