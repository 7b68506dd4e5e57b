/*
 * ingest.h — reading an SQL file as a stream of statements, and applying
 * it to a database as one transaction (imports). See ingest.c.
 */
#ifndef D1D_INGEST_H
#define D1D_INGEST_H

#include "exec.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where the bytes come from: fill buf with up to n bytes, return how many,
 * 0 at the end, or -1 on an error. */
typedef ssize_t (*ingest_read_fn)(void *ctx, char *buf, size_t n);

struct ingest_reader;

/* A reader over src. max_stmt bounds one statement (and so the memory the
 * reader holds); md5 asks for the MD5 of everything read. *out is freed
 * with ingest_reader_free(). Returns 0 or D1E_NOMEM. */
int ingest_reader_new(ingest_read_fn src, void *ctx, size_t max_stmt, int md5,
		      struct ingest_reader **out);
void ingest_reader_free(struct ingest_reader *r);

/* The next piece of SQL: one statement as SQLite's parser ends it (a
 * `;` that sqlite3_complete() accepts), or what is left at the end of the
 * input. *sql points into the reader's buffer, valid until the next call
 * (not NUL-terminated); *line is the line it starts on (1-based). Returns
 * 1 with a piece, 0 at the end, or D1E_SQL with a message in err[cap] (a
 * statement longer than max_stmt, a NUL byte, a read error). */
int ingest_next(struct ingest_reader *r, const char **sql, size_t *len,
		int64_t *line, char *err, size_t cap);

/* The lowercase hex MD5 of the bytes read so far, into hex[33]. */
int ingest_md5(struct ingest_reader *r, char *hex);
/* Bytes read so far. */
int64_t ingest_bytes(const struct ingest_reader *r);

/* One import, as a dbpool job on the writer (dbpool_import_write). */
struct ingest_run {
	struct ingest_reader *rd;
	const char *expect_md5; /* checked at the end when not NULL */
	atomic_int *cancel;	/* non-zero: stop, with cancel_why */
	const char *cancel_why;
	/* Called about once a second with the statements done so far. */
	void (*progress)(void *ctx, int64_t queries);
	void *progress_ctx;

	/* Out. */
	int64_t num_queries;
	struct exec_counts counts;
	int64_t size_after;
	int64_t last_row_id;
	double duration_ms;
	char err[1500]; /* why it failed, naming the statement */
};

/* Run every statement of x->rd, in order, inside the transaction the
 * caller holds (the writer's savepoint), under the /query sandbox. The
 * sqlite3 shell's BEGIN TRANSACTION / COMMIT are skipped (the import is
 * already one transaction) and PRAGMA foreign_keys lines are skipped
 * (foreign keys are checked once, at the end). Returns 0, or D1E_SQL with
 * x->err set; the caller then rolls back. */
int ingest_apply(sqlite3 *db, void *conn_ctx, void *x);

#endif
