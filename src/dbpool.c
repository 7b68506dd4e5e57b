/*
 * dbpool.c — open databases and how requests use them.
 *
 * Each open database (struct dbh) has one writer connection and up to
 * `readers` read-only connections, all on the same file in WAL mode, so
 * readers see the last committed state and never wait for the writer.
 * Readers are opened on first need.
 *
 * Group commit. Writes are jobs, queued on the dbh; nobody waits in line
 * for them. The job that finds no group running starts a writer task
 * (run_writer, on the pool's elastic writer threads, taskpool.c), which
 * takes every queued job, runs BEGIN IMMEDIATE, runs each job inside its
 * own SAVEPOINT (a failing job is rolled back to its savepoint and does not
 * disturb the others), COMMITs once, and calls each job's done callback;
 * then it takes the jobs queued meanwhile as the next group, until the
 * queue is empty. So under load one fsync covers many requests, and the
 * HTTP threads that queued them are never blocked: they suspend their
 * connection and go on serving others (api_query.c, http.c), and the done
 * callback resumes it. dbpool_write() is the same with the caller waiting
 * on a semaphore for its own done callback. If a job ends the transaction
 * itself (an `OR ROLLBACK` conflict, a full disk), that job
 * fails alone and the group is re-run without it: the other jobs have
 * committed nothing yet, and each job writes its answer from scratch.
 *
 * The commit points are commit_group(), where a group becomes durable, and
 * run_alone(), for the rare job that cannot run inside a transaction
 * (VACUUM): it runs by itself between groups, in autocommit mode. Both end
 * in after_commit(), where history capture hooks in. Checkpoints are ours
 * too: the writer runs with wal_autocheckpoint=0, a WAL hook records the
 * WAL's size at each commit, and once it passes DBPOOL_CHECKPOINT_PAGES
 * after_commit() runs a PASSIVE checkpoint; once it has copied the WAL
 * back whole, the next commit writes the WAL from its beginning again
 * (over the same blocks: see WRITER_PRAGMAS). Smaller commits cost no
 * checkpoint at all.
 *
 * Imports. An import is one write job that may run for minutes. While
 * it runs (dbpool_import_begin .. _end) the dbh's `importing` flag makes
 * every other write fail at once with D1E_IMPORT_BUSY instead of queueing
 * behind it; reads go on, on the readers.
 *
 * Locking. pool->mu guards the LRU list and every dbh's refs. dbh->mu guards
 * the dbh's job queue, leader flag (a writer task owns the queue),
 * counters and reader slots; it is never held while SQL runs. Only the
 * writer task touches the writer connection, and it holds a reference of
 * its own to the dbh while it runs; a freed reader slot wakes one waiting
 * reader. Lock order:
 * pool->mu before dbh->mu. A dbh with refs > 0 is never closed; idle ones
 * beyond max_open are closed, least recently used first, so the number of open
 * files stays bounded whatever the number of databases.
 */
#include "dbpool.h"

#include "apierr.h"
#include "dbfile.h"
#include "history.h"
#include "taskpool.h"

#include <assert.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DBPOOL_MAX_READERS	16
#define DBPOOL_CHECKPOINT_PAGES 1000
#define DBPOOL_MAX_HELD		64
/* Writer threads: one per database whose group is running, kept for the
 * next group when idle (taskpool.c). */
#define DBPOOL_WRITERS_KEPT 2
#define DBPOOL_MAX_WRITERS  1024

/* The statements of the group protocol, run for every job. */
enum {
	CTL_BEGIN,
	CTL_SAVEPOINT,
	CTL_RELEASE,
	CTL_ROLLBACK_TO,
	CTL_COMMIT,
	CTL__COUNT
};
static const char *const ctl_sql[CTL__COUNT] = {"BEGIN IMMEDIATE",
						"SAVEPOINT job", "RELEASE job",
						"ROLLBACK TO job", "COMMIT"};

/* A queued write, malloc'd by submit() and freed by the writer task just
 * before it calls done. */
struct wjob {
	dbpool_job_fn fn;
	void *ctx;
	int rc;
	int final; /* it ended the transaction: do not run it again */
	int alone; /* runs outside any transaction, in no group (VACUUM) */
	dbpool_done_fn done;
	void *done_ctx;
	struct wjob *next;
};

struct dbh {
	char uuid[40];
	char path[4200];
	struct dbpool *pool;
	int refs;		 /* pool->mu */
	struct dbh *prev, *next; /* LRU list, most recent first; pool->mu */

