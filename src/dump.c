/*
 * dump.c — the SQL of an export, written as a stream.
 *
 * Format: D1's (COMPAT.md §2), so that a file from d1d imports anywhere a
 * D1 export does:
 *
 *   PRAGMA defer_foreign_keys=TRUE;
 *   CREATE TABLE ...;                       tables in creation order,
 *   INSERT INTO "t" ("a","b") VALUES(...);  each followed by its rows
 *   DELETE FROM sqlite_sequence;            sqlite_sequence last
 *   INSERT INTO "sqlite_sequence" ...
 *   CREATE INDEX ...; CREATE TRIGGER ...; CREATE VIEW ...;
 *
 * Values: NULL; integers exactly (all 64 bits); reals with as many digits
 * as it takes to read back the same double (and always with a '.' or an
 * exponent, so they stay REAL), infinities as 9e999; text single-quoted
 * with '' and, when it has line breaks, D1's replace('..\n..','\n',
 * char(10)) (with a marker the text does not contain, so a literal
 * backslash-n in the text survives); text with a NUL byte as
 * CAST(X'..' AS TEXT); BLOBs as X'hex'.
 *
 * Where d1d differs from D1, on purpose:
 *  - Virtual tables (fts5, fts5vocab, rtree, the ones the sandbox allows)
 *    are exported instead of refused: the CREATE VIRTUAL TABLE statement,
 *    never the shadow tables (pragma table_list marks them) that SQLite
 *    makes and fills itself, then the content through the virtual table:
 *    an fts5 table that stores its text gets INSERTs with its rowids (the
 *    index is rebuilt on import as they go in); an external-content fts5
 *    table gets INSERT INTO f(f) VALUES('rebuild') at the very end, once
 *    its content table (or view) is back; an rtree gets its rows;
 *    fts5vocab has none. A contentless fts5 table (content='') is
 *    exported empty, after a comment that says so: SQLite keeps its
 *    index but not its text, and the index cannot be imported (its shadow
 *    tables are read-only in defensive mode, D1's and ours), so an
 *    application that uses one indexes its text again; refusing the
 *    whole export, as before, helped nobody.
 *  - A rowid table whose rowid is not a declared INTEGER PRIMARY KEY keeps
 *    its rowids (INSERT INTO "t" (rowid,...)), so anything that refers to
 *    them (an external-content fts5 index, the application) still agrees.
 *  - Triggers and views come in creation order after the indexes (D1
 *    sorts them by type, which breaks an INSTEAD OF trigger on a view).
 *  - The `tables` filter keeps the indexes and triggers of those tables.
 *
 * Nothing is built in memory but one output buffer (DUMP_BUF) and one row:
 * rows go from sqlite3_column_*() to the buffer to write(2).
 */
#include "dump.h"

#include "apierr.h"
#include "faultvfs.h"
#include "util.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DUMP_BUF (1u << 20)
/* Bytes written between two starts of their write-back. */
#define DUMP_WRITEBACK (8 << 20)
/* Virtual-machine steps between two looks at the cancel flag: a few
 * microseconds of work, a negligible cost. */
#define DUMP_VM_CHECK 1000
/* A value whose worst-case text fits in this much is formatted straight
 * into the output buffer; a larger one goes through it in pieces. */
#define DUMP_DIRECT (DUMP_BUF / 4)

struct out {
	int fd;
	char *buf;
	size_t len;
	int failed; /* a write failed: the errno it failed with */
	int64_t total;
	int64_t started; /* written back from here on: see flush() */
};

