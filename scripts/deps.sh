#!/bin/sh
# Make sure the Debian packages d1d builds (and, with --test, tests) with are
# installed. As root it installs what is missing with apt-get; otherwise it
# prints the exact command and fails.
set -e
PKGS="gcc make pkg-config libmicrohttpd-dev libsqlite3-dev libjansson-dev libssl-dev libzstd-dev"
if [ "$1" = "--test" ]; then
	# npm for the pinned test clients; sqlite3 to inspect databases in
	# tests; clang and its runtime for the libFuzzer targets; valgrind
	# and gcc's ThreadSanitizer runtime for make valgrind and make tsan.
	PKGS="$PKGS sqlite3 clang libclang-rt-14-dev valgrind libtsan2"
	command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
fi
missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$s" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "d1d: installing:$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
else
	echo "d1d: missing packages:$missing" >&2
	echo "d1d: install them with: sudo apt-get install -y$missing" >&2
	exit 1
fi
