/*
 * history.c — time travel: every committed write transaction of a database
 * is kept, so the database can be restored to the state after any commit.
 *
 * Capture. The writer runs in WAL mode with automatic checkpoints off
 * (dbpool.c). After each commit the WAL holds that commit's frames; at the
 * writer's commit point hist_capture() reads them from the -wal file,
 * keeps the last image of each page, compresses them (zstd) and appends
 * one record to the log. Frames leave the WAL only by a checkpoint, and
 * dbpool runs a checkpoint only after hist_sync(), so a frame is never
 * lost before its record is durable. The log is not fsynced per commit:
 * after a crash the records missing from the log's tail are still in the
 * WAL, and hist_capture() at open takes them again, with the same commit
 * numbers, so the same bookmarks.
 *
 * Files, in DATA_DIR/databases/<uuid>/ (NNNN: 16 lowercase hex digits
 * of a commit number):
 *   history/base-NNNN.d1h  a base image: the whole database as of commit
 *                          NNNN, one record of kind BASE. The oldest
 *                          begins the history (commit 0 when it began);
 *                          later ones are snapshots (see below).
 *   history/log-NNNN.d1h   a segment of the log: the records of commits
 *                          NNNN, NNNN+1, ..., appended; the last segment
 *                          is the one appended to, earlier ones are
 *                          sealed (fsynced whole before the next begins)
 *                          at each snapshot and past 64 MiB.
 *   history/...tmp, snapshot.db  work files, removed at open
 *   restore.journal        present only while a restore runs (see below)
 *
 * A record, all integers little-endian:
 *   0   4  magic "D1HR"
 *   4   4  kind: 0 base, 1 commit, 2 restore
 *   8   8  commit number (seq)
 *   16  8  commit time, Unix ms; never less than the previous record's
 *   24  4  database size after the commit, in pages
 *   28  4  page size
 *   32  4  n, the number of page images in the record
 *   36  4  0 (reserved)
 *   40  4  WAL salt-1 of the frames captured (0: none)
 *   44  4  WAL salt-2
 *   48  4  the last WAL frame of the commit (0: none)
 *   52  4  pages per block: 4
 *   56  8  zlen, bytes of compressed page images
 *   64     n page numbers, 4 bytes each, ascending; zero-padded to 8 bytes
 *   ..     ceil(n/4) block lengths, 4 bytes each; zero-padded to 8 bytes
 *   ..  8  checksum of the head (everything above): two 32-bit sums s0,
 *          s1 over its 8-byte units (little-endian words x0, x1:
 *          s0 += x0 + s1; s1 += x1 + s0), as SQLite's wal.c does
 *   ..     zlen bytes: the blocks, each one zstd frame (with zstd's own
 *          content checksum) of 4 page images (fewer in the last), in
 *          the order of the page numbers; zero-padded to 8 bytes.
 * A record is written as it is built, blocks first and its head last, so
 * a commit or base image of any size costs one block of memory.
 * A restore reads a record's head and decompresses only the blocks that
 * hold pages it needs, so reading one page costs one block, not the whole
 * commit.
 * Loading walks the headers and verifies the whole of the last record (its
 * head and every block); a torn tail (a crash in an append) is cut off.
 * Only what was never fsynced can be torn: hist_sync() (before every
 * checkpoint) records in history/synced how far the last segment is
 * durable, and a cut below that mark, like a sealed segment that does not
 * end on a record, is damage (D1E_CORRUPT): dbpool then moves the history
 * aside (hist_quarantine) and begins a new one, so a damaged history
 * costs time travel, never the database nor a wrong restore. A restore
 * verifies the head of each record it uses and each block it
 * decompresses; a mismatch fails the restore, and the journal puts back
 * what it had written.
 *
 * Bookmarks: "%08x-%08x-%08x-%032x": the commit number (high, low 32
 * bits), the commit time in Unix seconds (low 32 bits), and the first 16
 * bytes of SHA-256(uuid, commit number, commit time). They sort by
 * commit, are the same for the same commit every time, and a bookmark of
 * another database (or of a lost commit) does not verify.
 *
 * Restore to commit N, from the last commit M. Pages changed by commits
 * N+1..M are the only ones to rewrite (plus those a shrink since cut
 * off); each one's image as of N is the latest among the records N, N-1,
 * ... back to the newest base image at or before N, else that base's. So
 * a restore costs in proportion to what changed since N, plus a walk of
 * page lists bounded by the snapshots. The database is closed (dbpool
 * holds it exclusively) and whole. Crash safety comes from a journal, as
 * in SQLite's rollback mode:
 *   1. restore.journal gets the current images of the pages to rewrite and
 *      the current size, with a checksum, and is fsynced;
 *   2. the pages are written into db.sqlite, the file cut to N's size,
 *      fsync;
 *   3. the restore is appended to the log as commit M+1 (its images are
 *      the pages written) and the log fsynced;
 *   4. the journal is removed.
 * hist_open() finds a journal left by a crash: a torn one means the file
 * was not touched yet; a whole one whose commit is in the log means the
 * restore finished; otherwise the journal is played back. The log's
 * commits therefore always describe db.sqlite.
 *
 * Snapshots (hist_maintain, at commit points). When the log since the
 * newest base weighs SNAP_RATIO (4) times that base (1 MiB at least), the
 * segment is sealed and a thread of its own builds a base image of the last
 * commit: the database as of that commit is materialized from the newest
 * base and the records after it into snapshot.db, then written as
 * base-NNNN.d1h.tmp, fsynced and renamed. Writes go on meanwhile: the
 * thread reads only sealed records and base images, which nothing
 * changes. So no restore walks the page lists of more than about four
 * base images' worth of history, snapshots add at most a quarter to the
 * history's size, and a snapshot's cost is paid for by the history it
 * covers.
 *
 * Retention. History older than the window (30 days by default) goes once
 * a base image at or before the window's start exists: the base images
 * before it are removed, then the segments wholly before it (a crash in
 * between leaves records the loader skips and segments it removes). When
 * the history retention could drop weighs as much as the oldest base, a
 * snapshot is made at the newest commit before the window, so old data
 * does not outlive the window by much more than the time that takes. A
 * commit keeps its bookmark when it becomes a base: a bookmark's tag
 * depends on the commit's number and time only.
 *
 * Not done yet: the in-memory index holds one struct hrec (about 100
 * bytes) per commit in the window.
 *
 * Locking. A struct hist belongs to one database's dbh and is used under
 * its writer's commit lock, or with the database closed; the one other
 * thread is its snapshot thread, which reads the records array and the
 * segment list under h->mu (appends take it) and nothing the owner
 * changes while it runs (hist_maintain() publishes its base, and drops
 * history, only after joining it). hist_free() cancels and joins it.
 */
#include "history.h"

#include "apierr.h"
#include "faultvfs.h"
#include "util.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define REC_HDR	     64
#define KIND_BASE    0
#define KIND_COMMIT  1
#define KIND_RESTORE 2
#define WAL_HDR	     32
#define FRAME_HDR    24
#define BLOCK_PAGES  4
#define ZLEVEL	     1		 /* zstd level of commits and base images */
#define ZLEVEL_FAST  (-5)	 /* of a restore's record */
#define SNAP_FLOOR   (1u << 20)	 /* bytes: no snapshot for less history */
#define SNAP_RATIO   4		 /* history between snapshots, in bases */
#define SEG_MAX	     (64u << 20) /* bytes: a segment is sealed past this */

struct hrec {
	int64_t seq, time_ms;
	uint64_t off;  /* where the record starts in its file */
	uint64_t zlen; /* bytes of compressed page images */
	uint64_t upto; /* bytes of log records up to and including it */
	uint32_t kind, db_pages, n;
	uint32_t salt1, salt2, wal_frame;
	unsigned char tag[16];
};

/* A log segment: log-<first>.d1h holds the commits from `first` up to the
 * next segment's first (the last segment is the one appended to). */
struct hseg {
	int64_t first;
	uint64_t bytes;
};

/* A snapshot being built by its own thread (snap_main). */
struct snap {
	pthread_t thread;
	int running;
	_Atomic int done, cancel;
	int rc;
	struct hrec base; /* the newest base when it started */
	struct hrec out;  /* the new base, when done and rc == 0 */
};

struct hist {
	char uuid[40];
	char dir[4096];
	char db_path[4200], wal_path[4200], hdir[4200], journal_path[4200];
	char log_path[4300]; /* the last segment's */
	int log_fd, wal_fd;
	ZSTD_CCtx *cctx; /* reused by every record built */
	ZSTD_DCtx *dctx;
	uint32_t page_size;
	struct hrec *bases; /* oldest first; bases[0] begins the history */
	size_t nbases;
	/* recs[i].seq == bases[0].seq + 1 + i. Appends take mu (a snapshot
	 * thread reads the array under it); everything else is done by the
	 * owner, under the writer's commit lock. */
	struct hrec *recs;
	size_t nrecs, cap;
	struct hseg *segs; /* ascending; the last is the one appended to */
	size_t nsegs;
	uint64_t upto0;	      /* upto of the last record dropped by retention */
	int64_t synced_first; /* history/synced: (segment, offset) durable */
	uint64_t synced_off;
	uint64_t log_end;
	int unsynced;
	pthread_mutex_t mu;
	struct snap snap;
	/* Where capture stands in the WAL. */
	uint32_t salt1, salt2, frame;
};

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}
static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* The checksum of the file comment; len is a multiple of 8. */
static void cksum(const unsigned char *p, size_t len, uint32_t *s0,
		  uint32_t *s1)
{
	for (size_t i = 0; i < len; i += 8) {
		*s0 += get32(p + i) + *s1;
		*s1 += get32(p + i + 4) + *s0;
	}
}

static size_t nblocks(const struct hrec *r)
{
	return ((size_t)r->n + BLOCK_PAGES - 1) / BLOCK_PAGES;
}