static void flush(struct out *o)
{
	size_t off = 0;
	while (!o->failed && off < o->len) {
		ssize_t n = faultvfs_write(o->fd, o->buf + off, o->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			o->failed = n < 0 && errno ? errno : EIO;
		else
			off += (size_t)n;
	}
	o->total += (int64_t)o->len;
	o->len = 0;
	/* Start the write-back of each DUMP_WRITEBACK written, without
	 * waiting for it. Left to the kernel, a large export would sit in
	 * the page cache as gigabytes of dirty pages for half a minute,
	 * slowing down every writer on the machine once they pass its dirty
	 * limits: the fsyncs of the databases' commits, and the client that
	 * downloads the export into a file of its own. (An error is of no
	 * consequence: a pipe, say, has nothing to write back.) */
	if (o->total - o->started >= DUMP_WRITEBACK) {
		sync_file_range(o->fd, o->started, o->total - o->started,
				SYNC_FILE_RANGE_WRITE);
		o->started = o->total;
	}
}

/* Where the next n (at most DUMP_DIRECT) bytes go; the caller writes them
 * and adds what it wrote to o->len. */
static char *room(struct out *o, size_t n)
{
	assert(n <= DUMP_DIRECT);
	if (o->len + n > DUMP_BUF)
		flush(o);
	return o->buf + o->len;
}

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n > DUMP_BUF)
		flush(o);
	while (n > DUMP_BUF) { /* a value larger than the buffer */
		memcpy(o->buf, s, DUMP_BUF);
		o->len = DUMP_BUF;
		flush(o);
		s += DUMP_BUF;
		n -= DUMP_BUF;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* "name" with " doubled. */
static void put_id(struct out *o, const char *s)
{
	put(o, "\"", 1);
	for (const char *q; (q = strchr(s, '"')); s = q + 1) {
		put(o, s, (size_t)(q - s) + 1);
		put(o, "\"", 1);
	}
	puts_(o, s);
	put(o, "\"", 1);
}

/* ---- values ----
 *
 * Every value of every row goes through here, so these write straight
 * into the output buffer, with no printf and no intermediate copies: the
 * profile of the first version was a third glibc's float formatting. */

size_t dump_fmt_int(int64_t v, char *out)
{
	char tmp[DUMP_INT_MAX], *end = tmp + sizeof(tmp);
	char *p = util_utoa_end(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, end);
	if (v < 0)
		*--p = '-';
	memcpy(out, p, (size_t)(end - p));
	return (size_t)(end - p);
}

/* 5^q, q < 28: the largest that fits in 64 bits is 5^27. */
static const uint64_t pow5[28] = {1u,
				  5u,
				  25u,
				  125u,
				  625u,
				  3125u,
				  15625u,
				  78125u,
				  390625u,
				  1953125u,
				  9765625u,
				  48828125u,
				  244140625u,
				  1220703125u,
				  6103515625u,
				  30517578125u,
				  152587890625u,
				  762939453125u,
				  3814697265625u,
				  19073486328125u,
				  95367431640625u,
				  476837158203125u,
				  2384185791015625u,
				  11920928955078125u,
				  59604644775390625u,
				  298023223876953125u,
				  1490116119384765625u,
				  7450580596923828125u};

/* 10^k as doubles: exact up to 10^22 (Clinger's fast path below). */
static const double pow10d[23] = {
    1e0,  1e1,	1e2,  1e3,  1e4,  1e5,	1e6,  1e7,  1e8,  1e9,	1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

typedef unsigned __int128 u128;

/* m * 2^e * 10^q rounded to an integer, ties to even (printf's rounding),
 * computed exactly in 128-bit integers into *out. -1 when it does not fit
 * (the caller then uses printf): |q| up to 27, results below 2^64. */
static int scale10(uint64_t m, int e, int q, uint64_t *out)
{
	u128 num = m, den = 1, qt, rem;
	if (q > 27 || q < -27)
		return -1;
	/* 10^q = 5^q * 2^q: the 2^q joins the binary exponent. */
	if (q >= 0)
		num *= pow5[q]; /* < 2^53 * 2^63 */
	else
		den = pow5[-q];
	e += q;
	if (e >= 0) {
		if (e > 60 || (num >> (127 - e)) != 0)
			return -1;
		num <<= e;
		qt = num / den;
		rem = num % den;
	} else if (den == 1) {
		if (e < -126)
			return -1;
		den = (u128)1 << -e;
		qt = num >> -e;
		rem = num & (den - 1);
	} else {
		if (e < -63)
			return -1;
		den <<= -e;
		qt = num / den;
		rem = num % den;
	}
	if (rem > den - rem || (rem == den - rem && (qt & 1)))
		qt++;
	if (qt >> 64)
		return -1;
	*out = (uint64_t)qt;
	return 0;
}

/* The digits of a = m * 2^e with prec significant digits (15 or 17), and
 * its decimal exponent after rounding, as printf's %e finds them. */
static int sig_digits(uint64_t m, int e, int guess, int prec, uint64_t *d,
		      int *exp10)
{
	const uint64_t lo = prec == 15 ? 100000000000000u : 10000000000000000u;
	for (int tries = 0; tries < 3; tries++) {
		if (scale10(m, e, prec - 1 - guess, d))
			return -1;
		if (*d >= lo * 10)
			guess++;
		else if (*d < lo)
			guess--;
		else {
			*exp10 = guess;
			return 0;
		}
	}
	return -1;
}

/* Digits d (prec of them) with decimal exponent x, laid out as %.<prec>g
 * does: fixed when -4 <= x < prec, else d.ddde+XX; trailing zeros of the
 * fraction dropped. Returns the length. */
static size_t layout_g(char *out, int neg, uint64_t d, int prec, int x)
{
	char dig[20] = "", *p = out;
	util_utoa_end(d, dig + prec);
	int nd = prec;
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	if (neg)
		*p++ = '-';
	if (x < -4 || x >= prec) {
		*p++ = dig[0];
		if (nd > 1) {
			*p++ = '.';
			memcpy(p, dig + 1, (size_t)nd - 1);
			p += nd - 1;
		}
		*p++ = 'e';
		*p++ = x < 0 ? '-' : '+';
		unsigned ax = (unsigned)(x < 0 ? -x : x);
		if (ax >= 100)
			*p++ = (char)('0' + ax / 100);
		*p++ = util_digits2[(size_t)(ax % 100) * 2];
		*p++ = util_digits2[(size_t)(ax % 100) * 2 + 1];
	} else if (x >= 0) {
		memcpy(p, dig, (size_t)x + 1);
		p += x + 1;
		if (nd > x + 1) {
			*p++ = '.';
			memcpy(p, dig + x + 1, (size_t)(nd - x - 1));
			p += nd - x - 1;
		}
	} else {
		*p++ = '0';
		*p++ = '.';
		for (int i = -1; i > x; i--)
			*p++ = '0';
		memcpy(p, dig, (size_t)nd);
		p += nd;
	}
	return (size_t)(p - out);
}

/* n bytes of s into out, no NUL: the formatters return lengths. */
static size_t copy_out(char *out, const char *s, size_t n)
{
	memcpy(out, s, n);
	return n;
}

/* What printf and strtod make of it, for what the fast path does not
 * cover (very large or small magnitudes, subnormals). */
static size_t fmt_real_libc(double v, char *out)
{
	char tmp[DUMP_REAL_MAX];
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	return copy_out(out, tmp, strlen(tmp));
}

size_t dump_fmt_real(double v, char *out)
{
	size_t n = 0;
	if (isinf(v))
		return v > 0 ? copy_out(out, "9e999", 5)
			     : copy_out(out, "-9e999", 6);
	if (isnan(v)) /* SQLite stores NaN as NULL; never here */
		return copy_out(out, "NULL", 4);
	if (v == 0)
		return signbit(v) ? copy_out(out, "-0.0", 4)
				  : copy_out(out, "0.0", 3);
	/* 15 digits when they read back as the same double (the value as
	 * people wrote it), else 17, which always do: printf's %.15g, then
	 * %.17g, computed exactly. */
	uint64_t bits, m, d;
	memcpy(&bits, &v, sizeof(bits));
	int neg = (int)(bits >> 63), be = (int)((bits >> 52) & 0x7ff), x;
	m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
	/* a = m * 2^(be - 1075); floor(log10(2^(be - 1023))) is the guess
	 * (78913 / 2^18 is log10(2) to enough places for this range). */
	int guess = ((be - 1023) * 78913) >> 18;
	int ok = be != 0 && FLT_EVAL_METHOD == 0 &&
		 !sig_digits(m, be - 1075, guess, 15, &d, &x);
	if (ok) {
		/* Does d * 10^(x-14) read back as a? With both factors exact
		 * doubles, one IEEE multiplication or division rounds it
		 * exactly as strtod would (Clinger). Past 10^22, printf. */
		int k = x - 14;
		double back = -1;
		if (k >= 0 && k <= 22)
			back = (double)d * pow10d[k];
		else if (k < 0 && k >= -22)
			back = (double)d / pow10d[-k];
		if (back == fabs(v))
			n = layout_g(out, neg, d, 15, x);
		else if (back >= 0 && !sig_digits(m, be - 1075, x, 17, &d, &x))
			n = layout_g(out, neg, d, 17, x);
		else
			ok = 0;
	}
	if (!ok)
		n = fmt_real_libc(v, out);
	/* Keep it REAL: 1 would come back an INTEGER. */
	if (!memchr(out, '.', n) && !memchr(out, 'e', n))
		n += copy_out(out + n, ".0", 2);
	return n;
}

static void put_int(struct out *o, int64_t v)
{
	o->len += dump_fmt_int(v, room(o, DUMP_INT_MAX));
}

static void put_real(struct out *o, double v)
{
	o->len += dump_fmt_real(v, room(o, DUMP_REAL_MAX));
}

/* Each byte as two lowercase hex digits, a table lookup per byte. */
static void hex_into(char *p, const unsigned char *b, size_t n)
{
	static const char hex2[] = "000102030405060708090a0b0c0d0e0f"
				   "101112131415161718191a1b1c1d1e1f"
				   "202122232425262728292a2b2c2d2e2f"
				   "303132333435363738393a3b3c3d3e3f"
				   "404142434445464748494a4b4c4d4e4f"
				   "505152535455565758595a5b5c5d5e5f"
				   "606162636465666768696a6b6c6d6e6f"
				   "707172737475767778797a7b7c7d7e7f"
				   "808182838485868788898a8b8c8d8e8f"
				   "909192939495969798999a9b9c9d9e9f"
				   "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
				   "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
				   "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
				   "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
				   "e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
				   "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
	for (size_t i = 0; i < n; i++)
		memcpy(p + 2 * i, hex2 + (size_t)b[i] * 2, 2);
}

static void put_hex(struct out *o, const unsigned char *b, size_t n)
{
	while (n > 0) {
		size_t k = n < DUMP_DIRECT / 2 ? n : DUMP_DIRECT / 2;
		hex_into(room(o, 2 * k), b, k);
		o->len += 2 * k;
		b += k;
		n -= k;
	}
}

/* A marker for c ("\n" or "\r" as backslash + letter) that the text does
 * not contain: the letter, then digits if needed. Its one backslash is
 * its first byte, so no match can straddle it and the text. */
static size_t marker(const char *s, size_t n, int has_bs, char letter, char *m)
{
	m[0] = '\\';
	m[1] = letter;
	m[2] = '\0';
	if (has_bs) /* text with no backslash cannot contain any marker */
		for (int k = 1; memmem(s, n, m, strlen(m)); k++)
			snprintf(m + 2, 12, "%d", k);
	return strlen(m);
}

/* s[n] between single quotes, each ' doubled and each line break as its
 * marker, into p (room for 2 + n * max(2, marker lengths)). q, lf and cr
 * are the first of each special byte in s (NULL: none, or not to be
 * replaced); the next is found with memchr, so runs of plain text are
 * scanned and copied in bulk. Returns the length. */
static size_t quote_into(char *p, const char *s, size_t n, const char *q,
			 const char *lf, const char *mlf, size_t llf,
			 const char *cr, const char *mcr, size_t lcr)
{
	const char *end = s + n;
	char *start = p;
	*p++ = '\'';
	for (;;) {
		const char *next = q;
		if (lf && (!next || lf < next))
			next = lf;
		if (cr && (!next || cr < next))
			next = cr;
		if (!next)
			break;
		memcpy(p, s, (size_t)(next - s));
		p += next - s;
		if (next == q) {
			*p++ = '\'';
			*p++ = '\'';
			q = memchr(next + 1, '\'', (size_t)(end - next - 1));
		} else if (next == lf) {
			memcpy(p, mlf, llf);
			p += llf;
			lf = memchr(next + 1, '\n', (size_t)(end - next - 1));
		} else {
			memcpy(p, mcr, lcr);
			p += lcr;
			cr = memchr(next + 1, '\r', (size_t)(end - next - 1));
		}
		s = next + 1;
	}
	memcpy(p, s, (size_t)(end - s));
	p += end - s;
	*p++ = '\'';
	return (size_t)(p - start);
}

/* The same for text too long to format in place: through put(). */
static void quote_put(struct out *o, const char *s, size_t n, const char *mlf,
		      const char *mcr)
{
	size_t from = 0;
	put(o, "'", 1);
	for (size_t i = 0; i < n; i++) {
		const char *rep = s[i] == '\''		   ? "''"
				  : s[i] == '\n' && mlf[0] ? mlf
				  : s[i] == '\r' && mcr[0] ? mcr
							   : NULL;
		if (!rep)
			continue;
		put(o, s + from, i - from);
		puts_(o, rep);
		from = i + 1;
	}
	put(o, s + from, n - from);
	put(o, "'", 1);
}

static void put_text(struct out *o, const char *s, size_t n)
{
	char mlf[16] = "", mcr[16] = "";
	size_t llf = 0, lcr = 0;
	if (memchr(s, '\0', n)) {
		puts_(o, "CAST(X'");
		put_hex(o, (const unsigned char *)s, n);
		puts_(o, "' AS TEXT)");
		return;
	}
	const char *q = memchr(s, '\'', n), *lf = memchr(s, '\n', n),
		   *cr = memchr(s, '\r', n);
	if (!lf && !cr && !q && n + 2 <= DUMP_DIRECT) {
		char *p = room(o, n + 2);
		p[0] = '\'';
		memcpy(p + 1, s, n);
		p[n + 1] = '\'';
		o->len += n + 2;
		return;
	}
	int bs = (lf || cr) && memchr(s, '\\', n) != NULL;
	if (lf) {
		llf = marker(s, n, bs, 'n', mlf);
		puts_(o, "replace(");
	}
	if (cr) {
		lcr = marker(s, n, bs, 'r', mcr);
		puts_(o, "replace(");
	}
	size_t widest = llf > lcr ? llf : lcr;
	if (widest < 2)
		widest = 2;
	if (n <= (DUMP_DIRECT - 2) / widest)
		o->len += quote_into(room(o, n * widest + 2), s, n, q, lf, mlf,
				     llf, cr, mcr, lcr);
	else
		quote_put(o, s, n, mlf, mcr);
	if (cr) {
		puts_(o, ",'");
		puts_(o, mcr);
		puts_(o, "',char(13))");
	}
	if (lf) {
		puts_(o, ",'");
		puts_(o, mlf);
		puts_(o, "',char(10))");
	}
}

/* Column i of the current row. Read through sqlite3_column_value() and
 * the sqlite3_value_*() accessors, which skip the per-call error and
 * mutex bookkeeping of sqlite3_column_*(): SQLite calls such use of an
 * unprotected value "not threadsafe", which is moot here, where the
 * connection belongs to this thread alone. */
static void put_value(struct out *o, sqlite3_stmt *st, int i)
{
	sqlite3_value *v = sqlite3_column_value(st, i);
	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER: put_int(o, sqlite3_value_int64(v)); break;
	case SQLITE_FLOAT: put_real(o, sqlite3_value_double(v)); break;
	case SQLITE_TEXT: {
		const char *t = (const char *)sqlite3_value_text(v);
		put_text(o, t ? t : "", (size_t)sqlite3_value_bytes(v));
		break;
	}
	case SQLITE_BLOB: {
		const void *b = sqlite3_value_blob(v);
		put(o, "X'", 2);
		put_hex(o, b, (size_t)sqlite3_value_bytes(v));
		put(o, "'", 1);
		break;
	}
	default: put(o, "NULL", 4);
	}
}

/* ---- the schema ---- */

struct ctx {
	sqlite3 *db;
	const struct dump_opts *opt;
	const struct dump_progress *pr;
	struct out out;
	char *err;
	size_t cap;
	char **rebuild; /* external-content fts5 tables, rebuilt at the end */
	size_t nrebuild;
};

__attribute__((format(printf, 2, 3))) static int fail(struct ctx *c,
						      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* The analyzer loses track of va_start here (a false positive). */
	vsnprintf(c->err, c->cap, fmt, ap); // NOLINT(clang-analyzer-valist.*)
	va_end(ap);
	return D1E_SQL;
}

static int cancelled(struct ctx *c)
{
	return c->pr && c->pr->cancel && atomic_load(c->pr->cancel);
}

/* Called by SQLite every DUMP_VM_CHECK steps of its virtual machine,
 * inside sqlite3_step(): non-zero interrupts the statement. So a cancelled
 * job stops even within one long step (a scan over many pages that yields
 * no row, the schema queries), not only between rows. */
static int on_vm_progress(void *arg)
{
	return cancelled(arg);
}

static int wanted(const struct ctx *c, const char *name)
{
	if (!c->opt->ntables)
		return 1;
	for (size_t i = 0; i < c->opt->ntables; i++)
		if (!strcasecmp(c->opt->tables[i], name))
			return 1;
	return 0;
}

static const char *skip_ws(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

/* Past one keyword (case-insensitively), or NULL. */
static const char *keyword(const char *p, const char *kw)
{
	size_t n = strlen(kw);
	p = skip_ws(p);
	if (strncasecmp(p, kw, n) != 0 || isalnum((unsigned char)p[n]) ||
	    p[n] == '_')
		return NULL;
	return p + n;
}

/* Past one identifier, quoted or bare, or NULL. */
static const char *ident(const char *p)
{
	p = skip_ws(p);
	char close = *p == '"'	  ? '"'
		     : *p == '`'  ? '`'
		     : *p == '\'' ? '\''
		     : *p == '['  ? ']'
				  : 0;
	if (close) {
		for (p++; *p; p++)
			if (*p == close) {
				if (close != ']' && p[1] == close)
					p++;
				else
					return p + 1;
			}
		return NULL;
	}
	const char *s = p;
	while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '$' ||
		      (unsigned char)*p >= 0x80))
		p++;
	return p > s ? p : NULL;
}

