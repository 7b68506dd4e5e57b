#!/bin/bash
# Export and import benchmark, run by hand: bash bench/export_import.sh [MB]
#
# In one run, on a database of about MB megabytes (default 1024) made with
# the sqlite3 shell (integers, reals, text with quotes, BLOBs, one index):
#   1. d1d's export (POST .../export, polling, then GET of the signed URL
#      into a file) beside `sqlite3 db .dump > file` of the same database:
#      MB/s of SQL written, with a sync (untimed) before each;
#   2. d1d's import of that export (POST .../import: init, PUT, ingest,
#      polls) beside `sqlite3 new.db` reading the same file inside one
#      BEGIN/COMMIT (D1's format has none; without it sqlite3 would commit
#      every statement);
#   3. d1d's peak RSS (VmHWM) before and after each, which must stay flat.
# Needs: sqlite3, curl, jq, a built build/d1d.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-1024}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$WORK"' EXIT
for t in sqlite3 curl jq; do command -v $t >/dev/null || { echo "needs $t"; exit 1; }; done
make -s build/d1d
now() { date +%s.%N; }
hwm() { awk '/VmHWM/ {print int($2/1024) " MB"}' /proc/$PID/status; }

# ~260 bytes a row.
ROWS=$((MB * 1024 * 1024 / 260))
echo "generating $ROWS rows (~$MB MB) with sqlite3..."
sqlite3 "$WORK/gen.db" <<SQL
PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
CREATE TABLE items (id INTEGER PRIMARY KEY, n INTEGER, r REAL, name TEXT, body TEXT, data BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $ROWS)
INSERT INTO items SELECT x, x * 1000003 % 9007199254740993, x / 7.0,
  'item ''' || x || '''', printf('%.*c', 120 + x % 40, 'b') || char(10) || 'end', randomblob(48) FROM c;
CREATE INDEX items_n ON items(n);
PRAGMA wal_checkpoint(TRUNCATE);
SQL
ls -l "$WORK/gen.db" | awk '{printf "database: %.0f MB\n", $5/1048576}'

start() {
	./build/d1d serve --listen 127.0.0.1:0 --data-dir "$WORK/data" >"$WORK/d1d.out" 2>/dev/null &
	PID=$!
	for _ in $(seq 50); do grep -q listening "$WORK/d1d.out" && break; sleep 0.1; done
}
start
grep ^export "$WORK/d1d.out" >"$WORK/env"
. "$WORK/env"
DB="$CLOUDFLARE_API_BASE_URL/accounts/$CLOUDFLARE_ACCOUNT_ID/d1/database"
AUTH="Authorization: Bearer $CLOUDFLARE_API_TOKEN"
UUID=$(curl -sf -H "$AUTH" -d '{"name":"bench"}' "$DB" | jq -r .result.uuid)
# Put the generated file in place of the new, empty database while d1d
# is stopped, then start it again on the same data dir.
kill $PID; wait $PID || true
cp "$WORK/gen.db" "$WORK/data/databases/$UUID/db.sqlite"
rm -f "$WORK/data/databases/$UUID/db.sqlite-wal" "$WORK/data/databases/$UUID/db.sqlite-shm"
start
URL=$(grep -o 'listening on http://[^ ]*' "$WORK/d1d.out" | cut -d' ' -f3)
DB="$URL/client/v4/accounts/$CLOUDFLARE_ACCOUNT_ID/d1/database"
api() { curl -sS --fail-with-body -H "$AUTH" -H 'Content-Type: application/json' -d "$2" "$DB/$1"; }
api bench/query '{"sql":"SELECT count(*) FROM items"}' >/dev/null
echo "d1d peak RSS at start: $(hwm)"

echo "--- export"
sync
t0=$(now)
sqlite3 "$WORK/gen.db" .dump >"$WORK/shell.sql"
t1=$(now)
# Untimed: the shell's file goes to disk before d1d starts, as everything
# before the shell's run did, so that neither pays for the other's dirty
# pages (past the kernel's dirty limits, every write waits for write-back).
sync
t1s=$(now)
r=$(api bench/export '{"output_format":"polling"}')
at=$(jq -r .result.at_bookmark <<<"$r")
while [ "$(jq -r .result.status <<<"$r")" = active ]; do
	r=$(api bench/export "{\"output_format\":\"polling\",\"current_bookmark\":\"$at\"}")
done
[ "$(jq -r .result.status <<<"$r")" = complete ] || { echo "export failed: $r"; exit 1; }
tj=$(now)
curl -sf -o "$WORK/d1d.sql" "$(jq -r .result.result.signed_url <<<"$r")"
t2=$(now)
SHELL_MB=$(stat -c %s "$WORK/shell.sql" | awk '{print $1/1048576}')
D1D_MB=$(stat -c %s "$WORK/d1d.sql" | awk '{print $1/1048576}')
awk -v s="$SHELL_MB" -v d="$D1D_MB" -v a="$t0" -v b="$t1" -v bs="$t1s" -v j="$tj" -v c="$t2" 'BEGIN {
	ss = s / (b - a); ds = d / (c - bs);
	printf "sqlite3 .dump: %.0f MB in %.1f s = %.1f MB/s\n", s, b - a, ss;
	printf "d1d export (job + download): %.0f MB in %.1f s (%.1f + %.1f) = %.1f MB/s\n", d, c - bs, j - bs, c - j, ds;
	printf "d1d / sqlite3: %.2fx\n", ds / ss }'
echo "d1d peak RSS after export: $(hwm)"

echo "--- import"
sync
t0=$(now)
{ echo 'BEGIN;'; cat "$WORK/d1d.sql"; echo 'COMMIT;'; } | sqlite3 "$WORK/shell-import.db"
t1=$(now)
curl -sf -H "$AUTH" -d '{"name":"bench2"}' "$DB" >/dev/null
ETAG=$(md5sum "$WORK/d1d.sql" | cut -d' ' -f1)
r=$(api bench2/import "{\"action\":\"init\",\"etag\":\"$ETAG\"}")
tu0=$(now)
curl -sf -o /dev/null -T "$WORK/d1d.sql" "$(jq -r .result.upload_url <<<"$r")"
tu1=$(now)
r=$(api bench2/import "{\"action\":\"ingest\",\"etag\":\"$ETAG\",\"filename\":\"$(jq -r .result.filename <<<"$r")\"}")
at=$(jq -r .result.at_bookmark <<<"$r")
while [ "$(jq -r .result.status <<<"$r")" = active ]; do
	r=$(api bench2/import "{\"action\":\"poll\",\"current_bookmark\":\"$at\"}")
done
t2=$(now)
[ "$(jq -r .result.status <<<"$r")" = complete ] || { echo "import failed: $r"; exit 1; }
echo "d1d import: $(jq -r .result.result.num_queries <<<"$r") queries"
awk -v a="$t0" -v b="$t1" -v u0="$tu0" -v u1="$tu1" -v c="$t2" 'BEGIN {
	printf "sqlite3 < file (one transaction): %.1f s\n", b - a;
	printf "d1d upload: %.1f s; import (ingest to complete): %.1f s\n", u1 - u0, c - u1;
	printf "d1d speed / sqlite3 speed: %.2fx\n", (b - a) / (c - u1) }'
echo "d1d peak RSS after import: $(hwm)"
n1=$(sqlite3 "$WORK/shell-import.db" 'SELECT count(*) FROM items')
n2=$(api bench2/query '{"sql":"SELECT count(*) AS n FROM items"}' | jq -r '.result[0].results[0].n')
echo "rows: sqlite3 $n1, d1d $n2"