	pthread_mutex_t mu;
	/* Held across each commit and its capture into the history, so a
	 * reader can pin a snapshot together with the commit it shows. */
	pthread_mutex_t commit_mu;
	struct hist *hist; /* commit_mu */
	int hist_behind;   /* a capture failed: no checkpoint until one works */
	pthread_cond_t rcv; /* a reader slot freed, for one reader waiting */
	sqlite3 *writer;
	void *writer_ctx;
	/* The group protocol's statements on the writer, prepared once. */
	sqlite3_stmt *ctl[CTL__COUNT];
	int wal_frames; /* the WAL's size after the last commit (on_wal) */
	sqlite3 *readers[DBPOOL_MAX_READERS];
	void *reader_ctx[DBPOOL_MAX_READERS];
	unsigned char reader_busy[DBPOOL_MAX_READERS];
	struct wjob *q_head, *q_tail;
	int leader;    /* a writer task runs (or is about to run) the queue */
	int importing; /* an import owns the writer; dbh->mu */
	int64_t commits, jobs;
};

struct dbpool {
	char data_dir[1024];
	int max_open, nreaders, nopen;
	int sync_full;
	int64_t history_keep_ms;
	dbpool_setup_fn setup;
	dbpool_teardown_fn teardown;
	void *setup_ctx;
	struct taskpool *writers; /* runs the groups (run_writer) */
	pthread_mutex_t mu;
	pthread_cond_t
	    cv; /* signalled when a dbh's refs drop, or a hold ends */
	/* Databases held closed by dbpool_exclusive(); "" is a free slot. */
	char held[DBPOOL_MAX_HELD][40];
	struct dbh *head, *tail;
};