/* The module of "CREATE VIRTUAL TABLE [IF NOT EXISTS] [s.]name USING m"
 * into mod[cap], and where its arguments start. 0 or -1. */
static int vtab_module(const char *sql, char *mod, size_t cap,
		       const char **args)
{
	const char *p = keyword(sql, "CREATE");
	if (p)
		p = keyword(p, "VIRTUAL");
	if (p)
		p = keyword(p, "TABLE");
	if (p && keyword(p, "IF"))
		p = keyword(keyword(p, "IF"), "NOT");
	if (p && keyword(p, "EXISTS"))
		p = keyword(p, "EXISTS");
	if (p)
		p = ident(p);
	if (p && *skip_ws(p) == '.')
		p = ident(skip_ws(p) + 1);
	if (p)
		p = keyword(p, "USING");
	if (!p)
		return -1;
	const char *m = skip_ws(p), *e = ident(m);
	if (!e || (size_t)(e - m) >= cap)
		return -1;
	memcpy(mod, m, (size_t)(e - m));
	mod[e - m] = '\0';
	*args = e;
	return 0;
}

/* fts5's content= option: 1 when it names a table (external content),
 * 0 when it is empty (contentless) or absent. */
static int fts5_external(const char *args)
{
	const char *p = strchr(args, '(');
	if (!p)
		return 0;
	for (p++; *p;) {
		p = skip_ws(p);
		const char *v = keyword(p, "content");
		if (v && *(v = skip_ws(v)) == '=') {
			v = skip_ws(v + 1);
			return !(*v == ',' || *v == ')' ||
				 !strncmp(v, "''", 2) ||
				 !strncmp(v, "\"\"", 2));
		}
		/* Skip this argument: to the next comma outside quotes. */
		char q = 0;
		for (; *p; p++) {
			if (q) {
				if (*p == q)
					q = 0;
			} else if (*p == '\'' || *p == '"' || *p == '`') {
				q = *p;
			} else if (*p == '[') {
				q = ']';
			} else if (*p == ',' || *p == ')') {
				p++;
				break;
			}
		}
	}
	return 0;
}

