/*
 * faultvfs.c — a test-only SQLite VFS that injects storage faults.
 *
 * It exists so that the API tests can show what d1d does when the disk
 * fills up or fails: which error a request gets, that other requests and
 * databases go on, and that nothing acknowledged is lost. It is registered
 * only when `d1d serve` finds D1D_FAULT_FILE in its environment, twice:
 * as SQLite's default VFS over the one that was the default (unix), which
 * the catalog uses, and as FAULTVFS_DB over DBFILE_VFS (unix-excl), which
 * dbfile_vfs() then gives every database connection. A production server
 * never has it in its I/O path.
 *
 * Every file operation is passed to the VFS it wraps (pAppData). xWrite and
 * xSync first consult the control file, whose whole content is one line:
 *
 *   off                                  no faults (also: no file at all)
 *   enospc [after N] [times K] [path S]  writes fail with SQLITE_FULL
 *   eio    [after N] [times K] [path S]  writes fail with SQLITE_IOERR_WRITE
 *   fsync  [times K] [path S]            syncs fail with SQLITE_IOERR_FSYNC
 *
 * "after N" lets N more bytes be written before the fault begins (counted
 * from when the line was read); "times K" stops after K injected faults
 * (default: until the file changes); "path S" limits the faults to files
 * whose path contains S (a database's uuid, "catalog"). A failed write
 * writes nothing. The file is re-read only when its inode, size or
 * modification time changes, which a stat() per write and sync detects:
 * cheap enough for a test server, and the test changes the fault at any
 * moment by rewriting the file. Each injected fault is logged on stderr as
 * one line, "d1d: fault injected: MODE on PATH (#N)".
 *
 * faultvfs_io() puts the same faults in d1d's own writes and syncs that
 * bypass SQLite, so that they can be tested too: the history (history.c)
 * asks by path; exports (dump.c) and uploads (api_import.c) call
 * faultvfs_write() and faultvfs_fsync() instead of write(2) and fsync(2),
 * which find the path of the descriptor and fail the call as the kernel
 * would (-1 and errno), so the callers' real error paths are the ones
 * tested. In production they are the plain calls plus one branch.
 *
 * Locking: one mutex guards the fault state; it is held only while the
 * state is checked and updated, never across the real I/O.
 */
#include "faultvfs.h"

#include "apierr.h"
#include "dbfile.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { FAULT_OFF, FAULT_ENOSPC, FAULT_EIO, FAULT_FSYNC };
static const char *const mode_names[] = {"off", "enospc", "eio", "fsync"};

static struct {
	pthread_mutex_t mu;
	char ctl[1024];	  /* the control file's path */
	struct stat seen; /* the control file as last read */
	int have_seen;
	int mode;
	int64_t budget; /* bytes that may still be written (after N) */
	int64_t times;	/* faults still to inject; -1: no bound */
	char match[256];
	int64_t injected;
} st = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* faultvfs_register() succeeded: d1d's own writes consult the faults too. */
static int registered;

struct ffile {
	sqlite3_file base;
	const char *path;   /* SQLite's, valid until xClose; NULL: temp */
	sqlite3_file *real; /* the real file, in the bytes after this */
};

