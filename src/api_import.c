/*
 * api_import.c — POST .../import (init, ingest, poll) and the upload.
 *
 * The flow is wrangler's (COMPAT.md §1 "Import flow"):
 *
 *   init {etag}        the file's MD5 names it: <db>-<etag>.sql. If that
 *                      file is already uploaded, the import starts at once
 *                      and the answer is its first poll; else the answer
 *                      is {filename, upload_url}, a signed PUT URL.
 *   PUT upload_url     the body streams to DATA_DIR/imports/<name>.part.*
 *                      (never held in memory, at most --max-upload-bytes),
 *                      hashed as it comes; the answer's ETag is its MD5.
 *                      Only a file whose MD5 is the etag becomes <name>
 *                      (after fsync, by rename); another leaves a small
 *                      <db>-<etag>.mismatch note for ingest to report.
 *                      A write or fsync that fails (a full disk: 507;
 *                      another error: 500) removes the .part at once;
 *                      the rest of the body is read and dropped, so that
 *                      the client is still listening for the answer.
 *   ingest {etag, filename}  starts the import of <name>.
 *   poll {current_bookmark}  how it goes; held up to a second while it
 *                      runs, since wrangler polls back to back.
 *
 * An import is a job (jobs.c) that holds the database's writer for its
 * whole length as ONE write job (dbpool_import_write), so it is one
 * transaction and one commit: any failure leaves the database as it was.
 * While it runs, writes to the database fail with "Currently processing a
 * long-running import." (dbpool_import_begin); reads go on. The statements
 * are read and run by ingest.c under the /query sandbox; the file's MD5 is
 * checked once more as it is read, before the commit. The uploaded file is
 * removed when the import ends, whatever the outcome, and otherwise by the
 * sweeper an hour after the upload. Filenames come from the database's
 * uuid and the etag (32 hex digits) only; nothing from the client is used
 * as a path.
 */
#include "api.h"

#include "apierr.h"
#include "catalog.h"
#include "dbpool.h"
#include "exec.h"
#include "faultvfs.h"
#include "http.h"
#include "ingest.h"
#include "jobs.h"
#include "signurl.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMPORT_POLL_MS 1000
/* After a failed write, the rest of an upload is read and dropped up to
 * this much, so that the client is still listening when the error comes
 * (an answer sent mid-body reaches Node's fetch as a broken pipe). */
#define UPLOAD_DISCARD_MAX (64u << 20)

/* ---- the import job ---- */

struct import_ctx {
	struct server *srv;
	struct dbh *h;
	int importing; /* dbpool_import_begin() done, _end() not yet */
	char path[1400];
	char etag[33];
	char region[8], colo[8];
	size_t max_stmt;
	struct job *job;
};

static void import_end(struct import_ctx *x)
{
	if (x->importing)
		dbpool_import_end(x->h);
	x->importing = 0;
	if (x->h)
		dbpool_release(x->srv->pool, x->h);
	x->h = NULL;
}

static void import_free(void *arg)
{
	struct import_ctx *x = arg;
	import_end(x);
	free(x);
}

static ssize_t read_fd(void *ctx, char *buf, size_t n)
{
	int fd = *(int *)ctx;
	for (;;) {
		ssize_t k = read(fd, buf, n);
		if (k >= 0 || errno != EINTR)
			return k;
	}
}

static void on_progress(void *ctx, int64_t queries)
{
	struct import_ctx *x = ctx;
	job_message(x->job, "Processed %lld queries.", (long long)queries);
}

static char *result_json(struct import_ctx *x, const struct ingest_run *run,
			 const char *bookmark)
{
	json_t *meta = json_pack(
	    "{s:s, s:s, s:b, s:{s:f}, s:f, s:I, s:I, s:b, s:I, s:I, s:I}",
	    "served_by_region", x->region, "served_by_colo", x->colo,
	    "served_by_primary", 1, "timings", "sql_duration_ms",
	    run->duration_ms, "duration", run->duration_ms, "changes",
	    (json_int_t)run->counts.changes, "last_row_id",
	    (json_int_t)run->last_row_id, "changed_db",
	    run->counts.changes > 0 || run->num_queries > 0, "size_after",
	    (json_int_t)run->size_after, "rows_read",
	    (json_int_t)run->counts.rows_read, "rows_written",
	    (json_int_t)run->counts.rows_written);
	json_t *res =
	    meta ? json_pack("{s:s, s:I, s:o}", "final_bookmark", bookmark,
			     "num_queries", (json_int_t)run->num_queries,
			     "meta", meta)
		 : NULL;
	char *s = res ? json_dumps(res, JSON_COMPACT) : NULL;
	json_decref(res);
	return s;
}

