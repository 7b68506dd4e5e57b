/* Unit tests of dbpool: group commit, isolation of failing jobs, the
 * synchronous setting, and the bound on open databases. */
#include "apierr.h"
#include "dbfile.h"
#include "dbpool.h"
#include "util.h"
#include "test.h"

#include <dirent.h>
#include <pthread.h>

static int exec_job(sqlite3 *db, void *cctx, void *sql)
{
	(void)cctx;
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0
								    : D1E_SQL;
}

static int count_job(sqlite3 *db, void *cctx, void *out)
{
	sqlite3_stmt *st;
	(void)cctx;
	*(int64_t *)out = -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL))
		return D1E_SQL;
	if (sqlite3_step(st) == SQLITE_ROW)
		*(int64_t *)out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int sync_job(sqlite3 *db, void *cctx, void *out)
{
	sqlite3_stmt *st;
	(void)cctx;
	if (sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &st, NULL))
		return D1E_SQL;
	if (sqlite3_step(st) == SQLITE_ROW)
		*(int *)out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

struct writer_arg {
	struct dbh *h;
	int id, rc;
};

static void *writer(void *p)
{
	struct writer_arg *a = p;
	char sql[96];
	/* Every fifth writer fails after writing a row: that row must not
	 * survive, and nobody else's may be lost. */
	if (a->id % 5 == 4)
		snprintf(
		    sql, sizeof(sql),
		    "INSERT INTO t VALUES (%d); INSERT INTO nope VALUES (1)",
		    a->id);
	else
		snprintf(sql, sizeof(sql), "INSERT INTO t VALUES (%d)", a->id);
	a->rc = dbpool_write(a->h, exec_job, sql);
	return NULL;
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

TEST(dbpool_group_commit_isolates_failures)
{
	const char *dir = test_tmpdir();
	char uuid[UUID_STR_LEN + 1];
	struct dbpool *p;
	struct dbh *h;
	enum { N = 40 };
	pthread_t th[N];
	struct writer_arg args[N];
	int64_t rows = 0, commits = 0, jobs = 0;
	int sync = -1;

	util_uuid_v4(uuid);
	CHECK(dbfile_create(dir, uuid) == 0);
	CHECK(dbpool_new(dir, 4, 2, 1, NULL, NULL, NULL, &p) == 0);
	CHECK(dbpool_acquire(p, uuid, &h) == 0);
	CHECK(dbpool_write(h, exec_job, "CREATE TABLE t(x PRIMARY KEY)") == 0);
	CHECK(dbpool_write(h, sync_job, &sync) == 0);
	CHECK(sync == 2); /* FULL */
	for (int i = 0; i < N; i++) {
		args[i] = (struct writer_arg){h, i, -1};
		pthread_create(&th[i], NULL, writer, &args[i]);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		CHECK(args[i].rc == (i % 5 == 4 ? D1E_SQL : 0));
	}
	CHECK(dbpool_read(h, count_job, &rows) == 0);
	CHECK(rows == N - N / 5);
	dbpool_stats(h, &commits, &jobs);
	CHECK(jobs == N + 2); /* with the CREATE and the PRAGMA */
	CHECK(commits >= 1 && commits <= N + 2 - N / 5);
	printf("  %lld write jobs in %lld commits\n", (long long)jobs,
	       (long long)commits);
	dbpool_release(p, h);
	dbpool_free(p);
	util_rm_rf(dir);
}

TEST(dbpool_synchronous_normal)
{
	const char *dir = test_tmpdir();
	char uuid[UUID_STR_LEN + 1];
	struct dbpool *p;
	struct dbh *h;
	int sync = -1;
	util_uuid_v4(uuid);
	CHECK(dbfile_create(dir, uuid) == 0);
	CHECK(dbpool_new(dir, 4, 1, 0, NULL, NULL, NULL, &p) == 0);
	CHECK(dbpool_acquire(p, uuid, &h) == 0);
	CHECK(dbpool_write(h, sync_job, &sync) == 0);
	CHECK(sync == 1); /* NORMAL */
	dbpool_release(p, h);
	dbpool_free(p);
	util_rm_rf(dir);
}

TEST(dbpool_bounds_open_databases)
{
	const char *dir = test_tmpdir();
	char uuids[30][UUID_STR_LEN + 1];
	struct dbpool *p;
	int base = open_fds(), peak = 0;
	CHECK(dbpool_new(dir, 4, 1, 1, NULL, NULL, NULL, &p) == 0);
	for (int i = 0; i < 30; i++) {
		struct dbh *h;
		int64_t rows;
		util_uuid_v4(uuids[i]);
		CHECK(dbfile_create(dir, uuids[i]) == 0);
		CHECK(dbpool_acquire(p, uuids[i], &h) == 0);
		CHECK(dbpool_write(h, exec_job, "CREATE TABLE t(x)") == 0);
		CHECK(dbpool_read(h, count_job, &rows) == 0 && rows == 0);
		dbpool_release(p, h);
		int n = open_fds();
		if (n > peak)
			peak = n;
	}
	/* Four databases open at most, each with a writer and a reader on
	 * the database, its WAL and its index, plus the history's log and
	 * its reader of the WAL: far below 30 databases' worth. */
	CHECK(peak - base <= 4 * 8 + 2);
	dbpool_forget(p, uuids[29]);
	dbpool_free(p);
	CHECK(open_fds() == base);
	util_rm_rf(dir);
}
