/*
 * fuzz_jobbody.c — libFuzzer target for the JSON bodies of export and
 * import: POST .../export (output_format, dump_options with no_data,
 * no_schema and tables, current_bookmark) and POST .../import (action,
 * etag, filename, current_bookmark), through the same checks the handlers
 * run (api_export_body, api_import_body), then the error envelope http.c
 * would send.
 *
 * Input: one byte choosing the endpoint (low bit: 0 export, 1 import),
 * then the body. The oracle, checked against the body as jansson reads it
 * on its own: every body is accepted or refused with D1E_BAD_REQUEST and
 * a message; an accepted body has only the fields its action allows.
 * An accepted export is polling, does not ask for neither data nor
 * schema, names at most 1000 tables, each the body's string, non-empty,
 * without NUL; its key decodes back to exactly its options (so two
 * different option sets never share a job); its bookmark is the body's
 * current_bookmark. An accepted import has a known action; init and
 * ingest have the body's etag, lowercased, as 32 hex digits; ingest's
 * filename is the body's when a string; poll's bookmark is the body's.
 */
#include "api.h"
#include "apierr.h"
#include "http.h"

#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

/* Every key of obj is one of allowed (NULL-terminated). */
static int only(json_t *obj, const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		int i = 0;
		while (allowed[i] && strcmp(allowed[i], k) != 0)
			i++;
		if (!allowed[i])
			return 0;
	}
	return 1;
}

/* The body's string at key, or NULL. */
static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Decode an export key: two digits, then <length>:<name> per table. */
static void check_key(const struct export_body *b)
{
	const char *k = b->key;
	CHECK(k && strlen(k) >= 2);
	CHECK(k[0] == '0' + b->opts.no_data && k[1] == '0' + b->opts.no_schema);
	k += 2;
	for (size_t i = 0; i < b->opts.ntables; i++) {
		char *end;
		unsigned long n = strtoul(k, &end, 10);
		CHECK(end != k && *end == ':');
		CHECK(n == strlen(b->tables[i]));
		CHECK(strncmp(end + 1, b->tables[i], n) == 0);
		k = end + 1 + n;
	}
	CHECK(*k == '\0');
}

static void check_export(const struct export_body *b, json_t *body)
{
	static const char *const top[] = {"output_format", "dump_options",
					  "current_bookmark", NULL};
	static const char *const dopt[] = {"no_data", "no_schema", "tables",
					   NULL};
	CHECK(json_is_object(body) && only(body, top));
	CHECK(str(body, "output_format") &&
	      strcmp(str(body, "output_format"), "polling") == 0);
	json_t *o = json_object_get(body, "dump_options");
	json_t *t = json_object_get(o, "tables");
	CHECK(!o || json_is_null(o) || (json_is_object(o) && only(o, dopt)));
	CHECK(!(b->opts.no_data && b->opts.no_schema));
	CHECK(b->opts.no_data == json_is_true(json_object_get(o, "no_data")));
	CHECK(b->opts.no_schema ==
	      json_is_true(json_object_get(o, "no_schema")));
	CHECK(b->opts.ntables == json_array_size(t));
	CHECK(b->opts.ntables <= 1000);
	CHECK(b->opts.tables == (const char *const *)b->tables);
	for (size_t i = 0; i < b->opts.ntables; i++) {
		json_t *v = json_array_get(t, i);
		CHECK(json_is_string(v) && b->tables[i][0]);
		CHECK(strlen(b->tables[i]) == json_string_length(v));
		CHECK(strcmp(b->tables[i], json_string_value(v)) == 0);
	}
	check_key(b);
	CHECK(b->bookmark == str(body, "current_bookmark"));
}

static void check_import(const struct import_body *b, json_t *body)
{
	static const char *const f_init[] = {"action", "etag", NULL};
	static const char *const f_ingest[] = {"action", "etag", "filename",
					       NULL};
	static const char *const f_poll[] = {"action", "current_bookmark",
					     NULL};
	static const char *const names[] = {"init", "ingest", "poll"};
	static const char *const *const fields[] = {f_init, f_ingest, f_poll};
	CHECK(json_is_object(body));
	CHECK(b->action <= IMPORT_POLL);
	CHECK(str(body, "action") &&
	      strcmp(str(body, "action"), names[b->action]) == 0);
	CHECK(only(body, fields[b->action]));
	if (b->action == IMPORT_POLL) {
		CHECK(b->bookmark &&
		      b->bookmark == str(body, "current_bookmark"));
		CHECK(!b->filename);
		return;
	}
	const char *e = str(body, "etag");
	CHECK(e && strlen(e) == 32 && strlen(b->etag) == 32);
	CHECK(strcasecmp(e, b->etag) == 0);
	for (int i = 0; i < 32; i++)
		CHECK(isxdigit((unsigned char)b->etag[i]) &&
		      !isupper((unsigned char)b->etag[i]));
	CHECK(!b->bookmark);
	CHECK(b->filename ==
	      (b->action == IMPORT_INGEST ? str(body, "filename") : NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req r;
	struct export_body eb;
	struct import_body ib;
	json_error_t je;
	int rc;
	if (size < 1)
		return 0;
	memset(&r, 0, sizeof(r));
	arena_init(&r.arena);
	jsonw_init(&r.out);
	r.body = malloc(size);
	CHECK(r.body);
	memcpy(r.body, data + 1, size - 1);
	r.body[size - 1] = '\0';
	r.body_len = size - 1;

	if (data[0] & 1) {
		rc = api_import_body(&r, &ib);
		if (rc == 0)
			check_import(&ib, r.json);
	} else {
		rc = api_export_body(&r, &eb);
		if (rc == 0) {
			check_export(&eb, r.json);
			api_export_body_free(&eb);
		} else {
			CHECK(!eb.tables);
		}
	}
	if (rc) {
		CHECK(rc == D1E_BAD_REQUEST && r.err_detail && *r.err_detail);
		/* The message goes into the envelope: it must stay JSON. */
		size_t len;
		jsonw_obj_begin(&r.out);
		jsonw_key(&r.out, "message");
		jsonw_str(&r.out, r.err_detail);
		jsonw_obj_end(&r.out);
		char *buf = jsonw_take(&r.out, &len);
		json_t *j = buf ? json_loadb(buf, len, 0, &je) : NULL;
		CHECK(j);
		json_decref(j);
		free(buf);
	}
	json_decref(r.json);
	jsonw_release(&r.out);
	free(r.body);
	arena_release(&r.arena);
	return 0;
}
