/*
 * http.c — libmicrohttpd glue: from bytes on a socket to a routed,
 * authenticated handler call, and back.
 *
 * Threading: libmicrohttpd's thread pool, two HTTP threads per core
 * (MHD_OPTION_THREAD_POOL_SIZE), each serving many connections with poll()
 * (not epoll: libmicrohttpd's edge-triggered epoll loop can miss the FIN
 * that comes with the last bytes of a partial request, and keep a
 * half-closed connection until its timeout; poll is level-triggered, and
 * measured as fast here). Two per core, not one, because d1d mostly
 * shares its machine with its clients (local development, CI): when a
 * client's thread preempts an HTTP thread, every connection of that thread
 * waits, and so does every connection of a thread that takes a page fault
 * on a mapped database or runs a read up to its inline budget. With two
 * per core half as many wait: on the point-SELECT benchmark (32
 * connections, wrk on the same 2 cores) p99 fell from about 3 ms to under
 * 1 ms, and req/s rose by about a sixth; single-row INSERTs were about
 * the same. Beside them, an
 * elastic pool of worker threads (taskpool.c) for whatever may wait. The
 * HTTP threads never wait: a handler that would (a write waiting for its
 * group's COMMIT, a query running long, a database being opened, the
 * management routes that fsync the catalog) suspends its connection
 * (MHD_suspend_connection) and hands the request over, to a worker
 * (req_offload) or to the group commit (req_suspend; dbpool.c's writer
 * thread resumes it). A suspended connection costs no thread; when it is
 * resumed (MHD_resume_connection, from any thread), its HTTP thread calls
 * on_request again, which runs the continuation the handler left and
 * sends the answer. So a point SELECT is answered on the HTTP thread that
 * read it, with no thread switch at all, and a write costs one hand-over to
 * the writer and back, shared by the whole group; with a thread per
 * connection every request woke its thread from poll(), and every write
 * woke it a second time.
 *
 * A known limit: libmicrohttpd 0.9.75 reads a resumed connection before
 * calling on_request() again, and closes it if the client has half-closed
 * it (shutdown(SHUT_WR) right after a complete request), so such a client
 * gets no answer to a request that was suspended; answers given on the
 * HTTP thread (point reads, catalog reads) are not affected.
 *
 * A request belongs to one thread at a time: its HTTP thread until it is
 * handed over (suspended), then the worker or writer thread until that one
 * calls req_resume(), then its HTTP thread again. The hand-overs go
 * through a mutex (the task queue, the dbh's queue, libmicrohttpd's resume
 * list), so struct req needs no locking of its own. Shared state is the
 * catalog (internally locked), srv->inflight and nsuspended (atomic), which
 * let http_stop() wait for requests under way before the daemon goes away
 * (libmicrohttpd refuses to stop with a connection still suspended).
 *
 * Memory: a struct req and its arena are created at the first callback of a
 * request and released in the completion callback, whatever happened in
 * between (client gone, error, success). The body buffer and the response
 * buffer are malloc'd because they can be large and change hands (the
 * response buffer goes to libmicrohttpd, which frees it).
 *
 * Request bodies are capped at cfg.max_body_bytes, except on a route that
 * streams its body (an import's upload): its handler gets each piece as it
 * arrives, writes it where it belongs and sets its own limits. An answer
 * can also be a file (an export), which libmicrohttpd sends from its
 * descriptor without reading it into memory.
 *
 * A body past the cap is read and discarded, and the 413 envelope sent once it
 * has arrived: a client that is still writing when the answer comes and the
 * socket closes (Node's fetch, the SDK) sees a broken pipe instead of the 413.
 * Only a client that sends more than HTTP_DISCARD_MAX beyond the cap is
 * answered mid-body, and its connection closed.
 */
#include "http.h"

#include "apierr.h"
#include "auth.h"
#include "router.h"
#include "taskpool.h"
#include "util.h"

#include <assert.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTP_DISCARD_MAX (64u << 20)

/* Workers: a kept few for the routes that always run there, more on
 * demand (a long query each), up to the connection limit. */
