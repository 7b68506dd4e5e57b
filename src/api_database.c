/*
 * api_database.c — the database management API: list, create, get, update
 * (PUT), edit (PATCH) and delete, per spec/01-database.md and COMPAT.md.
 *
 * A database is named in paths by its uuid or by its name (wrangler sends
 * either). Names are 1 to 64 characters of letters, digits, '-' and '_', and
 * may not have the shape of a uuid, so that the two never collide. Anything
 * else in that path segment is a 400 (D1's "Invalid uuid"), so a client can
 * tell a malformed reference from a database that does not exist (404).
 *
 * Input is checked strictly: unknown body fields are refused rather than
 * ignored, because a silently ignored field (say a rename through PATCH) is a
 * change the user believes happened and did not.
 */
#include "api.h"

#include "apierr.h"
#include "catalog.h"
#include "dbfile.h"
#include "dbpool.h"
#include "http.h"
#include "jobs.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_DEFAULT_PER_PAGE 1000
#define LIST_MAX_PER_PAGE     10000

/* The D1 object's fields, in the order the API reference lists them. */
enum {
	F_CREATED_AT = 1 << 0,
	F_FILE_SIZE = 1 << 1,
	F_JURISDICTION = 1 << 2,
	F_NAME = 1 << 3,
	F_NUM_TABLES = 1 << 4,
	F_READ_REPLICATION = 1 << 5,
	F_UUID = 1 << 6,
	F_VERSION = 1 << 7,
	F_ALL = (1 << 8) - 1,
	F_LIST = F_CREATED_AT | F_JURISDICTION | F_NAME | F_UUID | F_VERSION,
};

static const struct {
	const char *name;
	unsigned bit;
} field_names[] = {
    {"created_at", F_CREATED_AT},
    {"file_size", F_FILE_SIZE},
    {"jurisdiction", F_JURISDICTION},
    {"name", F_NAME},
    {"num_tables", F_NUM_TABLES},
    {"read_replication", F_READ_REPLICATION},
    {"uuid", F_UUID},
    {"version", F_VERSION},
};

static const char *const jurisdictions[] = {"eu", "fedramp", "us", NULL};
static const char *const location_hints[] = {"wnam", "enam", "weur", "eeur",
					     "apac", "oc",   NULL};

static int name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CAT_NAME_MAX || util_is_uuid(s))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* Index of s (case-insensitively) in the NULL-terminated list, or -1. */
static int one_of(const char *s, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcasecmp(s, list[i]) == 0)
			return i;
	return -1;
}

static void write_db(struct jsonw *w, const struct cat_db *db, unsigned fields,
		     int64_t file_size, int64_t num_tables)
{
	char when[32];
	jsonw_obj_begin(w);
	if (fields & F_CREATED_AT) {
		util_iso8601(db->created_us, when);
		jsonw_key(w, "created_at");
		jsonw_str(w, when);
	}
	if (fields & F_FILE_SIZE) {
		jsonw_key(w, "file_size");
		jsonw_int(w, file_size);
	}
	if (fields & F_JURISDICTION) {
		jsonw_key(w, "jurisdiction");
		jsonw_str(w, db->jurisdiction[0] ? db->jurisdiction : NULL);
	}
	if (fields & F_NAME) {
		jsonw_key(w, "name");
		jsonw_str(w, db->name);
	}
	if (fields & F_NUM_TABLES) {
		jsonw_key(w, "num_tables");
		jsonw_int(w, num_tables);
	}
	if (fields & F_READ_REPLICATION) {
		jsonw_key(w, "read_replication");
		jsonw_obj_begin(w);
		jsonw_key(w, "mode");
		jsonw_str(w, db->read_replication);
		jsonw_obj_end(w);
	}
	if (fields & F_UUID) {
		jsonw_key(w, "uuid");
		jsonw_str(w, db->uuid);
	}
	if (fields & F_VERSION) {
		jsonw_key(w, "version");
		jsonw_str(w, "production");
	}
	jsonw_obj_end(w);
}

