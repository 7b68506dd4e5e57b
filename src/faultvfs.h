/*
 * faultvfs.h — a test-only SQLite VFS that injects ENOSPC, write errors
 * and fsync errors into d1d's database I/O, steered at run time by a
 * control file. See faultvfs.c for the control file's format.
 */
#ifndef D1D_FAULTVFS_H
#define D1D_FAULTVFS_H

#include <stdint.h>

/* Make the fault VFS SQLite's default, reading its instructions from the
 * file at control_path (which need not exist yet: no file, no faults).
 * Call before any database is opened. Returns 0 or D1E_INTERNAL. */
int faultvfs_register(const char *control_path);

/* For d1d's own files, written without SQLite (the time-travel history):
 * the fault to inject into a write of amt bytes (amt < 0: a sync) of the
 * file at path, as an errno value (ENOSPC, EIO), or 0. Always 0 when the
 * fault VFS is not registered. */
int faultvfs_io(const char *path, int64_t amt);

#endif