static void import_run(struct job *j, void *arg)
{
	struct import_ctx *x = arg;
	struct ingest_run run = {0};
	char bookmark[DBPOOL_BOOKMARK_SIZE];
	int rc, fd;
	x->job = j;
	job_message(j, "Starting import...");
	fd = open(x->path, O_RDONLY | O_CLOEXEC);
	rc = fd < 0 ? D1E_IO
		    : ingest_reader_new(read_fd, &fd, x->max_stmt, 1, &run.rd);
	if (!rc) {
		run.expect_md5 = x->etag;
		run.cancel = job_cancel_flag(j);
		run.cancel_why = job_cancel_why(j);
		run.progress = on_progress;
		run.progress_ctx = x;
		rc = dbpool_import_write(x->h, ingest_apply, &run);
	}
	if (!rc)
		rc = dbpool_bookmark(x->h, bookmark);
	/* Writes are accepted again before anyone hears it is over. */
	import_end(x);
	ingest_reader_free(run.rd);
	if (fd >= 0)
		close(fd);
	unlink(x->path);
	if (rc) {
		/* A full or failing disk is told apart from a bug: the
		 * client can try again once the storage is healthy. */
		job_error(j,
			  rc == D1E_SQL ? run.err
			  : rc == D1E_FULL
			      ? "Storage full: the server has no disk space "
				"left for the import; nothing was imported, "
				"try again when there is"
			  : rc == D1E_IO
			      ? "Storage failure: the import could not be "
				"read or committed (disk I/O error); nothing "
				"was imported"
			      : "Internal error; nothing was imported");
		return;
	}
	char *json = result_json(x, &run, bookmark);
	if (!json) {
		job_error(j, "Internal error: out of memory (the import was "
			     "committed)");
		return;
	}
	job_complete(j, json, NULL);
	free(json);
}

/* ---- names ---- */

/* An etag as wrangler sends it: the file's MD5 in hex. Lowercased into
 * out[33]. */
static int parse_etag(struct req *r, const json_t *body, char *out)
{
	json_t *e = json_object_get(body, "etag");
	const char *s = json_is_string(e) ? json_string_value(e) : NULL;
	if (!s || strlen(s) != 32 || strspn(s, "0123456789abcdefABCDEF") != 32)
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: etag => expected the MD5 of "
				"the file as 32 hex digits");
	for (int i = 0; i < 33; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	return 0;
}

static void file_name(const char *db, const char *etag, char *out, size_t cap)
{
	snprintf(out, cap, "%s-%s.sql", db, etag);
}

static void file_path(struct req *r, const char *name, const char *suffix,
		      char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s%s", jobs_dir(r->srv->jobs, JOB_IMPORT), name,
		 suffix);
}

/* Where the upload keeps the MD5 it got when it was not the etag. */
static void note_path(struct req *r, const char *db, const char *etag,
		      char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s-%s.mismatch",
		 jobs_dir(r->srv->jobs, JOB_IMPORT), db, etag);
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- the handler ---- */

