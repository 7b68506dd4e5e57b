# Shared by the benchmark scripts (sourced, not run). Needs WORK set.
# d1d_seeded and insert_lua are described below; nginx_fixed (at the end)
# starts the HTTP floor.
#
# d1d_seeded: build and start d1d on a free port with its data under $WORK,
# create database "bench" with t(id INTEGER PRIMARY KEY, v TEXT) holding
# 100k rows, write the point-SELECT wrk script $WORK/select.lua, and set
# DB (the databases URL), AUTH (the header) and CLOUDFLARE_* for the caller.

BENCH_SEED_SQL="CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 100000) INSERT INTO t SELECT x, hex(randomblob(16)) FROM c"

# D1D (default ./build/d1d, built here) and DATA (default $WORK/data) pick
# another binary and data dir.
d1d_seeded() {
	[ -n "${D1D:-}" ] || make -s build/d1d
	local out="${DATA:-$WORK/data}.out"
	"${D1D:-./build/d1d}" serve --listen 127.0.0.1:0 --data-dir "${DATA:-$WORK/data}" >"$out" 2>/dev/null &
	D1D_PID=$!
	for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
	eval "$(grep ^export "$out")"
	DB="$CLOUDFLARE_API_BASE_URL/accounts/$CLOUDFLARE_ACCOUNT_ID/d1/database"
	AUTH="Authorization: Bearer $CLOUDFLARE_API_TOKEN"
	curl -sf -H "$AUTH" -d '{"name":"bench"}' "$DB" >/dev/null
	curl -sf -H "$AUTH" -d "{\"sql\":\"$BENCH_SEED_SQL\"}" "$DB/bench/query" >/dev/null
	cat >"$WORK/select.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $CLOUDFLARE_API_TOKEN"
wrk.headers["Content-Type"] = "application/json"
request = function()
  return wrk.format(nil, nil, nil, '{"sql":"SELECT * FROM t WHERE id = ?","params":[' .. math.random(1,100000) .. ']}')
end
LUA
}

# insert_lua FILE: the single-row INSERT wrk script (needs CLOUDFLARE_API_TOKEN).
insert_lua() {
	cat >"$1" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $CLOUDFLARE_API_TOKEN"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"sql":"INSERT INTO t(v) VALUES (?)","params":["hello"]}'
LUA
}

# nginx_fixed: start nginx on a free port (NPORT), answering every request
# with a fixed JSON body shaped like a point SELECT's answer: the HTTP floor.
# Its files go under $WORK/nginx; the caller's EXIT trap stops it.
nginx_fixed() {
	NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$WORK/nginx"
	cat >"$WORK/nginx/nginx.conf" <<-CONF
	worker_processes auto; daemon off; pid $WORK/nginx/pid; error_log /dev/null;
	events { worker_connections 1024; }
	http { access_log off;
	  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
	  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
	  server { listen 127.0.0.1:$NPORT;
	    location / { default_type application/json;
	      return 200 '{"result":[{"results":{"columns":["id","v"],"rows":[[1,"x"]]},"success":true}],"success":true,"errors":[],"messages":[]}'; } } }
	CONF
	nginx -c "$WORK/nginx/nginx.conf" &
	sleep 0.5
}
