/*
 * fuzz_ingest.c — libFuzzer target for imports below HTTP: the streaming
 * statement reader over hostile bytes, read in pieces of a size the input
 * picks, and ingest_apply() of what it finds on a real in-memory database
 * with the /query sandbox and limits. Any input must end in a result or a
 * clean error, and leave the database as it was (it is rolled back).
 */
#include "apierr.h"
#include "exec.h"
#include "ingest.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *db;
static void *cctx;
static struct exec_limits lim = {.timeout_ms = 200,
				 .max_db_bytes = 1 << 20,
				 .max_value_bytes = 100000,
				 .max_result_bytes = 1 << 20};

struct src {
	const uint8_t *p;
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
	memcpy(buf, x->p + x->pos, k);
	x->pos += k;
	return (ssize_t)k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ingest_run run = {0};
	atomic_int cancel = 0;
	if (!db) {
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
		    exec_conn_setup(db, 1, &lim, &cctx) != 0)
			abort();
		sqlite3_exec(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b, c)",
			     NULL, NULL, NULL);
	}
	if (size < 1)
		return 0;
	/* The first byte picks the read size: statements must split the
	 * same however the bytes arrive. */
	struct src x = {data + 1, size - 1, 0, (size_t)(data[0] % 17) + 1};
	if (ingest_reader_new(src_read, &x, 4096, 1, &run.rd))
		abort();
	run.cancel = &cancel;
	run.cancel_why = "cancelled";
	sqlite3_exec(db, "SAVEPOINT f", NULL, NULL, NULL);
	ingest_apply(db, cctx, &run);
	if (!sqlite3_get_autocommit(db)) {
		sqlite3_exec(db, "ROLLBACK TO f", NULL, NULL, NULL);
		sqlite3_exec(db, "RELEASE f", NULL, NULL, NULL);
	}
	ingest_reader_free(run.rd);
	return 0;
}
