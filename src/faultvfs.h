/*
 * faultvfs.h — a test-only SQLite VFS that injects ENOSPC, write errors
 * and fsync errors into d1d's database I/O, steered at run time by a
 * control file. See faultvfs.c for the control file's format.
 */
#ifndef D1D_FAULTVFS_H
#define D1D_FAULTVFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The fault VFS over DBFILE_VFS, for the database files (dbfile_vfs). */
#define FAULTVFS_DB "d1d-fault-excl"

/* Make the fault VFS SQLite's default, reading its instructions from the
 * file at control_path (which need not exist yet: no file, no faults).
 * Call before any database is opened. Returns 0 or D1E_INTERNAL. */
int faultvfs_register(const char *control_path);

/* For d1d's own files, written without SQLite (the time-travel history):
 * the fault to inject into a write of amt bytes (amt < 0: a sync) of the
 * file at path, as an errno value (ENOSPC, EIO), or 0. Always 0 when the
 * fault VFS is not registered. */
int faultvfs_io(const char *path, int64_t amt);

/* write(2) and fsync(2) for d1d's files written by descriptor (exports,
 * uploads): the real call, or, when the tests asked for a fault on this
 * file, -1 with errno set to ENOSPC or EIO and nothing written, so that
 * the caller's own error path is what the tests see. The file's path is
 * looked up (in /proc/self/fd) only while the fault VFS is registered. */
ssize_t faultvfs_write(int fd, const void *buf, size_t n);
int faultvfs_fsync(int fd);

#endif