static int start_import(struct req *r, const struct cat_db *db,
			const char *etag, const char *path, struct job **out)
{
	char bookmark[DBPOOL_BOOKMARK_SIZE];
	struct import_ctx *x = calloc(1, sizeof(*x));
	int rc;
	if (!x)
		return D1E_NOMEM;
	x->srv = r->srv;
	snprintf(x->path, sizeof(x->path), "%s", path);
	snprintf(x->etag, sizeof(x->etag), "%s", etag);
	snprintf(x->region, sizeof(x->region), "%s",
		 db->location_hint[0] ? db->location_hint : r->srv->cfg.region);
	for (char *p = x->region; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	snprintf(x->colo, sizeof(x->colo), "%s", r->srv->cfg.colo);
	/* Room for the largest row a value limit allows, written out as
	 * SQL (hex doubles a BLOB), so that any export imports back. */
	x->max_stmt = (size_t)r->srv->limits.max_value_bytes * 4 + (1u << 20);
	if (x->max_stmt < EXEC_MAX_SQL_BYTES)
		x->max_stmt = EXEC_MAX_SQL_BYTES;
	rc = dbpool_acquire(r->srv->pool, db->uuid, &x->h);
	if (!rc && !(rc = dbpool_import_begin(x->h)))
		x->importing = 1;
	if (!rc)
		rc = dbpool_bookmark(x->h, bookmark);
	if (rc) {
		import_free(x);
		return rc;
	}
	rc = jobs_start(r->srv->jobs, JOB_IMPORT, db->uuid, bookmark, etag,
			import_run, import_free, x, out);
	if (rc == D1E_BAD_REQUEST)
		rc = req_fail(r, rc,
			      "Too many exports and imports are running; "
			      "try again when one has finished");
	return rc;
}

static int answer_job(struct req *r, struct job *j, int64_t wait_ms,
		      const char *filename)
{
	struct job_view v;
	int rc = jobs_poll(r->srv->jobs, j, wait_ms, &r->arena, &v);
	if (!rc)
		rc = api_job_answer(r, "import", &v, filename);
	return rc;
}

static int answer_nothing(struct req *r)
{
	struct jsonw *w = req_result(r);
	jsonw_obj_begin(w);
	jsonw_key(w, "success");
	jsonw_bool(w, 0);
	jsonw_key(w, "type");
	jsonw_str(w, "import");
	jsonw_key(w, "status");
	jsonw_str(w, "error");
	jsonw_key(w, "error");
	jsonw_str(w, "Not currently importing anything.");
	jsonw_key(w, "messages");
	jsonw_arr_begin(w);
	jsonw_str(w, "Not currently importing anything.");
	jsonw_arr_end(w);
	jsonw_obj_end(w);
	req_done(r);
	return 0;
}

static int answer_upload_url(struct req *r, const struct cat_db *db,
			     const char *etag, const char *name)
{
	char upath[300], url[2048];
	snprintf(upath, sizeof(upath), "/client/v4/d1/signed/import/%s/%s",
		 db->uuid, etag);
	int rc =
	    signurl_make(r->srv->signer, r->srv->base_url, "PUT", upath,
			 util_now_us() / 1000000 + jobs_ttl_s(r->srv->jobs),
			 url, sizeof(url));
	if (rc)
		return rc;
	struct jsonw *w = req_result(r);
	jsonw_obj_begin(w);
	jsonw_key(w, "success");
	jsonw_bool(w, 1);
	jsonw_key(w, "type");
	jsonw_str(w, "import");
	jsonw_key(w, "filename");
	jsonw_str(w, name);
	jsonw_key(w, "upload_url");
	jsonw_str(w, url);
	jsonw_key(w, "messages");
	jsonw_arr_begin(w);
	jsonw_arr_end(w);
	jsonw_obj_end(w);
	req_done(r);
	return 0;
}

int api_import_body(struct req *r, struct import_body *b)
{
	static const char *const names[] = {"init", "ingest", "poll"};
	static const char *const f_init[] = {"action", "etag", NULL};
	static const char *const f_ingest[] = {"action", "etag", "filename",
					       NULL};
	static const char *const f_poll[] = {"action", "current_bookmark",
					     NULL};
	static const char *const *const fields[] = {f_init, f_ingest, f_poll};
	json_t *body;
	memset(b, 0, sizeof(*b));
	int rc = req_json_object(r, 0, &body);
	if (rc)
		return rc;
	json_t *a = json_object_get(body, "action");
	const char *action = json_is_string(a) ? json_string_value(a) : "";
	int k = 0;
	while (k < 3 && strcmp(action, names[k]) != 0)
		k++;
	if (k == 3)
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: action => expected "
				"\"init\", \"ingest\" or \"poll\"");
	b->action = (enum import_action)k;
	if ((rc = api_only_fields(r, body, fields[k], "")))
		return rc;
	if (b->action == IMPORT_POLL) {
		json_t *bm = json_object_get(body, "current_bookmark");
		if (!json_is_string(bm))
			return req_fail(r, D1E_BAD_REQUEST,
					"Invalid property: current_bookmark "
					"=> expected the at_bookmark of the "
					"import");
		b->bookmark = json_string_value(bm);
		return 0;
	}
	if (b->action == IMPORT_INGEST)
		b->filename =
		    json_string_value(json_object_get(body, "filename"));
	return parse_etag(r, body, b->etag);
}

