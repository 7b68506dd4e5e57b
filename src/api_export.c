/*
 * api_export.c — POST .../export and the download of its file.
 *
 * The first request (no current_bookmark) pins a snapshot: a read-only
 * connection of the export's own, opened on the database file, begins a
 * read transaction at the last commit (dbpool_pin_snapshot), whose
 * bookmark becomes the answer's at_bookmark. A job (jobs.c) then writes
 * the dump (dump.c) from that snapshot to DATA_DIR/exports/<db>-<job>.sql
 * while queries and writes go on (WAL: the snapshot stays as it was). The
 * client polls with current_bookmark = at_bookmark and the same
 * dump_options; a poll finds its job by database, bookmark and options.
 * On completion the answer carries a signed URL for GET
 * /client/v4/d1/signed/export/<db>/<file>, valid for the jobs' TTL (one
 * hour), which the sweeper removes afterwards.
 *
 * Durability. The file is not fsynced before the job completes: it is a
 * temporary copy that an export makes again from the database at will,
 * clients download it at once, and an fsync would cost the time to write
 * all of it to the disk (as long as the dump itself, for a large
 * database) on the path to "complete"; `sqlite3 db .dump > file` does not
 * sync either. A crash of the process loses nothing (the page cache keeps
 * the file). A crash of the machine can leave a completed file shorter
 * than it was, for the few seconds until the kernel writes it back; so
 * its name carries its size (<db>-<job>-<bytes>.sql, signed into the URL
 * like the rest of the path), and a download of a file of another size
 * is refused as incomplete rather than served cut short.
 */
#include "api.h"

#include "apierr.h"
#include "catalog.h"
#include "dbfile.h"
#include "dbpool.h"
#include "dump.h"
#include "http.h"
#include "jobs.h"
#include "signurl.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXPORT_POLL_MS	  1000
#define EXPORT_MAX_TABLES 1000
#define EXPORT_MAX_NAME	  1024

struct export_ctx {
	sqlite3 *conn; /* in the pinned read transaction */
	/* The database stays acquired while conn is open, so that a restore
	 * (which rewrites the file with every connection closed) waits. */
	struct dbpool *pool;
	struct dbh *h;
	char db[40];
	char dir[1100];
	char base_url[600];
	const struct signer *signer;
	int64_t ttl_s;
	struct export_body body; /* its options */
	struct job *job;
};

/* End the snapshot and let the database go. */
static void close_snapshot(struct export_ctx *x)
{
	if (x->conn) {
		sqlite3_exec(x->conn, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(x->conn);
		x->conn = NULL;
	}
	if (x->h) {
		dbpool_release(x->pool, x->h);
		x->h = NULL;
	}
}

static void export_free(void *arg)
{
	struct export_ctx *x = arg;
	close_snapshot(x);
	api_export_body_free(&x->body);
	free(x);
}

static void on_progress(void *ctx, const char *table, int64_t rows)
{
	struct export_ctx *x = ctx;
	if (rows == 0)
		job_message(x->job, "Exporting table %s", table);
}

__attribute__((format(printf, 2, 3))) static void on_note(void *ctx,
							  const char *fmt, ...)
{
	struct export_ctx *x = ctx;
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	/* The analyzer loses track of va_start here (a false positive). */
	vsnprintf(msg, sizeof(msg), fmt, ap); // NOLINT(clang-analyzer-valist.*)
	va_end(ap);
	job_message(x->job, "%s", msg);
}

static void export_run(struct job *j, void *arg)
{
	struct export_ctx *x = arg;
	char file[200], part[1420], path[1400], err[1024];
	char url[2048], upath[400];
	int64_t bytes = 0;
	struct dump_progress pr = {on_progress, x, job_cancel_flag(j),
				   job_cancel_why(j), on_note};
	x->job = j;
	snprintf(part, sizeof(part), "%s/%s-%s.sql.part", x->dir, x->db,
		 job_id(j));
	job_message(j, "Starting export...");
	int fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		job_error(j, errno == ENOSPC || errno == EDQUOT
				 ? "Storage full: the server has no disk "
				   "space left for the export file; try "
				   "again when there is"
				 : "Storage failure: cannot create the export "
				   "file");
		return;
	}
	int rc = dump_write(x->conn, &x->body.opts, fd, &pr, &bytes, err,
			    sizeof(err));
	if (close(fd) != 0 && !rc) {
		rc = D1E_IO;
		snprintf(err, sizeof(err),
			 "Storage failure: the export file could not be "
			 "written");
	}
	/* The snapshot is no longer needed: let checkpoints move on. */
	close_snapshot(x);
	/* Its size in its name: see "Durability" above. */
	snprintf(file, sizeof(file), "%s-%s-%lld.sql", x->db, job_id(j),
		 (long long)bytes);
	snprintf(path, sizeof(path), "%s/%s", x->dir, file);
	if (!rc && rename(part, path) != 0) {
		rc = D1E_IO;
		snprintf(err, sizeof(err),
			 "Storage failure: the export file could not be "
			 "written");
	}
	if (rc) {
		unlink(part);
		job_error(j, err[0] ? err : "Internal error");
		return;
	}
	snprintf(upath, sizeof(upath), "/client/v4/d1/signed/export/%s/%s",
		 x->db, file);
	if (signurl_make(x->signer, x->base_url, "GET", upath,
			 util_now_us() / 1000000 + x->ttl_s, url,
			 sizeof(url))) {
		unlink(path);
		job_error(j, "Internal error: cannot sign the URL");
		return;
	}
	json_t *res =
	    json_pack("{s:s, s:s}", "filename", file, "signed_url", url);
	char *json = res ? json_dumps(res, JSON_COMPACT) : NULL;
	json_decref(res);
	if (!json) {
		unlink(path);
		job_error(j, "Internal error: out of memory");
		return;
	}
	job_message(j, "Export complete: %lld bytes.", (long long)bytes);
	job_complete(j, json, path);
	free(json);
}