int dbpool_new(const char *data_dir, int max_open, int readers, int sync_full,
	       dbpool_setup_fn setup, dbpool_teardown_fn teardown,
	       void *setup_ctx, struct dbpool **out)
{
	struct dbpool *p = calloc(1, sizeof(*p));
	if (!p)
		return D1E_NOMEM;
	snprintf(p->data_dir, sizeof(p->data_dir), "%s", data_dir);
	p->max_open = max_open > 0 ? max_open : 1;
	p->nreaders = readers < 1		     ? 1
		      : readers > DBPOOL_MAX_READERS ? DBPOOL_MAX_READERS
						     : readers;
	p->sync_full = sync_full;
	p->history_keep_ms = (int64_t)30 * 86400 * 1000;
	p->setup = setup;
	p->teardown = teardown;
	p->setup_ctx = setup_ctx;
	if (taskpool_new("d1d-writer", DBPOOL_WRITERS_KEPT, DBPOOL_MAX_WRITERS,
			 &p->writers)) {
		free(p);
		return D1E_NOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	*out = p;
	return 0;
}

void dbpool_set_history_keep(struct dbpool *p, int64_t ms)
{
	p->history_keep_ms = ms;
}

static void close_conn(struct dbpool *p, sqlite3 *db, void *cctx)
{
	if (cctx && p->teardown)
		p->teardown(cctx);
	if (sqlite3_close(db) != SQLITE_OK)
		fprintf(stderr, "d1d: could not close a connection: %s\n",
			sqlite3_errmsg(db));
}

static void dbh_close(struct dbh *h)
{
	for (int i = 0; i < DBPOOL_MAX_READERS; i++)
		close_conn(h->pool, h->readers[i], h->reader_ctx[i]);
	for (int i = 0; i < CTL__COUNT; i++)
		sqlite3_finalize(h->ctl[i]);
	/* The writer last. Its WAL is checkpointed (and emptied) only once
	 * the history holding its frames is durable; otherwise the frames
	 * stay in the WAL for the next open to capture. */
	if (h->writer && h->hist && !h->hist_behind && !hist_sync(h->hist))
		sqlite3_wal_checkpoint_v2(
		    h->writer, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	close_conn(h->pool, h->writer, h->writer_ctx);
	hist_free(h->hist);
	pthread_mutex_destroy(&h->mu);
	pthread_mutex_destroy(&h->commit_mu);
	pthread_cond_destroy(&h->rcv);
	free(h);
}

static void lru_unlink(struct dbpool *p, struct dbh *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		p->head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		p->tail = h->prev;
	h->prev = h->next = NULL;
	p->nopen--;
}

static void lru_push(struct dbpool *p, struct dbh *h)
{
	h->prev = NULL;
	h->next = p->head;
	if (p->head)
		p->head->prev = h;
	p->head = h;
	if (!p->tail)
		p->tail = h;
	p->nopen++;
}

void dbpool_free(struct dbpool *p)
{
	if (!p)
		return;
	/* Every handle is released, so every writer task has ended or is
	 * about to: this waits for the last ones. */
	taskpool_free(p->writers);
	while (p->head) {
		struct dbh *h = p->head;
		if (h->refs != 0)
			fprintf(stderr, "d1d: dbpool_free: %s still in use\n",
				h->uuid);
		lru_unlink(p, h);
		dbh_close(h);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

/* The writer's WAL: no automatic checkpoints (after_commit runs them).
 * After a checkpoint has copied the whole WAL back, SQLite starts the
 * next commit at the WAL's beginning again, writing over blocks the file
 * already has; so the WAL is not truncated there, nor cut below
 * journal_size_limit at that restart, which keeps a small WAL whole. An
 * fdatasync() of writes within the file's size flushes data only, one
 * that grows the file also commits the file system's journal: with a
 * truncated WAL every commit grew it, and the fsync took 3x as long under
 * the INSERT benchmark (0.67 ms against 0.2 ms). A WAL grown large (an
 * import, a long-held reader) is cut back to the limit at its restart. */
#define WRITER_PRAGMAS                                                         \
	"PRAGMA journal_mode=WAL;"                                             \
	"PRAGMA wal_autocheckpoint=0;"                                         \
	"PRAGMA journal_size_limit=16777216;"

static int open_conn(struct dbpool *p, const char *path, int writer,
		     sqlite3 **out, void **cctx)
{
	sqlite3 *db = NULL;
	*cctx = NULL;
	int flags = (writer ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) |
		    SQLITE_OPEN_NOMUTEX;
	*out = NULL;
	if (sqlite3_open_v2(path, &db, flags, dbfile_vfs()) != SQLITE_OK) {
		sqlite3_close(db);
		return D1E_IO;
	}
	/* The writer never waits: it is alone. Readers only wait during
	 * WAL recovery, which is short. Readers map the database file (up to
	 * 1 GiB of address space each): a page not in the WAL is read from
	 * the mapping, without a pread() and a copy into a page cache that a
	 * random point read mostly misses. The writer does not map: its
	 * writes go through the WAL either way. */
	sqlite3_busy_timeout(db, 5000);
	int rc = sqlite3_exec(db,
			      !writer ? "PRAGMA cache_size=-1000;"
					"PRAGMA mmap_size=1073741824;"
			      : p->sync_full
				  ? WRITER_PRAGMAS "PRAGMA synchronous=FULL;"
				  : WRITER_PRAGMAS "PRAGMA synchronous=NORMAL;",
			      NULL, NULL, NULL) == SQLITE_OK
		     ? 0
		     : D1E_IO;
	/* Only d1d checkpoints (see after_commit), never a closing
	 * connection: frames must reach the history first. */
	if (!rc && writer)
		sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
				  NULL);
	if (!rc && p->setup)
		rc = p->setup(db, writer, p->setup_ctx, cctx);
	if (rc) {
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

/* SQLite's WAL hook: after each commit on the writer, the WAL's size in
 * frames. Only the thread running the writer calls it and reads it. */
static int on_wal(void *ud, sqlite3 *db, const char *name, int frames)
{
	struct dbh *h = ud;
	(void)db;
	(void)name;
	h->wal_frames = frames;
	return SQLITE_OK;
}

/* Open h's writer connection: always a database's first connection, so
 * it takes unix-excl's process lock (dbfile.c). */
static int open_writer(struct dbh *h)
{
	int rc = open_conn(h->pool, h->path, 1, &h->writer, &h->writer_ctx);
	if (!rc) /* replaces autocheckpoint, which is off */
		sqlite3_wal_hook(h->writer, on_wal, h);
	return rc;
}

/* Bring the history up to date with the database as found on disk: its
 * first base image, or the commits a crash left only in the WAL. Then the
 * WAL can be emptied. With housekeeping, retention and snapshots are
 * looked at too (not when the database is opened only to be closed again
 * for a restore: a snapshot started then would be cancelled at once, and
 * its I/O would slow the restore). */
static int hist_catch_up(struct dbh *h, int housekeeping)
{
	int log = 0, ckpt = 0, rc = 0;
	if (!hist_has_base(h->hist)) {
		/* The base image is read from the file with a descriptor of
		 * its own, and closing any descriptor of a file drops every
		 * POSIX lock the process holds on it, unix-excl's process
		 * lock too (dbfile.c): so the writer is closed meanwhile, and
		 * opened again to take the lock anew. Once per database. */
		if (sqlite3_wal_checkpoint_v2(h->writer, NULL,
					      SQLITE_CHECKPOINT_TRUNCATE, NULL,
					      NULL) != SQLITE_OK)
			return D1E_IO;
		close_conn(h->pool, h->writer, h->writer_ctx);
		h->writer = NULL;
		h->writer_ctx = NULL;
		rc = hist_make_base(h->hist);
		if (!rc)
			rc = open_writer(h);
		return rc;
	}
	/* A passive checkpoint runs WAL recovery and tells its size; it
	 * leaves the frames in the WAL. */
	if (sqlite3_wal_checkpoint_v2(h->writer, NULL,
				      SQLITE_CHECKPOINT_PASSIVE, &log,
				      &ckpt) != SQLITE_OK)
		return D1E_IO;
	if (log > 0)
		rc = hist_capture(h->hist, log);
	if (rc >= 0)
		rc = hist_sync(h->hist);
	if (!rc && sqlite3_wal_checkpoint_v2(h->writer, NULL,
					     SQLITE_CHECKPOINT_TRUNCATE, NULL,
					     NULL) != SQLITE_OK)
		rc = D1E_IO;
	if (!rc && housekeeping &&
	    hist_maintain(h->hist, h->pool->history_keep_ms))
		fprintf(stderr, "d1d: %s: history housekeeping failed\n",
			h->uuid);
	return rc < 0 ? rc : 0;
}

/* Open a database: its history first (which may finish an interrupted
 * restore in the file), then its writer. housekeeping: as for
 * hist_catch_up(). *out is freed by dbh_close(). */
static int dbh_open(struct dbpool *p, const char *uuid, int housekeeping,
		    struct dbh **out)
{
	char dir[4096];
	struct dbh *h = calloc(1, sizeof(*h));
	int rc;
	*out = NULL;
	if (!h)
		return D1E_NOMEM;
	snprintf(h->uuid, sizeof(h->uuid), "%s", uuid);
	h->pool = p;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->commit_mu, NULL);
	pthread_cond_init(&h->rcv, NULL);
	rc = dbfile_path(p->data_dir, uuid, h->path, sizeof(h->path));
	if (!rc)
		rc = dbfile_dir(p->data_dir, uuid, dir, sizeof(dir));
	if (!rc)
		rc = hist_open(dir, uuid, &h->hist);
	/* A damaged history costs time travel, not the database. */
	if (rc == D1E_CORRUPT && !hist_quarantine(dir, uuid))
		rc = hist_open(dir, uuid, &h->hist);
	if (!rc)
		rc = open_writer(h);
	if (!rc)
		rc = hist_catch_up(h, housekeeping);
	if (rc) {
		h->hist_behind = 1; /* close without a checkpoint */
		dbh_close(h);
		return rc;
	}
	*out = h;
	return 0;
}

/* Is uuid held by dbpool_exclusive()? Caller holds p->mu. */
static int held(const struct dbpool *p, const char *uuid)
{
	for (int i = 0; i < DBPOOL_MAX_HELD; i++)
		if (p->held[i][0] && strcmp(p->held[i], uuid) == 0)
			return 1;
	return 0;
}

/* dbpool_acquire(), or with nowait set dbpool_acquire_open(). */
static int acquire(struct dbpool *p, const char *uuid, int nowait,
		   struct dbh **out)
{
	struct dbh *h;
	int rc = 0;
	*out = NULL;
	pthread_mutex_lock(&p->mu);
	while (held(p, uuid) && !nowait)
		pthread_cond_wait(&p->cv, &p->mu);
	for (h = p->head; h; h = h->next)
		if (strcmp(h->uuid, uuid) == 0)
			break;
	if (nowait && (!h || held(p, uuid))) {
		h = NULL;
		rc = D1E_WOULD_BLOCK;
		goto out;
	}
	if (h) {
		lru_unlink(p, h);
		lru_push(p, h);
		h->refs++;
		goto out;
	}
	rc = dbh_open(p, uuid, 1, &h);
	if (rc)
		goto out;
	h->refs = 1;
	lru_push(p, h);
	/* Close idle databases beyond the bound, oldest first. */
	for (struct dbh *v = p->tail; v && p->nopen > p->max_open;) {
		struct dbh *prev = v->prev;
		if (v->refs == 0) {
			lru_unlink(p, v);
			dbh_close(v);
		}
		v = prev;
	}
out:
	pthread_mutex_unlock(&p->mu);
	*out = h;
	return rc;
}

int dbpool_acquire(struct dbpool *p, const char *uuid, struct dbh **out)
{
	return acquire(p, uuid, 0, out);
}

int dbpool_acquire_open(struct dbpool *p, const char *uuid, struct dbh **out)
{
	return acquire(p, uuid, 1, out);
}

void dbpool_release(struct dbpool *p, struct dbh *h)
{
	pthread_mutex_lock(&p->mu);
	h->refs--;
	if (h->refs == 0)
		pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Close uuid's dbh, if open, once its users are done. Caller holds p->mu
 * (released while waiting). */
static void close_when_idle(struct dbpool *p, const char *uuid)
{
	for (;;) {
		struct dbh *h;
		for (h = p->head; h; h = h->next)
			if (strcmp(h->uuid, uuid) == 0)
				break;
		if (!h)
			return;
		if (h->refs == 0) {
			lru_unlink(p, h);
			dbh_close(h);
			return;
		}
		pthread_cond_wait(&p->cv, &p->mu);
	}
}

void dbpool_forget(struct dbpool *p, const char *uuid)
{
	pthread_mutex_lock(&p->mu);
	close_when_idle(p, uuid);
	pthread_mutex_unlock(&p->mu);
}

int dbpool_exclusive(struct dbpool *p, const char *uuid,
		     int (*fn)(struct hist *hist, void *ctx), void *ctx)
{
	char dir[4096];
	struct dbh *h;
	struct hist *hist = NULL;
	int slot = -1, rc;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		slot = -1;
		for (int i = 0; i < DBPOOL_MAX_HELD && slot < 0; i++)
			if (!p->held[i][0])
				slot = i;
		if (slot >= 0 && !held(p, uuid))
			break;
		pthread_cond_wait(&p->cv, &p->mu);
	}
	snprintf(p->held[slot], sizeof(p->held[slot]), "%s", uuid);
	/* Requests in flight finish first; new ones wait for the hold. */
	close_when_idle(p, uuid);
	pthread_mutex_unlock(&p->mu);

	/* Open it once more, alone: that captures what a crash may have
	 * left in the WAL, and the WAL must end empty, so that the file
	 * alone is the database. */
	rc = dbh_open(p, uuid, 0, &h);
	if (!rc) {
		int log = -1, ckpt = -1;
		if (hist_sync(h->hist) ||
		    sqlite3_wal_checkpoint_v2(h->writer, NULL,
					      SQLITE_CHECKPOINT_TRUNCATE, &log,
					      &ckpt) != SQLITE_OK ||
		    log != 0)
			rc = D1E_IO;
		dbh_close(h);
	}
	if (!rc)
		rc = dbfile_dir(p->data_dir, uuid, dir, sizeof(dir));
	if (!rc)
		rc = hist_open(dir, uuid, &hist);
	if (!rc)
		rc = fn(hist, ctx);
	hist_free(hist);

	pthread_mutex_lock(&p->mu);
	p->held[slot][0] = 0;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int dbpool_bookmark_at(struct dbh *h, int64_t time_ms, char *out,
		       const char **msg)
{
	pthread_mutex_lock(&h->commit_mu);
	int rc = hist_bookmark_at(h->hist, time_ms, out, msg);
	pthread_mutex_unlock(&h->commit_mu);
	return rc;
}

/* dbpool_read(), or with nowait set dbpool_read_nowait(). */
static int read_job(struct dbh *h, dbpool_job_fn fn, void *ctx, int nowait)
{
	int slot = -1, rc;
	int n = h->pool->nreaders;
	pthread_mutex_lock(&h->mu);
	while (slot < 0) {
		for (int i = 0; i < n; i++) {
			if (!h->reader_busy[i]) {
				slot = i;
				break;
			}
		}
		if (slot < 0 && nowait) {
			pthread_mutex_unlock(&h->mu);
			return D1E_WOULD_BLOCK;
		}
		if (slot < 0)
			pthread_cond_wait(&h->rcv, &h->mu);
	}
	h->reader_busy[slot] = 1;
	pthread_mutex_unlock(&h->mu);

	rc = 0;
	if (!h->readers[slot])
		rc = open_conn(h->pool, h->path, 0, &h->readers[slot],
			       &h->reader_ctx[slot]);
	if (!rc)
		rc = fn(h->readers[slot], h->reader_ctx[slot], ctx);

	pthread_mutex_lock(&h->mu);
	h->reader_busy[slot] = 0;
	/* One slot freed: wake one waiting reader, not all of them. */
	pthread_cond_signal(&h->rcv);
	pthread_mutex_unlock(&h->mu);
	return rc;
}

int dbpool_read(struct dbh *h, dbpool_job_fn fn, void *ctx)
{
	return read_job(h, fn, ctx, 0);
}

int dbpool_read_nowait(struct dbh *h, dbpool_job_fn fn, void *ctx)
{
	return read_job(h, fn, ctx, 1);
}

/* What a failed statement of d1d's own says about the storage: a full
 * disk (D1E_FULL: the client gets a 507, not a generic 500), or another
 * failure. */
static int storage_rc(sqlite3 *db)
{
	return (sqlite3_errcode(db) & 0xff) == SQLITE_FULL ? D1E_FULL : D1E_IO;
}

static int exec0(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK
		   ? 0
		   : storage_rc(db);
}

/* Run one of the group protocol's statements on h's writer. */
static int ctl(struct dbh *h, int which)
{
	sqlite3_stmt **st = &h->ctl[which];
	if (!*st && sqlite3_prepare_v3(h->writer, ctl_sql[which], -1,
				       SQLITE_PREPARE_PERSISTENT, st,
				       NULL) != SQLITE_OK)
		return exec0(h->writer, ctl_sql[which]);
	int rc = sqlite3_step(*st) == SQLITE_DONE ? 0 : storage_rc(h->writer);
	sqlite3_reset(*st);
	return rc;
}

/* After every commit: keep the WAL from growing without bound. Checkpoints
 * run only here, under d1d's control (wal_autocheckpoint is off). */
static void after_commit(struct dbh *h)
{
	/* Time travel: the commit's frames into the history. A failure
	 * loses nothing (the frames stay in the WAL, and the next capture
	 * takes them), but no checkpoint may run until a capture works. */
	h->hist_behind = hist_capture(h->hist, h->wal_frames) < 0;
	/* Snapshots and retention: cheap here (a few comparisons, or
	 * unlinks); a snapshot is built by a thread of its own. */
	if (!h->hist_behind && hist_maintain(h->hist, h->pool->history_keep_ms))
		fprintf(stderr, "d1d: %s: history housekeeping failed\n",
			h->uuid);
	/* Most commits leave the WAL small: no checkpoint, no second fsync. */
	if (h->wal_frames <= DBPOOL_CHECKPOINT_PAGES || h->hist_behind ||
	    hist_sync(h->hist))
		return;
	sqlite3_wal_checkpoint_v2(h->writer, NULL, SQLITE_CHECKPOINT_PASSIVE,
				  NULL, NULL);
}

/* Answer the jobs of list (linked by next) with their rc and free them;
 * committed: whether they made a commit. A done callback may let the
 * request go on at once, so nothing of a job is touched after it. */
static void answer(struct dbh *h, struct wjob *list, int committed)
{
	int njobs = 0;
	for (struct wjob *j = list; j; j = j->next)
		njobs++;
	pthread_mutex_lock(&h->mu);
	h->commits += committed;
	h->jobs += njobs;
	pthread_mutex_unlock(&h->mu);
	for (struct wjob *j = list, *next; j; j = next) {
		next = j->next;
		dbpool_done_fn done = j->done;
		void *done_ctx = j->done_ctx;
		int rc = j->rc;
		free(j);
		done(done_ctx, rc);
	}
}

/* The commit point of a group: its changes become durable here, or not at
 * all. Once the COMMIT is durable its jobs are answered, before the
 * history capture (after_commit): their clients can send their next
 * requests while it runs, in time for the next group. commit_mu is still
 * held meanwhile, so a bookmark or a pinned snapshot asked for right after
 * an answer waits for the capture and includes the commit. Returns 0 (the
 * group answered), D1E_FULL or D1E_IO (the group not answered). */
static int commit_group(struct dbh *h, struct wjob *group)
{
	pthread_mutex_lock(&h->commit_mu);
	int rc = ctl(h, CTL_COMMIT);
	if (rc) {
		fprintf(stderr, "d1d: %s: COMMIT failed: %s\n", h->uuid,
			sqlite3_errmsg(h->writer));
		if (!sqlite3_get_autocommit(h->writer))
			exec0(h->writer, "ROLLBACK");
		pthread_mutex_unlock(&h->commit_mu);
		return rc;
	}
	answer(h, group, 1);
	after_commit(h);
	pthread_mutex_unlock(&h->commit_mu);
	return 0;
}

/* A job that must run outside a transaction (VACUUM): alone, in
 * autocommit mode, where SQLite commits it itself. The second commit
 * point. Answers j. */
static void run_alone(struct dbh *h, struct wjob *j)
{
	pthread_mutex_lock(&h->commit_mu);
	j->rc = j->fn(h->writer, h->writer_ctx, j->ctx);
	if (!sqlite3_get_autocommit(h->writer))
		exec0(h->writer, "ROLLBACK");
	int ok = !j->rc;
	answer(h, j, ok);
	if (ok)
		after_commit(h);
	pthread_mutex_unlock(&h->commit_mu);
}

/* Run one group of jobs as one transaction (see the file comment), and
 * answer them. */
static void run_group(struct dbh *h, struct wjob *group)
{
	sqlite3 *db = h->writer;
	for (;;) {
		int any_ok = 0, restart = 0, rc = ctl(h, CTL_BEGIN);
		if (rc) {
			for (struct wjob *j = group; j; j = j->next)
				if (!j->final)
					j->rc = rc;
			break;
		}
		for (struct wjob *j = group; j && !restart; j = j->next) {
			if (j->final)
				continue;
			if ((rc = ctl(h, CTL_SAVEPOINT))) {
				j->rc = rc;
				j->final = 1;
				restart = 1;
				break;
			}
			j->rc = j->fn(db, h->writer_ctx, j->ctx);
			if (sqlite3_get_autocommit(db)) {
				/* The job ended the transaction itself. */
				if (!j->rc)
					j->rc = D1E_INTERNAL;
				j->final = 1;
				restart = 1;
			} else if (j->rc) {
				ctl(h, CTL_ROLLBACK_TO);
				ctl(h, CTL_RELEASE);
			} else {
				ctl(h, CTL_RELEASE);
				any_ok = 1;
			}
		}
		if (restart) {
			if (!sqlite3_get_autocommit(db))
				exec0(db, "ROLLBACK");
			continue;
		}
		if (!any_ok) {
			exec0(db, "ROLLBACK");
			break;
		}
		if ((rc = commit_group(h, group)) == 0)
			return;
		for (struct wjob *j = group; j; j = j->next)
			if (!j->rc)
				j->rc = rc;
		break;
	}
	answer(h, group, 0);
}

/* Run h's queued jobs, group after group, until its queue is empty: a
 * task on the pool's writer threads, started by the job that found no
 * group running (dbpool_write_async) and holding a reference to h of its
 * own, so that h stays open until the task has let go of it. */
static void run_writer(void *arg)
{
	struct dbh *h = arg;
	for (;;) {
		pthread_mutex_lock(&h->mu);
		struct wjob *group = h->q_head;
		h->q_head = h->q_tail = NULL;
		if (!group)
			h->leader = 0; /* the next job starts a new task */
		pthread_mutex_unlock(&h->mu);
		if (!group)
			break;

		/* Runs of ordinary jobs commit as groups; a job that must run
		 * alone splits the queue where it stands. Each part is
		 * answered (and freed) by the time it returns. */
		for (struct wjob *j = group, *rest; j; j = rest) {
			struct wjob *last = j;
			if (!j->alone)
				while (last->next && !last->next->alone)
					last = last->next;
			rest = last->next;
			last->next = NULL;
			if (j->alone)
				run_alone(h, j);
			else
				run_group(h, j);
		}
	}
	dbpool_release(h->pool, h);
}

/* Writes are refused while an import runs: it holds the writer for its
 * whole length, and a write queued behind it would wait that long. */
static int import_running(struct dbh *h)
{
	pthread_mutex_lock(&h->mu);
	int busy = h->importing;
	pthread_mutex_unlock(&h->mu);
	return busy;
}

static int submit(struct dbh *h, int alone, dbpool_job_fn fn, void *ctx,
		  dbpool_done_fn done, void *done_ctx)
{
	struct wjob *j = calloc(1, sizeof(*j));
	if (!j)
		return D1E_NOMEM;
	j->fn = fn;
	j->ctx = ctx;
	j->alone = alone;
	j->done = done;
	j->done_ctx = done_ctx;
	pthread_mutex_lock(&h->mu);
	if (h->q_tail)
		h->q_tail->next = j;
	else
		h->q_head = j;
	h->q_tail = j;
	int start = !h->leader;
	h->leader = 1;
	pthread_mutex_unlock(&h->mu);
	if (!start)
		return 0; /* the running task takes it with its next group */
	/* The caller holds h: taking one more reference is safe. */
	pthread_mutex_lock(&h->pool->mu);
	h->refs++;
	pthread_mutex_unlock(&h->pool->mu);
	if (taskpool_run(h->pool->writers, run_writer, h) != 0)
		run_writer(h); /* no thread to spare: run the group here */
	return 0;
}

int dbpool_write_async(struct dbh *h, int alone, dbpool_job_fn fn, void *ctx,
		       dbpool_done_fn done, void *done_ctx)
{
	if (import_running(h))
		return D1E_IMPORT_BUSY;
	return submit(h, alone, fn, ctx, done, done_ctx);
}

/* The synchronous forms wait on a semaphore of their own for the done
 * callback, which posts it last and touches the waiter's frame no more
 * (glibc's sem_post is safe against the waiter returning and destroying
 * the semaphore at once). */
struct waiter {
	sem_t sem;
	int rc;
};

static void wake_waiter(void *arg, int rc)
{
	struct waiter *w = arg;
	w->rc = rc;
	sem_post(&w->sem);
}

static int write_wait(struct dbh *h, int alone, dbpool_job_fn fn, void *ctx)
{
	struct waiter w = {.rc = 0};
	sem_init(&w.sem, 0, 0);
	int rc = submit(h, alone, fn, ctx, wake_waiter, &w);
	if (!rc) {
		while (sem_wait(&w.sem) != 0)
			; /* EINTR */
		rc = w.rc;
	}
	sem_destroy(&w.sem);
	return rc;
}

int dbpool_write(struct dbh *h, dbpool_job_fn fn, void *ctx)
{
	if (import_running(h))
		return D1E_IMPORT_BUSY;
	return write_wait(h, 0, fn, ctx);
}

int dbpool_write_alone(struct dbh *h, dbpool_job_fn fn, void *ctx)
{
	if (import_running(h))
		return D1E_IMPORT_BUSY;
	return write_wait(h, 1, fn, ctx);
}

int dbpool_import_begin(struct dbh *h)
{
	int rc = 0;
	pthread_mutex_lock(&h->mu);
	if (h->importing)
		rc = D1E_IMPORT_BUSY;
	else
		h->importing = 1;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

int dbpool_import_write(struct dbh *h, dbpool_job_fn fn, void *ctx)
{
	assert(h->importing);
	return write_wait(h, 0, fn, ctx);
}

void dbpool_import_end(struct dbh *h)
{
	pthread_mutex_lock(&h->mu);
	assert(h->importing);
	h->importing = 0;
	pthread_mutex_unlock(&h->mu);
}

/* Caller holds commit_mu. */
static void format_bookmark(const struct dbh *h, char *out)
{
	hist_bookmark(h->hist, out);
}

int dbpool_bookmark(struct dbh *h, char *out)
{
	pthread_mutex_lock(&h->commit_mu);
	format_bookmark(h, out);
	pthread_mutex_unlock(&h->commit_mu);
	return 0;
}

int dbpool_pin_snapshot(struct dbh *h, sqlite3 *conn, char *bookmark)
{
	int rc = 0;
	pthread_mutex_lock(&h->commit_mu);
	/* A read transaction starts at its first read, not at BEGIN. */
	if (sqlite3_exec(conn, "BEGIN; SELECT count(*) FROM sqlite_schema;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		if (!sqlite3_get_autocommit(conn))
			sqlite3_exec(conn, "ROLLBACK", NULL, NULL, NULL);
		rc = D1E_IO;
	} else
		format_bookmark(h, bookmark);
	pthread_mutex_unlock(&h->commit_mu);
	return rc;
}

const char *dbpool_path(const struct dbh *h)
{
	return h->path;
}

void dbpool_stats(struct dbh *h, int64_t *commits, int64_t *jobs)
{
	pthread_mutex_lock(&h->mu);
	*commits = h->commits;
	*jobs = h->jobs;
	pthread_mutex_unlock(&h->mu);
}
