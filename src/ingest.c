/*
 * ingest.c — imports: an SQL file read as a stream of statements and
 * applied as one transaction.
 *
 * Reading. The reader holds one buffer: the statement being assembled and
 * whatever follows it from the last read (INGEST_CHUNK at a time), never
 * the file. Statements are found the way the sqlite3 shell finds them: a
 * `;` ends a statement when sqlite3_complete() says the text up to it is
 * complete, which knows about strings, quoted names, comments and the
 * BEGIN ... END of triggers. So that sqlite3_complete() (which rescans from
 * the statement's start) runs about once per statement rather than once per
 * `;`, a small lexer that follows SQLite's tokenizer for quotes ('', "",
 * ``, []) and comments (--, / *) skips the `;` that are inside them. The
 * lexer only picks candidates; SQLite decides. A statement may not exceed
 * max_stmt bytes, so memory stays bounded whatever the file; the buffer is
 * compacted (the finished statements dropped) before each read. NUL bytes
 * are refused: SQLite would end the statement there.
 *
 * Applying. ingest_apply() is one dbpool job on the writer: the import is
 * one transaction, one commit, and any failure rolls all of it back. Each
 * statement is prepared and run through exec.c's sandbox (the /query
 * authorizer, limits and time limit per statement), so an imported file
 * can do no more than a /query request. A piece from the reader may hold
 * more than one statement (only if the lexer missed an end), so it is
 * consumed with prepare's tail, statement by statement. The sqlite3
 * shell's `.dump` wraps its output in BEGIN TRANSACTION / COMMIT and
 * starts with PRAGMA foreign_keys=OFF: these are skipped (the import is one
 * transaction already, and that PRAGMA does nothing inside one); foreign
 * keys are deferred to the end of the import instead, where any violation
 * fails it. A ROLLBACK (what `.dump` writes after errors) fails the import.
 * A cancelled import (its job unpolled, the server stopping) stops before
 * the next statement and, through exec.c's progress handler, inside the
 * one under way.
 */
#include "ingest.h"

#include "apierr.h"
#include "util.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INGEST_CHUNK (1u << 20)

enum lex {
	LX_SQL,	  /* between tokens */
	LX_SQ,	  /* '...' */
	LX_DQ,	  /* "..." */
	LX_BT,	  /* `...` */
	LX_BR,	  /* [...] */
	LX_LINE,  /* -- ... end of line */
	LX_BLOCK, /* / * ... * / */
};

struct ingest_reader {
	ingest_read_fn src;
	void *ctx;
	char *buf; /* [start, len): unconsumed; buf[len] always writable */
	size_t cap, len, start, scan;
	size_t max_stmt;
	enum lex state;
	int eof;
	int64_t line;	    /* line of buf[scan] */
	int64_t start_line; /* line of buf[start] */
	int64_t bytes;
	EVP_MD_CTX *md5;
};

int ingest_reader_new(ingest_read_fn src, void *ctx, size_t max_stmt, int md5,
		      struct ingest_reader **out)
{
	struct ingest_reader *r = calloc(1, sizeof(*r));
	*out = NULL;
	if (!r)
		return D1E_NOMEM;
	r->src = src;
	r->ctx = ctx;
	r->max_stmt = max_stmt;
	r->line = r->start_line = 1;
	if (md5) {
		r->md5 = EVP_MD_CTX_new();
		if (!r->md5 || !EVP_DigestInit_ex(r->md5, EVP_md5(), NULL)) {
			ingest_reader_free(r);
			return D1E_NOMEM;
		}
	}
	*out = r;
	return 0;
}

void ingest_reader_free(struct ingest_reader *r)
{
	if (!r)
		return;
	EVP_MD_CTX_free(r->md5);
	free(r->buf);
	free(r);
}

int64_t ingest_bytes(const struct ingest_reader *r)
{
	return r->bytes;
}

int ingest_md5(struct ingest_reader *r, char *hex)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	int rc = D1E_INTERNAL;
	if (r->md5 && copy && EVP_MD_CTX_copy_ex(copy, r->md5) &&
	    EVP_DigestFinal_ex(copy, d, &n) && n == 16) {
		util_hex(d, n, hex);
		rc = 0;
	}
	EVP_MD_CTX_free(copy);
	return rc;
}

