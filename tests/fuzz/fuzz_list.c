/*
 * fuzz_list.c — libFuzzer target for the query strings of the database
 * API: the raw query string is split and percent-decoded as libmicrohttpd
 * does with d1d's decoder (http_unescape), then handed to the list handler
 * (name, page, per_page) or to the get handler (fields, and the database
 * reference of the path) against a real catalog with a few databases.
 *
 * Input: "L?QUERY" lists; "G<db ref>?QUERY" gets (any other first byte
 * lists too). The oracle: an answer is a success envelope that is valid
 * JSON, or a 4xx error with a message; never a 5xx. The decoder never
 * grows its input and never decodes %00 or %2F.
 */
#include "api.h"
#include "apierr.h"
#include "catalog.h"
#include "dbfile.h"
#include "http.h"
#include "util.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct server srv;
static char account[CAT_ID_LEN + 1];

static void cleanup(void)
{
	dbpool_free(srv.pool);
	catalog_free(srv.cat);
	util_rm_rf(srv.cfg.data_dir);
}

static void setup(void)
{
	static const char *const names[] = {"alpha", "beta", "alpha-2", "g_3"};
	if (config_init(&srv.cfg))
		abort();
	snprintf(srv.cfg.data_dir, sizeof(srv.cfg.data_dir),
		 "/tmp/d1d-fuzz-list-XXXXXX");
	if (!mkdtemp(srv.cfg.data_dir) ||
	    catalog_open(srv.cfg.data_dir, &srv.cat) ||
	    catalog_account_create(srv.cat, "one", "o@example.com", -1,
				   account) ||
	    dbpool_new(srv.cfg.data_dir, 4, 1, 0, NULL, NULL, NULL, &srv.pool))
		abort();
	for (int i = 0; i < 4; i++) {
		struct cat_db db = {0};
		snprintf(db.name, sizeof(db.name), "%s", names[i]);
		snprintf(db.account_id, sizeof(db.account_id), "%s", account);
		snprintf(db.read_replication, sizeof(db.read_replication),
			 "disabled");
		if (util_uuid_v4(db.uuid) ||
		    dbfile_create(srv.cfg.data_dir, db.uuid) ||
		    catalog_db_insert(srv.cat, &db, 100))
			abort();
	}
	atexit(cleanup);
}

/* Decode [s, s+n) into the arena as libmicrohttpd would hand it over. */
static char *decode(struct req *r, const char *s, size_t n)
{
	char *v = arena_strndup(&r->arena, s, n);
	if (!v)
		abort();
	size_t before = strlen(v);
	size_t after = http_unescape(v);
	if (after > before || after != strlen(v))
		abort();
	/* %2F and %00 stay encoded: no '/' appears that was not there. */
	if (strchr(v, '/') && !memchr(s, '/', n))
		abort();
	return v;
}

static void parse_query(struct req *r, const char *q, size_t n)
{
	size_t cap = 1;
	for (size_t i = 0; i < n; i++)
		cap += q[i] == '&';
	r->args = arena_alloc(&r->arena, cap * sizeof(*r->args));
	if (!r->args)
		abort();
	const char *end = q + n;
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *e = amp ? amp : end;
		const char *eq = memchr(q, '=', (size_t)(e - q));
		if (e > q) {
			struct req_arg *a = &r->args[r->nargs++];
			a->key = decode(r, q, (size_t)((eq ? eq : e) - q));
			a->value =
			    eq ? decode(r, eq + 1, (size_t)(e - eq - 1)) : "";
		}
		q = amp ? amp + 1 : end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req r;
	if (!srv.cat)
		setup();
	if (size < 1 || memchr(data, '\0', size))
		return 0; /* a C string never holds a NUL */
	memset(&r, 0, sizeof(r));
	arena_init(&r.arena);
	jsonw_init(&r.out);
	r.srv = &srv;
	r.account_id = account;
	r.may_block = 1; /* as on a worker thread: nothing is handed over */
	const char *s = (const char *)data + 1,
		   *end = (const char *)data + size;
	const char *qm = memchr(s, '?', (size_t)(end - s));
	int get = data[0] == 'G';
	if (get)
		r.db_ref = decode(&r, s, (size_t)((qm ? qm : end) - s));
	if (qm)
		parse_query(&r, qm + 1, (size_t)(end - qm - 1));

	int rc = get ? api_database_get(&r) : api_database_list(&r);
	if (rc == 0) {
		json_error_t e;
		size_t len;
		char *buf = jsonw_take(&r.out, &len);
		json_t *j = buf ? json_loadb(buf, len, 0, &e) : NULL;
		if (!r.done || !j ||
		    !json_is_true(json_object_get(j, "success")))
			abort();
		json_t *res = json_object_get(j, "result");
		if (!get &&
		    (!json_is_array(res) || json_array_size(res) > 10000))
			abort();
		json_decref(j);
		free(buf);
	} else {
		const struct apierr_info *e = apierr_info(rc);
		if (e->http_status < 400 || e->http_status >= 500)
			abort();
		if (rc == D1E_BAD_REQUEST && !r.err_detail)
			abort();
	}
	jsonw_release(&r.out);
	arena_release(&r.arena);
	return 0;
}
