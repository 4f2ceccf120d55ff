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

# start_server IDLE: run tests/fetch_server.py on 127.0.0.1 for this file's
# tests, serving $DATA; it ends after IDLE seconds without a request (or
# stop_server).  Its port is in $SRV_DIR/port, its request log in
# $SRV_DIR/log.  Call from setup_file.
start_server() {
	export SRV_DIR="$BATS_FILE_TMPDIR"
	python3 "$ROOT/tests/fetch_server.py" "$DATA" "$SRV_DIR/port" \
		"$SRV_DIR/log" "$1" 3>&- &
	echo $! > "$SRV_DIR/pid"
	for _ in $(seq 50); do
		[ -s "$SRV_DIR/port" ] && break
		sleep 0.1
	done
}

stop_server() {
	kill "$(cat "$SRV_DIR/pid")" 2>/dev/null || true
}
