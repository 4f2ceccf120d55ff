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