int api_import(struct req *r)
{
	struct cat_db db = {0};
	struct job *j = NULL;
	struct import_body b;
	char name[120], path[1400];
	const char *etag = b.etag;
	int rc = api_import_body(r, &b);
	if (rc)
		return rc;
	int init = b.action == IMPORT_INIT, ingest = b.action == IMPORT_INGEST;

	if (b.action == IMPORT_POLL) {
		if ((rc = api_find_db(r, &db)))
			return rc;
		j = jobs_find(r->srv->jobs, JOB_IMPORT, db.uuid, b.bookmark,
			      NULL, 0);
		rc = j ? answer_job(r, j, IMPORT_POLL_MS, NULL)
		       : answer_nothing(r);
		goto out;
	}

	if ((rc = api_find_db(r, &db)))
		return rc;
	file_name(db.uuid, etag, name, sizeof(name));
	file_path(r, name, "", path, sizeof(path));
	if (ingest && (!b.filename || strcmp(b.filename, name) != 0))
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: filename => expected %s, "
				"the name init gave for this etag",
				name);
	/* The same file again while it is being imported: its progress. */
	j = jobs_find(r->srv->jobs, JOB_IMPORT, db.uuid, NULL, NULL, 1);
	if (j) {
		struct job *same =
		    jobs_find(r->srv->jobs, JOB_IMPORT, db.uuid, NULL, etag, 1);
		if (!same) {
			rc = D1E_IMPORT_BUSY;
			goto out;
		}
		jobs_put(r->srv->jobs, j);
		j = same;
		rc = answer_job(r, j, IMPORT_POLL_MS, name);
		goto out;
	}
	if (!exists(path)) {
		char note[1420], md5[40] = "";
		if (init) {
			rc = answer_upload_url(r, &db, etag, name);
			goto out;
		}
		note_path(r, db.uuid, etag, note, sizeof(note));
		FILE *fp = fopen(note, "re");
		if (fp) {
			if (!fgets(md5, sizeof(md5), fp))
				md5[0] = '\0';
			fclose(fp);
			rc =
			    req_fail(r, D1E_BAD_REQUEST,
				     "MD5 mismatch: the uploaded file's MD5 is "
				     "%.32s, not the etag %s; upload it again",
				     md5, etag);
		} else {
			rc = req_fail(r, D1E_BAD_REQUEST,
				      "No file has been uploaded for etag %s: "
				      "PUT it to the upload_url of init first",
				      etag);
		}
		goto out;
	}
	rc = start_import(r, &db, etag, path, &j);
	if (!rc)
		rc = answer_job(r, j, IMPORT_POLL_MS, name);
out:
	jobs_put(r->srv->jobs, j);
	return rc;
}

/* ---- the upload ---- */

struct upload {
	int fd;
	int done;   /* renamed into place or removed */
	int failed; /* a write failed: the D1E_* to answer at the end */
	uint64_t discarded;
	char etag[33];
	char part[1450], path[1420], note[1420];
	EVP_MD_CTX *md5;
	uint64_t size, max;
};

static void upload_cleanup(struct req *r)
{
	struct upload *u = r->stream_ctx;
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	if (!u->done)
		unlink(u->part);
	EVP_MD_CTX_free(u->md5);
	free(u);
	r->stream_ctx = NULL;
}

/* Storing the upload failed with errno e. The part file goes with the
 * request (upload_cleanup), or at once if the body is still coming:
 * nothing that init could take for the file is left behind. */
static int store_failed(struct req *r, int e)
{
	struct upload *u = r->stream_ctx;
	if (u && u->fd >= 0) {
		close(u->fd);
		u->fd = -1;
	}
	if (u && !u->done) {
		unlink(u->part);
		u->done = 1;
	}
	if (e == ENOSPC || e == EDQUOT)
		return req_fail(r, D1E_FULL,
				"Storage full: the server has no disk space "
				"left for the upload; nothing of it was kept, "
				"upload it again when there is");
	return req_fail(r, D1E_IO,
			"Storage failure: the upload could not be stored; "
			"nothing of it was kept, upload it again");
}

static int too_large(struct req *r)
{
	return req_fail(r, D1E_BODY_TOO_LARGE,
			"The file is too large: imports are limited to %lld "
			"bytes",
			(long long)r->srv->cfg.max_upload_bytes);
}

