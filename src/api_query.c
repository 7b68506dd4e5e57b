/*
 * api_query.c — POST .../query and .../raw.
 *
 * A request runs on a read-only connection inside one read transaction;
 * if a statement turns out to write, the run is abandoned and the request
 * goes to the writer as one job of a group commit (dbpool.c). A request
 * whose first statement is plainly a write (INSERT, UPDATE, ...) goes to
 * the writer at once.
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

static int run(struct req *r, int raw)
{
	struct cat_db db = {0};
	struct exec_batch batch;
	struct exec_run x = {0};
	struct dbh *h = NULL;
	json_t *body;
	const char *msg;
	char region[8];

	int rc = req_json_object(r, 0, &body);
	if (rc)
		return rc;
	rc = exec_parse(&r->arena, body, &batch, &msg);
	if (rc)
		return msg ? req_fail(r, rc, "%s", msg) : rc;
	rc = api_find_db(r, &db);
	if (rc)
		return rc;

	/* Where the database "is": its location hint, else the server's. */
	snprintf(region, sizeof(region), "%s",
		 db.location_hint[0] ? db.location_hint : r->srv->cfg.region);
	for (char *p = region; *p; p++)
		*p = (char)toupper((unsigned char)*p);

	x.batch = &batch;
	x.raw = raw;
	x.region = region;
	x.colo = r->srv->cfg.colo;
	jsonw_init(&x.out);

	rc = dbpool_acquire(r->srv->pool, db.uuid, &h);
	if (rc)
		goto out;
	/* A read-only token always starts on a reader, which refuses the
	 * first writing statement; so does anything that might only read. */
	rc = !r->who.read_only && exec_starts_with_write(&batch)
		 ? D1E_NEEDS_WRITER
		 : dbpool_read(h, exec_run, &x);
	if (rc == D1E_NEEDS_WRITER) {
		if (r->who.read_only)
			rc = req_fail(r, D1E_READ_ONLY,
				      "Authentication error: the API token is "
				      "read-only and this query writes");
		else if (exec_wants_alone(&batch)) {
			x.alone = 1;
			rc = dbpool_write_alone(h, exec_run, &x);
		} else
			rc = dbpool_write(h, exec_run, &x);
	}
	dbpool_release(r->srv->pool, h);
	if ((rc == D1E_SQL || rc == D1E_FULL || rc == D1E_IO) && x.err[0])
		rc = req_fail(r, rc, "%s", x.err);
	else if (rc == D1E_IO) /* the group's COMMIT failed */
		rc = req_fail(r, rc,
			      "Storage failure: the write could not be "
			      "committed (disk I/O error); it was not applied; "
			      "retry once the server's storage is healthy");
	if (rc)
		goto out;
	struct jsonw *w = req_result(r);
	jsonw_raw(w, x.out.buf, x.out.len);
	req_done(r);
out:
	jsonw_release(&x.out);
	return rc;
}

int api_query(struct req *r)
{
	return run(r, 0);
}

int api_raw(struct req *r)
{
	return run(r, 1);
}
