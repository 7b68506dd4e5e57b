/*
 * fuzz_query.c — libFuzzer target for a /query body end to end below HTTP:
 * the JSON body parser, exec_parse(), the lexical checks that route a
 * request (exec_starts_with_write, exec_wants_alone), and exec_run() on a
 * real in-memory database with the sandbox and limits, so that the
 * splitter, the binder, the authorizer and the result writer all see
 * hostile input. Any input must give a result or a clean error.
 */
#include "apierr.h"
#include "exec.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>

static sqlite3 *db;
static void *cctx;
static struct exec_limits lim = {.timeout_ms = 200,
				 .max_db_bytes = 1 << 20,
				 .max_value_bytes = 100000,
				 .max_result_bytes = 1 << 20};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct exec_batch batch;
	const char *msg;
	json_error_t e;

	if (!db) {
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
		    exec_conn_setup(db, 1, &lim, &cctx) != 0)
			abort();
		sqlite3_exec(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b, c)",
			     NULL, NULL, NULL);
	}
	json_t *body =
	    json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e);
	if (!body || !json_is_object(body)) {
		json_decref(body);
		return 0;
	}
	arena_init(&a);
	if (exec_parse(&a, body, &batch, &msg) == 0) {
		if (batch.n < 1 || (exec_wants_alone(&batch) && batch.n != 1))
			abort();
		(void)exec_starts_with_write(&batch);
		struct exec_run x = {0};
		x.batch = &batch;
		x.raw = size & 1;
		x.region = "WEUR";
		x.colo = "LCL";
		jsonw_init(&x.out);
		/* Inside a savepoint, as on the writer, so the database keeps
		 * its shape from one input to the next. */
		sqlite3_exec(db, "SAVEPOINT f", NULL, NULL, NULL);
		exec_run(db, cctx, &x);
		if (!sqlite3_get_autocommit(db)) {
			sqlite3_exec(db, "ROLLBACK TO f", NULL, NULL, NULL);
			sqlite3_exec(db, "RELEASE f", NULL, NULL, NULL);
		}
		jsonw_release(&x.out);
	}
	arena_release(&a);
	json_decref(body);
	return 0;
}