static int has_table(struct ctx *c, const char *name)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(c->db,
			       "SELECT 1 FROM sqlite_schema WHERE type='table' "
			       "AND name=?",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return found;
}

/* ---- rows ---- */

/* INSERT statements for every row of table (read through SELECT). */
static int dump_rows(struct ctx *c, const char *table, int keep_rowid)
{
	sqlite3_stmt *cols = NULL, *rows = NULL;
	struct out sel = {0}; /* the SELECT and the INSERT prefix, in memory */
	char *select = NULL, *prefix = NULL;
	size_t ncol = 0, plen = 0;
	int rc = 0, pkint = 0, npk = 0;
	const char *rid = NULL;
	char **names = NULL;

	if (sqlite3_prepare_v2(c->db,
			       "SELECT name, upper(type), pk FROM "
			       "pragma_table_info(?)",
			       -1, &cols, NULL) != SQLITE_OK) {
		rc = fail(c, "%s", sqlite3_errmsg(c->db));
		goto out;
	}
	sqlite3_bind_text(cols, 1, table, -1, SQLITE_STATIC);
	while (sqlite3_step(cols) == SQLITE_ROW) {
		char **nn = realloc(names, (ncol + 1) * sizeof(*names));
		if (!nn) {
			rc = D1E_NOMEM;
			goto out;
		}
		names = nn;
		names[ncol] =
		    strdup((const char *)sqlite3_column_text(cols, 0));
		if (!names[ncol++]) {
			rc = D1E_NOMEM;
			goto out;
		}
		if (sqlite3_column_int(cols, 2) > 0) {
			npk++;
			const char *t =
			    (const char *)sqlite3_column_text(cols, 1);
			pkint = t && !strcmp(t, "INTEGER");
		}
	}
	if (ncol == 0) {
		rc = fail(c, "Cannot read the columns of table %s: %s", table,
			  sqlite3_errmsg(c->db));
		goto out;
	}
	if (keep_rowid && !(npk == 1 && pkint)) {
		static const char *const aliases[] = {"rowid", "_rowid_",
						      "oid"};
		for (size_t a = 0; a < 3 && !rid; a++) {
			rid = aliases[a];
			for (size_t i = 0; i < ncol && rid; i++)
				if (!strcasecmp(names[i], aliases[a]))
					rid = NULL;
		}
	}

	/* Build "SELECT cols FROM t" and "INSERT INTO t (cols) VALUES(". */
	sel.buf = malloc(DUMP_BUF);
	if (!sel.buf) {
		rc = D1E_NOMEM;
		goto out;
	}
	sel.fd = -1;
	for (int pass = 0; pass < 2; pass++) {
		sel.len = 0;
		puts_(&sel, pass ? "INSERT INTO " : "SELECT ");
		if (pass) {
			put_id(&sel, table);
			puts_(&sel, " (");
		}
		if (rid) {
			puts_(&sel, rid);
			if (ncol)
				puts_(&sel, ",");
		}
		for (size_t i = 0; i < ncol; i++) {
			if (i)
				puts_(&sel, pass ? "," : ", ");
			put_id(&sel, names[i]);
		}
		if (pass) {
			puts_(&sel, ") VALUES(");
		} else {
			puts_(&sel, " FROM ");
			put_id(&sel, table);
		}
		if (sel.failed || sel.len >= DUMP_BUF) {
			rc = fail(c, "Table %s has too many columns", table);
			goto out;
		}
		char *copy = strndup(sel.buf, sel.len);
		if (!copy) {
			rc = D1E_NOMEM;
			goto out;
		}
		if (pass) {
			prefix = copy;
			plen = sel.len;
		} else {
			select = copy;
		}
	}
	if (sqlite3_prepare_v2(c->db, select, -1, &rows, NULL) != SQLITE_OK) {
		rc = fail(c, "Cannot read table %s: %s", table,
			  sqlite3_errmsg(c->db));
		goto out;
	}
	int n = sqlite3_column_count(rows), s;
	int64_t nrows = 0;
	while ((s = sqlite3_step(rows)) == SQLITE_ROW) {
		put(&c->out, prefix, plen);
		for (int i = 0; i < n; i++) {
			if (i)
				put(&c->out, ",", 1);
			put_value(&c->out, rows, i);
		}
		put(&c->out, ");\n", 3);
		/* At every row (a load of one flag): a cancelled job stops
		 * within a row, however large the table. */
		if (cancelled(c)) {
			rc = fail(c, "%s", c->pr->cancel_why);
			goto out;
		}
		if ((++nrows & 0xffff) == 0 && c->pr && c->pr->fn)
			c->pr->fn(c->pr->ctx, table, nrows);
		if (c->out.failed) {
			rc = D1E_IO;
			goto out;
		}
	}
	if (s != SQLITE_DONE)
		rc = fail(c, "Cannot read table %s: %s", table,
			  sqlite3_errmsg(c->db));
out:
	sqlite3_finalize(cols);
	sqlite3_finalize(rows);
	for (size_t i = 0; i < ncol; i++)
		free(names[i]);
	free(names);
	free(sel.buf);
	free(select);
	free(prefix);
	return rc;
}