/* Read the next chunk after dropping what was consumed. 0, or D1E_SQL. */
static int fill(struct ingest_reader *r, char *err, size_t cap)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->len - r->start);
		r->len -= r->start;
		r->scan -= r->start;
		r->start = 0;
	}
	if (r->len > r->max_stmt) {
		snprintf(err, cap,
			 "the statement at line %lld is longer than %zu bytes",
			 (long long)r->start_line, r->max_stmt);
		return D1E_SQL;
	}
	if (r->cap - r->len < INGEST_CHUNK + 1) {
		size_t ncap = r->len + INGEST_CHUNK + 1;
		char *b = realloc(r->buf, ncap);
		if (!b)
			return D1E_NOMEM;
		r->buf = b;
		r->cap = ncap;
	}
	ssize_t n = r->src(r->ctx, r->buf + r->len, INGEST_CHUNK);
	if (n < 0) {
		snprintf(err, cap, "the file could not be read");
		return D1E_SQL;
	}
	if (n == 0) {
		r->eof = 1;
		return 0;
	}
	if (r->md5 && !EVP_DigestUpdate(r->md5, r->buf + r->len, (size_t)n))
		return D1E_INTERNAL;
	r->len += (size_t)n;
	r->bytes += n;
	return 0;
}

/* Hand out [start, end) and move past it, starting the piece at its
 * first token (after white space and comments) so that its line is the
 * statement's. */
static int emit(struct ingest_reader *r, size_t end, const char **sql,
		size_t *len, int64_t *line)
{
	const char *b = r->buf;
	int64_t l = r->start_line;
	size_t i = r->start;
	for (;;) {
		while (i < end && isspace((unsigned char)b[i]))
			l += b[i++] == '\n';
		if (end - i >= 2 && b[i] == '-' && b[i + 1] == '-') {
			while (i < end && b[i] != '\n')
				i++;
		} else if (end - i >= 2 && b[i] == '/' && b[i + 1] == '*') {
			size_t k = i + 2;
			while (k + 1 < end && !(b[k] == '*' && b[k + 1] == '/'))
				k++;
			if (k + 1 >= end)
				break; /* unterminated: leave it to SQLite */
			for (; i < k + 2; i++)
				l += b[i] == '\n';
		} else {
			break;
		}
	}
	*sql = b + i;
	*len = end - i;
	*line = l;
	r->start = r->scan = end;
	r->start_line = r->line;
	return 1;
}

/* Does [start, end) end a statement, by SQLite's rules? */
static int complete_at(struct ingest_reader *r, size_t end)
{
	char save = r->buf[end]; /* buf[len] is writable too */
	r->buf[end] = '\0';
	int ok = sqlite3_complete(r->buf + r->start);
	r->buf[end] = save;
	return ok;
}

int ingest_next(struct ingest_reader *r, const char **sql, size_t *len,
		int64_t *line, char *err, size_t cap)
{
	err[0] = '\0';
	for (;;) {
		while (r->scan < r->len) {
			char c = r->buf[r->scan];
			int more = r->scan + 1 < r->len;
			char next = more ? r->buf[r->scan + 1] : 0;
			if (c == '\0') {
				snprintf(err, cap,
					 "the file has a NUL byte at line %lld",
					 (long long)r->line);
				return D1E_SQL;
			}
			/* Two-byte tokens need the next byte. */
			if (!more && !r->eof &&
			    ((r->state == LX_SQL && (c == '-' || c == '/')) ||
			     (r->state == LX_BLOCK && c == '*')))
				break;
			switch (r->state) {
			case LX_SQL:
				if (c == ';' && complete_at(r, r->scan + 1)) {
					r->scan++;
					return emit(r, r->scan, sql, len, line);
				}
				if (c == '\'')
					r->state = LX_SQ;
				else if (c == '"')
					r->state = LX_DQ;
				else if (c == '`')
					r->state = LX_BT;
				else if (c == '[')
					r->state = LX_BR;
				else if (c == '-' && next == '-') {
					r->state = LX_LINE;
					r->scan++;
				} else if (c == '/' && next == '*') {
					r->state = LX_BLOCK;
					r->scan++;
				}
				break;
			case LX_SQ:
				if (c == '\'')
					r->state = LX_SQL;
				break;
			case LX_DQ:
				if (c == '"')
					r->state = LX_SQL;
				break;
			case LX_BT:
				if (c == '`')
					r->state = LX_SQL;
				break;
			case LX_BR:
				if (c == ']')
					r->state = LX_SQL;
				break;
			case LX_LINE:
				if (c == '\n')
					r->state = LX_SQL;
				break;
			case LX_BLOCK:
				if (c == '*' && next == '/') {
					r->state = LX_SQL;
					r->scan++;
				}
				break;
			}
			if (c == '\n')
				r->line++;
			r->scan++;
		}
		if (r->eof) {
			size_t i = r->start;
			while (i < r->len && isspace((unsigned char)r->buf[i]))
				i++;
			if (i == r->len) {
				r->start = r->scan = r->len;
				return 0;
			}
			r->scan = r->len;
			return emit(r, r->len, sql, len, line);
		}
		int rc = fill(r, err, cap);
		if (rc)
			return rc;
	}
}

