/*
 * fsync_floor.c — the durability floor for single-row INSERTs: sequential
 * autocommit INSERTs into a WAL database with synchronous=FULL, in process,
 * one fsync each. d1d's group commit is measured against this.
 *
 * usage: fsync_floor DIR SECONDS   → prints "inserts/s: N"
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char path[4096];
	sqlite3 *db;
	sqlite3_stmt *st;
	if (argc != 3) {
		fprintf(stderr, "usage: fsync_floor DIR SECONDS\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/floor.sqlite", argv[1]);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return 1;
	sqlite3_exec(db,
		     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		     "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)",
		     NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO t(v) VALUES ('hello')", -1, &st,
			   NULL);
	double t0 = now(), secs = atof(argv[2]);
	long n = 0;
	while (now() - t0 < secs) {
		sqlite3_step(st);
		sqlite3_reset(st);
		n++;
	}
	printf("inserts/s: %.0f\n", (double)n / (now() - t0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return 0;
}
