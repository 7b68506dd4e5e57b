/*
 * dbpool.h — open databases: per database one writer connection, a few
 * read-only connections, and the group-commit protocol. See dbpool.c.
 */
#ifndef D1D_DBPOOL_H
#define D1D_DBPOOL_H

#include <sqlite3.h>
#include <stdint.h>

struct dbpool;
struct dbh; /* one open database */

/* Prepares a freshly opened connection (the sandbox, limits); called once
 * per connection, writer or reader. It may return in *conn_ctx a pointer
 * that the pool keeps with the connection, hands to every job run on it,
 * and passes to the teardown function when the connection closes. Returns
 * 0 or a D1E_* error (then *conn_ctx must be NULL). */
typedef int (*dbpool_setup_fn)(sqlite3 *db, int writer, void *ctx,
			       void **conn_ctx);
typedef void (*dbpool_teardown_fn)(void *conn_ctx);

/* A job: runs on a connection, with the connection's ctx and its own. */
typedef int (*dbpool_job_fn)(sqlite3 *db, void *conn_ctx, void *ctx);

/* max_open bounds the databases kept open at once (least recently used
 * idle ones are closed beyond it); readers is the number of read-only
 * connections per database; sync_full selects synchronous=FULL (an
 * acknowledged commit survives power loss) over NORMAL (it survives a
 * crash of d1d, not of the machine). *out is freed with dbpool_free(). */
int dbpool_new(const char *data_dir, int max_open, int readers, int sync_full,
	       dbpool_setup_fn setup, dbpool_teardown_fn teardown,
	       void *setup_ctx, struct dbpool **out);
/* How far back time travel reaches, in ms (default 30 days): older
 * history is dropped (history.c). Call before any acquire. */
void dbpool_set_history_keep(struct dbpool *p, int64_t ms);

/* Close everything. No handle may be held. */
void dbpool_free(struct dbpool *p);

/* Pin the database with this uuid, opening it if needed. Every successful
 * acquire is paired with one dbpool_release(). */
int dbpool_acquire(struct dbpool *p, const char *uuid, struct dbh **out);
void dbpool_release(struct dbpool *p, struct dbh *h);

/* dbpool_acquire() for a thread that must not wait: only a database that
 * is open and not held by dbpool_exclusive(); else D1E_WOULD_BLOCK (the
 * caller goes where it may wait and calls dbpool_acquire()). */
int dbpool_acquire_open(struct dbpool *p, const char *uuid, struct dbh **out);

/* Close the database's connections (waiting for users to finish) and
 * forget it, before its files are removed. */
void dbpool_forget(struct dbpool *p, const char *uuid);

/* Run fn on a read-only connection of h; readers never wait for the
 * writer (WAL). Returns what fn returns. */
int dbpool_read(struct dbh *h, dbpool_job_fn fn, void *ctx);
/* The same without waiting for a free read-only connection:
 * D1E_WOULD_BLOCK if every one is busy. */
int dbpool_read_nowait(struct dbh *h, dbpool_job_fn fn, void *ctx);

/*
 * Run fn on the writer inside its own savepoint, as part of a group of
 * concurrent writes committed together. fn returns 0 to keep its changes or
 * non-zero to have them rolled back (without affecting the other writes in
 * the group). dbpool_write() returns when the group's COMMIT is durable:
 * fn's result if it failed, D1E_FULL (the disk is full) or D1E_IO if the
 * commit failed (fn's changes are then lost and it must discard what it
 * answered), else 0.
 */
int dbpool_write(struct dbh *h, dbpool_job_fn fn, void *ctx);

/*
 * dbpool_write() (alone = 0) or dbpool_write_alone() (alone = 1) for a
 * thread that must not wait: the job is queued and the call returns at
 * once. done(done_ctx, rc) is called exactly once, on a writer thread and
 * possibly before this returns, with what dbpool_write() would have
 * returned. fn runs on the writer thread too. Returns 0 once queued, or
 * D1E_IMPORT_BUSY or D1E_NOMEM (done is then never called). h must stay
 * acquired until done has been called.
 */
typedef void (*dbpool_done_fn)(void *done_ctx, int rc);
int dbpool_write_async(struct dbh *h, int alone, dbpool_job_fn fn, void *ctx,
		       dbpool_done_fn done, void *done_ctx);

/* Like dbpool_write(), for a job that cannot run inside a transaction
 * (VACUUM): it runs by itself, between groups, in autocommit mode. */
int dbpool_write_alone(struct dbh *h, dbpool_job_fn fn, void *ctx);

/* Imports (api_import.c): dbpool_import_begin() marks h as importing
 * (D1E_IMPORT_BUSY if it already is), after which dbpool_write() and
 * dbpool_write_alone() refuse with D1E_IMPORT_BUSY; the import's own job
 * goes through dbpool_import_write(), which is dbpool_write() without that
 * check. dbpool_import_end() clears the mark. The caller keeps h acquired
 * from begin to end. */
int dbpool_import_begin(struct dbh *h);
int dbpool_import_write(struct dbh *h, dbpool_job_fn fn, void *ctx);
void dbpool_import_end(struct dbh *h);

/* A bookmark names one committed state of one database (time travel):
 * "%08x-%08x-%08x-%032x", sortable, see history.c. The buffer a caller
 * passes holds DBPOOL_BOOKMARK_SIZE bytes, terminator included. */
#define DBPOOL_BOOKMARK_SIZE 64

/* The bookmark of h's last commit. Returns 0 or a D1E_* error. */
int dbpool_bookmark(struct dbh *h, char *out);

/* Begin a read transaction on conn, a read-only connection the caller
 * opened on dbpool_path(h) and owns, pinned at h's last commit, and give
 * that commit's bookmark: no commit can slip between the two. The caller
 * ends the transaction (COMMIT) when done. Returns 0 or a D1E_* error. */
int dbpool_pin_snapshot(struct dbh *h, sqlite3 *conn, char *bookmark);

/* The bookmark of the last commit at or before time_ms (Unix ms); a time
 * before the history begins is D1E_BAD_REQUEST with *msg (static). */
int dbpool_bookmark_at(struct dbh *h, int64_t time_ms, char *out,
		       const char **msg);

struct hist;
/* Run fn with the database closed by everyone: requests in flight (and
 * exports, which hold it) finish first, new ones wait until fn returns.
 * fn gets the database's history, with the file whole (WAL empty); it may
 * rewrite the file (a restore). The next acquire opens it afresh. Returns
 * what fn returns, or a D1E_* error. */
int dbpool_exclusive(struct dbpool *p, const char *uuid,
		     int (*fn)(struct hist *hist, void *ctx), void *ctx);

/* The database file's path; valid while h is acquired. */
const char *dbpool_path(const struct dbh *h);

/* Figures for tests and benchmarks: commits and write jobs so far. */
void dbpool_stats(struct dbh *h, int64_t *commits, int64_t *jobs);

#endif
