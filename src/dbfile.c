/*
 * dbfile.c — database files on disk (see dbfile.h for the layout).
 *
 * Creation order is file first, catalog second; removal is catalog first,
 * file second. Either way a crash leaves at worst a directory that the
 * catalog does not name, which dbfile_sweep() removes at the next start;
 * never a catalog row pointing at nothing.
 *
 * The server owns its database files: every connection to one goes
 * through SQLite's "unix-excl" VFS (dbfile_vfs). Its first connection
 * takes one POSIX write lock on the file for the whole process, and while
 * the process holds it the WAL index lives in heap memory that all the
 * process's connections to the file share, not in a mapped -shm file; so
 * the locks a reader takes to begin and end each read transaction are a
 * few instructions under SQLite's mutex instead of two fcntl() calls made
 * while holding it. That mutex is shared by every HTTP thread reading the
 * database: with fcntl() inside it, half the point reads of the benchmark
 * waited on it (futex, 1.2 calls per request). The cost: another process
 * (a sqlite3 shell) cannot open a database while d1d has it open; it gets
 * SQLITE_BUSY, and can once d1d has closed it (or stopped). After a crash
 * the WAL index is rebuilt from the WAL, as it is with a -shm file.
 * The writer is always the first connection of a database (dbpool.c), so
 * it is the one that takes the process lock.
 */
#include "dbfile.h"

#include "apierr.h"
#include "faultvfs.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int dbfile_dir(const char *data_dir, const char *uuid, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/databases/%s", data_dir, uuid);
	return n < 0 || (size_t)n >= cap ? D1E_IO : 0;
}

int dbfile_path(const char *data_dir, const char *uuid, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/databases/%s/db.sqlite", data_dir, uuid);
	return n < 0 || (size_t)n >= cap ? D1E_IO : 0;
}

const char *dbfile_vfs(void)
{
	return sqlite3_vfs_find(FAULTVFS_DB) ? FAULTVFS_DB : DBFILE_VFS;
}

int dbfile_create(const char *data_dir, const char *uuid)
{
	char dir[4096], path[4096], parent[4096];
	sqlite3 *db = NULL;
	int rc;

	if (!util_is_uuid(uuid))
		return D1E_INTERNAL;
	rc = dbfile_dir(data_dir, uuid, dir, sizeof(dir));
	if (!rc)
		rc = dbfile_path(data_dir, uuid, path, sizeof(path));
	if (rc)
		return rc;
	snprintf(parent, sizeof(parent), "%s/databases", data_dir);
	if (util_mkdir_p(parent, 0700) || mkdir(dir, 0700) != 0)
		return D1E_IO;

	/* A database, its WAL and its index are nobody else's business:
	 * 0600. The file is created here with that mode, and SQLite gives
	 * the -wal and -shm files the mode of their database. (Not with
	 * umask(): it is process-wide, and other threads create files
	 * meanwhile, so concurrent creates could leave any umask behind.) */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) != 0) {
		rc = D1E_IO;
		goto out;
	}
	int src = sqlite3_open_v2(path, &db,
				  SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				  dbfile_vfs());
	if (src != SQLITE_OK) {
		rc = D1E_IO;
		goto out;
	}
	/* Switching to WAL writes the header page, so a new database is a
	 * real, valid file from the start. */
	if (sqlite3_exec(db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		rc = (sqlite3_errcode(db) & 0xff) == SQLITE_FULL ? D1E_FULL
								 : D1E_IO;
		goto out;
	}
out:
	sqlite3_close(db);
	if (!rc && (util_fsync_dir(dir) || util_fsync_dir(parent)))
		rc = D1E_IO;
	if (rc)
		util_rm_rf(dir);
	return rc;
}

int dbfile_remove(const char *data_dir, const char *uuid)
{
	char dir[4096];
	if (!util_is_uuid(uuid) || dbfile_dir(data_dir, uuid, dir, sizeof(dir)))
		return D1E_INTERNAL;
	return util_rm_rf(dir);
}

int64_t dbfile_size(const char *data_dir, const char *uuid)
{
	char path[4096], wal[4200];
	if (dbfile_path(data_dir, uuid, path, sizeof(path)))
		return 0;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	return util_file_size(path) + util_file_size(wal);
}

int dbfile_sweep(const char *data_dir, int (*keep)(const char *uuid, void *),
		 void *ctx)
{
	char parent[4096];
	struct dirent *e;
	int rc = 0;
	snprintf(parent, sizeof(parent), "%s/databases", data_dir);
	DIR *d = opendir(parent);
	if (!d)
		return errno == ENOENT ? 0 : D1E_IO;
	while ((e = readdir(d)) != NULL) {
		if (!util_is_uuid(e->d_name))
			continue;
		int k = keep(e->d_name, ctx);
		if (k < 0) {
			rc = k;
			break;
		}
		if (k == 0) {
			fprintf(
			    stderr,
			    "d1d: removing %s/%s: no catalog entry (left by "
			    "an interrupted create or delete)\n",
			    parent, e->d_name);
			if (dbfile_remove(data_dir, e->d_name))
				rc = D1E_IO;
		}
	}
	closedir(d);
	return rc;
}
