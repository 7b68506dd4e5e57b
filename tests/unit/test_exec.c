/* Unit tests of the query engine (exec.c) on a real database file. */
#include "apierr.h"
#include "arena.h"
#include "exec.h"
#include "jsonw.h"
#include "test.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* A run stopped by its budget or time limit must not leave the reader in
 * its read transaction: the reader would then answer every later request
 * from that old snapshot. The COMMIT that ends a reader's run is itself a
 * statement, and SQLite calls the progress handler at the end of a
 * statement once its cumulative step count crosses the next multiple of
 * the interval, so the COMMIT is hit every few hundred runs: 3000 runs
 * cross that many times. */
TEST(exec_reader_over_budget_ends_its_transaction)
{
	static struct exec_limits lim = {.timeout_ms = 30000,
					 .max_db_bytes = 1 << 26,
					 .max_value_bytes = 100000,
					 .max_result_bytes = 1 << 20};
	char path[600];
	sqlite3 *w, *r;
	void *cctx = NULL;
	struct arena a;
	struct exec_batch b;
	const char *msg = NULL;
	snprintf(path, sizeof(path), "%s/x.sqlite", test_tmpdir());
	CHECK(sqlite3_open(path, &w) == SQLITE_OK);
	CHECK(sqlite3_exec(w,
			   "PRAGMA journal_mode=WAL; CREATE TABLE t(v);"
			   "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT "
			   "x+1 FROM c WHERE x < 3000) INSERT INTO t SELECT x "
			   "FROM c",
			   NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL) ==
	      SQLITE_OK);
	CHECK(exec_conn_setup(r, 0, &lim, &cctx) == 0);
	arena_init(&a);
	json_t *body =
	    json_pack("{s:s}", "sql", "SELECT count(*) FROM t WHERE v % 7");
	CHECK(exec_parse(&a, body, &b, &msg) == 0);

	int stopped = 0, open_after = 0;
	for (int i = 0; i < 3000; i++) {
		struct exec_run x = {.batch = &b, .on_reader = 1};
		jsonw_init(&x.out);
		x.budget_us = i % 2 ? 1 : 0; /* every other run: over budget */
		int rc = exec_run(r, cctx, &x);
		stopped += rc == D1E_WOULD_BLOCK;
		open_after += !sqlite3_get_autocommit(r);
		jsonw_release(&x.out);
	}
	CHECK(stopped > 0);
	CHECK(open_after == 0);

	/* And the reader sees a later commit. */
	CHECK(sqlite3_exec(w, "INSERT INTO t VALUES (0)", NULL, NULL, NULL) ==
	      SQLITE_OK);
	json_t *cnt = json_pack("{s:s}", "sql", "SELECT count(*) AS n FROM t");
	CHECK(exec_parse(&a, cnt, &b, &msg) == 0);
	struct exec_run x = {.batch = &b, .on_reader = 1};
	jsonw_init(&x.out);
	CHECK(exec_run(r, cctx, &x) == 0);
	CHECK(x.out.buf && memmem(x.out.buf, x.out.len, "\"n\":3001", 8));
	jsonw_release(&x.out);

	json_decref(cnt);
	json_decref(body);
	arena_release(&a);
	exec_conn_teardown(cctx);
	sqlite3_close(r);
	sqlite3_close(w);
}
