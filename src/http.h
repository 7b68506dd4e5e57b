/*
 * http.h — the request as handlers see it, and the HTTP server glue.
 *
 * libmicrohttpd owns the sockets; http.c turns each request into a struct
 * req, routes it (router.c), authenticates it (auth.c), runs its handler and
 * sends what the handler wrote. Handlers never touch libmicrohttpd.
 *
 * A handler returns 0 after writing its result with req_result()/req_done(),
 * or a negative D1E_* code, optionally after req_fail() set a detailed
 * message; the error envelope is then written for it from apierr's table.
 *
 * Or it returns REQ_SUSPENDED, after req_offload() or req_suspend(): the
 * answer comes later. The HTTP threads are few (one per core, each serving
 * many connections), so nothing may wait on them: a handler of a
 * ROUTE_NONBLOCKING route starts there (r->may_block is 0) and hands
 * whatever would wait to a worker thread (req_offload) or to whoever will
 * finish it (req_suspend: a write waits for its group's COMMIT without any
 * thread); every other handler runs on a worker thread from the start
 * (r->may_block is 1). Meanwhile the connection is suspended: it costs no
 * thread and the HTTP thread serves other connections.
 */
#ifndef D1D_HTTP_H
#define D1D_HTTP_H

#include "arena.h"
#include "catalog.h"
#include "jsonw.h"
#include "server.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct MHD_Connection;

struct req_arg {
	const char *key, *value; /* arena-owned */
};

#define REQ_MAX_PARAMS 4

struct req {
	struct arena arena; /* everything below that is a pointer lives here */
	struct server *srv;
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	int64_t start_us;

	struct req_arg *args; /* query string arguments, in order */
	size_t nargs;

	/* Path parameters captured by the router (":account", ":db"). */
	const char *account_id;
	const char *db_ref;
	const char *file_ref; /* ":file" (signed URLs) */

	/* A route that streams its body (router.h: chunk) gets each piece
	 * here instead of in body; stream_ctx is its own, and cleanup (if
	 * set) runs when the request ends, however it ends. */
	int (*chunk)(struct req *r, const char *data, size_t n);
	void *stream_ctx;
	void (*cleanup)(struct req *r);

	char *body; /* malloc'd request body, NUL-terminated */
	size_t body_len, body_cap;
	int body_too_large;
	uint64_t body_seen; /* bytes received, kept or not */
	json_t *json;	    /* parsed body; decref'd when the request ends */

	struct cat_principal who; /* after authentication */

	/* Suspension (req_offload, req_suspend); see http.c. */
	int may_block; /* running on a worker thread, where waiting is fine */
	int suspended; /* the connection is suspended */
	int (*cont)(struct req *r);    /* runs at the resumption */
	int (*offload)(struct req *r); /* runs on the worker */
	int offload_rc;
	void *handler_ctx; /* the handler's own state across threads */

	/* The answer. */
	int status;
	struct jsonw out;
	const char *allow; /* Allow header for a 405 */
	/* router_match()'s answer, made at the request's first callback. */
	const struct route *route;
	int route_rc;
	const char *etag; /* ETag header, if set */
	/* A file as the answer instead of r->out (req_file). */
	int resp_fd; /* owned by the request once set, -1 when none */
	uint64_t resp_len;
	const char *resp_type;
	const char *err_detail; /* message for the error envelope */
	size_t bytes_sent;
	int done;
};

/* The value of query argument key in *out (NULL if absent), owned by the
 * request's arena. An argument given twice is a D1E_BAD_REQUEST with a
 * message: page=1&page=2 has no one meaning. */
int req_arg_once(struct req *r, const char *key, const char **out);

/* A request header, or NULL. Owned by libmicrohttpd: valid until the
 * request ends. */
const char *req_header(const struct req *r, const char *name);

/* Parse the body as a JSON object into r->json (owned by the request,
 * which decrefs it when it ends; the caller must not).
 * An empty body is allowed when empty_ok, and yields an empty object.
 * D1E_BAD_REQUEST with a message naming the problem otherwise. */
int req_json_object(struct req *r, int empty_ok, json_t **out);

/* Set the message of the error the handler is about to return, printf
 * style; returns rc so that handlers can `return req_fail(r, rc, ...)`. */
int req_fail(struct req *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Start a success envelope; the returned writer is positioned for the
 * value of "result". The handler may add more top-level keys (such as
 * "result_info") after the result, then calls req_done(). The writer is
 * r->out, owned by the request. */
struct jsonw *req_result(struct req *r);
void req_done(struct req *r);

/* What a handler returns when its answer comes later (never a D1E_*). */
#define REQ_SUSPENDED 1

/* Run fn(r) on a worker thread, with r->may_block set; what fn returns
 * counts as the handler's return (it may be REQ_SUSPENDED again). Returns
 * REQ_SUSPENDED, for the handler to return at once: r is no longer its
 * own. */
int req_offload(struct req *r, int (*fn)(struct req *r));

/* The answer will come from another thread: the connection waits, without
 * a thread, until someone calls req_resume(r) (exactly once, from any
 * thread, possibly before this handler returns); then cont(r) runs on an
 * HTTP thread (r->may_block 0) and what it returns counts as the
 * handler's. Returns REQ_SUSPENDED, for the handler to return; once it has
 * handed r to whoever resumes it, the handler must not touch r. */
int req_suspend(struct req *r, int (*cont)(struct req *r));
void req_resume(struct req *r);

/* Percent-decode s in place, as libmicrohttpd's unescape callback for the
 * path and the query string, except that %00 and %2F stay as they are: a
 * decoded NUL would cut the path short (DELETE .../victim%00x would
 * address "victim"), and a decoded '/' would add a path segment. Left
 * encoded, they make the segment an invalid name, which is refused.
 * Returns the new length. */
size_t http_unescape(char *s);

/* Answer with the len bytes of the open file fd (the request takes it
 * and closes it), sent straight from the file: nothing is read into
 * memory. type is the Content-Type (static or arena-owned). */
void req_file(struct req *r, int fd, uint64_t len, const char *type);

/* Start serving; returns 0 once the socket listens, with the bound port
 * written to *port. http_stop() drains in-flight requests (at most
 * drain_ms) and stops. */
int http_start(struct server *srv, int *port);
void http_stop(struct server *srv, int drain_ms);

#endif