/* A dbpool job: the number of user tables (not sqlite_* or _cf_* ones). */
static int count_tables(sqlite3 *db, void *cctx, void *out)
{
	sqlite3_stmt *st = NULL;
	(void)cctx;
	int rc = D1E_IO;
	if (sqlite3_prepare_v2(
		db,
		"SELECT count(*) FROM sqlite_schema "
		"WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
		"ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
		-1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*(int64_t *)out = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Answer with the D1 object, measuring the database only if asked for:
 * its files by stat(), its tables on one of its pooled read connections. */
static int answer_db(struct req *r, const struct cat_db *db, unsigned fields)
{
	int64_t size = 0, tables = 0;
	if (fields & F_FILE_SIZE)
		size = dbfile_size(r->srv->cfg.data_dir, db->uuid);
	if (fields & F_NUM_TABLES) {
		struct dbh *h;
		int rc = dbpool_acquire(r->srv->pool, db->uuid, &h);
		if (rc)
			return rc;
		rc = dbpool_read(h, count_tables, &tables);
		dbpool_release(r->srv->pool, h);
		if (rc)
			return rc;
	}
	write_db(req_result(r), db, fields, size, tables);
	req_done(r);
	return 0;
}

int api_find_db(struct req *r, struct cat_db *db)
{
	const char *ref = r->db_ref;
	if (!util_is_uuid(ref) && !name_ok(ref))
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: databaseId => Invalid uuid "
				"(expected a database uuid or name)");
	int rc = catalog_db_find(r->srv->cat, r->account_id, ref, db);
	if (rc == D1E_DB_NOT_FOUND)
		return req_fail(r, rc, "The database %s could not be found",
				ref);
	return rc;
}

/* `fields` arrives as ?fields=a,b and as ?fields=a&fields=b. */
static int parse_fields(struct req *r, unsigned *out)
{
	unsigned mask = 0;
	int seen = 0;
	for (size_t i = 0; i < r->nargs; i++) {
		if (strcmp(r->args[i].key, "fields") != 0)
			continue;
		seen = 1;
		const char *p = r->args[i].value;
		while (*p) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			size_t k,
			    nf = sizeof(field_names) / sizeof(field_names[0]);
			for (k = 0; k < nf; k++)
				if (strlen(field_names[k].name) == n &&
				    !strncmp(field_names[k].name, p, n))
					break;
			if (n > 0 && k == nf)
				return req_fail(
				    r, D1E_BAD_REQUEST,
				    "Invalid fields: unknown field '%.*s' "
				    "(known: "
				    "created_at, file_size, jurisdiction, "
				    "name, "
				    "num_tables, read_replication, uuid, "
				    "version)",
				    (int)(n > 64 ? 64 : n), p);
			if (n > 0)
				mask |= field_names[k].bit;
			p += n;
			if (*p == ',')
				p++;
		}
	}
	*out = seen && mask ? mask : F_ALL;
	return 0;
}

/* Refuse body fields outside allowed (NULL-terminated). */
int api_only_fields(struct req *r, json_t *obj, const char *const *allowed,
		    const char *where)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		int k;
		for (k = 0; allowed[k]; k++)
			if (strcmp(key, allowed[k]) == 0)
				break;
		if (!allowed[k])
			return req_fail(r, D1E_BAD_REQUEST,
					"Invalid property: %s%.64s => unknown "
					"field",
					where, key);
	}
	return 0;
}

static int parse_page_arg(struct req *r, const char *key, uint64_t dflt,
			  uint64_t max, uint64_t *out)
{
	const char *v;
	int rc = req_arg_once(r, key, &v);
	if (rc)
		return rc;
	*out = dflt;
	if (!v)
		return 0;
	if (util_parse_u64(v, max, out) || *out < 1)
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid query parameter %s: expected a whole "
				"number from 1 to %llu, got '%.32s'",
				key, (unsigned long long)max, v);
	return 0;
}

struct list_ctx {
	struct jsonw *w;
	int64_t count;
};

static int list_one(const struct cat_db *db, void *ctx)
{
	struct list_ctx *l = ctx;
	write_db(l->w, db, F_LIST, 0, 0);
	l->count++;
	return 0;
}

