/*
 * fuzz_dbbody.c — libFuzzer target for the JSON bodies of the database
 * management API: create (POST), PUT and PATCH, through the same checks
 * the handlers run (api_database_create_body, api_database_update_body),
 * then the error envelope http.c would send.
 *
 * Input: one byte choosing the endpoint (low two bits: 0 create, 1 PUT,
 * 2 PATCH, 3 create), then the body. The oracle: every body is accepted or
 * refused with D1E_BAD_REQUEST and a message; an accepted create has a
 * valid name and a known jurisdiction and location hint; an accepted PUT
 * has a mode; the envelope is valid JSON.
 */
#include "api.h"
#include "apierr.h"
#include "catalog.h"
#include "http.h"
#include "util.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 64 || util_is_uuid(s))
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-_") == n;
}

static int in(const char *s, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const juris[] = {"", "eu", "fedramp", "us", NULL};
	static const char *const hints[] = {"",	    "wnam", "enam", "weur",
					    "eeur", "apac", "oc",   NULL};
	static const char *const modes[] = {"auto", "disabled", NULL};
	struct req r;
	struct cat_db db;
	const char *mode = NULL;
	int rc;
	if (size < 1)
		return 0;
	memset(&r, 0, sizeof(r));
	memset(&db, 0, sizeof(db));
	arena_init(&r.arena);
	jsonw_init(&r.out);
	r.body = malloc(size);
	if (!r.body)
		abort();
	memcpy(r.body, data + 1, size - 1);
	r.body[size - 1] = '\0';
	r.body_len = size - 1;

	int which = data[0] & 3;
	if (which == 1 || which == 2) {
		rc = api_database_update_body(&r, which == 2, &mode);
		if (rc == 0 &&
		    ((which == 1 && !mode) || (mode && !in(mode, modes))))
			abort();
	} else {
		rc = api_database_create_body(&r, &db);
		if (rc == 0 &&
		    (!name_valid(db.name) || !in(db.jurisdiction, juris) ||
		     !in(db.location_hint, hints)))
			abort();
	}
	if (rc != 0 &&
	    (rc != D1E_BAD_REQUEST || !r.err_detail || !*r.err_detail))
		abort();
	if (rc) {
		/* The message goes into the envelope: it must stay JSON. */
		json_error_t e;
		size_t len;
		jsonw_obj_begin(&r.out);
		jsonw_key(&r.out, "message");
		jsonw_str(&r.out, r.err_detail);
		jsonw_obj_end(&r.out);
		char *buf = jsonw_take(&r.out, &len);
		json_t *j = buf ? json_loadb(buf, len, 0, &e) : NULL;
		if (!j)
			abort();
		json_decref(j);
		free(buf);
	}
	json_decref(r.json);
	jsonw_release(&r.out);
	free(r.body);
	arena_release(&r.arena);
	return 0;
}
