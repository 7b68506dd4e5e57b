#!/bin/bash
# Query benchmark, run by hand: bash bench/run.sh [SECONDS]
#
# In one run, on this machine, with wrk (Debian) and 32/64 keep-alive
# connections:
#   1. /raw point SELECT by primary key on a 100k-row table, beside nginx
#      answering a fixed 200 JSON body (the HTTP floor);
#   2. single-row INSERT via /query, 64 connections, synchronous=FULL,
#      beside sequential in-process autocommit INSERTs (the fsync floor).
# Prints each figure and the ratios. Needs: wrk, nginx (apt-get install
# wrk nginx-light), a built build/d1d.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$WORK"' EXIT

for t in wrk nginx; do
	command -v $t >/dev/null || { echo "bench needs $t (apt-get install wrk nginx-light)"; exit 1; }
done
cc -O2 -o "$WORK/fsync_floor" bench/fsync_floor.c -lsqlite3

. bench/lib.sh
d1d_seeded

nginx_fixed

insert_lua "$WORK/insert.lua"

rps() { awk '/Requests\/sec/ {print $2}'; }
echo "== 1. point SELECT via /raw, 32 connections, ${SECS}s"
NGX=$(wrk -t2 -c32 -d"${SECS}s" "http://127.0.0.1:$NPORT/" | tee "$WORK/ngx.txt" | rps)
SEL=$(wrk -t2 -c32 -d"${SECS}s" --latency -s "$WORK/select.lua" "$DB/bench/raw" | tee "$WORK/sel.txt" | rps)
grep -E "50%|99%" "$WORK/sel.txt" | sed 's/^/   d1d latency /'
echo "   nginx fixed body: $NGX req/s"
echo "   d1d point SELECT: $SEL req/s"
echo "   ratio d1d/nginx:  $(python3 -c "print(round($SEL/$NGX, 2))")"

echo "== 2. single-row INSERT via /query, 64 connections, synchronous=FULL, ${SECS}s"
INS=$(wrk -t2 -c64 -d"${SECS}s" --latency -s "$WORK/insert.lua" "$DB/bench/query" | tee "$WORK/ins.txt" | rps)
grep -E "50%|99%" "$WORK/ins.txt" | sed 's/^/   d1d latency /'
FLOOR=$("$WORK/fsync_floor" "$WORK" "$SECS" | awk '{print $2}')
echo "   fsync floor (sequential autocommit, in process): $FLOOR inserts/s"
echo "   d1d INSERT:                                      $INS req/s"
echo "   ratio d1d/floor: $(python3 -c "print(round($INS/$FLOOR, 2))")"