#define HTTP_WORKERS_KEPT 4
#define HTTP_MAX_CONNS	  4096
/* Each connection's memory pool (request line, headers, read buffer,
 * the answer's headers). libmicrohttpd zeroes the whole pool between two
 * requests of a keep-alive connection: at its default, 32 KiB, that
 * memset was 3.7% of the CPU of the INSERT benchmark. 16 KiB still holds
 * headers far beyond what any client of the API sends. */
#define HTTP_CONN_MEMORY (16u << 10)

static struct MHD_Daemon *daemon_;
static int listen_fd = -1;
static struct taskpool *workers_;
static atomic_int nsuspended; /* connections suspended right now */

/* ---- helpers for handlers ---- */

int req_arg_once(struct req *r, const char *key, const char **out)
{
	int n = 0;
	*out = NULL;
	for (size_t i = 0; i < r->nargs; i++)
		if (strcmp(r->args[i].key, key) == 0 && n++ == 0)
			*out = r->args[i].value;
	if (n > 1)
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid query parameter %s: given more than "
				"once",
				key);
	return 0;
}

const char *req_header(const struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int req_fail(struct req *r, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r->err_detail = arena_vprintf(&r->arena, fmt, ap);
	va_end(ap);
	return rc;
}

int req_json_object(struct req *r, int empty_ok, json_t **out)
{
	json_error_t e;
	*out = NULL;
	if (r->body_len == 0) {
		if (!empty_ok)
			return req_fail(
			    r, D1E_BAD_REQUEST,
			    "Request body is empty; expected a JSON "
			    "object");
		r->json = json_object();
		if (!r->json)
			return D1E_NOMEM;
		*out = r->json;
		return 0;
	}
	r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!r->json)
		return req_fail(r, D1E_BAD_REQUEST,
				"Malformed JSON in request body: %s (line %d, "
				"column %d)",
				e.text, e.line, e.column);
	if (!json_is_object(r->json))
		return req_fail(r, D1E_BAD_REQUEST,
				"Request body must be a JSON object");
	*out = r->json;
	return 0;
}

void req_file(struct req *r, int fd, uint64_t len, const char *type)
{
	if (r->resp_fd >= 0)
		close(r->resp_fd);
	r->resp_fd = fd;
	r->resp_len = len;
	r->resp_type = type;
	r->status = 200;
	r->done = 1;
}

struct jsonw *req_result(struct req *r)
{
	jsonw_release(&r->out);
	jsonw_obj_begin(&r->out);
	jsonw_key(&r->out, "result");
	return &r->out;
}

void req_done(struct req *r)
{
	struct jsonw *w = &r->out;
	jsonw_key(w, "success");
	jsonw_bool(w, 1);
	jsonw_key(w, "errors");
	jsonw_arr_begin(w);
	jsonw_arr_end(w);
	jsonw_key(w, "messages");
	jsonw_arr_begin(w);
	jsonw_arr_end(w);
	jsonw_obj_end(w);
	r->status = 200;
	r->done = 1;
}

static void write_error(struct req *r, int rc)
{
	const struct apierr_info *e = apierr_info(rc);
	struct jsonw *w = &r->out;
	jsonw_release(w);
	jsonw_obj_begin(w);
	jsonw_key(w, "result");
	jsonw_null(w);
	jsonw_key(w, "success");
	jsonw_bool(w, 0);
	jsonw_key(w, "errors");
	jsonw_arr_begin(w);
	jsonw_obj_begin(w);
	jsonw_key(w, "code");
	jsonw_int(w, e->code);
	jsonw_key(w, "message");
	jsonw_str(w, r->err_detail ? r->err_detail : e->message);
	jsonw_obj_end(w);
	jsonw_arr_end(w);
	jsonw_key(w, "messages");
	jsonw_arr_begin(w);
	jsonw_arr_end(w);
	jsonw_obj_end(w);
	r->status = e->http_status;
	r->done = 1;
}

/* ---- suspension ---- */

/* Suspend r's connection, once. Only on r's HTTP thread, inside
 * on_request. */
static void suspend_conn(struct req *r)
{
	if (r->suspended)
		return;
	assert(!r->may_block);
	atomic_fetch_add(&nsuspended, 1);
	r->suspended = 1;
	MHD_suspend_connection(r->conn);
}

int req_suspend(struct req *r, int (*cont)(struct req *r))
{
	r->cont = cont;
	suspend_conn(r);
	return REQ_SUSPENDED;
}