int api_database_list(struct req *r)
{
	uint64_t page, per_page;
	int64_t total = 0;
	const char *name;
	int rc = req_arg_once(r, "name", &name);
	if (!rc)
		rc = parse_page_arg(r, "page", 1, 1000000000, &page);
	if (!rc)
		rc = parse_page_arg(r, "per_page", LIST_DEFAULT_PER_PAGE,
				    LIST_MAX_PER_PAGE, &per_page);
	if (rc)
		return rc;
	if (name && !*name)
		name = NULL;

	struct list_ctx l = {req_result(r), 0};
	jsonw_arr_begin(l.w);
	rc = catalog_db_list(r->srv->cat, r->account_id, name,
			     (int64_t)((page - 1) * per_page),
			     (int64_t)per_page, list_one, &l, &total);
	if (rc)
		return rc;
	jsonw_arr_end(l.w);
	jsonw_key(l.w, "result_info");
	jsonw_obj_begin(l.w);
	jsonw_key(l.w, "count");
	jsonw_int(l.w, l.count);
	jsonw_key(l.w, "page");
	jsonw_int(l.w, (int64_t)page);
	jsonw_key(l.w, "per_page");
	jsonw_int(l.w, (int64_t)per_page);
	jsonw_key(l.w, "total_count");
	jsonw_int(l.w, total);
	jsonw_obj_end(l.w);
	req_done(r);
	return 0;
}

/* An optional string member that must be one of list. */
static int choice(struct req *r, json_t *body, const char *key,
		  const char *const *list, const char *expect, char *out,
		  size_t cap)
{
	json_t *v = json_object_get(body, key);
	out[0] = '\0';
	if (!v || json_is_null(v))
		return 0;
	int k = json_is_string(v) ? one_of(json_string_value(v), list) : -1;
	if (k < 0)
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: %s => expected one of %s",
				key, expect);
	snprintf(out, cap, "%s", list[k]);
	return 0;
}

int api_database_create_body(struct req *r, struct cat_db *db)
{
	static const char *const allowed[] = {"name", "jurisdiction",
					      "primary_location_hint", NULL};
	json_t *body;
	int rc = req_json_object(r, 0, &body);
	if (!rc)
		rc = api_only_fields(r, body, allowed, "");
	if (rc)
		return rc;

	json_t *name = json_object_get(body, "name");
	if (!json_is_string(name))
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: name => %s",
				name ? "expected a string" : "required");
	if (!name_ok(json_string_value(name)))
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: name => must be 1 to 64 "
				"letters, digits, '-' or '_', and not a uuid");
	rc = choice(r, body, "jurisdiction", jurisdictions,
		    "\"eu\", \"fedramp\", \"us\"", db->jurisdiction,
		    sizeof(db->jurisdiction));
	if (!rc)
		rc = choice(r, body, "primary_location_hint", location_hints,
			    "\"wnam\", \"enam\", \"weur\", \"eeur\", \"apac\", "
			    "\"oc\"",
			    db->location_hint, sizeof(db->location_hint));
	if (!rc)
		snprintf(db->name, sizeof(db->name), "%s",
			 json_string_value(name));
	return rc;
}

int api_database_create(struct req *r)
{
	struct cat_db db = {0};
	struct cat_account acct;
	int rc = api_database_create_body(r, &db);
	if (rc)
		return rc;

	rc = catalog_account_get(r->srv->cat, r->account_id, &acct);
	if (rc)
		return rc == D1E_NOT_FOUND ? D1E_ACCOUNT : rc;
	int64_t limit = acct.max_databases >= 0 ? acct.max_databases
						: r->srv->cfg.max_databases;

	snprintf(db.account_id, sizeof(db.account_id), "%s", r->account_id);
	snprintf(db.read_replication, sizeof(db.read_replication), "disabled");
	db.created_us = util_now_us();
	rc = util_uuid_v4(db.uuid);
	if (rc)
		return rc;

	/* File first, catalog second: see dbfile.c. */
	rc = dbfile_create(r->srv->cfg.data_dir, db.uuid);
	if (rc)
		return rc;
	rc = catalog_db_insert(r->srv->cat, &db, limit);
	if (rc) {
		dbfile_remove(r->srv->cfg.data_dir, db.uuid);
		if (rc == D1E_DB_LIMIT)
			return req_fail(r, rc,
					"This account has reached its maximum "
					"number of D1 databases (%lld)",
					(long long)limit);
		return rc;
	}
	return answer_db(r, &db, F_ALL);
}