/* ---- applying ---- */

/* The first word of [*p, end) after white space and comments, into
 * w[cap] (upper-cased); *p moves past it. */
static void word(const char **p, const char *end, char *w, size_t cap)
{
	const char *s = *p;
	size_t n = 0;
	for (;;) {
		while (s < end && isspace((unsigned char)*s))
			s++;
		if (end - s >= 2 && s[0] == '-' && s[1] == '-') {
			while (s < end && *s != '\n')
				s++;
		} else if (end - s >= 2 && s[0] == '/' && s[1] == '*') {
			s += 2;
			while (end - s >= 2 && !(s[0] == '*' && s[1] == '/'))
				s++;
			s = end - s >= 2 ? s + 2 : end;
		} else {
			break;
		}
	}
	while (s < end && (isalnum((unsigned char)*s) || *s == '_')) {
		if (n + 1 < cap)
			w[n++] = (char)toupper((unsigned char)*s);
		s++;
	}
	w[n] = '\0';
	*p = s;
}

enum kind { K_RUN, K_SKIP, K_ROLLBACK };

/* What to do with the statement at [p, end): the shell's transaction
 * control and foreign-key switch are skipped. */
static enum kind classify(const char *p, const char *end)
{
	char w1[16], w2[16];
	word(&p, end, w1, sizeof(w1));
	if (!strcmp(w1, "BEGIN") || !strcmp(w1, "COMMIT") || !strcmp(w1, "END"))
		return K_SKIP;
	if (!strcmp(w1, "ROLLBACK")) {
		word(&p, end, w2, sizeof(w2));
		if (!strcmp(w2, "TRANSACTION"))
			word(&p, end, w2, sizeof(w2));
		return strcmp(w2, "TO") ? K_ROLLBACK : K_RUN;
	}
	if (!strcmp(w1, "PRAGMA")) {
		word(&p, end, w2, sizeof(w2));
		if (!strcmp(w2, "FOREIGN_KEYS"))
			return K_SKIP;
	}
	return K_RUN;
}

static int fail(struct ingest_run *x, int64_t n, int64_t line, const char *msg)
{
	snprintf(x->err, sizeof(x->err), "Statement %lld (line %lld): %s",
		 (long long)n, (long long)line, msg);
	return D1E_SQL;
}

