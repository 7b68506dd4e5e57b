/*
 * faultvfs.h — a test-only SQLite VFS that injects ENOSPC, write errors
 * and fsync errors into d1d's database I/O, steered at run time by a
 * control file. See faultvfs.c for the control file's format.
 */
#ifndef D1D_FAULTVFS_H
#define D1D_FAULTVFS_H

/* Make the fault VFS SQLite's default, reading its instructions from the
 * file at control_path (which need not exist yet: no file, no faults).
 * Call before any database is opened. Returns 0 or D1E_INTERNAL. */
int faultvfs_register(const char *control_path);

#endif
