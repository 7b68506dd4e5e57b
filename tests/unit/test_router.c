/* Unit tests of the route table and path matcher. */
#include "apierr.h"
#include "http.h"
#include "router.h"
#include "test.h"

/* Match method and path; returns the rc and leaves captures in *r. */
static int route(struct req *r, const char *method, const char *path,
		 const struct route **out)
{
	memset(r, 0, sizeof(*r));
	arena_init(&r->arena);
	r->method = method;
	r->path = path;
	int rc;
	*out = router_match(r, &rc);
	return rc;
}

TEST(router_matches_and_captures)
{
	struct req r;
	const struct route *rt;
	CHECK(route(&r, "GET", "/client/v4/accounts/abc/d1/database", &rt) ==
	      0);
	CHECK(rt && !(rt->flags & ROUTE_WRITE));
	CHECK_STR(r.account_id, "abc");
	CHECK(r.db_ref == NULL);
	arena_release(&r.arena);

	CHECK(route(&r, "DELETE", "/client/v4/accounts/a/d1/database/my-db",
		    &rt) == 0);
	CHECK(rt && (rt->flags & ROUTE_WRITE));
	CHECK_STR(r.db_ref, "my-db");
	arena_release(&r.arena);

	CHECK(route(&r, "POST", "/client/v4/accounts/a/d1/database/x/raw/",
		    &rt) == 0); /* one trailing slash is fine */
	CHECK_STR(r.db_ref, "x");
	arena_release(&r.arena);

	CHECK(route(&r, "POST", "/client/v4/graphql", &rt) == 0);
	arena_release(&r.arena);
}

TEST(router_404_and_405)
{
	struct req r;
	const struct route *rt;
	CHECK(route(&r, "GET", "/client/v4/nope", &rt) == D1E_NO_ROUTE);
	CHECK(rt == NULL);
	arena_release(&r.arena);
	CHECK(route(&r, "GET", "/v4/accounts/a/d1/database", &rt) ==
	      D1E_NO_ROUTE);
	arena_release(&r.arena);
	CHECK(route(&r, "GET", "/client/v4/accounts//d1/database", &rt) ==
	      D1E_NO_ROUTE);
	arena_release(&r.arena);
	CHECK(route(&r, "GET", "/client/v4/accounts/a/d1/database/b/c/d",
		    &rt) == D1E_NO_ROUTE);
	arena_release(&r.arena);
	CHECK(route(&r, "DELETE", "/client/v4/accounts/a/d1/database", &rt) ==
	      D1E_BAD_METHOD);
	CHECK_STR(r.allow, "GET, POST");
	arena_release(&r.arena);
	CHECK(route(&r, "GET", "/client/v4/accounts/a/d1/database/b/query",
		    &rt) == D1E_BAD_METHOD);
	CHECK_STR(r.allow, "POST");
	arena_release(&r.arena);
}