/* Run the statements of one piece. */
static int run_piece(sqlite3 *db, void *conn_ctx, struct ingest_run *x,
		     const char *sql, size_t len, int64_t line,
		     int64_t *last_tick)
{
	const char *p = sql, *end = sql + len;
	char err[1024];
	while (p < end) {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		int64_t n = x->num_queries + 1;
		if (x->cancel && atomic_load(x->cancel)) {
			snprintf(x->err, sizeof(x->err), "%s", x->cancel_why);
			return D1E_SQL;
		}
		enum kind k = classify(p, end);
		if (k == K_ROLLBACK)
			return fail(x, n, line,
				    "ROLLBACK: the file undoes its own "
				    "changes (the sqlite3 shell writes this "
				    "when its .dump met errors); nothing was "
				    "imported");
		if (k == K_SKIP) {
			/* Only its extent is wanted: prepared outside the
			 * sandbox's judgement, never run. */
			if (sqlite3_prepare_v3(db, p, (int)(end - p), 0, &st,
					       &tail) == SQLITE_OK) {
				sqlite3_finalize(st);
				p = tail;
				continue;
			}
			sqlite3_finalize(st);
		}
		int rc = exec_user_prepare(conn_ctx, p, (size_t)(end - p), &st,
					   &tail, err, sizeof(err));
		if (rc)
			return rc == D1E_SQL ? fail(x, n, line, err) : rc;
		if (!st) { /* comments to the end */
			p = tail;
			continue;
		}
		rc = exec_user_step(conn_ctx, st, &x->counts, err, sizeof(err));
		sqlite3_finalize(st);
		if (rc && x->cancel && atomic_load(x->cancel)) {
			snprintf(x->err, sizeof(x->err), "%s", x->cancel_why);
			return D1E_SQL;
		}
		if (rc)
			return rc == D1E_SQL ? fail(x, n, line, err) : rc;
		x->num_queries++;
		/* Lines inside a piece, for the next statement's number. */
		for (const char *q = p; q < tail; q++)
			line += *q == '\n';
		p = tail;
		if (x->progress) {
			int64_t now = util_mono_us();
			if (now - *last_tick >= 1000000) {
				*last_tick = now;
				x->progress(x->progress_ctx, x->num_queries);
			}
		}
	}
	return 0;
}

int ingest_apply(sqlite3 *db, void *conn_ctx, void *arg)
{
	struct ingest_run *x = arg;
	int64_t t0 = util_mono_us(), tick = t0, line = 0;
	const char *sql;
	size_t len;
	char err[512];
	int rc;

	x->err[0] = '\0';
	x->num_queries = 0;
	memset(&x->counts, 0, sizeof(x->counts));
	if (sqlite3_exec(db, "PRAGMA defer_foreign_keys=ON", NULL, NULL,
			 NULL) != SQLITE_OK)
		return D1E_IO;
	/* A cancelled import stops inside a long statement too. */
	exec_user_cancel_flag(conn_ctx, x->cancel);
	while ((rc = ingest_next(x->rd, &sql, &len, &line, err, sizeof(err))) ==
	       1) {
		rc = run_piece(db, conn_ctx, x, sql, len, line, &tick);
		if (rc)
			goto out;
	}
	if (rc) {
		fail(x, x->num_queries + 1, line, err);
		goto out;
	}
	if (x->expect_md5) {
		char md5[33];
		rc = ingest_md5(x->rd, md5);
		if (!rc && strcmp(md5, x->expect_md5) != 0) {
			snprintf(x->err, sizeof(x->err),
				 "The file read has MD5 %s, not %s: it changed "
				 "after it was uploaded; nothing was imported",
				 md5, x->expect_md5);
			rc = D1E_SQL;
		}
		if (rc)
			goto out;
	}
	int cur = 0, hi = 0;
	sqlite3_db_status(db, SQLITE_DBSTATUS_DEFERRED_FKS, &cur, &hi, 0);
	if (cur > 0) {
		snprintf(x->err, sizeof(x->err),
			 "FOREIGN KEY constraint failed at the end of the "
			 "import (%d violation%s): SQLITE_CONSTRAINT",
			 cur, cur == 1 ? "" : "s");
		rc = D1E_SQL;
		goto out;
	}
	x->size_after = exec_conn_size(conn_ctx);
	x->last_row_id = sqlite3_last_insert_rowid(db);
out:
	exec_user_cancel_flag(conn_ctx, NULL);
	exec_user_done(conn_ctx);
	sqlite3_exec(db, "PRAGMA defer_foreign_keys=OFF", NULL, NULL, NULL);
	x->duration_ms = (double)(util_mono_us() - t0) / 1000.0;
	if (x->progress)
		x->progress(x->progress_ctx, x->num_queries);
	return rc;
}
