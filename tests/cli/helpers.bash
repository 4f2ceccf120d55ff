# Shared set-up for the command-line tests (bats).
ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
B="$ROOT/${LLM_BUILD:-build}"
PATH="$B/bin:$B/tests/bin:$PATH"
# shared/ sits beside the checkout, for developers and for CI.
SHARED="${LLM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}"
DATA="$SHARED/data"
FIX="$ROOT/tests/data"

setup() {
	T="$(mktemp -d "${BATS_TMPDIR:-/tmp}/llmkit.XXXXXX")"
}

teardown() {
	rm -rf "$T"
}

# Python (standard library only) as an independent JSON reader.
py() {
	python3 -c "$@"
}
