/*
 * api.h — the API handlers, one group per api_*.c file. Each takes a routed,
 * authenticated request (http.h) and returns 0 or a D1E_* error.
 */
#ifndef D1D_API_H
#define D1D_API_H

#include <jansson.h>
#include <stddef.h>

struct req;
struct cat_db;

/* Resolve the request's :db path segment (a uuid or a name) within its
 * account: D1E_BAD_REQUEST for a malformed one, D1E_DB_NOT_FOUND. */
int api_find_db(struct req *r, struct cat_db *db);

/* Refuse any key of obj not in allowed (NULL-terminated), naming it after
 * the prefix where ("" at the top level): D1E_BAD_REQUEST. */
int api_only_fields(struct req *r, json_t *obj, const char *const *allowed,
		    const char *where);

/* api_database.c: the database management API. */
int api_database_list(struct req *r);
int api_database_create(struct req *r);
int api_database_get(struct req *r);
int api_database_update(struct req *r); /* PUT */
int api_database_edit(struct req *r);	/* PATCH */
int api_database_delete(struct req *r);

/* The body checks of create, and of PUT (partial = 0) and PATCH (1),
 * apart from the handlers so that they can be fuzzed without HTTP. They
 * parse r->body; create fills db's name, jurisdiction and location hint,
 * update sets *mode to a static string, or NULL when PATCH changes
 * nothing. D1E_BAD_REQUEST with a message naming the problem otherwise. */
int api_database_create_body(struct req *r, struct cat_db *db);
int api_database_update_body(struct req *r, int partial, const char **mode);

/* api_query.c: SQL through /query (rows as objects) and /raw (arrays). */
int api_query(struct req *r);
int api_raw(struct req *r);

/* api_export.c: POST .../export (polling), and GET of a signed export URL
 * (no credentials: the signature is the authorization). */
int api_export(struct req *r);
int api_export_download(struct req *r);

/* api_import.c: POST .../import (init, ingest, poll), and the PUT of an
 * upload to a signed URL, whose body arrives in pieces through
 * api_import_upload_chunk() (data NULL once first, before any piece) and
 * ends with api_import_upload(). */
int api_import(struct req *r);
int api_import_upload_chunk(struct req *r, const char *data, size_t n);
int api_import_upload(struct req *r);

/* How export and import answer a poll: the job's state as `result`. */
struct job_view;
int api_job_answer(struct req *r, const char *type, const struct job_view *v,
		   const char *filename);

/* api_graphql.c: the analytics endpoint wrangler d1 info asks. */
/* Time travel (api_timetravel.c). */
int api_tt_bookmark(struct req *r);
int api_tt_restore(struct req *r);

int api_graphql(struct req *r);

#endif
