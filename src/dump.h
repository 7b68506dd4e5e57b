/*
 * dump.h — a database as SQL text, in D1's export format (COMPAT.md §2
 * "Export format"), written as a stream. See dump.c.
 */
#ifndef D1D_DUMP_H
#define D1D_DUMP_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct dump_opts {
	int no_data;		   /* only the schema */
	int no_schema;		   /* only the rows */
	const char *const *tables; /* only these tables (none: all) */
	size_t ntables;
};

struct dump_progress {
	/* Called at each table, and every 64k rows within one. */
	void (*fn)(void *ctx, const char *table, int64_t rows);
	void *ctx;
	atomic_int *cancel; /* non-zero: stop with cancel_why */
	const char *cancel_why;
};

/* Write the dump of db to fd. db is a connection the caller owns, inside
 * a read transaction the caller holds (so the dump is one snapshot).
 * Returns 0, or D1E_SQL with err[cap] saying why (a table that cannot be
 * exported, a named table that does not exist, cancellation), or D1E_FULL
 * (the disk is full) or D1E_IO (another write error), also with err set.
 * *bytes gets the size written. */
int dump_write(sqlite3 *db, const struct dump_opts *o, int fd,
	       const struct dump_progress *pr, int64_t *bytes, char *err,
	       size_t cap);

#endif
