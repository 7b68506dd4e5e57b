/*
 * api_timetravel.c — GET .../time_travel/bookmark and POST
 * .../time_travel/restore.
 *
 * The bookmark of "now" or of a moment comes from the database's history
 * under its commit lock (dbpool.c, history.c). A restore runs with the
 * database held closed by dbpool_exclusive(): requests in flight finish
 * before it, later ones see the restored database, none sees a mix. A
 * timestamp is turned into a bookmark inside that hold, so no commit can
 * slip in between. Both take their parameters from the query string, as
 * wrangler sends them (with an empty JSON body, or a bare trailing '?').
 */
#include "api.h"

#include "apierr.h"
#include "catalog.h"
#include "dbpool.h"
#include "history.h"
#include "http.h"
#include "jsonw.h"

#include <stdio.h>
#include <string.h>

/* The optional ?timestamp=, parsed. *has says whether it was given. */
static int get_time(struct req *r, int *has, int64_t *ms)
{
	const char *ts = NULL;
	int rc = req_arg_once(r, "timestamp", &ts);
	*has = 0;
	if (rc)
		return rc;
	if (!ts || !*ts)
		return 0;
	if (hist_parse_time(ts, ms))
		return req_fail(r, D1E_BAD_REQUEST,
				"Invalid property: timestamp => expected an "
				"ISO 8601 date and time, such as "
				"2026-01-02T03:04:05Z");
	*has = 1;
	return 0;
}

int api_tt_bookmark(struct req *r)
{
	struct cat_db db = {0};
	struct dbh *h = NULL;
	char bm[DBPOOL_BOOKMARK_SIZE];
	const char *msg = NULL;
	int64_t ms = 0;
	int has;
	int rc = get_time(r, &has, &ms);
	if (!rc)
		rc = api_find_db(r, &db);
	if (!rc)
		rc = dbpool_acquire(r->srv->pool, db.uuid, &h);
	if (rc)
		return rc;
	rc = has ? dbpool_bookmark_at(h, ms, bm, &msg) : dbpool_bookmark(h, bm);
	dbpool_release(r->srv->pool, h);
	if (rc)
		return msg ? req_fail(r, rc, "%s", msg) : rc;
	struct jsonw *w = req_result(r);
	jsonw_obj_begin(w);
	jsonw_key(w, "bookmark");
	jsonw_str(w, bm);
	jsonw_obj_end(w);
	req_done(r);
	return 0;
}

struct restore_ctx {
	const char *bookmark; /* or, when NULL: */
	int64_t time_ms;
	char target[HIST_BOOKMARK_SIZE];
	char newbm[HIST_BOOKMARK_SIZE], prevbm[HIST_BOOKMARK_SIZE];
	const char *msg;
};

static int do_restore(struct hist *hist, void *arg)
{
	struct restore_ctx *x = arg;
	if (!x->bookmark) {
		int rc = hist_bookmark_at(hist, x->time_ms, x->target, &x->msg);
		if (rc)
			return rc;
		x->bookmark = x->target;
	}
	return hist_restore(hist, x->bookmark, x->newbm, x->prevbm, &x->msg);
}

int api_tt_restore(struct req *r)
{
	struct cat_db db = {0};
	struct restore_ctx x = {0};
	const char *bm = NULL;
	int has;
	int rc = req_arg_once(r, "bookmark", &bm);
	if (!rc)
		rc = get_time(r, &has, &x.time_ms);
	if (rc)
		return rc;
	if (bm && !*bm)
		bm = NULL;
	if (!bm == !has)
		return req_fail(r, D1E_BAD_REQUEST,
				bm ? "Give either bookmark or timestamp, not "
				     "both"
				   : "A bookmark or a timestamp is required "
				     "(?bookmark=... or ?timestamp=...)");
	x.bookmark = bm;
	rc = api_find_db(r, &db);
	if (rc)
		return rc;
	rc = dbpool_exclusive(r->srv->pool, db.uuid, do_restore, &x);
	if (rc)
		return x.msg ? req_fail(r, rc, "%s", x.msg) : rc;
	struct jsonw *w = req_result(r);
	jsonw_obj_begin(w);
	jsonw_key(w, "bookmark");
	jsonw_str(w, x.newbm);
	jsonw_key(w, "previous_bookmark");
	jsonw_str(w, x.prevbm);
	jsonw_key(w, "message");
	jsonw_str(w, "Database restored successfully");
	jsonw_obj_end(w);
	req_done(r);
	return 0;
}