void req_resume(struct req *r)
{
	/* libmicrohttpd's own mutex orders everything this thread wrote to r
	 * before the HTTP thread that takes the connection back. */
	MHD_resume_connection(r->conn);
}

static int offload_done(struct req *r)
{
	return r->offload_rc;
}

static void offload_task(void *arg)
{
	struct req *r = arg;
	r->may_block = 1;
	int rc = r->offload(r);
	if (rc == REQ_SUSPENDED)
		return; /* handed on again: r is someone else's now */
	r->may_block = 0;
	r->offload_rc = rc;
	r->cont = offload_done;
	req_resume(r);
}

int req_offload(struct req *r, int (*fn)(struct req *r))
{
	assert(!r->may_block);
	r->offload = fn;
	r->cont = offload_done;
	suspend_conn(r);
	if (taskpool_run(workers_, offload_task, r) != 0) {
		r->offload_rc = D1E_NOMEM;
		req_resume(r);
	}
	return REQ_SUSPENDED;
}

/* ---- request lifecycle ---- */

struct args_fill {
	struct req *r;
	size_t cap;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind,
				   const char *key, const char *value)
{
	struct args_fill *f = cls;
	(void)kind;
	if (f->r->nargs >= f->cap)
		return MHD_NO;
	struct req_arg *a = &f->r->args[f->r->nargs];
	a->key = arena_strdup(&f->r->arena, key ? key : "");
	a->value = arena_strdup(&f->r->arena, value ? value : "");
	if (!a->key || !a->value)
		return MHD_NO;
	f->r->nargs++;
	return MHD_YES;
}

static struct req *req_new(struct server *srv, struct MHD_Connection *conn,
			   const char *method, const char *url)
{
	struct req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	arena_init(&r->arena);
	jsonw_init(&r->out);
	r->srv = srv;
	r->conn = conn;
	r->start_us = util_mono_us();
	r->resp_fd = -1;
	r->method = arena_strdup(&r->arena, method);
	r->path = arena_strdup(&r->arena, url);
	int n =
	    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, NULL, NULL);
	if (n > 0) {
		struct args_fill f = {r, (size_t)n};
		r->args = arena_alloc(&r->arena, sizeof(*r->args) * (size_t)n);
		if (r->args)
			MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND,
						  collect_arg, &f);
	}
	if (!r->method || !r->path) {
		arena_release(&r->arena);
		free(r);
		return NULL;
	}
	return r;
}

static void req_free(struct req *r)
{
	if (r->cleanup)
		r->cleanup(r);
	if (r->resp_fd >= 0)
		close(r->resp_fd);
	json_decref(r->json);
	jsonw_release(&r->out);
	free(r->body);
	arena_release(&r->arena);
	free(r);
}

