#!/usr/bin/perl
# Lists the user-reachable messages of backupkit that appear in no pg_regress expected output (expected/*.out):
# the primary message of every ereport(ERROR|WARNING|NOTICE, ... errmsg("...")) in src/pg, every message src/pg
# keeps in a table or variable marked with gettext_noop("..."), and every RAISE EXCEPTION|WARNING|NOTICE '...'
# in sql/install. A format (%s, %d, INT64_FORMAT, PL/pgSQL's %) matches
# any text there. Messages listed in test/messages/allowlist.txt (one per line: the message as written in the
# source, a tab, the reason it cannot be in a regression test) are not reported, and an allowlist entry that
# matches no uncovered message is reported as stale. test/tap/010_messages_in_expected_output.sh runs it.
#
#   perl test/messages/uncovered.pl [--all] [--core]
#     prints one line per uncovered message (file:line: LEVEL: text) and exits 1 if there is any.
#     --all   lists every message and where it is covered (or why it is allowed)
#     --core  also the bk::Error messages thrown in src/core (a C++ expression between literals matches any
#             text), which reach the user as the primary message (BK_CORE), as the context line of a
#             "snapshot ... is corrupted" error, at the start of a detail, or after ": " or in parentheses in
#             a validation report's text; most need hand-damaged storage.
use strict;
use warnings;
use File::Find;
use FindBin;

$| = 1;
my $root = "$FindBin::Bin/../..";
my $all = grep { $_ eq '--all' } @ARGV;
my $core = grep { $_ eq '--core' } @ARGV;

