/*
 * router.c — maps a method and a path to a handler.
 *
 * Every API path starts with /client/v4, which is stripped before matching.
 * The path is cut at its slashes once; a pattern (cut once, at first use)
 * matches a path with as many segments, segment by segment; ":account",
 * ":db" and ":file" capture one non-empty segment each. One trailing slash
 * is tolerated; an empty segment matches nothing. A path that
 * matches some pattern under another method is a 405 (with Allow), any other
 * is a 404, so a client can tell a typo in the path from a wrong verb.
 */
#include "router.h"

#include "api.h"
#include "apierr.h"
#include "http.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>

#define API_PREFIX "/client/v4/"

static const struct route routes[] = {
    {"POST", "graphql", api_graphql, ROUTE_AUTH},
    /* Catalog reads: answered on the HTTP thread. */
    {"GET", "accounts/:account/d1/database", api_database_list,
     ROUTE_AUTH | ROUTE_NONBLOCKING},
    {"POST", "accounts/:account/d1/database", api_database_create,
     ROUTE_AUTH | ROUTE_WRITE},
    {"GET", "accounts/:account/d1/database/:db", api_database_get,
     ROUTE_AUTH | ROUTE_NONBLOCKING},
    {"PUT", "accounts/:account/d1/database/:db", api_database_update,
     ROUTE_AUTH | ROUTE_WRITE},
    {"PATCH", "accounts/:account/d1/database/:db", api_database_edit,
     ROUTE_AUTH | ROUTE_WRITE},
    {"DELETE", "accounts/:account/d1/database/:db", api_database_delete,
     ROUTE_AUTH | ROUTE_WRITE},
    /* A read-only token may query; exec refuses its writing statements. */
    {"POST", "accounts/:account/d1/database/:db/query", api_query,
     ROUTE_AUTH | ROUTE_NONBLOCKING},
    {"POST", "accounts/:account/d1/database/:db/raw", api_raw,
     ROUTE_AUTH | ROUTE_NONBLOCKING},
    /* Exports are reads; a read-only token may make them. */
    {"POST", "accounts/:account/d1/database/:db/export", api_export,
     ROUTE_AUTH},
    {"GET", "accounts/:account/d1/database/:db/time_travel/bookmark",
     api_tt_bookmark, ROUTE_AUTH},
    {"POST", "accounts/:account/d1/database/:db/time_travel/restore",
     api_tt_restore, ROUTE_AUTH | ROUTE_WRITE},
    {"POST", "accounts/:account/d1/database/:db/import", api_import,
     ROUTE_AUTH | ROUTE_WRITE},
    /* Signed URLs: the signature is the credential. */
    {"GET", "d1/signed/export/:db/:file", api_export_download, 0},
    {"PUT", "d1/signed/import/:db/:file", api_import_upload, 0},
};

/* Routes whose body is streamed to their chunk function. */
static const struct {
	route_fn fn;
	route_chunk_fn chunk;
} streams[] = {
    {api_import_upload, api_import_upload_chunk},
};

route_chunk_fn router_chunk(const struct route *rt)
{
	for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++)
		if (streams[i].fn == rt->fn)
			return streams[i].chunk;
	return NULL;
}

#define NROUTES (sizeof(routes) / sizeof(routes[0]))
/* More segments than any pattern has: such a path is a 404 anyway. */
#define MAX_SEGS 8

/* A path or a pattern cut at its slashes. */
struct segs {
	const char *p[MAX_SEGS];
	size_t len[MAX_SEGS];
	int n;
};

/* Cut s (n bytes) at each '/' into out. -1 if a segment is empty or past
 * MAX_SEGS: no pattern matches such a path. */
static int split(const char *s, size_t n, struct segs *out)
{
	const char *end = s + n;
	out->n = 0;
	while (s < end) {
		const char *e = memchr(s, '/', (size_t)(end - s));
		size_t l = e ? (size_t)(e - s) : (size_t)(end - s);
		if (l == 0 || out->n == MAX_SEGS)
			return -1;
		out->p[out->n] = s;
		out->len[out->n++] = l;
		s += l;
		if (e && ++s == end)
			return -1; /* a trailing slash: an empty last segment */
	}
	return out->n ? 0 : -1;
}

/* The patterns, cut once. */
static struct segs pats[NROUTES];
static pthread_once_t pats_once = PTHREAD_ONCE_INIT;

static void pats_init(void)
{
	for (size_t i = 0; i < NROUTES; i++) {
		int rc = split(routes[i].pattern, strlen(routes[i].pattern),
			       &pats[i]);
		assert(rc == 0);
		(void)rc;
	}
}

/* Does the path match pattern i? ":..." segments match any segment. */
static int match(size_t i, const struct segs *path)
{
	const struct segs *pt = &pats[i];
	if (pt->n != path->n)
		return 0;
	for (int k = 0; k < pt->n; k++)
		if (pt->p[k][0] != ':' &&
		    (pt->len[k] != path->len[k] ||
		     memcmp(pt->p[k], path->p[k], path->len[k]) != 0))
			return 0;
	return 1;
}

/* Store the captures of pattern i (which matched) in r. */
static int capture(size_t i, const struct segs *path, struct req *r)
{
	const struct segs *pt = &pats[i];
	for (int k = 0; k < pt->n; k++) {
		if (pt->p[k][0] != ':')
			continue;
		char *v = arena_strndup(&r->arena, path->p[k], path->len[k]);
		if (!v)
			return D1E_NOMEM;
		if (pt->len[k] == 8 && !memcmp(pt->p[k], ":account", 8))
			r->account_id = v;
		else if (pt->len[k] == 5 && !memcmp(pt->p[k], ":file", 5))
			r->file_ref = v;
		else
			r->db_ref = v;
	}
	return 0;
}

const struct route *router_match(struct req *r, int *rc)
{
	const char *path = r->path;
	size_t plen = strlen(API_PREFIX);
	char allow[64] = "";
	/* All zero: clang's analyzer cannot see that split() fills every
	 * segment capture() reads. */
	struct segs ps = {.n = 0};

	pthread_once(&pats_once, pats_init);
	*rc = D1E_NO_ROUTE;
	if (strncmp(path, API_PREFIX, plen) != 0)
		return NULL;
	path += plen;
	size_t n = strlen(path);
	if (n > 0 && path[n - 1] == '/')
		n--;
	if (split(path, n, &ps))
		return NULL;

	/* Routes of the request's method first; the others only for a 405. */
	for (size_t i = 0; i < NROUTES; i++) {
		if (strcmp(routes[i].method, r->method) == 0 && match(i, &ps)) {
			if ((*rc = capture(i, &ps, r)) != 0)
				return NULL;
			return &routes[i];
		}
	}
	for (size_t i = 0; i < NROUTES; i++) {
		if (strcmp(routes[i].method, r->method) == 0 || !match(i, &ps))
			continue;
		if (strlen(allow) + strlen(routes[i].method) + 3 <
		    sizeof(allow)) {
			if (*allow)
				strcat(allow, ", ");
			strcat(allow, routes[i].method);
		}
	}
	if (*allow) {
		*rc = D1E_BAD_METHOD;
		r->allow = arena_strdup(&r->arena, allow);
	}
	return NULL;
}
