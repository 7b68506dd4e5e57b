/*
 * router.c — maps a method and a path to a handler.
 *
 * Every API path starts with /client/v4, which is stripped before matching.
 * A pattern is matched segment by segment; ":account" and ":db" capture one
 * non-empty segment each. One trailing slash is tolerated. A path that
 * matches some pattern under another method is a 405 (with Allow), any other
 * is a 404, so a client can tell a typo in the path from a wrong verb.
 */
#include "router.h"

#include "api.h"
#include "apierr.h"
#include "http.h"

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

/* Match path (without prefix, without trailing slash, length n) against
 * pattern; on success store captures in r when capture is set. */
static int match(const char *pattern, const char *path, size_t n, struct req *r,
		 int capture)
{
	const char *p = pattern, *s = path, *end = path + n;
	while (*p) {
		const char *pe = strchr(p, '/');
		size_t pl = pe ? (size_t)(pe - p) : strlen(p);
		if (s >= end)
			return 0;
		const char *se = memchr(s, '/', (size_t)(end - s));
		size_t sl = se ? (size_t)(se - s) : (size_t)(end - s);
		if (sl == 0)
			return 0;
		if (p[0] == ':') {
			if (capture) {
				char *v = arena_strndup(&r->arena, s, sl);
				if (!v)
					return 0;
				if (pl == 8 && !strncmp(p, ":account", 8))
					r->account_id = v;
				else if (pl == 5 && !strncmp(p, ":file", 5))
					r->file_ref = v;
				else
					r->db_ref = v;
			}
		} else if (pl != sl || memcmp(p, s, sl) != 0) {
			return 0;
		}
		p += pl;
		s += sl;
		if (*p == '/') {
			p++;
			if (s >= end || *s != '/')
				return 0;
			s++;
		}
	}
	return s == end;
}

const struct route *router_match(struct req *r, int *rc)
{
	const char *path = r->path;
	size_t plen = strlen(API_PREFIX);
	char allow[64] = "";

	*rc = D1E_NO_ROUTE;
	if (strncmp(path, API_PREFIX, plen) != 0)
		return NULL;
	path += plen;
	size_t n = strlen(path);
	if (n > 0 && path[n - 1] == '/')
		n--;

	/* Routes of the request's method first, so that a request walks
	 * the patterns of one method only; the others only for a 405. */
	for (size_t i = 0; i < NROUTES; i++) {
		if (strcmp(routes[i].method, r->method) == 0 &&
		    match(routes[i].pattern, path, n, r, 0)) {
			match(routes[i].pattern, path, n, r, 1);
			*rc = 0;
			return &routes[i];
		}
	}
	for (size_t i = 0; i < NROUTES; i++) {
		if (strcmp(routes[i].method, r->method) == 0 ||
		    !match(routes[i].pattern, path, n, r, 0))
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
