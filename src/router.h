/*
 * router.h — the table of API routes and the path matcher.
 */
#ifndef D1D_ROUTER_H
#define D1D_ROUTER_H

#include <stddef.h>

struct req;

typedef int (*route_fn)(struct req *r);

enum {
	ROUTE_AUTH = 1,	 /* needs credentials */
	ROUTE_WRITE = 2, /* needs a token that may write */
	/* Its handler never waits (http.h: it offloads or suspends what
	 * would), so it runs on the HTTP thread; every other handler runs on
	 * a worker thread, where it may block. */
	ROUTE_NONBLOCKING = 4,
};

/* A streamed body: called once with data NULL when the headers are in
 * (to refuse early), then with each piece; fn runs after the last. */
typedef int (*route_chunk_fn)(struct req *r, const char *data, size_t n);

struct route {
	const char *method;
	const char *pattern; /* '/'-separated; ":account", ":db", ":file"
				capture */
	route_fn fn;
	int flags;
};

/* The chunk function of a route that streams its body, or NULL for one
 * whose body is buffered (and capped at max_body_bytes). */
route_chunk_fn router_chunk(const struct route *rt);

/* Find the route for r->method and r->path, capturing path parameters
 * into r (arena-owned). The route returned is static, never freed. Returns the
 * route, or NULL with *rc set to D1E_NO_ROUTE, to D1E_BAD_METHOD with
 * r->allow listing the methods the path has, or to D1E_NOMEM (a capture
 * could not be copied into the arena). */
const struct route *router_match(struct req *r, int *rc);

#endif