/* One table: its CREATE and its rows, by kind. */
static int dump_table(struct ctx *c, const char *name, const char *sql,
		      const char *type, int without_rowid)
{
	const struct dump_opts *o = c->opt;
	if (cancelled(c))
		return fail(c, "%s", c->pr->cancel_why);
	if (c->pr && c->pr->fn)
		c->pr->fn(c->pr->ctx, name, 0);
	if (!strcasecmp(name, "sqlite_sequence")) {
		if (!o->no_schema)
			puts_(&c->out, "DELETE FROM sqlite_sequence;\n");
		return o->no_data ? 0 : dump_rows(c, name, 0);
	}
	if (!strncasecmp(name, "sqlite_stat", 11)) {
		if (!o->no_schema)
			puts_(&c->out, "ANALYZE sqlite_schema;\n");
		return o->no_data ? 0 : dump_rows(c, name, 0);
	}
	if (!strncasecmp(name, "sqlite_", 7) || !strncasecmp(name, "_cf_", 4))
		return 0;

	if (!strcmp(type, "virtual")) {
		char mod[32], shadow[300];
		const char *args;
		if (vtab_module(sql, mod, sizeof(mod), &args))
			return fail(c,
				    "Cannot export virtual table %s: its "
				    "definition is not understood",
				    name);
		int fts5 = !strcasecmp(mod, "fts5"), stored = 0, external = 0;
		if (fts5) {
			snprintf(shadow, sizeof(shadow), "%s_content", name);
			stored = has_table(c, shadow);
			external = !stored && fts5_external(args);
		}
		if (fts5 && !stored && !external && !o->no_data) {
			/* Contentless (content=''): SQLite keeps the index but
			 * not the text, and the index alone cannot be brought
			 * back (its shadow tables are read-only in defensive
			 * mode, and the text cannot be rebuilt from it). So
			 * the definition only, saying so in the file. */
			if (!o->no_schema)
				puts_(&c->out,
				      "-- The next table is a contentless fts5 "
				      "table (content=''): SQLite stores its "
				      "index, not its text, so it is exported "
				      "empty; index the text again after the "
				      "import.\n");
			if (c->pr && c->pr->note)
				c->pr->note(
				    c->pr->ctx,
				    "Table %s is a contentless fts5 table: "
				    "exported empty (its text is not "
				    "stored in the database).",
				    name);
		}
		if (!o->no_schema) {
			puts_(&c->out, sql);
			puts_(&c->out, ";\n");
		}
		if (o->no_data || !strcasecmp(mod, "fts5vocab"))
			return 0;
		if (!strcasecmp(mod, "rtree") || !strcasecmp(mod, "rtree_i32"))
			return dump_rows(c, name, 0);
		if (!fts5)
			return fail(c,
				    "Cannot export virtual table %s: module %s "
				    "is not one of fts5, fts5vocab, rtree",
				    name, mod);
		if (stored)
			return dump_rows(c, name, 1);
		if (external) {
			char **r =
			    realloc(c->rebuild, (c->nrebuild + 1) * sizeof(*r));
			if (!r)
				return D1E_NOMEM;
			c->rebuild = r;
			if (!(r[c->nrebuild] = strdup(name)))
				return D1E_NOMEM;
			c->nrebuild++;
		}
		return 0;
	}
	if (!o->no_schema) {
		if (!strncmp(sql, "CREATE TABLE \"", 14) ||
		    !strncmp(sql, "CREATE TABLE '", 14)) {
			puts_(&c->out, "CREATE TABLE IF NOT EXISTS ");
			puts_(&c->out, sql + 13);
		} else {
			puts_(&c->out, sql);
		}
		puts_(&c->out, ";\n");
	}
	return o->no_data ? 0 : dump_rows(c, name, !without_rowid);
}

