#!/usr/bin/env bats
# Every program has a man page that lints clean, --help and --version.

load helpers

@test "man pages lint clean with mandoc" {
	for page in "$ROOT"/man/*.[1-9]; do
		run mandoc -Tlint -Wwarning "$page"
		if [ "$status" -ne 0 ]; then
			echo "$output"
			return 1
		fi
	done
}

@test "every program has a man page, --help and --version" {
	for prog in "$B"/bin/llm-*; do
		[ -x "$prog" ] || continue
		name=$(basename "$prog")
		[ -f "$ROOT/man/$name.1" ] || { echo "no man/$name.1"; return 1; }
		run "$prog" --help
		[ "$status" -eq 0 ] || { echo "$name --help: $status"; return 1; }
		[ -n "$output" ]
		run "$prog" --version
		[ "$status" -eq 0 ]
		[[ "$output" =~ ^$name\ \(llmkit\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "$output"; return 1; }
		run "$prog" --no-such-option-anywhere
		[ "$status" -eq 2 ] || { echo "$name: unknown option gave $status"; return 1; }
	done
}

# Long options of a program's --help (with llm-eval, every command's too).
help_options() {
	local prog=$1 name
	name=$(basename "$prog")
	{
		"$prog" --help
		if [ "$name" = llm-eval ]; then
			for c in bleu chrf rouge ppl mc generate prompts review; do
				"$prog" "$c" --help
			done
		fi
	} 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

@test "every long option of --help is in the man page's OPTIONS, and the other way round" {
	bad=0
	for prog in "$B"/bin/llm-*; do
		[ -x "$prog" ] || continue
		name=$(basename "$prog")
		help_options "$prog" > "$T/help"
		python3 "$ROOT/tests/man_options.py" "$ROOT/man/$name.1" > "$T/man"
		[ -s "$T/man" ] || { echo "$name: no options in OPTIONS"; bad=1; }
		if ! diff "$T/help" "$T/man" > "$T/diff"; then
			echo "$name: < only in --help, > only in man/$name.1 OPTIONS"
			grep '^[<>]' "$T/diff"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "the option check sees a difference" {
	# An option the page lacks, and one --help lacks, are both reported.
	printf '.Sh OPTIONS\n.Bl -tag -width Ds\n.It Fl a , -alpha Ar n\n.It Fl -beta Ns = Ns Cm x | y\n.It Fl c Ar f , Fl -gamma Ns = Ns Ar f ,\\\n Fl -delta\n.El\n.Sh EXIT STATUS\n.It Fl -not-an-option\n' > "$T/page.1"
	run python3 "$ROOT/tests/man_options.py" "$T/page.1"
	[ "$output" = "$(printf -- '--alpha\n--beta\n--delta\n--gamma')" ]
}

@test "make install puts every program and page under DESTDIR, and man -l reads them" {
	run make -s -C "$ROOT" B="${LLM_BUILD:-build}" DESTDIR="$T/root" PREFIX=/usr install
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	for prog in "$B"/bin/llm-*; do
		[ -x "$T/root/usr/bin/$(basename "$prog")" ]
	done
	n=0
	for page in "$ROOT"/man/*.[157]; do
		s=${page##*.}
		f="$T/root/usr/share/man/man$s/$(basename "$page")"
		[ -f "$f" ] || { echo "not installed: $f"; return 1; }
		run env MANWIDTH=80 man -l "$f"
		[ "$status" -eq 0 ] || { echo "man -l $f: $output"; return 1; }
		name=$(basename "$page" ".$s")
		[[ "$output" == *NAME* ]] && [[ "$output" == *"$name"* ]] || { echo "$f"; return 1; }
		n=$((n + 1))
	done
	# Programs (1), the formats (5) and the overview (7).
	for p in man1/llm-fetch.1 man5/llm-formats.5 man5/llm-shards.5 man5/llm-bpe-model.5 \
		man5/llm-checkpoint.5 man7/llmkit.7; do
		[ -f "$T/root/usr/share/man/$p" ] || { echo "missing $p"; return 1; }
	done
	make -s -C "$ROOT" B="${LLM_BUILD:-build}" DESTDIR="$T/root" PREFIX=/usr uninstall
	[ -z "$(find "$T/root" -type f)" ]
}
