#!/usr/bin/env bash
# The release artefacts: META.json follows the PGXN Meta spec 1.0.0 (required keys, semantic versions, a
# known license key, provides naming the install script) and agrees with backupkit.control; `make dist`
# writes backupkit-<version>.tar.gz holding exactly the committed tree under backupkit-<version>/, and that
# tree builds on its own: the install and upgrade scripts it assembles are the ones installed in the server
# under test (when the work tree is clean), and unless BK_QUICK=1 the module compiles from it. Also: the frozen
# install script of 0.1 is still exactly what commit 3374c69 assembled.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
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
skip() {
	n=$((n + 1))
	echo "ok $n # SKIP $1"
}
cd "$ROOT" || exit 1
if ! command -v git >/dev/null || ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	echo "1..0 # SKIP make dist needs git and a git checkout"
	exit 0
fi
echo "1..10"

# META.json against the spec's rules (JSON::PP is part of perl).
problems=$(perl -MJSON::PP -e '
	my $semver = qr/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
	my %licenses = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd freebsd gfdl_1_2
		gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0 mozilla_1_1 openssl perl_5 postgresql qpl_1_0
		ssleay sun zlib open_source restricted unrestricted unknown);
	local $/; open my $f, "<", "META.json" or die "no META.json\n";
	my $m = eval { decode_json(<$f>) } or do { print "META.json is not valid JSON: $@"; exit };
	my @p;
	for my $k (qw(name abstract version maintainer license provides meta-spec)) { push @p, "missing $k" unless exists $m->{$k} }
	push @p, "name must be at least 2 characters of [A-Za-z0-9_-]" unless ($m->{name} // "") =~ /^[A-Za-z0-9_-]{2,}$/;
	push @p, "version is not a semantic version" unless ($m->{version} // "") =~ $semver;
	push @p, "meta-spec version must be 1.0.0" unless ($m->{"meta-spec"}{version} // "") eq "1.0.0";
	my @lic = ref $m->{license} eq "ARRAY" ? @{$m->{license}} : ref $m->{license} eq "HASH" ? () : ($m->{license});
	push @p, "unrecognized license key $_" for grep { !$licenses{$_ // ""} } @lic;
	my $mt = $m->{maintainer};
	push @p, "maintainer is empty" unless (ref $mt eq "ARRAY" ? scalar @$mt : length($mt // ""));
	for my $e (sort keys %{$m->{provides} || {}}) {
		my $x = $m->{provides}{$e};
		push @p, "provides.$e.file is missing or not in the tree" unless $x->{file} && (-e $x->{file} || $x->{file} =~ /\.sql$/);
		push @p, "provides.$e.version is not a semantic version" unless ($x->{version} // "") =~ $semver;
	}
	my $pg = $m->{prereqs}{runtime}{requires}{PostgreSQL} // "";
	push @p, "prereqs.runtime.requires.PostgreSQL is not a version" unless $pg =~ /^(>=\s*)?\d+\.\d+\.\d+$/;
	print join("; ", @p);
')
check "$problems" "" "META.json follows the PGXN Meta spec 1.0.0"

control_version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" backupkit.control)
meta=$(perl -MJSON::PP -e 'local $/; open my $f, "<", "META.json"; my $m = decode_json(<$f>);
	print join(" ", $m->{version}, $m->{provides}{backupkit}{version}, $m->{provides}{backupkit}{file},
		$m->{prereqs}{runtime}{requires}{PostgreSQL})')
check "$meta" "$control_version.0 $control_version.0 sql/backupkit--$control_version.sql 15.0.0" \
	"META.json's versions and install script match backupkit.control ($control_version) and PostgreSQL 15"

make -s dist DIST_DIR="$WORK" PG_CONFIG="$PG_CONFIG" 2>/dev/null
tarball="$WORK/backupkit-$control_version.tar.gz"
check "$([ -s "$tarball" ] && echo yes)" "yes" "make dist writes backupkit-$control_version.tar.gz"

tar -tzf "$tarball" | grep -v '/$' | sed "s|^backupkit-$control_version/||" | LC_ALL=C sort >"$WORK/listed"
git ls-tree -r --name-only HEAD | LC_ALL=C sort >"$WORK/committed"
check "$(diff "$WORK/committed" "$WORK/listed" | head -5)" "" "the tarball holds exactly the committed tree under backupkit-$control_version/"

needed="Makefile backupkit.control META.json README.md sql/backupkit--0.1.sql src/core/core_only.hpp src/pg/boundary/boundary.hpp"
missing=""
for f in $needed; do grep -qx "$f" "$WORK/listed" || missing="$missing $f"; done
for pattern in '^sql/install/.*\.sql$' '^sql/update/[^/]*--[^/]*/.*\.sql$' '^src/pg/.*\.cpp$' '^src/core/.*\.cpp$'; do
	grep -q "$pattern" "$WORK/listed" || missing="$missing $pattern"
done
check "$missing" "" "it has the Makefile, control file, META.json, install and upgrade sources and the C++ sources"

tar -xzf "$tarball" -C "$WORK"
tree="$WORK/backupkit-$control_version"
check "$(make -s -n -C "$tree" PG_CONFIG="$PG_CONFIG" >/dev/null 2>"$WORK/dry.err" && echo yes || head -3 "$WORK/dry.err")" "yes" \
	"every file the build depends on is in the tarball (make -n)"

# The scripts the tarball assembles are the ones installed in the server under test.
scripts=$(cd "$tree" && make -s PG_CONFIG="$PG_CONFIG" --eval='print-built: ; @echo $(DATA_built) $(DATA)' print-built)
(cd "$tree" && make -s PG_CONFIG="$PG_CONFIG" $scripts >/dev/null)
ext_dir="$("$PG_CONFIG" --sharedir)/extension"
differ=""
for s in $scripts; do cmp -s "$tree/$s" "$ext_dir/$(basename "$s")" || differ="$differ $(basename "$s")"; done
if [ -n "$(git status --porcelain -- sql Makefile backupkit.control)" ]; then
	skip "uncommitted changes to sql/, Makefile or backupkit.control: the installed scripts are not HEAD's"
else
	check "$differ" "" "it assembles the install and upgrade scripts installed in the server under test ($(echo $scripts | wc -w) scripts)"
fi
check "$(echo " $scripts " | grep -c " sql/backupkit--0.1--$control_version.sql ")" "1" \
	"the upgrade script from 0.1 to $control_version is among them"

if [ "${BK_QUICK:-0}" = 1 ]; then
	skip "BK_QUICK=1: the module is not compiled from the tarball"
else
	check "$(make -s -C "$tree" -j"$(nproc)" PG_CONFIG="$PG_CONFIG" >"$WORK/build.log" 2>&1 && [ -f "$tree/backupkit.so" ] && echo yes)" \
		"yes" "the module compiles from the tarball alone"
fi

# sql/backupkit--0.1.sql must stay the install script of version 0.1 (commit 3374c69), byte for byte.
if git cat-file -e 3374c69^{commit} 2>/dev/null; then
	for f in $(git ls-tree --name-only 3374c69 sql/install/ | LC_ALL=C sort); do git show "3374c69:$f"; done >"$WORK/0.1.sql"
	check "$(cmp -s "$WORK/0.1.sql" sql/backupkit--0.1.sql && echo same)" "same" \
		"sql/backupkit--0.1.sql is the install script of 0.1 (commit 3374c69)"
else
	skip "commit 3374c69 is not in this clone (shallow?)"
fi
