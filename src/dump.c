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
 *    fts5vocab has none. Only a contentless fts5 table (content='') cannot
 *    be exported with data: its text is not in the database.
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

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DUMP_BUF (1u << 20)

struct out {
	int fd;
	char *buf;
	size_t len;
	int failed; /* a write failed: the errno it failed with */
	int64_t total;
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

static void put_int(struct out *o, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	put(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void put_real(struct out *o, double v)
{
	char tmp[40];
	if (isinf(v)) {
		puts_(o, v > 0 ? "9e999" : "-9e999");
		return;
	}
	if (isnan(v)) { /* SQLite stores NaN as NULL; never here */
		puts_(o, "NULL");
		return;
	}
	/* 15 digits when they read back as the same double (the value as
	 * people wrote it), else 17, which always do. */
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	puts_(o, tmp);
	if (!strpbrk(tmp, ".eEn")) /* keep it REAL: 1 would come back INT */
		puts_(o, ".0");
}

static void put_hex(struct out *o, const unsigned char *b, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	char tmp[512];
	while (n > 0) {
		size_t k = n < sizeof(tmp) / 2 ? n : sizeof(tmp) / 2;
		for (size_t i = 0; i < k; i++) {
			tmp[2 * i] = hx[b[i] >> 4];
			tmp[2 * i + 1] = hx[b[i] & 15];
		}
		put(o, tmp, 2 * k);
		b += k;
		n -= k;
	}
}

/* A marker for c ("\n" or "\r" as backslash + letter) that the text does
 * not contain: the letter, then digits if needed. Its one backslash is
 * its first byte, so no match can straddle it and the text. */
static void marker(const char *s, size_t n, char letter, char *m)
{
	m[0] = '\\';
	m[1] = letter;
	m[2] = '\0';
	for (int k = 1; memmem(s, n, m, strlen(m)); k++)
		snprintf(m + 2, 12, "%d", k);
}

static void put_text(struct out *o, const char *s, size_t n)
{
	int lf = 0, cr = 0, quote = 0;
	char mlf[16] = "", mcr[16] = "";
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\'')
			quote = 1;
		else if (c == '\n')
			lf = 1;
		else if (c == '\r')
			cr = 1;
		else if (c == '\0') {
			puts_(o, "CAST(X'");
			put_hex(o, (const unsigned char *)s, n);
			puts_(o, "' AS TEXT)");
			return;
		}
	}
	if (!lf && !cr && !quote) {
		put(o, "'", 1);
		put(o, s, n);
		put(o, "'", 1);
		return;
	}
	if (lf) {
		marker(s, n, 'n', mlf);
		puts_(o, "replace(");
	}
	if (cr) {
		marker(s, n, 'r', mcr);
		puts_(o, "replace(");
	}
	put(o, "'", 1);
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep = s[i] == '\''	 ? "''"
				  : s[i] == '\n' ? mlf
				  : s[i] == '\r' ? mcr
						 : NULL;
		if (!rep)
			continue;
		put(o, s + from, i - from);
		puts_(o, rep);
		from = i + 1;
	}
	put(o, s + from, n - from);
	put(o, "'", 1);
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

static void put_value(struct out *o, sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER: put_int(o, sqlite3_column_int64(st, i)); break;
	case SQLITE_FLOAT: put_real(o, sqlite3_column_double(st, i)); break;
	case SQLITE_TEXT: {
		const char *t = (const char *)sqlite3_column_text(st, i);
		put_text(o, t ? t : "", (size_t)sqlite3_column_bytes(st, i));
		break;
	}
	case SQLITE_BLOB: {
		const void *b = sqlite3_column_blob(st, i);
		puts_(o, "X'");
		put_hex(o, b, (size_t)sqlite3_column_bytes(st, i));
		put(o, "'", 1);
		break;
	}
	default: puts_(o, "NULL");
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
		if ((++nrows & 0xffff) == 0) {
			if (cancelled(c)) {
				rc = fail(c, "%s", c->pr->cancel_why);
				goto out;
			}
			if (c->pr && c->pr->fn)
				c->pr->fn(c->pr->ctx, table, nrows);
		}
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
		char mod[32];
		const char *args;
		if (vtab_module(sql, mod, sizeof(mod), &args))
			return fail(c,
				    "Cannot export virtual table %s: its "
				    "definition is not understood",
				    name);
		if (!o->no_schema) {
			puts_(&c->out, sql);
			puts_(&c->out, ";\n");
		}
		if (o->no_data || !strcasecmp(mod, "fts5vocab"))
			return 0;
		if (!strcasecmp(mod, "rtree") || !strcasecmp(mod, "rtree_i32"))
			return dump_rows(c, name, 0);
		if (strcasecmp(mod, "fts5") != 0)
			return fail(c,
				    "Cannot export virtual table %s: module %s "
				    "is not one of fts5, fts5vocab, rtree",
				    name, mod);
		char shadow[300];
		snprintf(shadow, sizeof(shadow), "%s_content", name);
		if (has_table(c, shadow))
			return dump_rows(c, name, 1);
		if (fts5_external(args)) {
			char **r =
			    realloc(c->rebuild, (c->nrebuild + 1) * sizeof(*r));
			if (!r)
				return D1E_NOMEM;
			c->rebuild = r;
			if (!(r[c->nrebuild] = strdup(name)))
				return D1E_NOMEM;
			c->nrebuild++;
			return 0;
		}
		return fail(c,
			    "Cannot export the contentless fts5 table %s: its "
			    "text is not stored in the database (export "
			    "with no_data, or leave it out with tables)",
			    name);
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
	rc = dump_all(&c);
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
	}
	*bytes = c.out.total;
	for (size_t i = 0; i < c.nrebuild; i++)
		free(c.rebuild[i]);
	free(c.rebuild);
	free(c.out.buf);
	return rc;
}