static int parse_int(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

/* Parse the control line into the state. Caller holds st.mu. */
static void parse(char *line)
{
	char *save = NULL, *w = strtok_r(line, " \t\r\n", &save);
	int mode = w ? -1 : FAULT_OFF; /* an empty file: no faults */
	st.budget = 0;
	st.times = -1;
	st.match[0] = '\0';
	for (int i = 0; w && i < 4; i++)
		if (strcmp(w, mode_names[i]) == 0)
			mode = i;
	if (mode < 0)
		goto bad;
	while ((w = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
		char *v = strtok_r(NULL, " \t\r\n", &save);
		if (!v)
			goto bad;
		if (strcmp(w, "after") == 0 && !parse_int(v, &st.budget))
			continue;
		if (strcmp(w, "times") == 0 && !parse_int(v, &st.times))
			continue;
		if (strcmp(w, "path") == 0 && strlen(v) < sizeof(st.match)) {
			strcpy(st.match, v);
			continue;
		}
		goto bad;
	}
	st.mode = mode;
	return;
bad:
	fprintf(stderr, "d1d: fault file %s: cannot parse it; faults off\n",
		st.ctl);
	st.mode = FAULT_OFF;
}

/* Re-read the control file if it changed. Caller holds st.mu. */
static void refresh(void)
{
	struct stat now;
	if (stat(st.ctl, &now) != 0) {
		st.mode = FAULT_OFF;
		st.have_seen = 0;
		return;
	}
	if (st.have_seen && now.st_ino == st.seen.st_ino &&
	    now.st_size == st.seen.st_size &&
	    now.st_mtim.tv_sec == st.seen.st_mtim.tv_sec &&
	    now.st_mtim.tv_nsec == st.seen.st_mtim.tv_nsec)
		return;
	char line[512] = "";
	FILE *f = fopen(st.ctl, "r");
	if (f) {
		size_t n = fread(line, 1, sizeof(line) - 1, f);
		line[n] = '\0';
		fclose(f);
	}
	st.seen = now;
	st.have_seen = 1;
	parse(line);
}

/* Should this operation (a write of amt bytes, or a sync when amt < 0)
 * on f fail? Returns the SQLite error to inject, or SQLITE_OK. */
static int fault_for(const struct ffile *f, int64_t amt)
{
	int rc = SQLITE_OK;
	pthread_mutex_lock(&st.mu);
	refresh();
	int is_write = amt >= 0;
	int m = st.mode;
	if (m == FAULT_OFF || st.times == 0 || (m == FAULT_FSYNC) == is_write)
		goto out;
	if (st.match[0] && (!f->path || !strstr(f->path, st.match)))
		goto out;
	if (is_write && st.budget >= amt) {
		st.budget -= amt;
		goto out;
	}
	rc = m == FAULT_ENOSPC ? SQLITE_FULL
	     : m == FAULT_EIO  ? SQLITE_IOERR_WRITE
			       : SQLITE_IOERR_FSYNC;
	if (st.times > 0)
		st.times--;
	st.injected++;
	fprintf(stderr, "d1d: fault injected: %s on %s (#%lld)\n",
		mode_names[m], f->path ? f->path : "(temp file)",
		(long long)st.injected);
out:
	pthread_mutex_unlock(&st.mu);
	return rc;
}

int faultvfs_io(const char *path, int64_t amt)
{
	struct ffile f = {.path = path};
	if (!registered)
		return 0;
	switch (fault_for(&f, amt)) {
	case SQLITE_OK: return 0;
	case SQLITE_FULL: return ENOSPC;
	default: return EIO;
	}
}

/* The fault for a write of amt bytes (a sync when amt < 0) to the open
 * file fd, as an errno value, or 0. */
static int fd_fault(int fd, int64_t amt)
{
	char link[64], path[1024];
	if (!registered)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	return faultvfs_io(path, amt);
}

ssize_t faultvfs_write(int fd, const void *buf, size_t n)
{
	int e = fd_fault(fd, (int64_t)n);
	if (e) {
		errno = e;
		return -1;
	}
	return write(fd, buf, n);
}

int faultvfs_fsync(int fd)
{
	int e = fd_fault(fd, -1);
	if (e) {
		errno = e;
		return -1;
	}
	return fsync(fd);
}

/* ---- the file methods: pass through, but for writes and syncs ---- */

#define REAL(file) (((struct ffile *)(file))->real)

static int f_close(sqlite3_file *file)
{
	return REAL(file)->pMethods->xClose(REAL(file));
}

static int f_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
	return REAL(file)->pMethods->xRead(REAL(file), buf, amt, off);
}

static int f_write(sqlite3_file *file, const void *buf, int amt,
		   sqlite3_int64 off)
{
	int rc = fault_for((struct ffile *)file, amt);
	if (rc != SQLITE_OK)
		return rc;
	return REAL(file)->pMethods->xWrite(REAL(file), buf, amt, off);
}

static int f_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	return REAL(file)->pMethods->xTruncate(REAL(file), size);
}

static int f_sync(sqlite3_file *file, int flags)
{
	int rc = fault_for((struct ffile *)file, -1);
	if (rc != SQLITE_OK)
		return rc;
	return REAL(file)->pMethods->xSync(REAL(file), flags);
}

static int f_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	return REAL(file)->pMethods->xFileSize(REAL(file), size);
}

static int f_lock(sqlite3_file *file, int lock)
{
	return REAL(file)->pMethods->xLock(REAL(file), lock);
}

static int f_unlock(sqlite3_file *file, int lock)
{
	return REAL(file)->pMethods->xUnlock(REAL(file), lock);
}

static int f_check_reserved(sqlite3_file *file, int *out)
{
	return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out);
}

static int f_file_control(sqlite3_file *file, int op, void *arg)
{
	/* The VFS name SQLite reports in a chain of shims. */
	if (op == SQLITE_FCNTL_VFSNAME) {
		int rc =
		    REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
		if (rc == SQLITE_OK) {
			char **name = arg;
			char *s = sqlite3_mprintf("d1d-fault/%z", *name);
			*name = s;
		}
		return rc;
	}
	return REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

static int f_sector_size(sqlite3_file *file)
{
	return REAL(file)->pMethods->xSectorSize(REAL(file));
}

static int f_device_chars(sqlite3_file *file)
{
	return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file));
}