# A C/C++ string literal's text (escapes resolved as far as messages use them).
sub c_unescape {
	my ($s) = @_;
	$s =~ s/\\(["\\])/$1/g;
	$s =~ s/\\n/\n/g;
	$s =~ s/\\t/\t/g;
	return $s;
}

# The text of a C/C++ argument list from position $pos (just after the opening parenthesis) split into
# top-level arguments; strings and character literals are kept whole.
sub c_args {
	my ($text, $pos) = @_;
	my ($depth, $cur, @args) = (0, '');
	while ($pos < length $text) {
		my $c = substr($text, $pos, 1);
		if ($c eq '"' || $c eq "'") {
			my $end = $pos + 1;
			$end++ while $end < length($text) && substr($text, $end, 1) ne $c && (substr($text, $end, 1) ne '\\' || $end++);
			$cur .= substr($text, $pos, $end - $pos + 1);
			$pos = $end + 1;
			next;
		}
		if ($c eq '(' || $c eq '[' || $c eq '{') { $depth++; }
		elsif ($c eq ')' || $c eq ']' || $c eq '}') {
			if ($depth == 0) { push @args, $cur; return @args; }
			$depth--;
		}
		elsif ($c eq ',' && $depth == 0) { push @args, $cur; $cur = ''; $pos++; next; }
		$cur .= $c;
		$pos++;
	}
	return @args;
}

# The messages a format argument can produce: each run of adjacent literals (with printf macros between them)
# is one; an expression between literals joined by + (a std::string) matches anything. A ?: gives two.
sub c_messages {
	my ($arg) = @_;
	my @alternatives = split /(?<=")\s*:\s*(?=")|\?\s*(?=")/, $arg;
	my @out;
	for my $alt (@alternatives) {
		next unless $alt =~ /"/;
		my $regex = '';
		my $shown = '';
		my $rest = $alt;
		# Before the first literal: a condition (of a ?:), or an expression the message starts with (then +).
		if ($rest =~ s/^([^"]*?)(?=")//s && $1 =~ /\+\s*$/) {
			$regex .= '.*?';
			$shown .= '<...>';
		}
		while (length $rest) {
			if ($rest =~ s/^\s*"((?:[^"\\]|\\.)*)"//s) {
				my $lit = c_unescape($1);
				$shown .= $lit;
				my @parts = split /(%%|%[-+ #0]*[0-9*]*(?:\.[0-9*]+)?(?:hh|h|ll|l|z|j|t)?[sdiuxXcfgpe])/, $lit;
				for my $p (@parts) {
					if ($p eq '%%') { $regex .= '%'; }
					elsif ($p =~ /^%/) { $regex .= '.*?'; }
					else { $regex .= quotemeta $p; }
				}
			}
			elsif ($rest =~ s/^\s*(?:U?INT64_FORMAT|INT64_MODIFIER)//s) { $regex .= '.*?'; $shown .= '%lld'; }
			elsif ($rest =~ s/^\s*\+\s*//s) { }
			elsif ($rest =~ s/^\s*[^"+]+//s) { $regex .= '.*?'; $shown .= '<...>'; }
			else { last; }
		}
		push @out, [$shown, $regex] if length $shown;
	}
	return @out;
}

my @messages;    # [file, line, level, shown text, regex]
sub add { push @messages, [@_]; }

sub line_of { my ($text, $pos) = @_; return 1 + (substr($text, 0, $pos) =~ tr/\n//); }

find({ no_chdir => 1, wanted => sub {
	return unless /\.(cpp|hpp)$/;
	my $file = $File::Find::name;
	open my $fh, '<', $file or die "$file: $!";
	my $text = do { local $/; <$fh> };
	(my $rel = $file) =~ s/^\Q$root\E\///;
	if ($rel =~ m{^src/pg/}) {
		# Messages kept in tables or variables, marked as PostgreSQL marks them for translation.
		while ($text =~ /\bgettext_noop\s*\(/g) {
			my $start = pos $text;
			for my $m (c_messages((c_args($text, $start))[0] // '')) {
				add($rel, line_of($text, $start), 'ANY', @$m);
			}
		}
		while ($text =~ /\bereport\s*\(\s*(\w+)\s*,/g) {
			my ($level, $start) = ($1, pos $text);
			next if $level =~ /^(DEBUG\d?|LOG|INFO|FATAL|PANIC)$/;
			my @args = c_args($text, $start);
			my $body = join ',', @args;
			while ($body =~ /\berrmsg(_plural)?\s*\(/g) {
				my @margs = c_args($body, pos $body);
				my @formats = $1 ? @margs[0, 1] : ($margs[0]);
				for my $f (@formats) {
					for my $m (c_messages($f)) {
						add($rel, line_of($text, $start), $level eq 'elevel' ? 'ANY' : $level, @$m);
					}
				}
			}
		}
	}
	elsif ($rel =~ m{^src/core/}) {
		# Read even without --core, so that an allowlist entry for a core message is never taken for stale.
		while ($text =~ /\bthrow\s+(?:bk::)?Error\s*\(/g) {
			my $start = pos $text;
			my @args = c_args($text, $start);
			for my $m (c_messages($args[1] // '')) {
				add($rel, line_of($text, $start), 'ERROR', @$m);
			}
		}
	}
}}, "$root/src/pg", "$root/src/core");

for my $file (sort glob "$root/sql/install/*.sql") {
	open my $fh, '<', $file or die "$file: $!";
	my $text = do { local $/; <$fh> };
	(my $rel = $file) =~ s/^\Q$root\E\///;
	while ($text =~ /\bRAISE\s+(EXCEPTION|WARNING|NOTICE)\s+'((?:[^']|'')*)'/g) {
		my ($level, $lit) = ($1 eq 'EXCEPTION' ? 'ERROR' : $1, $2);
		$lit =~ s/''/'/g;
		my $regex = join '', map { $_ eq '%' ? '.*?' : quotemeta $_ } split /(%)/, $lit;
		add($rel, line_of($text, pos $text), $level, $lit, $regex);
	}
}

# What the regression tests show: the primary message lines of every expected output.
my @shown;
for my $file (sort glob "$root/expected/*.out") {
	open my $fh, '<', $file or die "$file: $!";
	(my $rel = $file) =~ s/^\Q$root\E\///;
	while (my $line = <$fh>) {
		if ($line =~ /^(ERROR|WARNING|NOTICE|DETAIL|CONTEXT):  (.*)$/) {
			push @shown, [$1, $2, "$rel:$."];
		}
		# Any other line: a validation report's text, where a core message follows ": " or stands in
		# parentheses ("Chunk 0 of table "s.t" does not decode: snapshot chunk is malformed.").
		push @shown, ['REPORT', $line, "$rel:$."];
		# An error a test caught and printed with its SQLSTATE (e.g. " XX001: snapshot N is corrupted: ...").
		if ($line =~ /(?:^\s*|SQLSTATE )((?=[0-9A-Z]*[0-9])[0-9A-Z]{5}): (.*?)\s*$/) {
			push @shown, [$1 =~ /^0[01]/ ? 'WARNING' : 'ERROR', $2, "$rel:$."];
		}
	}
}

my %allowed;
my $allowlist = "$root/test/messages/allowlist.txt";
if (open my $fh, '<', $allowlist) {
	while (my $line = <$fh>) {
		next if $line =~ /^\s*(#|$)/;
		chomp $line;
		my ($msg, $why) = split /\t+/, $line, 2;
		die "$allowlist:$.: no reason given for \"$msg\"\n" unless defined $why && $why =~ /\S/;
		$allowed{$msg} = { why => $why, used => 0 };
	}
}

my $uncovered = 0;
my %seen;
for my $m (sort { $a->[0] cmp $b->[0] || $a->[1] <=> $b->[1] } @messages) {
	my ($file, $line, $level, $shown, $regex) = @$m;
	next if $shown =~ /^(%s|<\.\.\.>)$/;    # the whole message comes from elsewhere
	if ($file =~ m{^src/core/} && !$core) {
		$allowed{$shown}{used} = 1 if $allowed{$shown};
		next;
	}
	next if $seen{"$level\0$shown"}++;
	# A message of src/core is the primary message when src/pg re-raises it (BK_CORE), the context line of a
	# "snapshot ... is corrupted" error (bk_chunk_core_failure), or the start of the detail when src/pg
	# reports the damage in its own words (validation, import).
	my ($where) = map { $_->[2] } grep {
		($level eq 'ANY' || $_->[0] eq $level) && $_->[1] =~ /^$regex$/
		    || $file =~ m{^src/core/} && $_->[0] eq 'DETAIL' && $_->[1] =~ /^$regex\b/
		    || $file =~ m{^src/core/} && $_->[0] eq 'CONTEXT' && $_->[1] =~ /^$regex$/
		    || $file =~ m{^src/core/} && $_->[0] eq 'REPORT' && $_->[1] =~ /(?:: |\()$regex(?:\.|\)|$)/
	} @shown;
	if ($where) {
		print "$file:$line: $level: $shown\n    covered in $where\n" if $all;
	}
	elsif ($allowed{$shown}) {
		$allowed{$shown}{used} = 1;
		print "$file:$line: $level: $shown\n    allowed: $allowed{$shown}{why}\n" if $all;
	}
	else {
		print "$file:$line: $level: $shown\n";
		$uncovered++;
	}
}
for my $msg (sort grep { !$allowed{$_}{used} } keys %allowed) {
	# An entry for a message that is covered after all, or no longer in the source.
	print "test/messages/allowlist.txt: stale entry: $msg\n";
	$uncovered++;
}
printf "%d messages checked, %d uncovered or stale\n", scalar(keys %seen), $uncovered;
exit($uncovered ? 1 : 0);
