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
	/* Called at each table, and every 64k rows within one. The cancel
	 * flag is read at every row, and every 1000 steps of SQLite's
	 * virtual machine within a statement. */
	void (*fn)(void *ctx, const char *table, int64_t rows);
	void *ctx;
	atomic_int *cancel; /* non-zero: stop with cancel_why */
	const char *cancel_why;
	/* Something the user should know about a table (may be NULL). */
	void (*note)(void *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
};

/* Write the dump of db to fd. db is a connection the caller owns, inside
 * a read transaction the caller holds (so the dump is one snapshot).
 * Returns 0, or D1E_SQL with err[cap] saying why (a table that cannot be
 * exported, a named table that does not exist, cancellation), or D1E_FULL
 * (the disk is full) or D1E_IO (another write error), also with err set.
 * *bytes gets the size written. */
/* The longest text of dump_fmt_int and dump_fmt_real. */
#define DUMP_INT_MAX  20
#define DUMP_REAL_MAX 32

/* The SQL literal of an integer or a real, as the dump writes it, into
 * out (DUMP_INT_MAX or DUMP_REAL_MAX bytes, not NUL-terminated); returns
 * its length. Reals read back as the same double and stay REAL: printf's
 * %.15g when that round-trips, else %.17g, with ".0" added when neither a
 * '.' nor an exponent shows; -0.0 stays -0.0; infinities are 9e999 and
 * -9e999 (SQLite reads them back as infinities); NaN, which SQLite never
 * stores, is NULL. */
size_t dump_fmt_int(int64_t v, char *out);
size_t dump_fmt_real(double v, char *out);

int dump_write(sqlite3 *db, const struct dump_opts *o, int fd,
	       const struct dump_progress *pr, int64_t *bytes, char *err,
	       size_t cap);

#endif