/* The head: header, page numbers, block lengths, checksum. */
static size_t head_len(const struct hrec *r)
{
	return REC_HDR + pad8((size_t)r->n * 4) + pad8(nblocks(r) * 4) + 8;
}

static size_t rec_len(const struct hrec *r)
{
	return head_len(r) + pad8(r->zlen);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_full(int fd, void *buf, size_t n, uint64_t off)
{
	unsigned char *p = buf;
	while (n) {
		ssize_t k = pread(fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return D1E_IO;
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n, uint64_t off)
{
	const unsigned char *p = buf;
	while (n) {
		ssize_t k = pwrite(fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return errno == ENOSPC ? D1E_FULL : D1E_IO;
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* A fault the tests asked for (faultvfs.c), as a D1E_* error, or 0. */
static int injected(const char *path, int64_t amt)
{
	int e = faultvfs_io(path, amt);
	return !e ? 0 : e == ENOSPC ? D1E_FULL : D1E_IO;
}

/* A bookmark's tag: the commit's number and time, bound to the database.
 * Not the record's bytes: a snapshot rewrites a commit as a base image,
 * and its bookmark must stay the same. */
static void make_tag(const struct hist *h, struct hrec *r)
{
	unsigned char in[64], md[32];
	size_t ul = strlen(h->uuid);
	memcpy(in, h->uuid, ul);
	put64(in + ul, (uint64_t)r->seq);
	put64(in + ul + 8, (uint64_t)r->time_ms);
	util_sha256(in, ul + 16, md);
	memcpy(r->tag, md, 16);
}

static int has_base(const struct hist *h)
{
	return h->nbases > 0;
}

/* The record of commit seq (the oldest base for its own), or NULL. */
static const struct hrec *rec_at(const struct hist *h, int64_t seq)
{
	if (!has_base(h))
		return NULL;
	int64_t b0 = h->bases[0].seq;
	if (seq == b0)
		return &h->bases[0];
	if (seq > b0 && (uint64_t)(seq - b0) <= h->nrecs)
		return &h->recs[seq - b0 - 1];
	return NULL;
}

/* The index in recs of commit seq (which must be past bases[0]). */
static size_t rec_idx(const struct hist *h, int64_t seq)
{
	assert(seq > h->bases[0].seq);
	return (size_t)(seq - h->bases[0].seq - 1);
}

static int64_t next_seq(const struct hist *h)
{
	return h->bases[0].seq + (int64_t)h->nrecs + 1;
}

static const struct hrec *last_rec(const struct hist *h)
{
	return h->nrecs ? &h->recs[h->nrecs - 1] : &h->bases[0];
}

/* Bytes of log records up to commit seq (counted from the first commit
 * ever kept, so only differences mean anything). */
static uint64_t upto_at(const struct hist *h, int64_t seq)
{
	return seq <= h->bases[0].seq ? h->upto0
				      : h->recs[rec_idx(h, seq)].upto;
}

/* A copy of recs[i], for the snapshot thread: the array may move under
 * an append. */
static struct hrec rec_get(struct hist *h, size_t i)
{
	pthread_mutex_lock(&h->mu);
	assert(i < h->nrecs);
	struct hrec r = h->recs[i];
	pthread_mutex_unlock(&h->mu);
	return r;
}

static void seg_path(const struct hist *h, int64_t first, char *out, size_t cap)
{
	snprintf(out, cap, "%s/log-%016llx.d1h", h->hdir,
		 (unsigned long long)first);
}

static void base_path(const struct hist *h, int64_t seq, char *out, size_t cap)
{
	snprintf(out, cap, "%s/base-%016llx.d1h", h->hdir,
		 (unsigned long long)seq);
}

/* A reader of log records, one segment file open at a time: restore and
 * snapshots read records of any segment, in order, with their own file
 * descriptors. */
struct rd {
	int64_t first; /* the segment open, when fd >= 0 */
	int fd;
};

static void rd_release(struct rd *rd)
{
	if (rd->fd >= 0)
		close(rd->fd);
	rd->fd = -1;
}

/* The descriptor of the segment that holds commit seq: rd's own (closed
 * by rd_release()), or -1. */
static int rd_fd(struct hist *h, struct rd *rd, int64_t seq)
{
	char path[4300];
	pthread_mutex_lock(&h->mu);
	size_t lo = 0, hi = h->nsegs;
	while (lo < hi) { /* the first segment starting after seq */
		size_t mid = lo + (hi - lo) / 2;
		if (h->segs[mid].first <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	int64_t first = lo ? h->segs[lo - 1].first : -1;
	pthread_mutex_unlock(&h->mu);
	if (first < 0)
		return -1;
	if (rd->fd >= 0 && rd->first == first)
		return rd->fd;
	rd_release(rd);
	seg_path(h, first, path, sizeof(path));
	rd->fd = open(path, O_RDONLY | O_CLOEXEC);
	rd->first = first;
	return rd->fd;
}

static void format_bookmark(const struct hrec *r, char *out)
{
	int k = snprintf(out, HIST_BOOKMARK_SIZE, "%08x-%08x-%08x-",
			 (unsigned)((uint64_t)r->seq >> 32), (unsigned)r->seq,
			 (unsigned)(r->time_ms / 1000));
	for (int i = 0; i < 16; i++)
		k += snprintf(out + k, HIST_BOOKMARK_SIZE - (size_t)k, "%02x",
			      r->tag[i]);
}

/* Parse a record header at buf into r (off set by the caller). */
static int parse_hdr(const unsigned char *b, struct hrec *r)
{
	if (memcmp(b, "D1HR", 4) != 0)
		return D1E_IO;
	r->kind = get32(b + 4);
	r->seq = (int64_t)get64(b + 8);
	r->time_ms = (int64_t)get64(b + 16);
	r->db_pages = get32(b + 24);
	r->n = get32(b + 32);
	r->salt1 = get32(b + 40);
	r->salt2 = get32(b + 44);
	r->wal_frame = get32(b + 48);
	r->zlen = get64(b + 56);
	/* Sizes bounded so that no sum over them can overflow. */
	return r->kind <= KIND_RESTORE && get32(b + 36) == 0 &&
		       get32(b + 52) == BLOCK_PAGES &&
		       r->zlen < (uint64_t)1 << 48
		   ? 0
		   : D1E_IO;
}

/* Read the head of record r from fd and verify its checksum; fill its
 * tag. *out (malloc'd, freed by the caller) holds the head when out is
 * given. The page images are checked by zstd as they are decompressed. */
static int verify_rec(int fd, const struct hrec *r, unsigned char **out)
{
	size_t len = head_len(r);
	unsigned char *buf = malloc(len);
	uint32_t s0 = 0, s1 = 0;
	int rc;
	if (!buf)
		return D1E_NOMEM;
	rc = read_full(fd, buf, len, r->off);
	if (!rc) {
		cksum(buf, len - 8, &s0, &s1);
		if (get32(buf + len - 8) != s0 || get32(buf + len - 4) != s1)
			rc = D1E_IO;
	}
	if (!rc && out)
		*out = buf;
	else
		free(buf);
	return rc;
}

static int
each_page(struct hist *h, ZSTD_DCtx **dz, int fd, const struct hrec *r,
	  int (*put)(void *ctx, uint32_t pgno, const unsigned char *page),
	  int (*wanted)(void *ctx, uint32_t pgno), void *ctx);

static int push_rec(struct hist *h, struct hrec *r)
{
	int rc = 0;
	pthread_mutex_lock(&h->mu);
	if (h->nrecs == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct hrec *n = realloc(h->recs, cap * sizeof(*n));
		if (!n) {
			rc = D1E_NOMEM;
			goto out;
		}
		h->recs = n;
		h->cap = cap;
	}
	r->upto =
	    (h->nrecs ? h->recs[h->nrecs - 1].upto : h->upto0) + rec_len(r);
	h->recs[h->nrecs++] = *r;
out:
	pthread_mutex_unlock(&h->mu);
	return rc;
}

/* Begin a new segment, for the commits from `first` on: it becomes the
 * one appended to. */
static int start_seg(struct hist *h, int64_t first)
{
	struct hseg *ns;
	char path[4300];
	seg_path(h, first, path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	/* The synced mark (see read_synced()) is created here, empty, so that
	 * the directory fsync below makes its name durable. */
	char mark[4300];
	snprintf(mark, sizeof(mark), "%s/synced", h->hdir);
	int mfd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (mfd >= 0)
		close(mfd);
	if (fd < 0 || mfd < 0 || util_fsync_dir(h->hdir)) {
		if (fd >= 0)
			close(fd);
		return D1E_IO;
	}
	pthread_mutex_lock(&h->mu);
	ns = realloc(h->segs, (h->nsegs + 1) * sizeof(*ns));
	if (ns) {
		h->segs = ns;
		h->segs[h->nsegs++] = (struct hseg){.first = first};
	}
	pthread_mutex_unlock(&h->mu);
	if (!ns) {
		close(fd);
		return D1E_NOMEM;
	}
	if (h->log_fd >= 0)
		close(h->log_fd);
	h->log_fd = fd;
	h->log_end = 0;
	snprintf(h->log_path, sizeof(h->log_path), "%s", path);
	return 0;
}

/* Load segment si. A sealed segment must hold whole records only; the
 * last may end in a torn append (a crash), which is cut off. Records a
 * base image already holds (left by a crash in retention) are skipped. */
static int load_seg(struct hist *h, size_t si)
{
	char path[4300];
	struct stat st;
	int last = si + 1 == h->nsegs, rc = 0;
	uint64_t off = 0;
	seg_path(h, h->segs[si].first, path, sizeof(path));
	int fd = open(path, (last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = D1E_IO;
		goto out;
	}
	if (!has_base(h) && st.st_size > 0) {
		rc = D1E_CORRUPT; /* commits without a base: keep them */
		goto out;
	}
	while (off + REC_HDR + 8 <= (uint64_t)st.st_size) {
		unsigned char b[REC_HDR];
		struct hrec r = {0};
		if (read_full(fd, b, REC_HDR, off) || parse_hdr(b, &r))
			break;
		r.off = off;
		if (off + rec_len(&r) > (uint64_t)st.st_size ||
		    r.seq < h->segs[si].first)
			break;
		if (r.seq < next_seq(h) && r.kind != KIND_BASE) {
			off += rec_len(&r);
			continue;
		}
		if (r.seq != next_seq(h) || r.kind == KIND_BASE ||
		    get32(b + 28) != h->page_size)
			break;
		make_tag(h, &r);
		rc = push_rec(h, &r);
		if (rc)
			goto out;
		off += rec_len(&r);
	}
	if (!last) {
		h->segs[si].bytes = (uint64_t)st.st_size;
		if (off != (uint64_t)st.st_size)
			rc = D1E_CORRUPT; /* sealed segments were fsynced whole
					   */
		goto out;
	}
	/* Verify the last record whole; cut off what is not a record. A
	 * record that ends below the synced mark was fsynced whole and
	 * cannot be torn (damage shows where it is used): reading back a
	 * large last commit at every open would cost its whole size. */
	while (h->nrecs && h->recs[h->nrecs - 1].seq >= h->segs[si].first) {
		struct hrec *lr = &h->recs[h->nrecs - 1];
		if (h->synced_first == h->segs[si].first &&
		    lr->off + rec_len(lr) <= h->synced_off)
			break;
		/* The last append may be torn: check its pages too. */
		if (!each_page(h, &h->dctx, fd, lr, NULL, NULL, NULL))
			break;
		off = lr->off;
		h->nrecs--;
	}
	/* Only what was never fsynced can be torn: a cut below the synced
	 * mark is damage, and the commits past it may have been checkpointed
	 * out of the WAL, so the log could no longer describe the file. */
	if (h->synced_first == h->segs[si].first && off < h->synced_off) {
		rc = D1E_CORRUPT;
		goto out;
	}
	if (off != (uint64_t)st.st_size &&
	    (ftruncate(fd, (off_t)off) != 0 || fsync(fd) != 0))
		rc = D1E_IO;
	if (!rc) {
		h->log_fd = fd;
		fd = -1;
		h->log_end = off;
		snprintf(h->log_path, sizeof(h->log_path), "%s", path);
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		fprintf(stderr, "d1d: %s: history log %s is corrupt\n", h->uuid,
			path);
	return rc;
}

static int load_base(struct hist *h, int64_t seq)
{
	unsigned char b[REC_HDR];
	char path[4300];
	struct hrec r = {0};
	struct stat st;
	uint32_t ps = 0;
	int rc;
	base_path(h, seq, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return D1E_IO;
	rc = fstat(fd, &st) == 0 ? read_full(fd, b, REC_HDR, 0) : D1E_IO;
	if (!rc && parse_hdr(b, &r))
		rc = D1E_CORRUPT;
	if (!rc) {
		ps = get32(b + 28);
		if (r.kind != KIND_BASE || r.seq != seq || r.db_pages != r.n ||
		    rec_len(&r) > (uint64_t)st.st_size || ps < 512 ||
		    ps > 65536 || (ps & (ps - 1)) ||
		    (h->page_size && ps != h->page_size))
			rc = D1E_CORRUPT;
	}
	/* Its head is verified where it is used (each_page()), not here: a
	 * base is renamed into place whole, and reading the page lists of
	 * every base at each open would cost 4 bytes a page, per base. */
	close(fd);
	struct hrec *nb =
	    rc ? NULL : realloc(h->bases, (h->nbases + 1) * sizeof(*nb));
	if (rc || !nb) {
		fprintf(stderr, "d1d: %s: history base image %s is damaged\n",
			h->uuid, path);
		return rc ? rc : D1E_NOMEM;
	}
	h->page_size = ps;
	make_tag(h, &r);
	h->bases = nb;
	h->bases[h->nbases++] = r;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* "<prefix><16 hex digits>.d1h" into *seq. */
static int name_seq(const char *name, const char *prefix, int64_t *seq)
{
	size_t pl = strlen(prefix);
	if (strncmp(name, prefix, pl) != 0 || strlen(name) != pl + 20 ||
	    strspn(name + pl, "0123456789abcdef") != 16 ||
	    strcmp(name + pl + 16, ".d1h") != 0)
		return 0;
	*seq = (int64_t)strtoull(name + pl, NULL, 16);
	return *seq >= 0;
}

/* The base images and segments in the history directory, ascending.
 * Leftovers of a crash (temporary files) are removed, and so is a
 * history of d1d's first format, which this one cannot read. */
static int scan_dir(struct hist *h, int64_t **bases, size_t *nb, int64_t **segs,
		    size_t *ns)
{
	size_t cb = 0, cs = 0;
	int rc = 0;
	DIR *d = opendir(h->hdir);
	if (!d)
		return D1E_IO;
	for (struct dirent *e; (e = readdir(d));) {
		char path[4600];
		int64_t v;
		int64_t **arr = NULL;
		size_t *n = NULL, *c = NULL;
		if (name_seq(e->d_name, "base-", &v)) {
			arr = bases;
			n = nb;
			c = &cb;
		} else if (name_seq(e->d_name, "log-", &v)) {
			arr = segs;
			n = ns;
			c = &cs;
		} else {
			size_t l = strlen(e->d_name);
			if ((l > 4 && !strcmp(e->d_name + l - 4, ".tmp")) ||
			    !strcmp(e->d_name, "snapshot.db") ||
			    !strcmp(e->d_name, "base.d1h") ||
			    !strcmp(e->d_name, "log.d1h")) {
				snprintf(path, sizeof(path), "%s/%s", h->hdir,
					 e->d_name);
				unlink(path);
			}
			continue;
		}
		if (*n == *c) {
			size_t cap = *c ? *c * 2 : 8;
			int64_t *na = realloc(*arr, cap * sizeof(*na));
			if (!na) {
				rc = D1E_NOMEM;
				break;
			}
			*arr = na;
			*c = cap;
		}
		(*arr)[(*n)++] = v;
	}
	closedir(d);
	if (*nb)
		qsort(*bases, *nb, sizeof(**bases), cmp_i64);
	if (*ns)
		qsort(*segs, *ns, sizeof(**segs), cmp_i64);
	return rc;
}

/* Remove the sealed segments whose commits all come before bases[0] (a
 * crash in retention leaves them). */
static int drop_old_segs(struct hist *h)
{
	size_t k = 0;
	char path[4300];
	while (k + 1 < h->nsegs && h->segs[k + 1].first <= h->bases[0].seq + 1)
		k++;
	if (!k)
		return 0;
	for (size_t i = 0; i < k; i++) {
		seg_path(h, h->segs[i].first, path, sizeof(path));
		if (unlink(path) != 0 && errno != ENOENT)
			return D1E_IO;
	}
	pthread_mutex_lock(&h->mu);
	memmove(h->segs, h->segs + k, (h->nsegs - k) * sizeof(*h->segs));
	h->nsegs -= k;
	pthread_mutex_unlock(&h->mu);
	return util_fsync_dir(h->hdir) ? D1E_IO : 0;
}

/*
 * history/synced: how far the log is known durable, rewritten by
 * hist_sync() (before every checkpoint), 24 bytes: the segment's first
 * commit (8), the offset in it (8), the checksum of those (8, as
 * records). A missing or torn one proves nothing and is ignored.
 */
static void read_synced(struct hist *h)
{
	char path[4300];
	unsigned char b[24];
	uint32_t s0 = 0, s1 = 0;
	h->synced_first = -1;
	h->synced_off = 0;
	snprintf(path, sizeof(path), "%s/synced", h->hdir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (!read_full(fd, b, sizeof(b), 0)) {
		cksum(b, 16, &s0, &s1);
		if (get32(b + 16) == s0 && get32(b + 20) == s1) {
			h->synced_first = (int64_t)get64(b);
			h->synced_off = get64(b + 8);
		}
	}
	close(fd);
}

static int write_synced(struct hist *h)
{
	char path[4300];
	unsigned char b[24];
	uint32_t s0 = 0, s1 = 0;
	put64(b, (uint64_t)h->segs[h->nsegs - 1].first);
	put64(b + 8, h->log_end);
	cksum(b, 16, &s0, &s1);
	put32(b + 16, s0);
	put32(b + 20, s1);
	snprintf(path, sizeof(path), "%s/synced", h->hdir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	int rc = fd < 0 ? D1E_IO : injected(path, sizeof(b));
	if (!rc)
		rc = write_full(fd, b, sizeof(b), 0);
	if (!rc && fsync(fd) != 0)
		rc = D1E_IO;
	if (fd >= 0)
		close(fd);
	return rc;
}

static int load(struct hist *h)
{
	int64_t *bases = NULL, *segs = NULL;
	size_t nb = 0, ns = 0;
	int rc = scan_dir(h, &bases, &nb, &segs, &ns);
	read_synced(h);
	for (size_t i = 0; !rc && i < nb; i++)
		rc = load_base(h, bases[i]);
	if (!rc && ns) {
		h->segs = calloc(ns, sizeof(*h->segs));
		if (!h->segs)
			rc = D1E_NOMEM;
		for (size_t i = 0; !rc && i < ns; i++)
			h->segs[h->nsegs++].first = segs[i];
	}
	for (size_t i = 0; !rc && i < h->nsegs; i++)
		rc = load_seg(h, i);
	/* A base past the last commit the log holds is not a base. */
	if (!rc && has_base(h) &&
	    h->bases[h->nbases - 1].seq > last_rec(h)->seq)
		rc = D1E_CORRUPT;
	if (!rc && has_base(h))
		rc = drop_old_segs(h);
	if (!rc && has_base(h) && !h->nsegs)
		rc = start_seg(h, next_seq(h));
	if (!rc && has_base(h)) {
		const struct hrec *l = last_rec(h);
		h->salt1 = l->salt1;
		h->salt2 = l->salt2;
		h->frame = l->wal_frame;
	}
	free(bases);
	free(segs);
	return rc;
}

static int recover_journal(struct hist *h);

int hist_open(const char *dir, const char *uuid, struct hist **out)
{
	struct hist *h = calloc(1, sizeof(*h));
	int rc = 0;
	*out = NULL;
	if (!h)
		return D1E_NOMEM;
	h->log_fd = h->wal_fd = -1;
	pthread_mutex_init(&h->mu, NULL);
	snprintf(h->uuid, sizeof(h->uuid), "%s", uuid);
	snprintf(h->dir, sizeof(h->dir), "%s", dir);
	snprintf(h->db_path, sizeof(h->db_path), "%s/db.sqlite", dir);
	snprintf(h->wal_path, sizeof(h->wal_path), "%s/db.sqlite-wal", dir);
	snprintf(h->hdir, sizeof(h->hdir), "%s/history", dir);
	snprintf(h->journal_path, sizeof(h->journal_path), "%s/restore.journal",
		 dir);
	if (mkdir(h->hdir, 0700) != 0 && errno != EEXIST) {
		rc = D1E_IO;
		goto out;
	}
	rc = load(h);
	if (!rc)
		rc = recover_journal(h);
out:
	if (rc) {
		hist_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void hist_free(struct hist *h)
{
	if (!h)
		return;
	if (h->snap.running) {
		h->snap.cancel = 1;
		pthread_join(h->snap.thread, NULL);
	}
	if (h->log_fd >= 0)
		close(h->log_fd);
	if (h->wal_fd >= 0)
		close(h->wal_fd);
	ZSTD_freeCCtx(h->cctx);
	ZSTD_freeDCtx(h->dctx);
	pthread_mutex_destroy(&h->mu);
	free(h->bases);
	free(h->recs);
	free(h->segs);
	free(h);
}

int hist_quarantine(const char *dir, const char *uuid)
{
	char from[4200], to[4300];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(from, sizeof(from), "%s/history", dir);
	snprintf(to, sizeof(to), "%s/history.damaged-%lld", dir,
		 (long long)ts.tv_sec);
	if (rename(from, to) != 0 || util_fsync_dir(dir))
		return D1E_IO;
	fprintf(stderr,
		"d1d: %s: the time-travel history is damaged; moved to %s, "
		"and a new history begins with the database as it is\n",
		uuid, to);
	return 0;
}

int hist_has_base(const struct hist *h)
{
	return has_base(h);
}

/* Builds one record straight into its file: page images go in one at a
 * time and are compressed BLOCK_PAGES at a time, each block its own zstd
 * frame with a checksum (so that a restore decompresses only the blocks
 * it needs), written at once after the room left for the head; the head
 * (which holds the block lengths) is written last. So a record of any
 * size costs one block of memory, plus 4 bytes per page for its page
 * numbers. A record cut short by a failure or a crash is a torn tail,
 * which the caller (or the loader) cuts off. */
struct builder {
	ZSTD_CCtx *z;
	int fd;
	const char *path; /* for fault injection */
	uint64_t off;	  /* where the record starts */
	uint32_t n, ps, fed;
	unsigned char *head; /* header, page numbers, block lengths */
	unsigned char *blk;  /* the block being filled */
	unsigned char *zbuf; /* one compressed block */
	size_t zcap;
	uint64_t pay_len;
	uint32_t *blk_len; /* compressed size of each block */
};

/* *z is the compression context to use, created on first use (freed by
 * its owner); level is zstd's (ZLEVEL, or ZLEVEL_FAST). */
static int b_begin(struct hist *h, struct builder *b, ZSTD_CCtx **z, int level,
		   int fd, const char *path, uint64_t off,
		   const uint32_t *pgnos, uint32_t n)
{
	memset(b, 0, sizeof(*b));
	if (!*z) {
		*z = ZSTD_createCCtx();
		if (!*z)
			return D1E_NOMEM;
		ZSTD_CCtx_setParameter(*z, ZSTD_c_checksumFlag, 1);
	}
	ZSTD_CCtx_setParameter(*z, ZSTD_c_compressionLevel, level);
	b->z = *z;
	b->fd = fd;
	b->path = path;
	b->off = off;
	b->n = n;
	b->ps = h->page_size;
	struct hrec r = {.n = n};
	b->head = calloc(1, head_len(&r));
	b->blk = malloc((size_t)BLOCK_PAGES * b->ps);
	b->zcap = ZSTD_compressBound((size_t)BLOCK_PAGES * b->ps);
	b->zbuf = malloc(b->zcap);
	b->blk_len = calloc((size_t)n / BLOCK_PAGES + 2, sizeof(uint32_t));
	if (!b->head || !b->blk || !b->zbuf || !b->blk_len)
		return D1E_NOMEM;
	for (uint32_t i = 0; i < n; i++)
		put32(b->head + REC_HDR + 4 * (size_t)i, pgnos[i]);
	return 0;
}

static int b_flush(struct builder *b)
{
	uint32_t inblk =
	    b->fed % BLOCK_PAGES ? b->fed % BLOCK_PAGES : BLOCK_PAGES;
	struct hrec r = {.n = b->n};
	size_t k = ZSTD_compress2(b->z, b->zbuf, b->zcap, b->blk,
				  (size_t)inblk * b->ps);
	if (ZSTD_isError(k))
		return D1E_INTERNAL;
	int rc = injected(b->path, (int64_t)k);
	if (!rc)
		rc = write_full(b->fd, b->zbuf, k,
				b->off + head_len(&r) + b->pay_len);
	if (rc)
		return rc;
	b->blk_len[(b->fed - 1) / BLOCK_PAGES] = (uint32_t)k;
	b->pay_len += k;
	return 0;
}

/* One page image, in the order of the page numbers. */
static int b_feed(struct builder *b, const unsigned char *page)
{
	assert(b->fed < b->n);
	memcpy(b->blk + (size_t)(b->fed % BLOCK_PAGES) * b->ps, page, b->ps);
	b->fed++;
	return b->fed % BLOCK_PAGES == 0 ? b_flush(b) : 0;
}

/* Finish: the last block, the padding, the head with its checksum. Fills
 * r's zlen, off and tag; the record then lies at r->off, rec_len(r)
 * bytes. */
static int b_end(struct hist *h, struct builder *b, struct hrec *r)
{
	static const unsigned char zero[8];
	int rc = b->fed % BLOCK_PAGES ? b_flush(b) : 0;
	if (rc)
		return rc;
	assert(b->fed == b->n && r->n == b->n);
	r->zlen = b->pay_len;
	r->off = b->off;
	size_t hl = head_len(r);
	unsigned char *p = b->head;
	static const unsigned char magic[4] = {'D', '1', 'H', 'R'};
	memcpy(p, magic, sizeof(magic));
	put32(p + 4, r->kind);
	put64(p + 8, (uint64_t)r->seq);
	put64(p + 16, (uint64_t)r->time_ms);
	put32(p + 24, r->db_pages);
	put32(p + 28, h->page_size);
	put32(p + 32, r->n);
	put32(p + 36, 0);
	put32(p + 40, r->salt1);
	put32(p + 44, r->salt2);
	put32(p + 48, r->wal_frame);
	put32(p + 52, BLOCK_PAGES);
	put64(p + 56, r->zlen);
	size_t tb = REC_HDR + pad8((size_t)r->n * 4);
	for (size_t i = 0; i < nblocks(r); i++)
		put32(p + tb + 4 * i, b->blk_len[i]);
	uint32_t s0 = 0, s1 = 0;
	cksum(p, hl - 8, &s0, &s1);
	put32(p + hl - 8, s0);
	put32(p + hl - 4, s1);
	size_t padn = (size_t)(pad8(r->zlen) - r->zlen);
	rc = injected(b->path, (int64_t)(hl + padn));
	if (!rc && padn)
		rc = write_full(b->fd, zero, padn, b->off + hl + r->zlen);
	if (!rc)
		rc = write_full(b->fd, p, hl, b->off);
	if (!rc)
		make_tag(h, r);
	return rc;
}

static void b_free(struct builder *b)
{
	free(b->head);
	free(b->blk);
	free(b->zbuf);
	free(b->blk_len);
}

/* Start a record at the end of the log. */
static int log_begin(struct hist *h, struct builder *b, int level,
		     const uint32_t *pgnos, uint32_t n)
{
	return b_begin(h, b, &h->cctx, level, h->log_fd, h->log_path,
		       h->log_end, pgnos, n);
}

/* Finish a record begun by log_begin() (rc: how its building went) and
 * make it the next commit; on failure leave no partial record behind a
 * later append. */
static int log_finish(struct hist *h, struct builder *b, struct hrec *r, int rc)
{
	if (!rc)
		rc = b_end(h, b, r);
	if (!rc)
		rc = push_rec(h, r);
	if (rc) {
		if (ftruncate(h->log_fd, (off_t)h->log_end) != 0)
			rc = D1E_IO;
		return rc;
	}
	h->log_end += rec_len(r);
	h->unsynced = 1;
	return 0;
}

static int64_t next_time(const struct hist *h)
{
	int64_t t = now_ms();
	int64_t last = has_base(h) ? last_rec(h)->time_ms : 0;
	return t < last ? last : t;
}

static int db_page_size(int fd, uint32_t *ps)
{
	unsigned char b[2];
	if (read_full(fd, b, 2, 16))
		return D1E_IO;
	uint32_t v = (uint32_t)b[0] << 8 | b[1];
	*ps = v == 1 ? 65536 : v;
	return *ps >= 512 && *ps <= 65536 && !(*ps & (*ps - 1)) ? 0 : D1E_IO;
}

/* Write a base image of the whole database file at src (r gives its
 * commit number, time and WAL position) as base-<seq>.d1h: built in a
 * temporary file, fsynced, renamed into place, so a base is whole or
 * absent. Fills r's size, count and tag. *z as for b_begin(). cancel, if
 * given, stops it when set (the error is then of no interest). */
static int write_base(struct hist *h, ZSTD_CCtx **z, const char *src,
		      struct hrec *r, const _Atomic int *cancel)
{
	struct builder b;
	struct stat st;
	char tmp[4400], path[4300];
	uint32_t *pgnos = NULL;
	unsigned char *page = NULL;
	int fd = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc;
	memset(&b, 0, sizeof(b));
	base_path(h, r->seq, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = D1E_IO;
		goto out;
	}
	r->kind = KIND_BASE;
	r->db_pages = r->n = (uint32_t)((uint64_t)st.st_size / h->page_size);
	pgnos = calloc((size_t)r->n + 1, 4);
	page = malloc(h->page_size);
	out = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!pgnos || !page || out < 0) {
		rc = out < 0 ? D1E_IO : D1E_NOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < r->n; i++)
		pgnos[i] = i + 1;
	rc = b_begin(h, &b, z, ZLEVEL, out, tmp, 0, pgnos, r->n);
	for (uint32_t i = 0; !rc && i < r->n; i++) {
		if (cancel && *cancel)
			rc = D1E_INTERNAL;
		if (!rc)
			rc = read_full(fd, page, h->page_size,
				       (uint64_t)i * h->page_size);
		if (!rc)
			rc = b_feed(&b, page);
	}
	if (!rc)
		rc = b_end(h, &b, r);
	if (!rc && fsync(out) != 0)
		rc = D1E_IO;
	if (!rc && (rename(tmp, path) != 0 || util_fsync_dir(h->hdir)))
		rc = D1E_IO;
out:
	if (out >= 0)
		close(out);
	if (rc)
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	free(pgnos);
	free(page);
	b_free(&b);
	return rc;
}

int hist_make_base(struct hist *h)
{
	struct hrec r = {.kind = KIND_BASE}, *nb;
	int fd = open(h->db_path, O_RDONLY | O_CLOEXEC), rc;
	assert(!has_base(h));
	rc = fd < 0 ? D1E_IO : db_page_size(fd, &h->page_size);
	if (fd >= 0)
		close(fd);
	if (rc)
		return D1E_IO;
	r.time_ms = now_ms();
	rc = write_base(h, &h->cctx, h->db_path, &r, NULL);
	if (rc)
		return rc;
	nb = malloc(sizeof(*nb));
	if (!nb)
		return D1E_NOMEM;
	*nb = r;
	h->bases = nb;
	h->nbases = 1;
	return start_seg(h, 1);
}

struct frame_ref {
	uint32_t pgno, frame;
};

static int cmp_frame_ref(const void *a, const void *b)
{
	const struct frame_ref *x = a, *y = b;
	if (x->pgno != y->pgno)
		return x->pgno < y->pgno ? -1 : 1;
	return x->frame > y->frame ? -1 : x->frame < y->frame; /* newest 1st */
}

static uint64_t frame_off(const struct hist *h, uint32_t frame)
{
	return WAL_HDR + (uint64_t)(frame - 1) * (FRAME_HDR + h->page_size);
}

/* Record the commit made of refs[0..n) (frames of one transaction), whose
 * commit frame is `last` with database size db_pages. */
static int record_commit(struct hist *h, struct frame_ref *refs, size_t n,
			 uint32_t last, uint32_t db_pages)
{
	struct builder b;
	struct hrec r = {.kind = KIND_COMMIT};
	uint32_t *pgnos = NULL;
	unsigned char *page = NULL;
	size_t u = 0;
	int rc;
	memset(&b, 0, sizeof(b));
	qsort(refs, n, sizeof(*refs), cmp_frame_ref);
	/* Keep the newest frame of each page. */
	for (size_t i = 0; i < n; i++)
		if (!u || refs[u - 1].pgno != refs[i].pgno)
			refs[u++] = refs[i];
	pgnos = malloc((u + 1) * 4);
	page = malloc(h->page_size);
	if (!pgnos || !page) {
		rc = D1E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < u; i++)
		pgnos[i] = refs[i].pgno;
	r.seq = next_seq(h);
	r.time_ms = next_time(h);
	r.db_pages = db_pages;
	r.n = (uint32_t)u;
	r.salt1 = h->salt1;
	r.salt2 = h->salt2;
	r.wal_frame = last;
	rc = log_begin(h, &b, ZLEVEL, pgnos, r.n);
	for (size_t i = 0; !rc && i < u; i++) {
		rc = read_full(h->wal_fd, page, h->page_size,
			       frame_off(h, refs[i].frame) + FRAME_HDR);
		if (!rc)
			rc = b_feed(&b, page);
	}
	rc = log_finish(h, &b, &r, rc);
	if (!rc)
		h->frame = last;
out:
	free(pgnos);
	free(page);
	b_free(&b);
	return rc;
}

int hist_capture(struct hist *h, int wal_frames)
{
	unsigned char hdr[WAL_HDR], fh[FRAME_HDR];
	struct frame_ref *refs = NULL;
	size_t n = 0, cap = 0;
	int rc = 0, commits = 0;
	if (!has_base(h))
		return D1E_IO;
	if (wal_frames <= 0)
		return 0;
	if (h->wal_fd < 0) {
		h->wal_fd = open(h->wal_path, O_RDONLY | O_CLOEXEC);
		if (h->wal_fd < 0)
			return D1E_IO;
	}
	if (read_full(h->wal_fd, hdr, WAL_HDR, 0))
		return D1E_IO;
	if ((be32(hdr) & ~1u) != 0x377f0682 || be32(hdr + 8) != h->page_size)
		return D1E_IO;
	uint32_t s1 = be32(hdr + 16), s2 = be32(hdr + 20);
	uint32_t start = 1;
	if (s1 == h->salt1 && s2 == h->salt2)
		start = h->frame + 1;
	else {
		/* A new WAL generation (restarted after a checkpoint): every
		 * frame in it is new. */
		h->salt1 = s1;
		h->salt2 = s2;
		h->frame = 0;
	}
	for (uint32_t f = start; f <= (uint32_t)wal_frames; f++) {
		if (read_full(h->wal_fd, fh, FRAME_HDR, frame_off(h, f))) {
			rc = D1E_IO;
			goto out;
		}
		if (be32(fh + 8) != s1 || be32(fh + 12) != s2) {
			rc = D1E_IO;
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			struct frame_ref *nr = realloc(refs, cap * sizeof(*nr));
			if (!nr) {
				rc = D1E_NOMEM;
				goto out;
			}
			refs = nr;
		}
		refs[n].pgno = be32(fh);
		refs[n++].frame = f;
		uint32_t db_pages = be32(fh + 4);
		if (db_pages) { /* a commit frame */
			rc = record_commit(h, refs, n, f, db_pages);
			if (rc)
				goto out;
			commits++;
			n = 0;
		}
	}
out:
	free(refs);
	if (rc)
		fprintf(stderr, "d1d: %s: history capture failed\n", h->uuid);
	return rc ? rc : commits;
}

int hist_sync(struct hist *h)
{
	if (!h->unsynced)
		return 0;
	int rc = injected(h->log_path, -1);
	if (rc)
		return rc;
	if (fsync(h->log_fd) != 0)
		return D1E_IO;
	rc = write_synced(h);
	if (rc)
		return rc;
	h->unsynced = 0;
	return 0;
}

void hist_bookmark(struct hist *h, char *out)
{
	format_bookmark(last_rec(h), out);
}

int hist_bookmark_at(struct hist *h, int64_t time_ms, char *out,
		     const char **msg)
{
	if (!has_base(h) || time_ms < h->bases[0].time_ms) {
		*msg = "timestamp is before the earliest point in this "
		       "database's history (its creation, or the start of "
		       "the retention window)";
		return D1E_BAD_REQUEST;
	}
	/* The last record at or before time_ms; times never decrease. */
	size_t lo = 0, hi = h->nrecs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->recs[mid].time_ms <= time_ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	format_bookmark(lo ? &h->recs[lo - 1] : &h->bases[0], out);
	return 0;
}

int hist_parse_time(const char *s, int64_t *ms)
{
	struct tm tm = {0};
	int64_t frac = 0, off = 0;
	const char *p = strptime(s, "%Y-%m-%dT%H:%M", &tm);
	if (!p)
		p = strptime(s, "%Y-%m-%d %H:%M", &tm);
	if (!p)
		return D1E_BAD_REQUEST;
	if (*p == ':') {
		if (p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9')
			return D1E_BAD_REQUEST;
		tm.tm_sec = (p[1] - '0') * 10 + (p[2] - '0');
		p += 3;
		if (*p == '.') {
			int digits = 0;
			for (p++; *p >= '0' && *p <= '9'; p++, digits++)
				if (digits < 3)
					frac = frac * 10 + (*p - '0');
			if (!digits)
				return D1E_BAD_REQUEST;
			for (; digits < 3; digits++)
				frac *= 10;
		}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2 && strlen(p) == 6)
			p += 6;
		else if (sscanf(p + 1, "%2d%2d", &hh, &mm) == 2 &&
			 strlen(p) == 5)
			p += 5;
		else
			return D1E_BAD_REQUEST;
		if (hh > 23 || mm > 59)
			return D1E_BAD_REQUEST;
		off = (int64_t)sign * (hh * 3600 + mm * 60);
	}
	if (*p)
		return D1E_BAD_REQUEST;
	if (tm.tm_sec > 60)
		return D1E_BAD_REQUEST;
	*ms = ((int64_t)timegm(&tm) - off) * 1000 + frac;
	return 0;
}

/* Find the record of a bookmark, verified. NULL if none. */
static const struct hrec *find_bookmark(const struct hist *h, const char *bm)
{
	unsigned a, b, c;
	char tail[40], want[HIST_BOOKMARK_SIZE];
	int used = 0;
	if (strlen(bm) != 59 ||
	    sscanf(bm, "%8x-%8x-%8x-%32[0-9a-f]%n", &a, &b, &c, tail, &used) !=
		4 ||
	    used != 59)
		return NULL;
	int64_t seq = (int64_t)((uint64_t)a << 32 | b);
	const struct hrec *r = rec_at(h, seq);
	if (!r)
		return NULL;
	format_bookmark(r, want);
	return strcmp(want, bm) == 0 ? r : NULL;
}

/* Hand each page of record r (file fd) whose number is wanted to put(),
 * decompressing only the blocks that hold one. The head is verified
 * first, each block by zstd's checksum. With wanted NULL, every block is
 * decompressed and checked and nothing is handed out. */
static int
each_page(struct hist *h, ZSTD_DCtx **dz, int fd, const struct hrec *r,
	  int (*put)(void *ctx, uint32_t pgno, const unsigned char *page),
	  int (*wanted)(void *ctx, uint32_t pgno), void *ctx)
{
	unsigned char *head = NULL, *blk = NULL, *z = NULL;
	size_t bcap = (size_t)BLOCK_PAGES * h->page_size, zcap = 0;
	uint64_t off = r->off + head_len(r);
	int rc = verify_rec(fd, r, &head);
	if (rc)
		goto out;
	blk = malloc(bcap);
	if (!blk) {
		rc = D1E_NOMEM;
		goto out;
	}
	if (!*dz && !(*dz = ZSTD_createDCtx())) {
		rc = D1E_NOMEM;
		goto out;
	}
	const unsigned char *pg = head + REC_HDR;
	const unsigned char *tab = pg + pad8((size_t)r->n * 4);
	uint64_t zsum = 0;
	for (size_t b = 0; b < nblocks(r); b++) {
		uint32_t zl = get32(tab + 4 * b);
		uint32_t first = (uint32_t)(b * BLOCK_PAGES);
		uint32_t cnt =
		    r->n - first < BLOCK_PAGES ? r->n - first : BLOCK_PAGES;
		int need = !wanted;
		for (uint32_t i = 0; i < cnt && !need; i++)
			need = wanted(ctx, get32(pg + 4 * (size_t)(first + i)));
		zsum += zl;
		if (zsum > r->zlen || zl > ZSTD_compressBound(bcap)) {
			rc = D1E_IO;
			goto out;
		}
		if (need) {
			if (zl > zcap) {
				unsigned char *nz = realloc(z, zl);
				if (!nz) {
					rc = D1E_NOMEM;
					goto out;
				}
				z = nz;
				zcap = zl;
			}
			size_t want = (size_t)cnt * h->page_size;
			rc = read_full(fd, z, zl, off);
			if (rc)
				goto out;
			size_t k = ZSTD_decompressDCtx(*dz, blk, bcap, z, zl);
			if (ZSTD_isError(k) || k != want) {
				rc = D1E_IO;
				goto out;
			}
			for (uint32_t i = 0; wanted && i < cnt; i++) {
				uint32_t pgno =
				    get32(pg + 4 * (size_t)(first + i));
				if (!wanted(ctx, pgno))
					continue;
				rc = put(ctx, pgno,
					 blk + (size_t)i * h->page_size);
				if (rc)
					goto out;
			}
		}
		off += zl;
	}
	if (zsum != r->zlen)
		rc = D1E_IO;
out:
	free(z);
	free(blk);
	free(head);
	return rc;
}

/*
 * The journal of a restore:
 *   0   4  magic "D1RJ"
 *   4   4  page size
 *   8   8  the commit number the restore will record
 *   16  4  the database size before, in pages
 *   20  4  n, pages saved
 *   24     n page numbers (4 bytes each), zero-padded to 8 bytes
 *   ..     n page images
 *   ..  8  checksum (as records)
 * It is written and read a page at a time: a restore of any size costs
 * 4 bytes of memory per page it rewrites.
 */
#define JNL_HDR 24

/* Checksum bytes [0, len) of fd (len a multiple of 8) into s0, s1. */
static int cksum_fd(int fd, uint64_t len, uint32_t *s0, uint32_t *s1)
{
	unsigned char *buf = malloc(1 << 20);
	int rc = buf ? 0 : D1E_NOMEM;
	for (uint64_t off = 0; !rc && off < len;) {
		size_t n =
		    len - off < (1 << 20) ? (size_t)(len - off) : 1 << 20;
		rc = read_full(fd, buf, n, off);
		if (!rc)
			cksum(buf, n, s0, s1);
		off += n;
	}
	free(buf);
	return rc;
}

static int recover_journal(struct hist *h)
{
	int fd = open(h->journal_path, O_RDONLY | O_CLOEXEC), db = -1;
	unsigned char hdr[JNL_HDR], tail[8], *page = NULL, *pg = NULL;
	struct stat st;
	int rc = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : D1E_IO;
	if (fstat(fd, &st) != 0) {
		rc = D1E_IO;
		goto out;
	}
	uint64_t len = (uint64_t)st.st_size;
	if (len < JNL_HDR + 8 || len % 8 || read_full(fd, hdr, JNL_HDR, 0) ||
	    memcmp(hdr, "D1RJ", 4) != 0)
		goto torn;
	uint32_t ps = get32(hdr + 4), old_pages = get32(hdr + 16);
	uint32_t n = get32(hdr + 20);
	int64_t seq = (int64_t)get64(hdr + 8);
	uint64_t imgs = JNL_HDR + pad8((size_t)n * 4);
	if (ps < 512 || ps > 65536 || (ps & (ps - 1)) ||
	    imgs + (uint64_t)n * ps + 8 != len)
		goto torn;
	uint32_t s0 = 0, s1 = 0;
	rc = cksum_fd(fd, len - 8, &s0, &s1);
	if (!rc)
		rc = read_full(fd, tail, 8, len - 8);
	if (rc)
		goto out;
	if (get32(tail) != s0 || get32(tail + 4) != s1)
		goto torn;
	if (has_base(h) && last_rec(h)->seq >= seq)
		goto done; /* the restore was recorded: it is complete */
	/* Interrupted between the journal and its record: undo. */
	db = open(h->db_path, O_RDWR | O_CLOEXEC);
	page = malloc(ps);
	pg = malloc((size_t)n * 4 + 4);
	if (db < 0 || !page || !pg) {
		rc = db < 0 ? D1E_IO : D1E_NOMEM;
		goto out;
	}
	rc = read_full(fd, pg, (size_t)n * 4, JNL_HDR);
	for (uint32_t i = 0; !rc && i < n; i++) {
		rc = read_full(fd, page, ps, imgs + (uint64_t)i * ps);
		if (!rc)
			rc = write_full(
			    db, page, ps,
			    (uint64_t)(get32(pg + 4 * (size_t)i) - 1) * ps);
	}
	if (!rc && (ftruncate(db, (off_t)old_pages * ps) != 0 || fsync(db)))
		rc = D1E_IO;
	if (rc)
		goto out;
	fprintf(stderr, "d1d: %s: rolled back an interrupted restore\n",
		h->uuid);
	goto done;
torn:
	/* The journal was not whole, so the database was not touched. */
	fprintf(stderr, "d1d: %s: discarding a torn restore journal\n",
		h->uuid);
done:
	if (unlink(h->journal_path) != 0 || util_fsync_dir(h->dir))
		rc = D1E_IO;
out:
	if (db >= 0)
		close(db);
	close(fd);
	free(page);
	free(pg);
	return rc;
}

/* Step 1 of a restore to a database of T pages: the journal of what the
 * file db_fd (C pages long) has in the pages it will change: those of
 * list[0..nlist) (all <= T) it has, and, when the restore shrinks it,
 * every page past T, which the cut drops. Fsynced; *jfd is its
 * descriptor. */
static int write_journal(struct hist *h, int db_fd, const uint32_t *list,
			 uint32_t nlist, uint32_t T, uint32_t C, int *jfd)
{
	uint32_t nj = C > T ? C - T : 0, ps = h->page_size, s0 = 0, s1 = 0;
	unsigned char *hdr = NULL, *page = malloc(ps), tail[8];
	int rc = 0;
	for (uint32_t k = 0; k < nlist; k++)
		if (list[k] <= C)
			nj++;
	size_t hl = JNL_HDR + pad8((size_t)nj * 4);
	uint64_t total = hl + (uint64_t)nj * ps + 8, off = hl;
	hdr = calloc(1, hl);
	*jfd = open(h->journal_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
	if (!hdr || !page || *jfd < 0) {
		rc = *jfd < 0 ? D1E_IO : D1E_NOMEM;
		goto out;
	}
	static const unsigned char jmagic[4] = {'D', '1', 'R', 'J'};
	memcpy(hdr, jmagic, sizeof(jmagic));
	put32(hdr + 4, ps);
	put64(hdr + 8, (uint64_t)next_seq(h));
	put32(hdr + 16, C);
	put32(hdr + 20, nj);
	/* The pages saved, in order: list's, then those past T. */
	uint32_t j = 0;
	for (uint32_t k = 0; k < nlist; k++)
		if (list[k] <= C)
			put32(hdr + JNL_HDR + 4 * (size_t)j++, list[k]);
	for (uint32_t p = T + 1; p <= C; p++)
		put32(hdr + JNL_HDR + 4 * (size_t)j++, p);
	assert(j == nj);
	cksum(hdr, hl, &s0, &s1);
	rc = injected(h->journal_path, (int64_t)total);
	if (!rc)
		rc = write_full(*jfd, hdr, hl, 0);
	for (j = 0; !rc && j < nj; j++) {
		uint32_t p = get32(hdr + JNL_HDR + 4 * (size_t)j);
		rc = read_full(db_fd, page, ps, (uint64_t)(p - 1) * ps);
		if (!rc) {
			cksum(page, ps, &s0, &s1);
			rc = write_full(*jfd, page, ps, off);
			off += ps;
		}
	}
	put32(tail, s0);
	put32(tail + 4, s1);
	if (!rc)
		rc = write_full(*jfd, tail, 8, off);
	if (!rc && (fsync(*jfd) != 0 || util_fsync_dir(h->dir)))
		rc = D1E_IO;
out:
	free(hdr);
	free(page);
	return rc;
}

/* What a restore (or a snapshot) needs: per page number, where its image
 * as of the target comes from: a record's index in recs, or the base. */
#define SRC_NONE (-3) /* not rewritten */
#define SRC_WANT (-2) /* rewritten, source not found yet */
#define SRC_BASE (-1)

struct rplan {
	int32_t *src; /* [pgno], pgno 1..maxp */
	uint32_t maxp;
	int32_t cur; /* the record being read */
	int db_fd;
	uint32_t ps;
	const _Atomic int *cancel; /* a snapshot's: stop when set */
};

static int want_cur(void *ctx, uint32_t pgno)
{
	struct rplan *p = ctx;
	return pgno <= p->maxp && p->src[pgno] == p->cur;
}

static int put_db(void *ctx, uint32_t pgno, const unsigned char *page)
{
	struct rplan *p = ctx;
	if (p->cancel && *p->cancel)
		return D1E_INTERNAL;
	return write_full(p->db_fd, page, p->ps, (uint64_t)(pgno - 1) * p->ps);
}

/* Read the page numbers of record r. *out is malloc'd (caller frees). */
static int read_pgnos(int fd, const struct hrec *r, uint32_t **out)
{
	size_t len = (size_t)r->n * 4;
	unsigned char *b = calloc(1, len + 4);
	uint32_t *p = calloc((size_t)r->n + 1, 4);
	int rc = b && p && fd >= 0 ? read_full(fd, b, len, r->off + REC_HDR)
		 : fd < 0	   ? D1E_IO
				   : D1E_NOMEM;
	for (uint32_t i = 0; !rc && i < r->n; i++)
		p[i] = get32(b + 4 * (size_t)i);
	free(b);
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* For each page p <= T with src[p] == SRC_WANT (pending of them), find
 * its image as of commit recs[hi - 1]: the newest of recs[lo .. hi) that
 * holds the page, else the base those records follow (base_pages long).
 * used[i - lo] is set for each record that supplies a page. The walk is
 * bounded by the snapshots: lo is the record after the newest base at or
 * before the target. */
static int resolve(struct hist *h, struct rd *rd, size_t lo, size_t hi,
		   uint32_t T, int32_t *src, size_t pending,
		   unsigned char *used, uint32_t base_pages,
		   const _Atomic int *cancel)
{
	for (size_t i = hi; i > lo && pending; i--) {
		struct hrec r = rec_get(h, i - 1);
		uint32_t *pg;
		if (cancel && *cancel)
			return D1E_INTERNAL;
		int rc = read_pgnos(rd_fd(h, rd, r.seq), &r, &pg);
		if (rc)
			return rc;
		for (uint32_t j = 0; j < r.n; j++)
			if (pg[j] >= 1 && pg[j] <= T &&
			    src[pg[j]] == SRC_WANT) {
				src[pg[j]] = (int32_t)(i - 1);
				used[i - 1 - lo] = 1;
				pending--;
			}
		free(pg);
	}
	for (uint32_t p = 1; p <= T && pending; p++)
		if (src[p] == SRC_WANT) {
			if (p > base_pages)
				return D1E_IO; /* history has a hole */
			src[p] = SRC_BASE;
			pending--;
		}
	return 0;
}

/* Write the pages resolve() found into plan->db_fd: those of the base,
 * then those of each record used. */
static int apply(struct hist *h, ZSTD_DCtx **dz, struct rd *rd,
		 const struct hrec *base, size_t lo, size_t hi,
		 const unsigned char *used, struct rplan *plan,
		 const _Atomic int *cancel)
{
	char path[4300];
	base_path(h, base->seq, path, sizeof(path));
	int bfd = open(path, O_RDONLY | O_CLOEXEC);
	if (bfd < 0)
		return D1E_IO;
	plan->cur = SRC_BASE;
	int rc = each_page(h, dz, bfd, base, put_db, want_cur, plan);
	close(bfd);
	for (size_t i = lo; !rc && i < hi; i++) {
		if (!used[i - lo])
			continue;
		if (cancel && *cancel)
			return D1E_INTERNAL;
		struct hrec r = rec_get(h, i);
		plan->cur = (int32_t)i;
		rc = each_page(h, dz, rd_fd(h, rd, r.seq), &r, put_db, want_cur,
			       plan);
	}
	return rc;
}

/* The newest base image at or before commit seq. */
static const struct hrec *base_for(const struct hist *h, int64_t seq)
{
	size_t i = h->nbases;
	while (i > 1 && h->bases[i - 1].seq > seq)
		i--;
	return &h->bases[i - 1];
}

/* The range [*lo, *hi) of recs holding the commits after base b up to
 * commit t. */
static void rec_range(const struct hist *h, const struct hrec *b, int64_t t,
		      size_t *lo, size_t *hi)
{
	*lo = b->seq <= h->bases[0].seq ? 0 : rec_idx(h, b->seq) + 1;
	*hi = t <= h->bases[0].seq ? 0 : rec_idx(h, t) + 1;
}

int hist_restore(struct hist *h, const char *bookmark, char *newbm,
		 char *prevbm, const char **msg)
{
	struct rplan plan = {.db_fd = -1, .cur = SRC_NONE};
	struct rd rd = {.fd = -1};
	unsigned char *used = NULL;
	uint32_t *list = NULL, nlist = 0;
	struct builder b;
	struct stat st;
	size_t n_before = h->nrecs, lo, hi;
	int jfd = -1, rc = 0;
	memset(&b, 0, sizeof(b));

	const struct hrec *target = find_bookmark(h, bookmark);
	if (!target) {
		*msg = "Invalid bookmark: it is malformed, of another "
		       "database, or not in this database's history";
		return D1E_BAD_REQUEST;
	}
	const struct hrec base = *base_for(h, target->seq);
	rec_range(h, &base, target->seq, &lo, &hi);
	uint32_t T = target->db_pages, ps = h->page_size;
	/* Every page of the target is in the base or some record up to it:
	 * a size beyond that is a corrupt history (and no reason to allocate
	 * for it). */
	uint64_t avail = base.db_pages;
	for (size_t i = lo; i < hi; i++)
		avail += h->recs[i].n;
	if (T > avail) {
		fprintf(stderr, "d1d: %s: history is inconsistent\n", h->uuid);
		return D1E_IO;
	}
	format_bookmark(last_rec(h), prevbm);

	plan.db_fd = open(h->db_path, O_RDWR | O_CLOEXEC);
	if (plan.db_fd < 0 || fstat(plan.db_fd, &st) != 0) {
		rc = D1E_IO;
		goto out;
	}
	plan.ps = ps;
	uint32_t C = (uint32_t)((uint64_t)st.st_size / ps);
	plan.maxp = T;
	plan.src = malloc(((size_t)T + 1) * sizeof(int32_t));
	list = malloc(((size_t)T + 1) * 4);
	if (!plan.src || !list) {
		rc = D1E_NOMEM;
		goto out;
	}
	for (uint32_t p = 0; p <= T; p++)
		plan.src[p] = p > C ? SRC_WANT : SRC_NONE;
	/* Pages changed since the target. */
	for (size_t i = hi; i < h->nrecs; i++) {
		uint32_t *pg;
		rc =
		    read_pgnos(rd_fd(h, &rd, h->recs[i].seq), &h->recs[i], &pg);
		if (rc)
			goto out;
		for (uint32_t k = 0; k < h->recs[i].n; k++)
			if (pg[k] >= 1 && pg[k] <= T)
				plan.src[pg[k]] = SRC_WANT;
		free(pg);
	}
	for (uint32_t p = 1; p <= T; p++)
		if (plan.src[p] == SRC_WANT)
			list[nlist++] = p;
	used = calloc(hi - lo + 1, 1);
	rc = used ? resolve(h, &rd, lo, hi, T, plan.src, nlist, used,
			    base.db_pages, NULL)
		  : D1E_NOMEM;
	if (rc)
		goto out;

	/* 1. The journal: the current images of the pages to rewrite. */
	rc = write_journal(h, plan.db_fd, list, nlist, T, C, &jfd);
	if (rc)
		goto undo;

	/* 2. The pages, from the base and the records that hold them. */
	rc = apply(h, &h->dctx, &rd, &base, lo, hi, used, &plan, NULL);
	if (!rc && (ftruncate(plan.db_fd, (off_t)T * ps) != 0 ||
		    fsync(plan.db_fd) != 0))
		rc = D1E_IO;
	if (rc)
		goto undo;

	/* 3. The restore as a commit of its own: the pages it wrote. */
	n_before = h->nrecs;
	{
		struct hrec r = {.kind = KIND_RESTORE};
		unsigned char *page = malloc(ps);
		r.seq = next_seq(h);
		r.time_ms = next_time(h);
		r.db_pages = T;
		r.n = nlist;
		/* Its pages were compressed once already, in the records
		 * and bases they came from, and the restore waits for this
		 * record: zstd's fastest level. */
		rc = page ? log_begin(h, &b, ZLEVEL_FAST, list, nlist)
			  : D1E_NOMEM;
		for (uint32_t k = 0; !rc && k < nlist; k++) {
			rc = read_full(plan.db_fd, page, ps,
				       (uint64_t)(list[k] - 1) * ps);
			if (!rc)
				rc = b_feed(&b, page);
		}
		free(page);
		rc = log_finish(h, &b, &r, rc);
		if (!rc)
			rc = hist_sync(h);
		if (rc)
			goto undo;
		/* The WAL is empty: whatever comes next is new. */
		h->salt1 = h->salt2 = h->frame = 0;
		format_bookmark(&r, newbm);
	}

	/* 4. Done: the journal goes. */
	close(jfd);
	jfd = -1;
	if (unlink(h->journal_path) != 0 || util_fsync_dir(h->dir))
		rc = D1E_IO;
	goto out;
undo:
	/* Put the file back from the journal now, rather than at the next
	 * open; if that fails too, hist_open() does it. */
	if (jfd >= 0) {
		close(jfd);
		jfd = -1;
		if (h->nrecs > n_before) { /* appended but not durable */
			const struct hrec *l = &h->recs[n_before];
			h->log_end = l->off;
			pthread_mutex_lock(&h->mu);
			h->nrecs = n_before;
			pthread_mutex_unlock(&h->mu);
			if (ftruncate(h->log_fd, (off_t)h->log_end) != 0)
				fprintf(stderr,
					"d1d: %s: cannot cut the "
					"history log\n",
					h->uuid);
		}
		recover_journal(h);
	}
out:
	if (jfd >= 0)
		close(jfd);
	if (plan.db_fd >= 0)
		close(plan.db_fd);
	rd_release(&rd);
	free(plan.src);
	free(list);
	free(used);
	b_free(&b);
	return rc;
}

/* Write the database as it was after commit k (k > base->seq, base the
 * newest base image before it) into the file fd. Runs on the snapshot
 * thread: it reads only what no append changes. */
static int materialize(struct hist *h, ZSTD_DCtx **dz, const struct hrec *base,
		       const struct hrec *k, int fd, const _Atomic int *cancel)
{
	struct rd rd = {.fd = -1};
	struct rplan plan = {.db_fd = fd,
			     .ps = h->page_size,
			     .maxp = k->db_pages,
			     .cancel = cancel};
	uint32_t T = k->db_pages;
	size_t lo, hi;
	rec_range(h, base, k->seq, &lo, &hi);
	unsigned char *used = calloc(hi - lo + 1, 1);
	int rc = 0;
	plan.src = malloc(((size_t)T + 1) * sizeof(int32_t));
	if (!plan.src || !used) {
		rc = D1E_NOMEM;
		goto out;
	}
	for (uint32_t p = 0; p <= T; p++)
		plan.src[p] = SRC_WANT;
	rc = resolve(h, &rd, lo, hi, T, plan.src, T, used, base->db_pages,
		     cancel);
	if (!rc)
		rc = apply(h, dz, &rd, base, lo, hi, used, &plan, cancel);
	if (!rc && ftruncate(fd, (off_t)T * h->page_size) != 0)
		rc = D1E_IO;
out:
	rd_release(&rd);
	free(plan.src);
	free(used);
	return rc;
}

/* The snapshot thread: the database at commit snap.out.seq, materialized
 * from the newest base and the records after it into snapshot.db, then
 * written as a base image. Nothing it reads changes while it runs: bases
 * and dropped records change only in hist_maintain(), which waits for it,
 * and appends only add records after the ones it reads. */
static void *snap_main(void *arg)
{
	struct hist *h = arg;
	struct snap *s = &h->snap;
	ZSTD_CCtx *cz = NULL;
	ZSTD_DCtx *dz = NULL;
	char tmp[4300];
	snprintf(tmp, sizeof(tmp), "%s/snapshot.db", h->hdir);
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = fd < 0
		     ? D1E_IO
		     : materialize(h, &dz, &s->base, &s->out, fd, &s->cancel);
	if (fd >= 0)
		close(fd);
	if (!rc)
		rc = write_base(h, &cz, tmp, &s->out, &s->cancel);
	unlink(tmp);
	ZSTD_freeCCtx(cz);
	ZSTD_freeDCtx(dz);
	s->rc = rc;
	s->done = 1;
	return NULL;
}

/* Seal the segment appended to, durable first (a base may only follow
 * commits the log keeps), and begin the next. */
static int seal(struct hist *h)
{
	if (h->log_end == 0)
		return 0;
	int rc = hist_sync(h);
	if (rc)
		return rc;
	h->segs[h->nsegs - 1].bytes = h->log_end;
	return start_seg(h, next_seq(h));
}

/* Seal the segment and start a snapshot at commit k. */
static int snap_start(struct hist *h, int64_t k)
{
	int rc = seal(h);
	if (rc)
		return rc;
	struct snap *s = &h->snap;
	s->base = h->bases[h->nbases - 1];
	s->out = *rec_at(h, k);
	s->done = s->cancel = 0;
	s->rc = 0;
	if (pthread_create(&s->thread, NULL, snap_main, h) != 0)
		return D1E_NOMEM;
	s->running = 1;
	return 0;
}

/* Retention: the base images before bases[keep] go, and with them the
 * commits up to bases[keep], which becomes the start of the history. The
 * base files first: a crash after them leaves records and segments that
 * the next load skips and removes. */
static int drop_before(struct hist *h, size_t keep)
{
	char path[4300];
	const struct hrec nb = h->bases[keep];
	for (size_t i = 0; i < keep; i++) {
		base_path(h, h->bases[i].seq, path, sizeof(path));
		if (unlink(path) != 0 && errno != ENOENT)
			return D1E_IO;
	}
	if (util_fsync_dir(h->hdir))
		return D1E_IO;
	size_t k = rec_idx(h, nb.seq) + 1;
	pthread_mutex_lock(&h->mu);
	h->upto0 = h->recs[k - 1].upto;
	memmove(h->recs, h->recs + k, (h->nrecs - k) * sizeof(*h->recs));
	h->nrecs -= k;
	memmove(h->bases, h->bases + keep,
		(h->nbases - keep) * sizeof(*h->bases));
	h->nbases -= keep;
	pthread_mutex_unlock(&h->mu);
	fprintf(stderr,
		"d1d: %s: history before commit %lld dropped (retention)\n",
		h->uuid, (long long)nb.seq);
	return drop_old_segs(h);
}

int hist_maintain(struct hist *h, int64_t keep_ms)
{
	struct snap *s = &h->snap;
	int rc = 0;
	if (!has_base(h))
		return 0;
	if (s->running) {
		if (!s->done)
			return 0;
		pthread_join(s->thread, NULL);
		s->running = 0;
		struct hrec *nb =
		    s->rc ? NULL
			  : realloc(h->bases, (h->nbases + 1) * sizeof(*nb));
		if (!nb) {
			fprintf(stderr,
				"d1d: %s: history snapshot at commit %lld "
				"failed\n",
				h->uuid, (long long)s->out.seq);
			return s->rc ? s->rc : D1E_NOMEM;
		}
		assert(s->out.seq > nb[h->nbases - 1].seq);
		h->bases = nb;
		h->bases[h->nbases++] = s->out;
		fprintf(stderr,
			"d1d: %s: history snapshot at commit %lld written\n",
			h->uuid, (long long)s->out.seq);
	}
	/* The newest commit older than the window. */
	int64_t cut = now_ms() - keep_ms, cutoff = -1;
	size_t lo = 0, hi = h->nrecs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->recs[mid].time_ms < cut)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo)
		cutoff = h->recs[lo - 1].seq;
	else if (h->bases[0].time_ms < cut)
		cutoff = h->bases[0].seq;
	/* The newest base at or before it starts the history. */
	size_t keep = h->nbases - 1;
	while (keep > 0 && h->bases[keep].seq > cutoff)
		keep--;
	if (keep > 0)
		rc = drop_before(h, keep);
	if (rc)
		return rc;
	/* A snapshot when the history it would let retention drop weighs as
	 * much as the oldest base image, or the history since the newest base
	 * weighs SNAP_RATIO times that base: its cost is paid for by what it
	 * saves, and the history stays within 1 + 1/SNAP_RATIO of the log.
	 * A restore's walk reads only page lists (4 bytes a page), so walking
	 * SNAP_RATIO bases' worth of records is cheap beside the pages it
	 * writes. */
	const struct hrec *b0 = &h->bases[0], *nb = &h->bases[h->nbases - 1];
	uint64_t f0 = rec_len(b0) > SNAP_FLOOR ? rec_len(b0) : SNAP_FLOOR;
	uint64_t fn = rec_len(nb) > SNAP_FLOOR ? rec_len(nb) : SNAP_FLOOR;
	fn *= SNAP_RATIO;
	int64_t last = last_rec(h)->seq, k = -1;
	if (cutoff > nb->seq && upto_at(h, cutoff) - h->upto0 >= f0)
		k = cutoff;
	else if (upto_at(h, last) - upto_at(h, nb->seq) >= fn)
		k = last;
	if (k > nb->seq)
		return snap_start(h, k);
	/* Retention removes whole segments: keep them small enough that
	 * what outlives the window for sharing one with newer commits is
	 * small too. */
	return h->log_end >= SEG_MAX ? seal(h) : 0;
}

void hist_stats(struct hist *h, int64_t *commits, int64_t *bytes)
{
	uint64_t b = h->log_end;
	for (size_t i = 0; i < h->nbases; i++)
		b += rec_len(&h->bases[i]);
	for (size_t i = 0; i + 1 < h->nsegs; i++)
		b += h->segs[i].bytes;
	*commits = (int64_t)h->nrecs;
	*bytes = (int64_t)b;
}
