#!/bin/bash
# Side-by-side benchmark of two d1d binaries, run by hand:
#   OLD=path/to/d1d NEW=path/to/d1d bash bench/ab.sh [SECONDS] [ROUNDS]
#
# The machine is shared and noisy, so absolute figures drift from one
# minute to the next: this runs, in each round and alternating, nginx
# (the HTTP floor), the old and the new binary on bench/run.sh's two
# workloads (point SELECT via /raw, 32 connections; single-row INSERT via
# /query, 64 connections, synchronous=FULL), and the fsync floor, each on
# its own seeded data dir, and prints one line per figure. For the
# INSERTs it also counts the server's fsync/fdatasync calls (perf stat),
# whence about how many jobs each group commit carried (one WAL sync per
# commit). Needs wrk, nginx, perf; both binaries built.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
ROUNDS=${2:-2}
: "${OLD:?set OLD to the old d1d binary}" "${NEW:?set NEW to the new d1d binary}"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$WORK"' EXIT
cc -O2 -o "$WORK/fsync_floor" bench/fsync_floor.c -lsqlite3
. bench/lib.sh

declare -A URL PID
for v in old new; do
	if [ $v = old ]; then D1D=$OLD; else D1D=$NEW; fi
	DATA=$WORK/data_$v
	d1d_seeded
	URL[$v]=$DB/bench
	PID[$v]=$D1D_PID
	mv "$WORK/select.lua" "$WORK/select_$v.lua"
	insert_lua "$WORK/insert_$v.lua"
done
unset D1D DATA

nginx_fixed

lat() { awk '/ 50%/ {p50=$2} / 99%/ {p99=$2} /Requests\/sec/ {r=$2} END {printf "%s req/s p50 %s p99 %s", r, p50, p99}'; }
for round in $(seq "$ROUNDS"); do
	echo "== round $round"
	echo "   nginx:           $(wrk -t2 -c32 -d"${SECS}s" --latency "http://127.0.0.1:$NPORT/" | lat)"
	for v in old new; do
		echo "   SELECT $v:      $(wrk -t2 -c32 -d"${SECS}s" --latency -s "$WORK/select_$v.lua" "${URL[$v]}/raw" | lat)"
	done
	for v in old new; do
		perf stat -x, -e 'syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync' \
			-p "${PID[$v]}" -o "$WORK/perf_$v.txt" -- sleep "$((SECS + 1))" &
		P=$!
		OUT=$(wrk -t2 -c64 -d"${SECS}s" --latency -s "$WORK/insert_$v.lua" "${URL[$v]}/query")
		wait $P || true
		SYNCS=$(awk -F, '{s += $1} END {print s}' "$WORK/perf_$v.txt")
		REQS=$(echo "$OUT" | awk '/requests in/ {print $1}')
		echo "   INSERT $v:      $(echo "$OUT" | lat), $SYNCS syncs, ~$(python3 -c "print(round($REQS/max($SYNCS,1), 1))") jobs/sync"
	done
	echo "   fsync floor:     $("$WORK/fsync_floor" "$WORK" "$SECS" | awk '{print $2}') inserts/s"
done
