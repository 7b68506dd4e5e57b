/* Unit tests of taskpool: every task runs once, a blocked task holds up no
 * other, and taskpool_free() waits for what is under way. Also dbpool's
 * asynchronous writes, which run on a taskpool. */
#include "apierr.h"
#include "dbfile.h"
#include "dbpool.h"
#include "taskpool.h"
#include "util.h"
#include "test.h"

#include <semaphore.h>
#include <stdatomic.h>

static atomic_int ran;

static void count_task(void *arg)
{
	(void)arg;
	atomic_fetch_add(&ran, 1);
}

static void wait_task(void *arg)
{
	sem_wait(arg);
	atomic_fetch_add(&ran, 1);
}

static void post_task(void *arg)
{
	sem_post(arg);
}

TEST(taskpool_runs_every_task_once)
{
	struct taskpool *tp;
	atomic_store(&ran, 0);
	CHECK(taskpool_new("test-pool", 1, 8, &tp) == 0);
	for (int i = 0; i < 1000; i++)
		CHECK(taskpool_run(tp, count_task, NULL) == 0);
	taskpool_free(tp); /* waits for all of them */
	CHECK(atomic_load(&ran) == 1000);
}

TEST(taskpool_blocked_task_holds_up_no_other)
{
	struct taskpool *tp;
	sem_t gate;
	sem_init(&gate, 0, 0);
	atomic_store(&ran, 0);
	CHECK(taskpool_new("test-pool", 0, 4, &tp) == 0);
	/* The first task waits for the second: with one worker this would
	 * never end. */
	CHECK(taskpool_run(tp, wait_task, &gate) == 0);
	CHECK(taskpool_run(tp, post_task, &gate) == 0);
	taskpool_free(tp);
	CHECK(atomic_load(&ran) == 1);
	sem_destroy(&gate);
}

struct async_write {
	sem_t done;
	int rc;
};

static void on_done(void *arg, int rc)
{
	struct async_write *w = arg;
	w->rc = rc;
	sem_post(&w->done);
}

static int insert_job(sqlite3 *db, void *cctx, void *sql)
{
	(void)cctx;
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0
								    : D1E_SQL;
}

TEST(dbpool_write_async_calls_done_once_per_job)
{
	const char *dir = test_tmpdir();
	char uuid[UUID_STR_LEN + 1];
	struct dbpool *p;
	struct dbh *h;
	enum { N = 50 };
	struct async_write w[N];
	int64_t commits = 0, jobs = 0;

	util_uuid_v4(uuid);
	CHECK(dbfile_create(dir, uuid) == 0);
	CHECK(dbpool_new(dir, 4, 1, 1, NULL, NULL, NULL, &p) == 0);
	CHECK(dbpool_acquire(p, uuid, &h) == 0);
	CHECK(dbpool_write(h, insert_job, "CREATE TABLE t(x)") == 0);
	for (int i = 0; i < N; i++) {
		sem_init(&w[i].done, 0, 0);
		w[i].rc = 1;
		CHECK(dbpool_write_async(h, 0, insert_job,
					 i % 10 == 9
					     ? "INSERT INTO nope VALUES (1)"
					     : "INSERT INTO t VALUES (1)",
					 on_done, &w[i]) == 0);
	}
	for (int i = 0; i < N; i++) {
		sem_wait(&w[i].done);
		CHECK(w[i].rc == (i % 10 == 9 ? D1E_SQL : 0));
		sem_destroy(&w[i].done);
	}
	dbpool_stats(h, &commits, &jobs);
	CHECK(jobs == N + 1);
	CHECK(commits >= 2 && commits <= N + 1);
	dbpool_release(p, h);
	dbpool_free(p);
	util_rm_rf(dir);
}