int api_job_answer(struct req *r, const char *type, const struct job_view *v,
		   const char *filename)
{
	static const char *const states[] = {"active", "complete", "error"};
	struct jsonw *w = req_result(r);
	jsonw_obj_begin(w);
	jsonw_key(w, "success");
	jsonw_bool(w, v->state != JOB_ERROR);
	jsonw_key(w, "type");
	jsonw_str(w, type);
	jsonw_key(w, "at_bookmark");
	jsonw_str(w, v->bookmark);
	if (filename) {
		jsonw_key(w, "filename");
		jsonw_str(w, filename);
	}
	jsonw_key(w, "status");
	jsonw_str(w, states[v->state]);
	jsonw_key(w, "messages");
	jsonw_arr_begin(w);
	for (size_t i = 0; i < v->nmsgs; i++)
		jsonw_str(w, v->msgs[i]);
	if (v->state == JOB_ERROR && v->error)
		jsonw_str(w, v->error);
	jsonw_arr_end(w);
	if (v->state == JOB_ERROR) {
		jsonw_key(w, "error");
		jsonw_str(w, v->error ? v->error : "Internal error");
	}
	if (v->state == JOB_COMPLETE && v->result_json) {
		jsonw_key(w, "result");
		jsonw_raw(w, v->result_json, strlen(v->result_json));
	}
	jsonw_obj_end(w);
	req_done(r);
	return 0;
}

void api_export_body_free(struct export_body *b)
{
	for (size_t i = 0; b->tables && i < b->opts.ntables; i++)
		free(b->tables[i]);
	free(b->tables);
	b->tables = NULL;
	b->opts.tables = NULL;
	b->opts.ntables = 0;
}