static int body_append(struct req *r, const char *data, size_t n)
{
	size_t max = (size_t)r->srv->cfg.max_body_bytes;
	if (r->body_too_large || n > max - r->body_len) {
		r->body_too_large = 1;
		return 0;
	}
	if (r->body_cap - r->body_len < n + 1) {
		size_t cap = r->body_cap ? r->body_cap : 4096;
		while (cap - r->body_len < n + 1)
			cap *= 2;
		char *b = realloc(r->body, cap);
		if (!b)
			return D1E_NOMEM;
		r->body = b;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return 0;
}

/* A header that must be clean: one occurrence, no NUL inside (which
 * libmicrohttpd would silently cut the value at). */
static int clean_header(struct req *r, const char *name, const char **out)
{
	const char *v = NULL;
	size_t len = 0;
	*out = NULL;
	if (MHD_lookup_connection_value_n(r->conn, MHD_HEADER_KIND, name,
					  strlen(name), &v, &len) != MHD_YES)
		return 0;
	if (!v || memchr(v, '\0', len) || strlen(v) != len)
		return req_fail(r, D1E_BAD_REQUEST,
				"Malformed %s header: it contains a NUL byte",
				name);
	*out = v;
	return 0;
}

struct count_ctx {
	const char *name;
	int n;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind,
				    const char *key, const char *value)
{
	struct count_ctx *c = cls;
	(void)kind;
	(void)value;
	if (key && strcasecmp(key, c->name) == 0)
		c->n++;
	return MHD_YES;
}

static int dispatch(struct req *r)
{
	const char *authz, *email, *key;
	struct count_ctx cl = {MHD_HTTP_HEADER_CONTENT_LENGTH, 0};
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &cl);
	if (cl.n > 1) /* how request smuggling starts (RFC 9112 §6.3) */
		return req_fail(r, D1E_BAD_REQUEST,
				"More than one Content-Length header");
	int rc = r->route_rc;
	const struct route *rt = r->route;
	if (!rt)
		return rc;
	if (r->body_too_large)
		return req_fail(
		    r, D1E_BODY_TOO_LARGE,
		    "Request body too large: the limit is %lld bytes",
		    (long long)r->srv->cfg.max_body_bytes);
	if (rt->flags & ROUTE_AUTH) {
		if ((rc = clean_header(r, "Authorization", &authz)) ||
		    (rc = clean_header(r, "X-Auth-Email", &email)) ||
		    (rc = clean_header(r, "X-Auth-Key", &key)))
			return rc;
		rc = auth_authenticate(r->srv->cat, authz, email, key, &r->who);
		if (rc)
			return rc;
		if (r->account_id) {
			rc = auth_authorize(&r->who, r->account_id,
					    rt->flags & ROUTE_WRITE);
			if (rc)
				return rc;
		}
	}
	/* Only a handler that never waits runs here, on the HTTP thread. */
	if (!(rt->flags & ROUTE_NONBLOCKING))
		return req_offload(r, rt->fn);
	return rt->fn(r);
}

static enum MHD_Result send_answer(struct req *r)
{
	static const char oom[] =
	    "{\"result\":null,\"success\":false,\"errors\":[{\"code\":7500,"
	    "\"message\":\"Internal error: out of memory\"}],\"messages\":[]}";
	struct MHD_Response *resp;
	size_t len;
	char *buf = NULL;
	int status = r->status;

	if (r->resp_fd >= 0 && status == 200) {
		/* libmicrohttpd sends it with sendfile() and closes it. */
		resp = MHD_create_response_from_fd64(r->resp_len, r->resp_fd);
		if (!resp)
			return MHD_NO;
		r->resp_fd = -1;
		MHD_add_response_header(resp, "Content-Type", r->resp_type);
		r->bytes_sent = r->resp_len;
		enum MHD_Result ok =
		    MHD_queue_response(r->conn, (unsigned)status, resp);
		MHD_destroy_response(resp);
		return ok;
	}
	buf = jsonw_take(&r->out, &len);
	if (buf) {
		resp = MHD_create_response_from_buffer(len, buf,
						       MHD_RESPMEM_MUST_FREE);
	} else {
		len = sizeof(oom) - 1;
		status = 500;
		resp = MHD_create_response_from_buffer(len, (void *)oom,
						       MHD_RESPMEM_PERSISTENT);
	}
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (r->allow)
		MHD_add_response_header(resp, "Allow", r->allow);
	if (r->etag)
		MHD_add_response_header(resp, "ETag", r->etag);
	r->status = status;
	r->bytes_sent = len;
	enum MHD_Result ok =
	    MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ok;
}

/* What a handler returned, answered (or, suspended, left alone: r is no
 * longer this thread's). */