int api_database_get(struct req *r)
{
	struct cat_db db = {0};
	unsigned fields = F_ALL;
	int rc = parse_fields(r, &fields);
	if (!rc)
		rc = api_find_db(r, &db);
	if (rc)
		return rc;
	/* Counting tables may open the database and wait for a reader: not
	 * on the HTTP thread (http.h). The rest is catalog reads and a stat,
	 * answered at once, before the client could half-close and be lost
	 * while suspended (see http.c). */
	if ((fields & F_NUM_TABLES) && !r->may_block)
		return req_offload(r, api_database_get);
	return answer_db(r, &db, fields);
}

int api_database_update_body(struct req *r, int partial, const char **mode)
{
	static const char *const allowed[] = {"read_replication", NULL};
	static const char *const rr_allowed[] = {"mode", NULL};
	static const char *const modes[] = {"auto", "disabled", NULL};
	json_t *body;
	*mode = NULL;
	int rc = req_json_object(r, partial, &body);
	if (!rc)
		rc = api_only_fields(r, body, allowed, "");
	if (rc)
		return rc;

	json_t *rr = json_object_get(body, "read_replication");
	if (!rr && !partial)
		return req_fail(
		    r, D1E_BAD_REQUEST,
		    "Invalid property: read_replication => required");
	if (!rr)
		return 0;
	if (!json_is_object(rr))
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: read_replication => "
				"expected an object {\"mode\": ...}");
	rc = api_only_fields(r, rr, rr_allowed, "read_replication.");
	if (rc)
		return rc;
	json_t *m = json_object_get(rr, "mode");
	int k = json_is_string(m) ? one_of(json_string_value(m), modes) : -1;
	if (k < 0)
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: read_replication.mode "
				"=> expected \"auto\" or \"disabled\"");
	*mode = modes[k];
	return 0;
}

/* PUT and PATCH: the only mutable property is read_replication.mode. */
static int update(struct req *r, int partial)
{
	struct cat_db db = {0};
	const char *mode;
	int rc = api_database_update_body(r, partial, &mode);
	if (rc)
		return rc;
	rc = api_find_db(r, &db);
	if (rc)
		return rc;
	if (mode) {
		rc = catalog_db_set_replication(r->srv->cat, db.uuid, mode);
		if (rc == D1E_DB_NOT_FOUND)
			return req_fail(r, rc,
					"The database %s could not be found",
					r->db_ref);
		if (rc)
			return rc;
		snprintf(db.read_replication, sizeof(db.read_replication), "%s",
			 mode);
	}
	return answer_db(r, &db, F_ALL);
}

int api_database_update(struct req *r)
{
	return update(r, 0);
}

int api_database_edit(struct req *r)
{
	return update(r, 1);
}

int api_database_delete(struct req *r)
{
	struct cat_db db = {0};
	int rc = api_find_db(r, &db);
	if (rc)
		return rc;
	/* Catalog first, file second: see dbfile.c. Requests that already
	 * hold the database finish first (dbpool_forget waits for them). */
	rc = catalog_db_delete(r->srv->cat, db.uuid);
	if (!rc) {
		/* An import holds the database until it stops. */
		jobs_cancel_db(r->srv->jobs, db.uuid);
		dbpool_forget(r->srv->pool, db.uuid);
	}
	if (rc == D1E_DB_NOT_FOUND)
		return req_fail(r, rc, "The database %s could not be found",
				r->db_ref);
	if (rc)
		return rc;
	rc = dbfile_remove(r->srv->cfg.data_dir, db.uuid);
	if (rc)
		fprintf(stderr,
			"d1d: database %s deleted from the catalog but its "
			"files could not be removed; the next start removes "
			"them\n",
			db.uuid);
	jsonw_null(req_result(r));
	req_done(r);
	return 0;
}