static int dump_all(struct ctx *c)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, s;

	/* Every named table must exist (and be a table of the user's). */
	for (size_t i = 0; i < c->opt->ntables; i++) {
		const char *t = c->opt->tables[i];
		int ok = has_table(c, t);
		if (ok && sqlite3_prepare_v2(c->db,
					     "SELECT type FROM "
					     "pragma_table_list WHERE "
					     "schema='main' AND name=?",
					     -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
			ok = sqlite3_step(st) == SQLITE_ROW &&
			     strcmp((const char *)sqlite3_column_text(st, 0),
				    "shadow") != 0;
		}
		sqlite3_finalize(st);
		st = NULL;
		if (!ok)
			return fail(c, "No such table to export: %s", t);
	}

	puts_(&c->out, "PRAGMA defer_foreign_keys=TRUE;\n");
	if (sqlite3_prepare_v2(
		c->db,
		"SELECT s.name, s.sql, l.type, l.wr FROM sqlite_schema AS s "
		"JOIN pragma_table_list AS l ON l.schema = 'main' AND "
		"l.name = s.name WHERE s.type = 'table' AND s.sql NOT NULL "
		"ORDER BY s.name = 'sqlite_sequence', s.rowid",
		-1, &st, NULL) != SQLITE_OK)
		return fail(c, "Cannot read the schema: %s",
			    sqlite3_errmsg(c->db));
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *sql = (const char *)sqlite3_column_text(st, 1);
		const char *type = (const char *)sqlite3_column_text(st, 2);
		if (!strcmp(type, "shadow") || !wanted(c, name))
			continue;
		rc = dump_table(c, name, sql, type, sqlite3_column_int(st, 3));
	}
	if (!rc && s != SQLITE_DONE)
		rc = fail(c, "Cannot read the schema: %s",
			  sqlite3_errmsg(c->db));
	sqlite3_finalize(st);
	st = NULL;
	if (rc)
		return rc;

	if (!c->opt->no_schema) {
		if (sqlite3_prepare_v2(
			c->db,
			"SELECT tbl_name, sql FROM sqlite_schema WHERE sql NOT "
			"NULL AND type IN ('index', 'trigger', 'view') ORDER "
			"BY type <> 'index', rowid",
			-1, &st, NULL) != SQLITE_OK)
			return fail(c, "Cannot read the schema: %s",
				    sqlite3_errmsg(c->db));
		while ((s = sqlite3_step(st)) == SQLITE_ROW) {
			if (!wanted(c,
				    (const char *)sqlite3_column_text(st, 0)))
				continue;
			puts_(&c->out,
			      (const char *)sqlite3_column_text(st, 1));
			puts_(&c->out, ";\n");
		}
		if (s != SQLITE_DONE)
			rc = fail(c, "Cannot read the schema: %s",
				  sqlite3_errmsg(c->db));
		sqlite3_finalize(st);
	}
	for (size_t i = 0; !rc && i < c->nrebuild; i++) {
		puts_(&c->out, "INSERT INTO ");
		put_id(&c->out, c->rebuild[i]);
		puts_(&c->out, "(");
		put_id(&c->out, c->rebuild[i]);
		puts_(&c->out, ") VALUES('rebuild');\n");
	}
	return rc;
}

