/*
 * api.h — the API handlers, one group per api_*.c file. Each takes a routed,
 * authenticated request (http.h) and returns 0 or a D1E_* error.
 */
#ifndef D1D_API_H
#define D1D_API_H

#include "dump.h"

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

/* The body of POST .../export, checked apart from the handler so that it
 * can be fuzzed without HTTP. tables (the array and each name) is
 * malloc'd and freed with api_export_body_free(); opts.tables points at
 * it. key, from r's arena, tells jobs of different options apart;
 * bookmark, pointing into r's parsed body, is the current_bookmark of a
 * poll, or NULL to start an export. */
struct export_body {
	struct dump_opts opts;
	char **tables;
	const char *key;
	const char *bookmark;
};
/* Parses r->body into *b. 0, D1E_NOMEM, or D1E_BAD_REQUEST with a
 * message naming the problem (then *b holds nothing to free). */
int api_export_body(struct req *r, struct export_body *b);
void api_export_body_free(struct export_body *b);

/* api_import.c: POST .../import (init, ingest, poll), and the PUT of an
 * upload to a signed URL, whose body arrives in pieces through
 * api_import_upload_chunk() (data NULL once first, before any piece) and
 * ends with api_import_upload(). */
int api_import(struct req *r);
int api_import_upload_chunk(struct req *r, const char *data, size_t n);
int api_import_upload(struct req *r);

/* The body of POST .../import, checked apart from the handler (for the
 * fuzzer): its action; for init and ingest the etag (32 hex digits,
 * lowercased); for ingest the filename (NULL when it is not a string:
 * the handler compares it with the name init gave); for poll the
 * current_bookmark. The strings point into r's parsed body. 0, or
 * D1E_BAD_REQUEST with a message naming the problem. */
enum import_action { IMPORT_INIT, IMPORT_INGEST, IMPORT_POLL };
struct import_body {
	enum import_action action;
	char etag[33];
	const char *filename;
	const char *bookmark;
};
int api_import_body(struct req *r, struct import_body *b);

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