/* dump_options into b->opts and b->tables. */
static int parse_dump_options(struct req *r, json_t *o, struct export_body *b)
{
	static const char *const dopt[] = {"no_data", "no_schema", "tables",
					   NULL};
	static const char *const flags[] = {"no_data", "no_schema"};
	int *dst[] = {&b->opts.no_data, &b->opts.no_schema};
	json_t *t, *v;
	size_t i;
	if (!json_is_object(o))
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: dump_options => expected "
				"an object");
	int rc = api_only_fields(r, o, dopt, "dump_options.");
	if (rc)
		return rc;
	for (i = 0; i < 2; i++) {
		json_t *f = json_object_get(o, flags[i]);
		if (f && !json_is_boolean(f) && !json_is_null(f))
			return req_fail(r, D1E_BAD_REQUEST,
					"Invalid property: dump_options.%s => "
					"expected a boolean",
					flags[i]);
		*dst[i] = json_is_true(f);
	}
	if (b->opts.no_data && b->opts.no_schema)
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: dump_options => no_data and "
				"no_schema together leave nothing to export");
	t = json_object_get(o, "tables");
	if (t && !json_is_null(t) &&
	    (!json_is_array(t) || json_array_size(t) > EXPORT_MAX_TABLES))
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: dump_options.tables => "
				"expected an array of at most %d table names",
				EXPORT_MAX_TABLES);
	size_t n = json_is_array(t) ? json_array_size(t) : 0;
	b->tables = calloc(n ? n : 1, sizeof(*b->tables));
	if (!b->tables)
		return D1E_NOMEM;
	b->opts.tables = (const char *const *)b->tables;
	json_array_foreach(t, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > EXPORT_MAX_NAME ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return req_fail(r, D1E_BAD_REQUEST,
					"Invalid property: "
					"dump_options.tables[%zu] => expected "
					"a table name",
					i);
		if (!(b->tables[i] = strdup(json_string_value(v))))
			return D1E_NOMEM;
		b->opts.ntables = i + 1;
	}
	return 0;
}

/* The key of b's options: no_data and no_schema as two digits, then each
 * table as <length>:<name>, so that no two lists of names share a key. */
static const char *options_key(struct arena *a, const struct export_body *b)
{
	const char *k =
	    arena_printf(a, "%d%d", b->opts.no_data, b->opts.no_schema);
	for (size_t i = 0; k && i < b->opts.ntables; i++)
		k = arena_printf(a, "%s%zu:%s", k, strlen(b->tables[i]),
				 b->tables[i]);
	return k;
}

int api_export_body(struct req *r, struct export_body *b)
{
	static const char *const top[] = {"output_format", "dump_options",
					  "current_bookmark", NULL};
	json_t *body, *fmt, *o, *cur;
	memset(b, 0, sizeof(*b));
	int rc = req_json_object(r, 0, &body);
	if (!rc)
		rc = api_only_fields(r, body, top, "");
	if (rc)
		goto out;
	fmt = json_object_get(body, "output_format");
	if (!json_is_string(fmt) ||
	    strcmp(json_string_value(fmt), "polling") != 0) {
		rc = req_fail(r, D1E_BAD_REQUEST,
			      "Invalid property: output_format => expected "
			      "\"polling\"");
		goto out;
	}
	o = json_object_get(body, "dump_options");
	if (o && !json_is_null(o) && (rc = parse_dump_options(r, o, b)))
		goto out;
	cur = json_object_get(body, "current_bookmark");
	if (cur && !json_is_null(cur) && !json_is_string(cur)) {
		rc = req_fail(r, D1E_BAD_REQUEST,
			      "Invalid property: current_bookmark => expected "
			      "a string");
		goto out;
	}
	b->bookmark = json_string_value(cur);
	if (!(b->key = options_key(&r->arena, b)))
		rc = D1E_NOMEM;
out:
	if (rc)
		api_export_body_free(b);
	return rc;
}

/* Open the export's own connection on a snapshot of h. */
static int pin(struct dbh *h, struct export_ctx *x, char *bookmark)
{
	int on = 1, off = 0;
	if (sqlite3_open_v2(dbpool_path(h), &x->conn,
			    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			    dbfile_vfs()) != SQLITE_OK)
		return D1E_IO;
	/* The schema is the user's: nothing in it runs with trust. */
	sqlite3_db_config(x->conn, SQLITE_DBCONFIG_DEFENSIVE, on, NULL);
	sqlite3_db_config(x->conn, SQLITE_DBCONFIG_TRUSTED_SCHEMA, off, NULL);
	sqlite3_db_config(x->conn, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, off,
			  NULL);
	sqlite3_busy_timeout(x->conn, 5000);
	return dbpool_pin_snapshot(h, x->conn, bookmark);
}

