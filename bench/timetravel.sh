#!/usr/bin/env bash
# bench/timetravel.sh — what time travel costs, in one run.
#
#   1. Capture overhead: single-row INSERT via /query, 64 connections,
#      synchronous=FULL, d1d with history capture beside the same d1d
#      without it (built from BASE_REV, the commit before time travel).
#   2. History bytes per byte of user data: the history written for those
#      inserts and for SIZE_MB of bulk rows, beside the database's size.
#   3. Restore: a SIZE_MB database (default 1024) to a bookmark taken just
#      before ~1 MB of rows was rewritten, beside `cp` (plus fsync) of the
#      database file. Target: restore <= 0.1x cp.
#
# Usage: bash bench/timetravel.sh   (SECS=10 SIZE_MB=1024 BASE_REV=...)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SECS=${SECS:-10}
SIZE_MB=${SIZE_MB:-1024}
BASE_REV=${BASE_REV:-$(git log --format=%H -1 --grep='^Merge export/import')}
WORK=$(mktemp -d /tmp/d1d-bench-tt.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; git worktree remove --force "$WORK/base" 2>/dev/null || true; rm -rf "$WORK"' EXIT
command -v wrk >/dev/null || { echo "bench needs wrk (apt-get install wrk)"; exit 1; }
rps() { awk '/Requests\/sec/ {printf "%d", $2}'; }

make -s build/d1d
git worktree add -q --detach "$WORK/base" "$BASE_REV"
make -s -C "$WORK/base" build/d1d >/dev/null

insert_rps() { # binary, data dir
	D1D=$1 DATA=$2 d1d_seeded
	insert_lua "$WORK/insert.lua"
	wrk -t2 -c64 -d"${SECS}s" -s "$WORK/insert.lua" "$DB/bench/query" | rps
}

echo "== 1. INSERT, 64 connections, synchronous=FULL, ${SECS}s each"
OFF=$(insert_rps "$WORK/base/build/d1d" "$WORK/off")
pkill -f -- "--data-dir $WORK/off" || true
ON=$(insert_rps ./build/d1d "$WORK/on")
# The subshell above started it: find its address again.
eval "$(grep ^export "$WORK/on.out")"
DB="$CLOUDFLARE_API_BASE_URL/accounts/$CLOUDFLARE_ACCOUNT_ID/d1/database"
AUTH="Authorization: Bearer $CLOUDFLARE_API_TOKEN"
echo "   without history ($(git log --format=%h -1 "$BASE_REV")): $OFF req/s"
echo "   with history:                 $ON req/s   (ratio $(awk "BEGIN{printf \"%.2f\", $ON/$OFF}"))"
UUID=$(curl -sf -H "$AUTH" "$DB/bench" | sed 's/.*"uuid":"\([^"]*\)".*/\1/')
D="$WORK/on/databases/$UUID"
HB=$(du -sb "$D/history" | cut -f1)
DBB=$(stat -c %s "$D/db.sqlite")
echo "   history $HB bytes for $((ON * SECS)) inserts: $((HB / (ON * SECS + 1))) bytes per insert (db file $DBB bytes)"

echo "== 2/3. a ${SIZE_MB} MB database: history size, then restore"
curl -sf -H "$AUTH" -d '{"name":"big"}' "$DB" >/dev/null
curl -sf -H "$AUTH" -d '{"sql":"CREATE TABLE b(id INTEGER PRIMARY KEY, v BLOB)"}' "$DB/big/query" >/dev/null
ROWS_PER=100000 # 100 MB per request (1000-byte rows)
for ((i = 0; i < SIZE_MB / 100; i++)); do
	curl -sf -H "$AUTH" -d "{\"sql\":\"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < $ROWS_PER) INSERT INTO b(v) SELECT randomblob(1000) FROM c\"}" "$DB/big/query" >/dev/null
done
UUID=$(curl -sf -H "$AUTH" "$DB/big" | sed 's/.*"uuid":"\([^"]*\)".*/\1/')
D="$WORK/on/databases/$UUID"
HB=$(du -sb "$D/history" | cut -f1)
DBB=$(stat -c %s "$D/db.sqlite")
echo "   database $((DBB >> 20)) MB, history $((HB >> 20)) MB: $(awk "BEGIN{printf \"%.2f\", $HB/$DBB}") history bytes per database byte (random blobs: incompressible)"
BM=$(curl -sf -H "$AUTH" "$DB/big/time_travel/bookmark" | sed 's/.*"bookmark":"\([^"]*\)".*/\1/')
# ~1 MB changed: 1000 rows of 1000 bytes, scattered over the table.
curl -sf -H "$AUTH" -d '{"sql":"UPDATE b SET v = randomblob(1000) WHERE id % (SELECT max(id) / 1000 FROM b) = 0"}' "$DB/big/query" >/dev/null
T0=$(date +%s.%N)
curl -sf -X POST -H "$AUTH" "$DB/big/time_travel/restore?bookmark=$BM" >/dev/null
T1=$(date +%s.%N)
cp "$D/db.sqlite" "$WORK/copy.sqlite" && sync "$WORK/copy.sqlite"
T2=$(date +%s.%N)
awk -v a="$T0" -v b="$T1" -v c="$T2" \
	'BEGIN { r = b - a; k = c - b; printf "   restore %.3f s, cp+fsync %.3f s: restore = %.3fx cp (target <= 0.1)\n", r, k, r / k }'