static int f_shm_map(sqlite3_file *file, int pg, int pgsz, int extend,
		     void volatile **pp)
{
	return REAL(file)->pMethods->xShmMap(REAL(file), pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *file)
{
	REAL(file)->pMethods->xShmBarrier(REAL(file));
}

static int f_shm_unmap(sqlite3_file *file, int del)
{
	return REAL(file)->pMethods->xShmUnmap(REAL(file), del);
}

static int f_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **pp)
{
	return REAL(file)->pMethods->xFetch(REAL(file), off, amt, pp);
}

static int f_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	return REAL(file)->pMethods->xUnfetch(REAL(file), off, p);
}

/* Two method tables: the version the real file has decides which one a
 * file gets, so SQLite never calls a method the real file lacks. */
#define IO_COMMON                                                              \
	.xClose = f_close, .xRead = f_read, .xWrite = f_write,                 \
	.xTruncate = f_truncate, .xSync = f_sync, .xFileSize = f_file_size,    \
	.xLock = f_lock, .xUnlock = f_unlock,                                  \
	.xCheckReservedLock = f_check_reserved,                                \
	.xFileControl = f_file_control, .xSectorSize = f_sector_size,          \
	.xDeviceCharacteristics = f_device_chars
static const sqlite3_io_methods io_v1 = {.iVersion = 1, IO_COMMON};
static const sqlite3_io_methods io_v3 = {.iVersion = 3,
					 IO_COMMON,
					 .xShmMap = f_shm_map,
					 .xShmLock = f_shm_lock,
					 .xShmBarrier = f_shm_barrier,
					 .xShmUnmap = f_shm_unmap,
					 .xFetch = f_fetch,
					 .xUnfetch = f_unfetch};

/* ---- the VFS methods ---- */

static int v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file,
		  int flags, int *out_flags)
{
	struct ffile *f = (struct ffile *)file;
	sqlite3_vfs *r = vfs->pAppData;
	f->path = name;
	f->real = (sqlite3_file *)(f + 1);
	int rc = r->xOpen(r, name, f->real, flags, out_flags);
	/* SQLite calls xClose whenever pMethods is set, even after a failed
	 * open: mirror what the real VFS did. */
	const sqlite3_io_methods *m = f->real->pMethods;
	f->base.pMethods = !m ? NULL : m->iVersion >= 3 ? &io_v3 : &io_v1;
	return rc;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xDelete(r, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xAccess(r, name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xFullPathname(r, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *vfs, const char *name)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xDlOpen(r, name);
}

static void v_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	sqlite3_vfs *r = vfs->pAppData;
	r->xDlError(r, n, msg);
}

static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xDlSym(r, h, sym);
}

static void v_dlclose(sqlite3_vfs *vfs, void *h)
{
	sqlite3_vfs *r = vfs->pAppData;
	r->xDlClose(r, h);
}

static int v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xRandomness(r, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xSleep(r, us);
}

static int v_current_time(sqlite3_vfs *vfs, double *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xCurrentTime(r, out);
}

static int v_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xGetLastError(r, n, out);
}

static int v_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xCurrentTimeInt64(r, out);
}

/* Fill *v as a fault VFS named name over the VFS r. */
static void wrap(sqlite3_vfs *v, const char *name, sqlite3_vfs *r)
{
	v->iVersion = 2;
	v->szOsFile = (int)sizeof(struct ffile) + r->szOsFile;
	v->mxPathname = r->mxPathname;
	v->zName = name;
	v->pAppData = r;
	v->xOpen = v_open;
	v->xDelete = v_delete;
	v->xAccess = v_access;
	v->xFullPathname = v_full_pathname;
	v->xDlOpen = v_dlopen;
	v->xDlError = v_dlerror;
	v->xDlSym = v_dlsym;
	v->xDlClose = v_dlclose;
	v->xRandomness = v_randomness;
	v->xSleep = v_sleep;
	v->xCurrentTime = v_current_time;
	v->xGetLastError = v_last_error;
	v->xCurrentTimeInt64 = v_current_time64;
}

int faultvfs_register(const char *control_path)
{
	static sqlite3_vfs vfs, vfs_excl;
	if (registered)
		return 0;
	if (strlen(control_path) >= sizeof(st.ctl))
		return D1E_INTERNAL;
	strcpy(st.ctl, control_path);
	sqlite3_vfs *r = sqlite3_vfs_find(NULL);
	sqlite3_vfs *rx = sqlite3_vfs_find(DBFILE_VFS);
	if (!r || r->iVersion < 2 || !rx || rx->iVersion < 2)
		return D1E_INTERNAL;
	wrap(&vfs, "d1d-fault", r);
	wrap(&vfs_excl, FAULTVFS_DB, rx);
	if (sqlite3_vfs_register(&vfs_excl, 0) != SQLITE_OK ||
	    sqlite3_vfs_register(&vfs, 1) != SQLITE_OK)
		return D1E_INTERNAL;
	registered = 1;
	return 0;
}
