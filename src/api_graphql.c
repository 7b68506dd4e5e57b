/*
 * api_graphql.c — POST /client/v4/graphql.
 *
 * `wrangler d1 info` asks Cloudflare's GraphQL analytics API for a
 * database's read and write counts and fails on anything but JSON. d1d does
 * not implement GraphQL; it answers every query with {"data": null}, which
 * wrangler accepts (it then shows no analytics). Real figures can come once
 * query statistics are kept.
 */
#include "api.h"

#include "http.h"

int api_graphql(struct req *r)
{
	json_t *body;
	int rc = req_json_object(r, 0, &body);
	if (rc)
		return rc;
	struct jsonw *w = &r->out;
	jsonw_release(w);
	jsonw_obj_begin(w);
	jsonw_key(w, "data");
	jsonw_null(w);
	jsonw_key(w, "errors");
	jsonw_null(w);
	jsonw_obj_end(w);
	r->status = 200;
	r->done = 1;
	return 0;
}