static enum MHD_Result answer(struct req *r, int rc)
{
	if (rc == REQ_SUSPENDED)
		return MHD_YES;
	if (rc || !r->done)
		write_error(r, rc ? rc : D1E_INTERNAL);
	return send_answer(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct server *srv = cls;
	struct req *r = *con_cls;
	(void)version;

	if (!r) {
		r = req_new(srv, conn, method, url);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		atomic_fetch_add(&srv->inflight, 1);
		/* A route that streams its body sees it piece by piece, with
		 * no cap here: it sets its own limits. */
		/* Matched once, here: dispatch() uses the answer. */
		int rc;
		const struct route *rt = router_match(r, &rc);
		r->route = rt;
		r->route_rc = rc;
		if (rt && router_chunk(rt)) {
			r->chunk = router_chunk(rt);
			rc = r->chunk(r, NULL, 0);
			if (rc) {
				write_error(r, rc);
				return send_answer(r);
			}
			return MHD_YES;
		}
		const char *cl = req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n;
		if (cl && util_parse_u64(cl, UINT64_MAX, &n) == 0 &&
		    n > (uint64_t)srv->cfg.max_body_bytes)
			r->body_too_large = 1; /* discard it as it comes */
		return MHD_YES;
	}
	if (r->cont) {
		/* Resumed: the request is this thread's again. */
		int (*cont)(struct req *) = r->cont;
		r->cont = NULL;
		r->suspended = 0;
		r->may_block = 0;
		atomic_fetch_sub(&nsuspended, 1);
		return answer(r, cont(r));
	}
	if (r->done) {
		/* An early answer is queued; drop whatever else arrives. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size && r->chunk) {
		int rc = r->chunk(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		if (rc) {
			write_error(r, rc);
			return send_answer(r);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		r->body_seen += *upload_data_size;
		if (body_append(r, upload_data, *upload_data_size))
			return MHD_NO;
		*upload_data_size = 0;
		/* A client that will not stop sending gets its 413 now, and the
		 * connection is closed after it. */
		if (r->body_seen >
		    (uint64_t)srv->cfg.max_body_bytes + HTTP_DISCARD_MAX) {
			write_error(
			    r, req_fail(r, D1E_BODY_TOO_LARGE,
					"Request body too large: the "
					"limit is %lld bytes",
					(long long)srv->cfg.max_body_bytes));
			return send_answer(r);
		}
		return MHD_YES;
	}
	return answer(r, dispatch(r));
}

/* ---- the access log ---- */

/* A line being built; the longest (an 800-byte path, numbers, words) fits
 * in its 1024 bytes with room to spare. */
struct logline {
	char *buf;
	size_t len;
};

static void log_put(struct logline *l, const char *s, size_t n)
{
	assert(l->len + n < 1024);
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void log_puts(struct logline *l, const char *s)
{
	log_put(l, s, strnlen(s, 64));
}

/* v in decimal, zero-padded to at least width digits. */
static void log_uint(struct logline *l, uint64_t v, int width)
{
	char b[24], *p = util_utoa_end(v, b + sizeof(b));
	while (b + sizeof(b) - p < width)
		*--p = '0';
	log_put(l, p, (size_t)(b + sizeof(b) - p));
}

/* The time, as util_iso8601() writes it, its seconds part formatted once
 * per second per thread. */
static void log_when(struct logline *l)
{
	static _Thread_local int64_t sec = -1;
	static _Thread_local char head[32]; /* "YYYY-MM-DDTHH:MM:SS" */
	int64_t now = util_now_us();
	if (now / 1000000 != sec) {
		char full[32];
		sec = now / 1000000;
		util_iso8601(now, full);
		memcpy(head, full, 19);
	}
	log_put(l, head, 19);
	log_put(l, ".", 1);
	log_uint(l, (uint64_t)(now % 1000000), 6);
	log_put(l, "Z", 1);
}

/* The request's access-log line: time, method, path, status, bytes sent,
 * duration. One write(2) per line: lines from different threads never
 * interleave (stderr is O_APPEND or a pipe, and a line is short), and no
 * thread waits on stdio's stream lock while another one writes. Formatted
 * by hand (snprintf's %f was 5% of a point SELECT). */
static void log_request(const struct req *r, int client_gone)
{
	char line[1024];
	struct logline l = {line, 0};
	int64_t d = util_mono_us() - r->start_us;
	uint64_t us = d > 0 ? (uint64_t)d : 0;
	log_when(&l);
	log_put(&l, " ", 1);
	log_puts(&l, r->method);
	log_put(&l, " ", 1);
	log_put(&l, r->path, strnlen(r->path, 800));
	log_put(&l, " ", 1);
	log_uint(&l, (uint64_t)(r->status > 0 ? r->status : 0), 1);
	log_put(&l, " ", 1);
	log_uint(&l, r->bytes_sent, 1);
	log_put(&l, " ", 1);
	log_uint(&l, us / 1000, 1);
	log_put(&l, ".", 1);
	log_uint(&l, us % 1000, 3);
	log_put(&l, "ms", 2);
	if (client_gone)
		log_puts(&l, " (client gone)");
	log_put(&l, "\n", 1);
	ssize_t w = write(STDERR_FILENO, line, l.len);
	(void)w; /* nowhere to report a failing log */
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct server *srv = cls;
	struct req *r = *con_cls;
	(void)conn;
	if (!r)
		return;
	/* A resumed connection whose client has gone is closed by
	 * libmicrohttpd before on_request() could take it back. */
	if (r->suspended)
		atomic_fetch_sub(&nsuspended, 1);
	log_request(r, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
	*con_cls = NULL;
	req_free(r);
	atomic_fetch_sub(&srv->inflight, 1);
}

/* ---- daemon ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t http_unescape(char *s)
{
	char *w = s;
	for (const char *r = s; *r;) {
		int hi, lo;
		if (r[0] == '%' && (hi = hexval(r[1])) >= 0 &&
		    (lo = hexval(r[2])) >= 0) {
			int v = hi * 16 + lo;
			if (v != 0 && v != '/') {
				*w++ = (char)v;
				r += 3;
				continue;
			}
		}
		*w++ = *r++;
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* libmicrohttpd's unescape callback, for the path and the query string. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return http_unescape(s);
}

static int open_listener(const struct config *cfg, int *port)
{
	struct addrinfo hints = {0}, *res = NULL;
	char portstr[8];
	int fd = -1, one = 1;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", cfg->listen_port);
	int g = getaddrinfo(cfg->listen_host, portstr, &hints, &res);
	if (g) {
		fprintf(stderr, "d1d: cannot resolve %s: %s\n",
			cfg->listen_host, gai_strerror(g));
		return -1;
	}
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
		    listen(fd, 1024) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "d1d: cannot listen on %s:%d: %m\n",
			cfg->listen_host, cfg->listen_port);
		return -1;
	}
	struct sockaddr_storage ss = {0};
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		close(fd);
		return -1;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 s6;
		memcpy(&s6, &ss, sizeof(s6));
		*port = ntohs(s6.sin6_port);
	} else {
		struct sockaddr_in s4;
		memcpy(&s4, &ss, sizeof(s4));
		*port = ntohs(s4.sin_port);
	}
	return fd;
}

int http_start(struct server *srv, int *port)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nthreads = ncpu < 1 ? 2 : ncpu > 32 ? 64 : 2 * (unsigned)ncpu;
	if (taskpool_new("d1d-worker", HTTP_WORKERS_KEPT, HTTP_MAX_CONNS,
			 &workers_))
		return D1E_NOMEM;
	listen_fd = open_listener(&srv->cfg, port);
	if (listen_fd < 0) {
		taskpool_free(workers_);
		workers_ = NULL;
		return D1E_IO;
	}
	daemon_ = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, listen_fd,
	    MHD_OPTION_THREAD_POOL_SIZE, nthreads, MHD_OPTION_THREAD_STACK_SIZE,
	    (size_t)(1024 * 1024), MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	    srv, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)120, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)HTTP_MAX_CONNS, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)HTTP_CONN_MEMORY, MHD_OPTION_END);
	if (!daemon_) {
		fprintf(stderr, "d1d: cannot start the HTTP server\n");
		close(listen_fd);
		listen_fd = -1;
		taskpool_free(workers_);
		workers_ = NULL;
		return D1E_INTERNAL;
	}
	return 0;
}

static void pause_10ms(void)
{
	struct timespec ts = {0, 10L * 1000 * 1000};
	nanosleep(&ts, NULL);
}

void http_stop(struct server *srv, int drain_ms)
{
	if (!daemon_)
		return;
	/* Stop accepting, let requests under way finish, then close. */
	int fd = MHD_quiesce_daemon(daemon_);
	for (int waited = 0; waited < drain_ms; waited += 10) {
		if (atomic_load(&srv->inflight) == 0)
			break;
		pause_10ms();
	}
	/* A suspended request is in a worker's or a writer's hands (a query
	 * bounded by its time limit, a COMMIT): wait for it to come back, as
	 * the threads of a thread-per-connection server were joined. */
	while (atomic_load(&nsuspended) > 0)
		pause_10ms();
	MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	taskpool_free(workers_);
	workers_ = NULL;
	if (fd >= 0)
		close(fd);
	listen_fd = -1;
}