int api_export(struct req *r)
{
	struct cat_db db = {0};
	struct job_view v;
	struct job *j = NULL;
	struct dbh *h = NULL;
	char bookmark[DBPOOL_BOOKMARK_SIZE];
	struct export_ctx *x = calloc(1, sizeof(*x));
	int rc = x ? api_export_body(r, &x->body) : D1E_NOMEM;
	if (!rc)
		rc = api_find_db(r, &db);
	if (rc)
		goto out;
	const char *key = x->body.key, *cur = x->body.bookmark;

	if (cur) {
		j = jobs_find(r->srv->jobs, JOB_EXPORT, db.uuid, cur, key, 0);
		if (!j) {
			rc = req_fail(r, D1E_BAD_REQUEST,
				      "No export of database %s with these "
				      "dump_options at bookmark %.64s: it "
				      "ended over an hour ago or never "
				      "began; start a new one without "
				      "current_bookmark",
				      db.uuid, cur);
			goto out;
		}
		rc = jobs_poll(r->srv->jobs, j, EXPORT_POLL_MS, &r->arena, &v);
		goto answer;
	}

	rc = dbpool_acquire(r->srv->pool, db.uuid, &h);
	if (rc)
		goto out;
	x->pool = r->srv->pool;
	x->h = h; /* released by close_snapshot() */
	rc = pin(h, x, bookmark);
	if (rc)
		goto out;
	snprintf(x->db, sizeof(x->db), "%s", db.uuid);
	snprintf(x->dir, sizeof(x->dir), "%s",
		 jobs_dir(r->srv->jobs, JOB_EXPORT));
	snprintf(x->base_url, sizeof(x->base_url), "%s", r->srv->base_url);
	x->signer = r->srv->signer;
	x->ttl_s = jobs_ttl_s(r->srv->jobs);
	rc = jobs_start(r->srv->jobs, JOB_EXPORT, db.uuid, bookmark, key,
			export_run, export_free, x, &j);
	x = NULL; /* the job's now, or freed */
	if (rc == D1E_BAD_REQUEST)
		rc = req_fail(r, rc,
			      "Too many exports and imports are running; "
			      "try again when one has finished");
	if (rc)
		goto out;
	/* The first answer comes at once: the job has just begun. */
	rc = jobs_poll(r->srv->jobs, j, 0, &r->arena, &v);
answer:
	if (!rc)
		rc = api_job_answer(r, "export", &v, NULL);
out:
	jobs_put(r->srv->jobs, j);
	if (x)
		export_free(x);
	return rc;
}

int api_export_download(struct req *r)
{
	const char *exp, *sig, *why;
	char path[1400];
	struct stat st;
	int rc = req_arg_once(r, "expires", &exp);
	if (!rc)
		rc = req_arg_once(r, "sig", &sig);
	if (rc)
		return rc;
	rc = signurl_check(r->srv->signer, "GET", r->path, exp, sig,
			   util_now_us() / 1000000, &why);
	if (rc)
		return req_fail(r, rc, "Invalid signed URL: %s", why);
	/* Signed by us, so the names are ours; checked all the same. */
	const char *f = r->file_ref, *size = strrchr(f, '-');
	size_t fl = strlen(f);
	if (!util_is_uuid(r->db_ref) || fl < 5 || !size ||
	    strcmp(f + fl - 4, ".sql") != 0 ||
	    strspn(f, "0123456789abcdef-") != fl - 4 ||
	    strncmp(f, r->db_ref, strlen(r->db_ref)) != 0)
		return req_fail(r, D1E_BAD_SIGNATURE,
				"Invalid signed URL: not an export file");
	size++; /* the size in the name, after the job's id */
	snprintf(path, sizeof(path), "%s/%s",
		 jobs_dir(r->srv->jobs, JOB_EXPORT), f);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return req_fail(r, D1E_NOT_FOUND,
				"The export file %s is gone (exports are kept "
				"for an hour)",
				f);
	}
	if (strtoll(size, NULL, 10) != (long long)st.st_size) {
		close(fd);
		return req_fail(r, D1E_NOT_FOUND,
				"The export file %s is incomplete (the machine "
				"stopped before it reached the disk); export "
				"again",
				f);
	}
	req_file(r, fd, (uint64_t)st.st_size, "application/sql");
	return 0;
}