int dump_write(sqlite3 *db, const struct dump_opts *o, int fd,
	       const struct dump_progress *pr, int64_t *bytes, char *err,
	       size_t cap)
{
	struct ctx c = {.db = db, .opt = o, .pr = pr, .err = err, .cap = cap};
	int rc;
	err[0] = '\0';
	c.out.fd = fd;
	c.out.buf = malloc(DUMP_BUF);
	if (!c.out.buf)
		return D1E_NOMEM;
	if (pr && pr->cancel)
		sqlite3_progress_handler(db, DUMP_VM_CHECK, on_vm_progress, &c);
	rc = dump_all(&c);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	flush(&c.out);
	/* A write error, wherever it was noticed, is what the client hears;
	 * a full disk is told apart because space may come back. */
	if (c.out.failed) {
		rc = c.out.failed == ENOSPC ? D1E_FULL : D1E_IO;
		snprintf(err, cap, "%s",
			 rc == D1E_FULL
			     ? "Storage full: the server has no disk space "
			       "left for the export file; try again when "
			       "there is"
			     : "Storage failure: the export file could not be "
			       "written");
	} else if (rc && pr && cancelled(&c)) {
		/* Whatever it met (an interrupted statement), it was told to
		 * stop. */
		rc = D1E_SQL;
		snprintf(err, cap, "%s", pr->cancel_why);
	}
	*bytes = c.out.total;
	for (size_t i = 0; i < c.nrebuild; i++)
		free(c.rebuild[i]);
	free(c.rebuild);
	free(c.out.buf);
	return rc;
}
