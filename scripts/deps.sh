#!/bin/sh
# deps.sh - make sure every Debian package llmkit needs is installed.
#
# Run by `make deps`, which `make test` and `make demo` run first.  As root
# it refreshes the package lists (a fresh machine's may be stale or empty)
# and installs what is missing; otherwise it prints the one command to run
# and exits 1.  The list below is the single place dependencies are named:
# grow it when a stage needs a new library.
set -eu

PACKAGES="
gcc
make
pkg-config
libcurl4-openssl-dev
libzstd-dev
zstd
zlib1g-dev
libxxhash-dev
libpcre2-dev
libjansson-dev
libgumbo-dev
libutf8proc-dev
libbz2-dev
libopenblas-dev
libopenmpi-dev
openmpi-bin
libcmocka-dev
bats
gnuplot-nox
jq
bc
python3
mandoc
man-db
w3m
"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "deps: missing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: run this, then try again:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
echo "deps: installed:$missing" >&2