static int upload_begin(struct req *r)
{
	const char *exp, *sig, *why, *cl;
	unsigned char rnd[8];
	char rhex[17];
	uint64_t n;
	int rc = req_arg_once(r, "expires", &exp);
	if (!rc)
		rc = req_arg_once(r, "sig", &sig);
	if (rc)
		return rc;
	rc = signurl_check(r->srv->signer, "PUT", r->path, exp, sig,
			   util_now_us() / 1000000, &why);
	if (rc)
		return req_fail(r, rc, "Invalid signed URL: %s", why);
	const char *etag = r->file_ref;
	if (!util_is_uuid(r->db_ref) || strlen(etag) != 32 ||
	    strspn(etag, "0123456789abcdef") != 32)
		return req_fail(r, D1E_BAD_SIGNATURE,
				"Invalid signed URL: not an upload slot");
	rc = catalog_db_exists(r->srv->cat, r->db_ref);
	if (rc <= 0)
		return rc ? rc
			  : req_fail(r, D1E_DB_NOT_FOUND,
				     "The database %s could not be found",
				     r->db_ref);
	cl = req_header(r, "Content-Length");
	if (cl && !util_parse_u64(cl, UINT64_MAX, &n) &&
	    n > (uint64_t)r->srv->cfg.max_upload_bytes)
		return too_large(r);
	if ((rc = util_random(rnd, sizeof(rnd))))
		return rc;
	util_hex(rnd, sizeof(rnd), rhex);

	struct upload *u = calloc(1, sizeof(*u));
	if (!u)
		return D1E_NOMEM;
	u->fd = -1;
	u->done = 1;
	u->max = (uint64_t)r->srv->cfg.max_upload_bytes;
	snprintf(u->etag, sizeof(u->etag), "%s", etag);
	char name[120];
	file_name(r->db_ref, etag, name, sizeof(name));
	file_path(r, name, "", u->path, sizeof(u->path));
	snprintf(u->part, sizeof(u->part), "%s.part.%s", u->path, rhex);
	note_path(r, r->db_ref, etag, u->note, sizeof(u->note));
	r->stream_ctx = u;
	r->cleanup = upload_cleanup;
	u->md5 = EVP_MD_CTX_new();
	if (!u->md5 || !EVP_DigestInit_ex(u->md5, EVP_md5(), NULL))
		return D1E_NOMEM;
	u->fd = open(u->part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (u->fd < 0) /* answered once the body is in, as a failed write */
		u->failed = store_failed(r, errno);
	else
		u->done = 0;
	return 0;
}

int api_import_upload_chunk(struct req *r, const char *data, size_t n)
{
	struct upload *u = r->stream_ctx;
	if (!data)
		return upload_begin(r);
	if (!u)
		return D1E_INTERNAL;
	u->size += n;
	if (u->size > u->max)
		return too_large(r);
	if (u->failed) {
		u->discarded += n;
		return u->discarded > UPLOAD_DISCARD_MAX ? u->failed : 0;
	}
	if (!EVP_DigestUpdate(u->md5, data, n))
		return D1E_INTERNAL;
	while (n > 0) {
		ssize_t k = faultvfs_write(u->fd, data, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			u->failed = store_failed(r, k < 0 ? errno : EIO);
			return 0;
		}
		data += k;
		n -= (size_t)k;
	}
	return 0;
}

int api_import_upload(struct req *r)
{
	struct upload *u = r->stream_ctx;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dn = 0;
	char md5[33];
	if (u && u->failed)
		return u->failed; /* its message is set */
	if (!u || u->fd < 0 || !EVP_DigestFinal_ex(u->md5, d, &dn) || dn != 16)
		return D1E_INTERNAL;
	util_hex(d, 16, md5);
	/* Durable before the ETag says it is there. */
	int e = faultvfs_fsync(u->fd) == 0 ? 0 : errno;
	if (close(u->fd) != 0 && !e)
		e = errno;
	u->fd = -1;
	if (e)
		return store_failed(r, e);
	int rc = 0;
	if (!strcmp(md5, u->etag)) {
		if (rename(u->part, u->path) != 0)
			return store_failed(r, errno);
		u->done = 1;
		unlink(u->note);
	} else {
		/* Not the file init announced: keep only a note for ingest. */
		FILE *fp = fopen(u->note, "we");
		if (fp) {
			fprintf(fp, "%s\n", md5);
			if (fclose(fp) != 0)
				rc = D1E_IO;
		}
	}
	if (!rc)
		rc = util_fsync_dir(jobs_dir(r->srv->jobs, JOB_IMPORT));
	if (rc)
		return rc;
	r->etag = arena_printf(&r->arena, "\"%s\"", md5);
	if (!r->etag)
		return D1E_NOMEM;
	struct jsonw *w = req_result(r);
	jsonw_obj_begin(w);
	jsonw_key(w, "etag");
	jsonw_str(w, md5);
	jsonw_key(w, "size");
	jsonw_int(w, (int64_t)u->size);
	jsonw_obj_end(w);
	req_done(r);
	return 0;
}
