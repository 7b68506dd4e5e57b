/*
 * test_ingest.c — the streaming statement reader (ingest.c): statements
 * end where SQLite says, across reads of any size, with line numbers, and
 * within a bound; and an import applied under the sandbox.
 */
#include "apierr.h"
#include "exec.h"
#include "ingest.h"
#include "test.h"

#include <stdlib.h>

/* A source that hands out at most step bytes per read. */
struct src {
	const char *s;
	size_t len, pos, step;
};

static ssize_t src_read(void *ctx, char *buf, size_t n)
{
	struct src *x = ctx;
	size_t k = x->len - x->pos;
	if (k > x->step)
		k = x->step;
	if (k > n)
		k = n;
	memcpy(buf, x->s + x->pos, k);
	x->pos += k;
	return (ssize_t)k;
}

/* Split s into pieces joined by '|' (trimmed as the reader gives them),
 * with their lines as "@N". */
static char *split(const char *s, size_t step, size_t max, int *rc_out)
{
	struct src x = {s, strlen(s), 0, step};
	struct ingest_reader *r;
	static char out[4096];
	char err[256];
	const char *sql;
	size_t len;
	int64_t line;
	int rc;
	out[0] = '\0';
	if (ingest_reader_new(src_read, &x, max, 1, &r))
		return NULL;
	while ((rc = ingest_next(r, &sql, &len, &line, err, sizeof(err))) ==
	       1) {
		size_t o = strlen(out);
		snprintf(out + o, sizeof(out) - o, "%s@%lld:%.*s", o ? "|" : "",
			 (long long)line, (int)len, sql);
	}
	*rc_out = rc;
	ingest_reader_free(r);
	return out;
}

TEST(ingest_splits_like_sqlite)
{
	static const char *const sql =
	    "CREATE TABLE t(a);\n"
	    "INSERT INTO t VALUES('a;b'), (\"x;\"), ([c;d]), (`e;`);\n"
	    "-- a comment; with a semicolon\n"
	    "/* block; */ INSERT INTO t VALUES(1);\r\n"
	    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n"
	    "  INSERT INTO t VALUES(CASE WHEN 1 THEN 'x' END);\n"
	    "  SELECT 1;\n"
	    "END;\n"
	    "SELECT 'it''s;' -- trailing\n"
	    ";SELECT 2";
	const char *want =
	    "@1:CREATE TABLE t(a);|"
	    "@2:INSERT INTO t VALUES('a;b'), (\"x;\"), ([c;d]), (`e;`);|"
	    "@4:INSERT INTO t VALUES(1);|"
	    "@5:CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n"
	    "  INSERT INTO t VALUES(CASE WHEN 1 THEN 'x' END);\n"
	    "  SELECT 1;\n"
	    "END;|"
	    "@9:SELECT 'it''s;' -- trailing\n;|"
	    "@10:SELECT 2";
	/* Whatever the read size, the same pieces. */
	size_t steps[] = {1, 2, 3, 7, 64, 1 << 20};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int rc = -1;
		CHECK_STR(split(sql, steps[i], 1 << 20, &rc), want);
		CHECK(rc == 0);
	}
}

TEST(ingest_bounds_and_refusals)
{
	int rc = 0;
	/* A statement longer than the bound fails instead of growing. */
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "SELECT '", 8);
	split(big, 16, 64, &rc);
	CHECK(rc == D1E_SQL);
	/* An unterminated string comes back whole at the end, for SQLite to
	 * refuse; empty input and white space give nothing. */
	CHECK_STR(split("SELECT 'open;", 4, 1024, &rc), "@1:SELECT 'open;");
	CHECK(rc == 0);
	CHECK_STR(split("", 4, 1024, &rc), "");
	CHECK_STR(split(" \n\t ", 4, 1024, &rc), "");
	/* A NUL byte is refused. */
	struct src x = {"SELECT 1;\0SELECT 2;", 19, 0, 100};
	struct ingest_reader *r;
	const char *sql;
	size_t len;
	int64_t line;
	char err[128];
	CHECK(ingest_reader_new(src_read, &x, 1024, 0, &r) == 0);
	CHECK(ingest_next(r, &sql, &len, &line, err, sizeof(err)) == 1);
	CHECK(ingest_next(r, &sql, &len, &line, err, sizeof(err)) == D1E_SQL);
	CHECK(strstr(err, "NUL") != NULL);
	ingest_reader_free(r);
}

