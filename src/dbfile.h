/*
 * dbfile.h — where each D1 database lives on disk, and its whole-file
 * operations (create, remove, measure). Connections to a database for
 * queries belong elsewhere; this module only owns the layout:
 *
 *   DATA_DIR/databases/<uuid>/db.sqlite      the database (WAL mode)
 *   DATA_DIR/databases/<uuid>/db.sqlite-wal  its write-ahead log
 *   DATA_DIR/databases/<uuid>/db.sqlite-shm  none while d1d has it open:
 *                                            its WAL index is in memory
 *                                            (dbfile_vfs)
 *
 * One directory per database, so that removing a database, and everything
 * later kept beside it, is one recursive remove of a directory whose name
 * comes from a uuid we generated, never from a client. Connections to the
 * database, and what is inside it, are dbpool.c's.
 */
#ifndef D1D_DBFILE_H
#define D1D_DBFILE_H

#include <stddef.h>
#include <stdint.h>

/* Write DATA_DIR/databases/<uuid> into out. 0, or D1E_IO if it won't fit. */
int dbfile_dir(const char *data_dir, const char *uuid, char *out, size_t cap);
/* Write the path of the database file into out. */
int dbfile_path(const char *data_dir, const char *uuid, char *out, size_t cap);

/* The SQLite VFS for every connection to a database file (dbfile.c says
 * why): DBFILE_VFS, or its fault-injecting twin when the tests registered
 * one (faultvfs.c). The string is static. */
#define DBFILE_VFS "unix-excl"
const char *dbfile_vfs(void);

/* Create the directory and an empty database in WAL mode, durably. Fails
 * with D1E_IO if the directory already exists. */
int dbfile_create(const char *data_dir, const char *uuid);

/* Remove the database's directory and everything in it. */
int dbfile_remove(const char *data_dir, const char *uuid);

/* Bytes on disk: the database plus its WAL (0 if missing). */
int64_t dbfile_size(const char *data_dir, const char *uuid);

/* Remove every database directory whose uuid keep() does not claim: what a
 * crash between the catalog and the file system can leave behind. keep
 * returns 1 to keep, 0 to remove, negative to stop with that error. */
int dbfile_sweep(const char *data_dir, int (*keep)(const char *uuid, void *),
		 void *ctx);

#endif
