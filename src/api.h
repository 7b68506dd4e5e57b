/*
 * api.h — the API handlers, one group per api_*.c file. Each takes a routed,
 * authenticated request (http.h) and returns 0 or a D1E_* error.
 */
#ifndef D1D_API_H
#define D1D_API_H

struct req;

/* api_database.c: the database management API. */
int api_database_list(struct req *r);
int api_database_create(struct req *r);
int api_database_get(struct req *r);
int api_database_update(struct req *r); /* PUT */
int api_database_edit(struct req *r);	/* PATCH */
int api_database_delete(struct req *r);

/* api_graphql.c: the analytics endpoint wrangler d1 info asks. */
int api_graphql(struct req *r);

#endif
