/*
 * exec.h — D1's SQL execution: a /query or /raw body in, QueryResults (or
 * a D1-format error) out. Knows SQLite and JSON, not HTTP.
 */
#ifndef D1D_EXEC_H
#define D1D_EXEC_H

#include "arena.h"
#include "jsonw.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>

#define EXEC_MAX_PARAMS	   100
#define EXEC_MAX_SQL_BYTES 100000

struct exec_limits {
	int64_t timeout_ms;	  /* a request stops after this long */
	int64_t max_db_bytes;	  /* "Exceeded maximum DB size." past this */
	int64_t max_value_bytes;  /* largest string or BLOB */
	int64_t max_result_bytes; /* largest answer a request may build */
};

/* One element of a batch: a (possibly multi-statement) sql and its
 * params. Pointers refer into the request's JSON, which outlives the run. */
struct exec_unit {
	const char *sql;
	size_t len;
	json_t *params; /* array or NULL */
};

struct exec_batch {
	struct exec_unit *units; /* arena-owned */
	size_t n;
};

/* Parse a /query or /raw body: {sql, params?} or {batch: [...]}. On a bad
 * body returns D1E_BAD_REQUEST with a message in *msg (arena-owned). */
int exec_parse(struct arena *a, json_t *body, struct exec_batch *out,
	       const char **msg);

/* dbpool setup/teardown for every connection: limits, sandbox, hooks. ctx
 * is a struct exec_limits that outlives the pool. The teardown runs before
 * the connection is closed. */
int exec_conn_setup(sqlite3 *db, int writer, void *ctx, void **conn_ctx);
void exec_conn_teardown(void *conn_ctx);

/* One run of a batch on one connection. */
struct exec_run {
	const struct exec_batch *batch;
	int raw;       /* /raw: {columns, rows} instead of objects */
	int on_reader; /* running on a read-only connection */
	const char *region, *colo;
	struct jsonw out; /* the result array; reset at each run */
	char err[1024];	  /* D1-format message when the run fails */
	int needs_writer; /* set when a reader met a writing statement */
	int alone;	  /* running outside a transaction (VACUUM) */
	/* > 0: the run is on a thread that must not be held (an HTTP
	 * thread): past this many microseconds it stops with
	 * D1E_WOULD_BLOCK, having changed nothing, to be run again where it
	 * may take its time. */
	int64_t budget_us;
};

/* Does the batch begin with a statement that certainly writes? Then it
 * may go to the writer at once instead of trying a reader first. */
int exec_starts_with_write(const struct exec_batch *b);

/* Does the batch have to run outside a transaction, by itself (a lone
 * VACUUM)? Then it goes to dbpool_write_alone() with x->alone set. */
int exec_wants_alone(const struct exec_batch *b);

/* Run x->batch on db (a dbpool job: conn_ctx is the connection's). On a
 * reader, a statement that writes stops the run with D1E_NEEDS_WRITER and
 * x->needs_writer set. SQL errors return D1E_SQL with x->err; a full disk
 * D1E_FULL and another storage failure D1E_IO, also with x->err; a run
 * past x->budget_us D1E_WOULD_BLOCK. */
int exec_run(sqlite3 *db, void *conn_ctx, void *x);

/*
 * Statements run one at a time by d1d itself on a pooled connection (an
 * import, ingest.c), under the same sandbox and limits as /query.
 *
 * exec_user_prepare() prepares the first statement of [sql, sql + len)
 * with the sandbox judging it; *tail as sqlite3_prepare_v3(). *st is NULL
 * (and 0 returned) if only white space and comments remain; the caller
 * finalizes *st. Parameters, VACUUM and renames into _cf_ are refused.
 * exec_user_step() runs st to its end (rows are discarded) within the
 * query time limit, adding to *n. Both return 0, or D1E_SQL with D1's
 * message in err[cap], or another D1E_* error.
 */
struct exec_counts {
	int64_t rows_read, rows_written, changes;
};
int exec_user_prepare(void *conn_ctx, const char *sql, size_t len,
		      sqlite3_stmt **st, const char **tail, char *err,
		      size_t cap);
int exec_user_step(void *conn_ctx, sqlite3_stmt *st, struct exec_counts *n,
		   char *err, size_t cap);
/* Until set again, a non-zero *cancel (NULL: none) stops the statement
 * under way in exec_user_step() within about 1000 steps of SQLite's
 * virtual machine, as the time limit does (D1E_SQL, "Cancelled"); an
 * import sets it to its job's cancel flag, so that an unpolled import
 * stops inside a long statement too. */
void exec_user_cancel_flag(void *conn_ctx, atomic_int *cancel);
/* After the last exec_user_step() of a run: the on/off PRAGMAs its
 * statements set (which last from one statement to the next, as in a
 * file) go back to D1's defaults for the connection's next user. */
void exec_user_done(void *conn_ctx);
/* The database's size in use: (page_count - freelist_count) * page_size. */
int64_t exec_conn_size(void *conn_ctx);

#endif
