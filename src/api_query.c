/*
 * api_query.c — POST .../query and .../raw.
 *
 * A request runs on a read-only connection inside one read transaction;
 * if a statement turns out to write, the run is abandoned and the request
 * goes to the writer as one job of a group commit (dbpool.c). A request
 * whose first statement is plainly a write (INSERT, UPDATE, ...) goes to
 * the writer at once.
 *
 * Threads (http.h). The handler starts on an HTTP thread, which must not
 * wait. A read runs there if its database is open and a reader is free,
 * with a budget of QUERY_INLINE_BUDGET_US: past it, the run (which wrote
 * nothing) is abandoned and made again on a worker thread, with no budget,
 * so a long query holds up no other connection. A write is queued for its
 * database's group commit and the connection suspended; the writer thread
 * resumes it once the COMMIT is durable, and the HTTP thread answers.
 * A read-only token may run only requests that write nothing. The result
 * array is produced by exec.c and placed into the envelope as is.
 */
#include "api.h"

#include "apierr.h"
#include "catalog.h"
#include "dbpool.h"
#include "exec.h"
#include "http.h"

#include <ctype.h>
#include <stdio.h>

/* How long a read may run on an HTTP thread before it is stopped and run
 * again on a worker: a point read takes microseconds; a longer one would
 * hold up every other connection of its HTTP thread. */
#define QUERY_INLINE_BUDGET_US 2000

/* A request's state across the threads it visits (r->handler_ctx). */
struct query {
	struct cat_db db;
	struct exec_batch batch;
	struct exec_run x;
	char region[8];
	struct dbh *h; /* acquired, until finish() or the request's end */
	int write_rc;  /* the write's outcome, from write_done() */
};

/* When the request ends, however it ends. */
static void query_cleanup(struct req *r)
{
	struct query *q = r->handler_ctx;
	if (q->h)
		dbpool_release(r->srv->pool, q->h);
	q->h = NULL;
	jsonw_release(&q->x.out);
}

/* Answer with the run's outcome rc. */
static int finish(struct req *r, int rc)
{
	struct query *q = r->handler_ctx;
	if (q->h)
		dbpool_release(r->srv->pool, q->h);
	q->h = NULL;
	if ((rc == D1E_SQL || rc == D1E_FULL || rc == D1E_IO) && q->x.err[0])
		rc = req_fail(r, rc, "%s", q->x.err);
	else if (rc == D1E_IO) /* the group's COMMIT failed */
		rc = req_fail(r, rc,
			      "Storage failure: the write could not be "
			      "committed (disk I/O error); it was not applied; "
			      "retry once the server's storage is healthy");
	if (rc)
		return rc;
	struct jsonw *w = req_result(r);
	jsonw_raw(w, q->x.out.buf, q->x.out.len);
	req_done(r);
	return 0;
}

static int write_cont(struct req *r)
{
	struct query *q = r->handler_ctx;
	return finish(r, q->write_rc);
}

/* dbpool's done callback, on the writer thread: the group's COMMIT is
 * durable (or failed); the HTTP thread answers (write_cont). */
static void write_done(void *arg, int rc)
{
	struct req *r = arg;
	struct query *q = r->handler_ctx;
	q->write_rc = rc;
	req_resume(r);
}

/* Acquire, read, write: on the HTTP thread first; anything that would wait
 * there goes to a worker (req_offload), which runs this again from where
 * it stopped; a write is queued for the group commit and the request
 * resumes at write_cont once it is durable. */
static int go(struct req *r)
{
	struct query *q = r->handler_ctx;
	int rc;

	if (!q->h) {
		rc = r->may_block
			 ? dbpool_acquire(r->srv->pool, q->db.uuid, &q->h)
			 : dbpool_acquire_open(r->srv->pool, q->db.uuid, &q->h);
		if (rc == D1E_WOULD_BLOCK)
			return req_offload(r, go);
		if (rc)
			return finish(r, rc);
	}
	/* A read-only token always starts on a reader, which refuses the
	 * first writing statement; so does anything that might only read. */
	if (r->who.read_only || !exec_starts_with_write(&q->batch)) {
		q->x.budget_us = r->may_block ? 0 : QUERY_INLINE_BUDGET_US;
		rc = r->may_block ? dbpool_read(q->h, exec_run, &q->x)
				  : dbpool_read_nowait(q->h, exec_run, &q->x);
		if (rc == D1E_WOULD_BLOCK)
			return req_offload(r, go);
		if (rc != D1E_NEEDS_WRITER)
			return finish(r, rc);
		if (r->who.read_only)
			return finish(
			    r, req_fail(r, D1E_READ_ONLY,
					"Authentication error: the API token "
					"is read-only and this query writes"));
	}
	q->x.budget_us = 0;
	q->x.alone = exec_wants_alone(&q->batch);
	req_suspend(r, write_cont);
	rc = dbpool_write_async(q->h, q->x.alone, exec_run, &q->x, write_done,
				r);
	if (rc) {
		q->write_rc = rc;
		req_resume(r);
	}
	return REQ_SUSPENDED;
}

static int run(struct req *r, int raw)
{
	json_t *body;
	const char *msg;
	struct query *q = arena_alloc(&r->arena, sizeof(*q));
	if (!q)
		return D1E_NOMEM;

	int rc = req_json_object(r, 0, &body);
	if (rc)
		return rc;
	rc = exec_parse(&r->arena, body, &q->batch, &msg);
	if (rc)
		return msg ? req_fail(r, rc, "%s", msg) : rc;
	rc = api_find_db(r, &q->db);
	if (rc)
		return rc;

	/* Where the database "is": its location hint, else the server's. */
	snprintf(q->region, sizeof(q->region), "%s",
		 q->db.location_hint[0] ? q->db.location_hint
					: r->srv->cfg.region);
	for (char *p = q->region; *p; p++)
		*p = (char)toupper((unsigned char)*p);

	q->x.batch = &q->batch;
	q->x.raw = raw;
	q->x.region = q->region;
	q->x.colo = r->srv->cfg.colo;
	jsonw_init(&q->x.out);
	/* The answer is written here or on the writer thread, and freed
	 * here: allocated here too (jsonw_reserve). */
	jsonw_reserve(&q->x.out, 1000);
	r->handler_ctx = q;
	r->cleanup = query_cleanup;
	return go(r);
}

int api_query(struct req *r)
{
	return run(r, 0);
}

int api_raw(struct req *r)
{
	return run(r, 1);
}