TEST(ingest_md5)
{
	struct src x = {"hello", 5, 0, 2};
	struct ingest_reader *r;
	const char *sql;
	size_t len;
	int64_t line;
	char err[64], hex[33];
	CHECK(ingest_reader_new(src_read, &x, 1024, 1, &r) == 0);
	while (ingest_next(r, &sql, &len, &line, err, sizeof(err)) == 1)
		;
	CHECK(ingest_md5(r, hex) == 0);
	CHECK_STR(hex, "5d41402abc4b2a76b9719d911017c592");
	CHECK(ingest_bytes(r) == 5);
	ingest_reader_free(r);
}

static int apply(sqlite3 *db, void *cctx, const char *sql, char *err,
		 size_t cap, int64_t *nq)
{
	struct src x = {sql, strlen(sql), 0, 5};
	struct ingest_run run = {0};
	int rc = ingest_reader_new(src_read, &x, 1 << 16, 0, &run.rd);
	if (rc)
		return rc;
	sqlite3_exec(db, "BEGIN; SAVEPOINT job", NULL, NULL, NULL);
	rc = ingest_apply(db, cctx, &run);
	sqlite3_exec(db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	snprintf(err, cap, "%s", run.err);
	*nq = run.num_queries;
	ingest_reader_free(run.rd);
	return rc;
}

TEST(ingest_apply_sandboxed_and_atomic)
{
	static struct exec_limits lim = {.timeout_ms = 5000,
					 .max_db_bytes = 1 << 24,
					 .max_value_bytes = 100000,
					 .max_result_bytes = 1 << 20};
	sqlite3 *db;
	void *cctx = NULL;
	char err[1500];
	int64_t nq = 0;
	CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	CHECK(exec_conn_setup(db, 1, &lim, &cctx) == 0);
	/* The shell's .dump wrapping is accepted; FKs checked at the end. */
	CHECK(apply(db, cctx,
		    "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"
		    "CREATE TABLE p(id INTEGER PRIMARY KEY);\n"
		    "CREATE TABLE c(p REFERENCES p(id));\n"
		    "INSERT INTO c VALUES(1);\n"
		    "INSERT INTO p VALUES(1);\nCOMMIT;\n",
		    err, sizeof(err), &nq) == 0);
	CHECK(nq == 4);
	/* A PRAGMA lasts to the end of the file, not of its statement. */
	CHECK(
	    apply(db, cctx,
		  "PRAGMA ignore_check_constraints=ON;\n"
		  "CREATE TABLE k(a CHECK (a > 0));\nINSERT INTO k VALUES(-1);",
		  err, sizeof(err), &nq) == 0);
	CHECK(apply(db, cctx, "INSERT INTO k VALUES(-2);", err, sizeof(err),
		    &nq) == D1E_SQL);
	/* A dangling reference fails the import at its end. */
	CHECK(apply(db, cctx, "INSERT INTO c VALUES(2);", err, sizeof(err),
		    &nq) == D1E_SQL);
	CHECK(strstr(err, "FOREIGN KEY") != NULL);
	/* The sandbox applies; the message names the statement. */
	CHECK(apply(db, cctx, "INSERT INTO p VALUES(5);\nATTACH 'x' AS x;", err,
		    sizeof(err), &nq) == D1E_SQL);
	CHECK(strstr(err, "Statement 2 (line 2): not authorized") == err);
	CHECK(apply(db, cctx, "ROLLBACK;", err, sizeof(err), &nq) == D1E_SQL);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT count(*) FROM p", -1, &st, NULL);
	CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1);
	sqlite3_finalize(st);
	exec_conn_teardown(cctx);
	sqlite3_close(db);
}
