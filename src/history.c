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
 * Files, in DATA_DIR/databases/<uuid>/:
 *   history/base.d1h   the base image: the whole database at commit 0
 *                      (when history began), one record of kind BASE
 *   history/log.d1h    the records of commits 1, 2, 3 ..., appended
 *   restore.journal    present only while a restore runs (see below)
 *
 * A record, all integers little-endian:
 *   0   4  magic "D1HR"
 *   4   4  kind: 0 base, 1 commit, 2 restore
 *   8   8  commit number (seq); 0 for the base
 *   16  8  commit time, Unix ms; never less than the previous record's
 *   24  4  database size after the commit, in pages
 *   28  4  page size
 *   32  4  n, the number of page images in the record
 *   36  4  zlen, bytes of compressed page images
 *   40  4  WAL salt-1 of the frames captured (0: none)
 *   44  4  WAL salt-2
 *   48  4  the last WAL frame of the commit (0: none)
 *   52  4  pages per block: 16
 *   56     n page numbers, 4 bytes each, ascending; zero-padded to 8 bytes
 *   ..     ceil(n/16) block lengths, 4 bytes each; zero-padded to 8 bytes
 *   ..  8  checksum of the head (everything above): two 32-bit sums s0,
 *          s1 over its 8-byte units (little-endian words x0, x1:
 *          s0 += x0 + s1; s1 += x1 + s0), as SQLite's wal.c does
 *   ..     zlen bytes: the blocks, each one zstd frame (with zstd's own
 *          content checksum) of 16 page images (fewer in the last), in
 *          the order of the page numbers; zero-padded to 8 bytes.
 * A restore reads a record's head and decompresses only the blocks that
 * hold pages it needs, so reading one page costs one block, not the whole
 * commit.
 * Loading walks the headers and verifies the whole of the last record (its
 * head and every block); a torn or corrupt tail (a crash in an append) is
 * cut off. A restore verifies the head of each record it uses and each
 * block it decompresses; a mismatch fails the restore, and the journal
 * puts back what it had written.
 *
 * Bookmarks: "%08x-%08x-%08x-%032x": the commit number (high, low 32
 * bits), the commit time in Unix seconds (low 32 bits), and the first 16
 * bytes of SHA-256(uuid, commit number, record checksum). They sort by
 * commit, are the same for the same commit every time, and a bookmark of
 * another database (or of a lost commit) does not verify.
 *
 * Restore to commit N, from the last commit M. Pages changed by commits
 * N+1..M are the only ones to rewrite (plus those a shrink since cut
 * off); each one's image as of N is the latest among the records N, N-1,
 * ... and the base. So a restore costs in proportion to what changed since
 * N. The database is closed (dbpool holds it exclusively) and whole. Crash
 * safety comes from a journal, as in SQLite's rollback mode:
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
 * Retention (hist_compact). Commits older than the window (30 days by
 * default) are folded into a new base image at the newest of them, which
 * keeps its bookmark: the database at that commit is materialized from the
 * old base and the records, written as base.d1h.tmp, the commits still in
 * the window are copied into log.d1h.tmp, and the two are renamed into
 * place, the base first (load_log() skips the commits a new base already
 * holds, so a crash between the renames loses nothing). It runs when the
 * dropped commits weigh at least as much as the base, so its cost (about
 * one pass over the database) is paid for by the history it frees.
 *
 * Not done yet: base images between compactions (a restore to an old point
 * inside the window reads the page lists back to the base, though only the
 * blocks it needs); a record is built whole in memory (compressed) before
 * it is appended, so one huge commit (or the base image of a huge
 * database) costs its compressed size in memory.
 *
 * Locking: none inside. A struct hist belongs to one database's dbh and
 * is used under its writer's commit lock, or with the database closed.
 */
#include "history.h"

#include "apierr.h"
#include "faultvfs.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define REC_HDR	     56
#define KIND_BASE    0
#define KIND_COMMIT  1
#define KIND_RESTORE 2
#define WAL_HDR	     32
#define FRAME_HDR    24
#define BLOCK_PAGES  16

struct hrec {
	int64_t seq, time_ms;
	uint64_t off; /* where the record starts in its file */
	uint32_t kind, db_pages, n, zlen;
	uint32_t salt1, salt2, wal_frame;
	unsigned char tag[16];
};

struct hist {
	char uuid[40];
	char dir[4096];
	char db_path[4200], wal_path[4200], log_path[4200], base_path[4200];
	char hdir[4200], journal_path[4200];
	int log_fd, wal_fd;
	ZSTD_CCtx *cctx; /* reused by every record built */
	ZSTD_DCtx *dctx;
	uint32_t page_size;
	int has_base;
	struct hrec base;
	struct hrec *recs; /* recs[i].seq == i + 1 */
	size_t nrecs, cap;
	uint64_t log_end;
	int unsynced;
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
 * Not the record's bytes: compaction rewrites a commit into a new base
 * image, and its bookmark must stay the same. */
static void make_tag(const struct hist *h, struct hrec *r)
{
	unsigned char in[64], md[SHA256_DIGEST_LENGTH];
	size_t ul = strlen(h->uuid);
	memcpy(in, h->uuid, ul);
	put64(in + ul, (uint64_t)r->seq);
	put64(in + ul + 8, (uint64_t)r->time_ms);
	SHA256(in, ul + 16, md);
	memcpy(r->tag, md, 16);
}

/* The record of commit seq (the base for its own), or NULL. */
static const struct hrec *rec_at(const struct hist *h, int64_t seq)
{
	if (h->has_base && seq == h->base.seq)
		return &h->base;
	if (seq > h->base.seq && (uint64_t)(seq - h->base.seq) <= h->nrecs)
		return &h->recs[seq - h->base.seq - 1];
	return NULL;
}

static int64_t next_seq(const struct hist *h)
{
	return h->base.seq + (int64_t)h->nrecs + 1;
}

static const struct hrec *last_rec(const struct hist *h)
{
	return h->nrecs ? &h->recs[h->nrecs - 1] : &h->base;
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
	r->zlen = get32(b + 36);
	r->salt1 = get32(b + 40);
	r->salt2 = get32(b + 44);
	r->wal_frame = get32(b + 48);
	return r->kind <= KIND_RESTORE && get32(b + 52) == BLOCK_PAGES ? 0
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

static int each_page(struct hist *h, int fd, struct hrec *r,
		     int (*put)(void *ctx, uint32_t pgno,
				const unsigned char *page),
		     int (*wanted)(void *ctx, uint32_t pgno), void *ctx);

static int push_rec(struct hist *h, const struct hrec *r)
{
	if (h->nrecs == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct hrec *n = realloc(h->recs, cap * sizeof(*n));
		if (!n)
			return D1E_NOMEM;
		h->recs = n;
		h->cap = cap;
	}
	h->recs[h->nrecs++] = *r;
	return 0;
}

static int load_log(struct hist *h)
{
	struct stat st;
	uint64_t off = 0;
	if (fstat(h->log_fd, &st) != 0)
		return D1E_IO;
	if (!h->has_base && st.st_size > 0)
		return D1E_IO; /* commits without a base: unusable, keep them */
	while (off + REC_HDR + 8 <= (uint64_t)st.st_size) {
		unsigned char b[REC_HDR];
		struct hrec r = {0};
		if (read_full(h->log_fd, b, REC_HDR, off) || parse_hdr(b, &r))
			break;
		r.off = off;
		/* Commits a compaction folded into the base, left at the head
		 * of the log by a crash before the log was rewritten. */
		if (!h->nrecs && r.seq <= h->base.seq && r.kind != KIND_BASE &&
		    off + rec_len(&r) <= (uint64_t)st.st_size) {
			off += rec_len(&r);
			continue;
		}
		if (r.seq != next_seq(h) || r.kind == KIND_BASE ||
		    get32(b + 28) != h->page_size ||
		    off + rec_len(&r) > (uint64_t)st.st_size)
			break;
		make_tag(h, &r);
		int rc = push_rec(h, &r);
		if (rc)
			return rc;
		off += rec_len(&r);
	}
	/* Verify the last record whole; cut off what is not a record. */
	while (h->nrecs) {
		struct hrec *last = &h->recs[h->nrecs - 1];
		/* The last append may be torn: check its pages too. */
		if (!each_page(h, h->log_fd, last, NULL, NULL, NULL))
			break;
		off = last->off;
		h->nrecs--;
	}
	if (off != (uint64_t)st.st_size) {
		if (ftruncate(h->log_fd, (off_t)off) != 0 ||
		    fsync(h->log_fd) != 0)
			return D1E_IO;
	}
	h->log_end = off;
	if (h->has_base) {
		const struct hrec *l = last_rec(h);
		h->salt1 = l->salt1;
		h->salt2 = l->salt2;
		h->frame = l->wal_frame;
	}
	return 0;
}

static int load_base(struct hist *h)
{
	unsigned char b[REC_HDR];
	int fd = open(h->base_path, O_RDONLY | O_CLOEXEC);
	int rc;
	if (fd < 0)
		return errno == ENOENT ? 0 : D1E_IO;
	struct stat st;
	uint32_t ps = 0;
	rc = fstat(fd, &st) == 0 ? read_full(fd, b, REC_HDR, 0) : D1E_IO;
	if (!rc)
		rc = parse_hdr(b, &h->base);
	if (!rc) {
		ps = get32(b + 28);
		if (h->base.kind != KIND_BASE || h->base.seq < 0 ||
		    rec_len(&h->base) > (uint64_t)st.st_size || ps < 512 ||
		    ps > 65536 || (ps & (ps - 1)))
			rc = D1E_IO;
	}
	if (!rc)
		rc = verify_rec(fd, &h->base, NULL);
	close(fd);
	if (rc) {
		fprintf(stderr, "d1d: %s: history base image is corrupt\n",
			h->uuid);
		return rc;
	}
	h->has_base = 1;
	h->page_size = ps;
	make_tag(h, &h->base);
	return 0;
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
	snprintf(h->uuid, sizeof(h->uuid), "%s", uuid);
	snprintf(h->dir, sizeof(h->dir), "%s", dir);
	snprintf(h->db_path, sizeof(h->db_path), "%s/db.sqlite", dir);
	snprintf(h->wal_path, sizeof(h->wal_path), "%s/db.sqlite-wal", dir);
	snprintf(h->hdir, sizeof(h->hdir), "%s/history", dir);
	snprintf(h->log_path, sizeof(h->log_path), "%s/history/log.d1h", dir);
	snprintf(h->base_path, sizeof(h->base_path), "%s/history/base.d1h",
		 dir);
	snprintf(h->journal_path, sizeof(h->journal_path), "%s/restore.journal",
		 dir);
	if (mkdir(h->hdir, 0700) != 0 && errno != EEXIST) {
		rc = D1E_IO;
		goto out;
	}
	h->log_fd = open(h->log_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (h->log_fd < 0) {
		rc = D1E_IO;
		goto out;
	}
	rc = load_base(h);
	if (!rc)
		rc = load_log(h);
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
	if (h->log_fd >= 0)
		close(h->log_fd);
	if (h->wal_fd >= 0)
		close(h->wal_fd);
	ZSTD_freeCCtx(h->cctx);
	ZSTD_freeDCtx(h->dctx);
	free(h->recs);
	free(h);
}

int hist_has_base(const struct hist *h)
{
	return h->has_base;
}

/* Builds one record in memory: page images go in one at a time and are
 * compressed BLOCK_PAGES at a time, each block its own zstd frame with a
 * checksum, so that a restore decompresses only the blocks it needs. */
struct builder {
	ZSTD_CCtx *z; /* the history's, reused */
	uint32_t n, ps, fed;
	unsigned char *head; /* header and page numbers, then the rest */
	unsigned char *blk;  /* the block being filled */
	unsigned char *pay;  /* compressed blocks */
	size_t pay_len, pay_cap;
	uint32_t *blk_len;  /* compressed size of each block */
	unsigned char *buf; /* the record, after b_end() */
	size_t len;
};

static int b_begin(struct hist *h, struct builder *b, const uint32_t *pgnos,
		   uint32_t n)
{
	memset(b, 0, sizeof(*b));
	if (!h->cctx) {
		h->cctx = ZSTD_createCCtx();
		if (!h->cctx)
			return D1E_NOMEM;
		ZSTD_CCtx_setParameter(h->cctx, ZSTD_c_compressionLevel, 1);
		ZSTD_CCtx_setParameter(h->cctx, ZSTD_c_checksumFlag, 1);
	}
	b->z = h->cctx;
	b->n = n;
	b->ps = h->page_size;
	b->head = calloc(1, REC_HDR + pad8((size_t)n * 4) + 8);
	b->blk = malloc((size_t)BLOCK_PAGES * b->ps);
	b->blk_len = calloc((size_t)n / BLOCK_PAGES + 2, sizeof(uint32_t));
	if (!b->head || !b->blk || !b->blk_len)
		return D1E_NOMEM;
	for (uint32_t i = 0; i < n; i++)
		put32(b->head + REC_HDR + 4 * (size_t)i, pgnos[i]);
	return 0;
}

static int b_flush(struct builder *b)
{
	uint32_t inblk =
	    b->fed % BLOCK_PAGES ? b->fed % BLOCK_PAGES : BLOCK_PAGES;
	size_t in = (size_t)inblk * b->ps, bound = ZSTD_compressBound(in);
	if (b->pay_len + bound > b->pay_cap) {
		size_t cap = b->pay_cap ? b->pay_cap : 65536;
		while (cap < b->pay_len + bound)
			cap *= 2;
		unsigned char *np = realloc(b->pay, cap);
		if (!np)
			return D1E_NOMEM;
		b->pay = np;
		b->pay_cap = cap;
	}
	size_t k = ZSTD_compress2(b->z, b->pay + b->pay_len, bound, b->blk, in);
	if (ZSTD_isError(k))
		return D1E_INTERNAL;
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

/* Finish: the last block, header fields, checksum. Fills r's zlen and
 * tag; the record is b->buf, b->len bytes. */
static int b_end(struct hist *h, struct builder *b, struct hrec *r)
{
	int rc = b->fed % BLOCK_PAGES ? b_flush(b) : 0;
	if (rc)
		return rc;
	assert(b->fed == b->n && r->n == b->n);
	if (b->pay_len > UINT32_MAX)
		return D1E_INTERNAL;
	r->zlen = (uint32_t)b->pay_len;
	size_t hl = head_len(r), total = rec_len(r);
	b->buf = calloc(1, total);
	if (!b->buf)
		return D1E_NOMEM;
	unsigned char *p = b->buf;
	memcpy(p, b->head, REC_HDR + (size_t)r->n * 4);
	static const unsigned char magic[4] = {'D', '1', 'H', 'R'};
	memcpy(p, magic, sizeof(magic));
	put32(p + 4, r->kind);
	put64(p + 8, (uint64_t)r->seq);
	put64(p + 16, (uint64_t)r->time_ms);
	put32(p + 24, r->db_pages);
	put32(p + 28, h->page_size);
	put32(p + 32, r->n);
	put32(p + 36, r->zlen);
	put32(p + 40, r->salt1);
	put32(p + 44, r->salt2);
	put32(p + 48, r->wal_frame);
	put32(p + 52, BLOCK_PAGES);
	size_t tb = REC_HDR + pad8((size_t)r->n * 4);
	for (size_t i = 0; i < nblocks(r); i++)
		put32(p + tb + 4 * i, b->blk_len[i]);
	uint32_t s0 = 0, s1 = 0;
	cksum(p, hl - 8, &s0, &s1);
	put32(p + hl - 8, s0);
	put32(p + hl - 4, s1);
	if (b->pay)
		memcpy(p + hl, b->pay, b->pay_len);
	b->len = total;
	make_tag(h, r);
	return 0;
}

static void b_free(struct builder *b)
{
	free(b->head);
	free(b->blk);
	free(b->pay);
	free(b->blk_len);
	free(b->buf);
}

/* Append a built record to the log as the next commit. */
static int append(struct hist *h, struct builder *b, struct hrec *r)
{
	r->off = h->log_end;
	int rc = injected(h->log_path, (int64_t)b->len);
	if (!rc)
		rc = write_full(h->log_fd, b->buf, b->len, h->log_end);
	if (rc) {
		/* Leave no partial record behind a later append. */
		if (ftruncate(h->log_fd, (off_t)h->log_end) != 0)
			rc = D1E_IO;
		return rc;
	}
	rc = push_rec(h, r);
	if (rc)
		return rc;
	h->log_end += b->len;
	h->unsynced = 1;
	return 0;
}

static int64_t next_time(const struct hist *h)
{
	int64_t t = now_ms();
	int64_t last = h->nrecs	     ? h->recs[h->nrecs - 1].time_ms
		       : h->has_base ? h->base.time_ms
				     : 0;
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

/* Build a base image of the whole database file at src (r gives its
 * commit number, time and WAL position) into base.d1h.tmp, fsynced.
 * Fills r's size, count and tag. */
static int write_base_tmp(struct hist *h, const char *src, struct hrec *r,
			  char *tmp, size_t tmpcap)
{
	struct builder b;
	struct stat st;
	uint32_t *pgnos = NULL;
	unsigned char *page = NULL;
	int fd = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc;
	memset(&b, 0, sizeof(b));
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = D1E_IO;
		goto out;
	}
	r->kind = KIND_BASE;
	r->db_pages = r->n = (uint32_t)((uint64_t)st.st_size / h->page_size);
	pgnos = calloc((size_t)r->n + 1, 4);
	page = malloc(h->page_size);
	if (!pgnos || !page) {
		rc = D1E_NOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < r->n; i++)
		pgnos[i] = i + 1;
	rc = b_begin(h, &b, pgnos, r->n);
	for (uint32_t i = 0; !rc && i < r->n; i++) {
		rc = read_full(fd, page, h->page_size,
			       (uint64_t)i * h->page_size);
		if (!rc)
			rc = b_feed(&b, page);
	}
	if (!rc)
		rc = b_end(h, &b, r);
	if (rc)
		goto out;
	snprintf(tmp, tmpcap, "%s.tmp", h->base_path);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	rc = out < 0 ? D1E_IO : injected(tmp, (int64_t)b.len);
	if (!rc)
		rc = write_full(out, b.buf, b.len, 0);
	if (!rc && fsync(out) != 0)
		rc = D1E_IO;
out:
	if (out >= 0)
		close(out);
	if (fd >= 0)
		close(fd);
	free(pgnos);
	free(page);
	b_free(&b);
	return rc;
}

int hist_make_base(struct hist *h)
{
	struct hrec r = {.kind = KIND_BASE};
	char tmp[4300];
	int fd = open(h->db_path, O_RDONLY | O_CLOEXEC), rc;
	rc = fd < 0 ? D1E_IO : db_page_size(fd, &h->page_size);
	if (fd >= 0)
		close(fd);
	if (rc)
		return D1E_IO;
	r.time_ms = now_ms();
	rc = write_base_tmp(h, h->db_path, &r, tmp, sizeof(tmp));
	/* Renamed into place: a base is whole or absent. */
	if (!rc && (rename(tmp, h->base_path) != 0 || util_fsync_dir(h->hdir)))
		rc = D1E_IO;
	if (!rc) {
		h->base = r;
		h->has_base = 1;
	}
	return rc;
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
	rc = b_begin(h, &b, pgnos, r.n);
	for (size_t i = 0; !rc && i < u; i++) {
		rc = read_full(h->wal_fd, page, h->page_size,
			       frame_off(h, refs[i].frame) + FRAME_HDR);
		if (!rc)
			rc = b_feed(&b, page);
	}
	if (!rc)
		rc = b_end(h, &b, &r);
	if (!rc)
		rc = append(h, &b, &r);
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
	if (!h->has_base)
		return D1E_IO; /* a failed reload after compaction */
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
	if (!h->has_base || time_ms < h->base.time_ms) {
		*msg = "timestamp is before the earliest point in this "
		       "database's history (its creation)";
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
	format_bookmark(lo ? &h->recs[lo - 1] : &h->base, out);
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
static int each_page(struct hist *h, int fd, struct hrec *r,
		     int (*put)(void *ctx, uint32_t pgno,
				const unsigned char *page),
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
	if (!h->dctx && !(h->dctx = ZSTD_createDCtx())) {
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
		if (zsum > r->zlen) {
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
			size_t k =
			    ZSTD_decompressDCtx(h->dctx, blk, bcap, z, zl);
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

/* Read the page numbers of record r. *out is malloc'd (caller frees). */
static int read_pgnos(int fd, const struct hrec *r, uint32_t **out)
{
	size_t len = (size_t)r->n * 4;
	unsigned char *b = calloc(1, len + 4);
	uint32_t *p = malloc(((size_t)r->n + 1) * 4);
	int rc = b && p ? read_full(fd, b, len, r->off + REC_HDR) : D1E_NOMEM;
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
 */
#define JNL_HDR 24

static int recover_journal(struct hist *h)
{
	int fd = open(h->journal_path, O_RDONLY | O_CLOEXEC), db = -1;
	unsigned char *buf = NULL;
	struct stat st;
	int rc = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : D1E_IO;
	if (fstat(fd, &st) != 0) {
		rc = D1E_IO;
		goto out;
	}
	size_t len = (size_t)st.st_size;
	buf = malloc(len + 8);
	if (!buf) {
		rc = D1E_NOMEM;
		goto out;
	}
	if (len < JNL_HDR + 8 || read_full(fd, buf, len, 0) ||
	    memcmp(buf, "D1RJ", 4) != 0 || len % 8)
		goto torn;
	uint32_t s0 = 0, s1 = 0;
	cksum(buf, len - 8, &s0, &s1);
	if (get32(buf + len - 8) != s0 || get32(buf + len - 4) != s1)
		goto torn;
	uint32_t ps = get32(buf + 4), old_pages = get32(buf + 16);
	uint32_t n = get32(buf + 20);
	int64_t seq = (int64_t)get64(buf + 8);
	size_t imgs = JNL_HDR + pad8((size_t)n * 4);
	if (ps < 512 || imgs + (size_t)n * ps + 8 != len)
		goto torn;
	if (h->has_base && last_rec(h)->seq >= seq)
		goto done; /* the restore was recorded: it is complete */
	/* Interrupted between the journal and its record: undo. */
	db = open(h->db_path, O_RDWR | O_CLOEXEC);
	if (db < 0) {
		rc = D1E_IO;
		goto out;
	}
	for (uint32_t i = 0; !rc && i < n; i++)
		rc = write_full(
		    db, buf + imgs + (size_t)i * ps, ps,
		    (uint64_t)(get32(buf + JNL_HDR + 4 * (size_t)i) - 1) * ps);
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
	free(buf);
	return rc;
}

/* What a restore needs: per page number, where its image as of the target
 * comes from. */
#define SRC_NONE (-3) /* not rewritten */
#define SRC_WANT (-2) /* rewritten, source not found yet */
#define SRC_BASE (-1)

struct rplan {
	int32_t *src; /* [pgno], pgno 1..maxp */
	uint32_t maxp;
	int32_t cur; /* the record being read */
	int db_fd;
	uint32_t ps;
};

static int want_cur(void *ctx, uint32_t pgno)
{
	struct rplan *p = ctx;
	return pgno <= p->maxp && p->src[pgno] == p->cur;
}

static int put_db(void *ctx, uint32_t pgno, const unsigned char *page)
{
	struct rplan *p = ctx;
	return write_full(p->db_fd, page, p->ps, (uint64_t)(pgno - 1) * p->ps);
}

/* For each page p <= T with src[p] == SRC_WANT (pending of them), find
 * its image as of commit recs[tidx - 1]: the newest record up to it that
 * holds the page, else the base. used[i] is set for each record that
 * supplies a page. */
static int resolve(struct hist *h, size_t tidx, uint32_t T, int32_t *src,
		   size_t pending, unsigned char *used)
{
	for (size_t i = tidx; i >= 1 && pending; i--) {
		uint32_t *pg;
		int rc = read_pgnos(h->log_fd, &h->recs[i - 1], &pg);
		if (rc)
			return rc;
		for (uint32_t j = 0; j < h->recs[i - 1].n; j++)
			if (pg[j] >= 1 && pg[j] <= T &&
			    src[pg[j]] == SRC_WANT) {
				src[pg[j]] = (int32_t)(i - 1);
				used[i - 1] = 1;
				pending--;
			}
		free(pg);
	}
	for (uint32_t p = 1; p <= T && pending; p++)
		if (src[p] == SRC_WANT) {
			if (p > h->base.db_pages)
				return D1E_IO; /* history has a hole */
			src[p] = SRC_BASE;
			pending--;
		}
	return 0;
}

int hist_restore(struct hist *h, const char *bookmark, char *newbm,
		 char *prevbm, const char **msg)
{
	struct rplan plan = {.db_fd = -1, .cur = SRC_NONE};
	unsigned char *jbuf = NULL, *used = NULL;
	uint32_t *list = NULL, nlist = 0;
	struct builder b;
	struct stat st;
	uint64_t log_before = h->log_end;
	size_t n_before = h->nrecs;
	int jfd = -1, rc = 0;
	memset(&b, 0, sizeof(b));

	const struct hrec *target = find_bookmark(h, bookmark);
	if (!target) {
		*msg = "Invalid bookmark: it is malformed, of another "
		       "database, or not in this database's history";
		return D1E_BAD_REQUEST;
	}
	/* recs[0 .. tidx) are the commits up to the target. */
	size_t tidx = (size_t)(target->seq - h->base.seq);
	uint32_t T = target->db_pages, ps = h->page_size;
	/* Every page of the target is in the base or some record up to it:
	 * a size beyond that is a corrupt history (and no reason to allocate
	 * for it). */
	uint64_t avail = h->base.db_pages;
	for (size_t i = 0; i < tidx; i++)
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
	for (size_t i = tidx; i < h->nrecs; i++) {
		uint32_t *pg;
		rc = read_pgnos(h->log_fd, &h->recs[i], &pg);
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
	used = calloc(tidx + 1, 1);
	rc = used ? resolve(h, tidx, T, plan.src, nlist, used) : D1E_NOMEM;
	if (rc)
		goto out;

	/* 1. The journal: the current images of the pages to rewrite. */
	uint32_t nj = 0;
	for (uint32_t k = 0; k < nlist; k++)
		if (list[k] <= C)
			nj++;
	size_t imgs = JNL_HDR + pad8((size_t)nj * 4);
	size_t jlen = imgs + (size_t)nj * ps + 8;
	jbuf = calloc(1, jlen);
	if (!jbuf) {
		rc = D1E_NOMEM;
		goto out;
	}
	static const unsigned char jmagic[4] = {'D', '1', 'R', 'J'};
	memcpy(jbuf, jmagic, sizeof(jmagic));
	put32(jbuf + 4, ps);
	put64(jbuf + 8, (uint64_t)next_seq(h));
	put32(jbuf + 16, C);
	put32(jbuf + 20, nj);
	for (uint32_t k = 0, j = 0; k < nlist && !rc; k++) {
		if (list[k] > C)
			continue;
		put32(jbuf + JNL_HDR + 4 * (size_t)j, list[k]);
		rc = read_full(plan.db_fd, jbuf + imgs + (size_t)j * ps, ps,
			       (uint64_t)(list[k] - 1) * ps);
		j++;
	}
	if (rc)
		goto out;
	uint32_t s0 = 0, s1 = 0;
	cksum(jbuf, jlen - 8, &s0, &s1);
	put32(jbuf + jlen - 8, s0);
	put32(jbuf + jlen - 4, s1);
	jfd = open(h->journal_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		   0600);
	if (jfd < 0) {
		rc = D1E_IO;
		goto out;
	}
	rc = injected(h->journal_path, (int64_t)jlen);
	if (!rc)
		rc = write_full(jfd, jbuf, jlen, 0);
	if (!rc && (fsync(jfd) != 0 || util_fsync_dir(h->dir)))
		rc = D1E_IO;
	if (rc)
		goto undo;

	/* 2. The pages, from the base and the records that hold them. */
	plan.cur = SRC_BASE;
	{
		int bfd = open(h->base_path, O_RDONLY | O_CLOEXEC);
		if (bfd < 0) {
			rc = D1E_IO;
			goto undo;
		}
		rc = each_page(h, bfd, &h->base, put_db, want_cur, &plan);
		close(bfd);
	}
	for (size_t i = 0; !rc && i < tidx; i++) {
		if (!used[i])
			continue;
		plan.cur = (int32_t)i;
		rc = each_page(h, h->log_fd, &h->recs[i], put_db, want_cur,
			       &plan);
	}
	if (!rc && (ftruncate(plan.db_fd, (off_t)T * ps) != 0 ||
		    fsync(plan.db_fd) != 0))
		rc = D1E_IO;
	if (rc)
		goto undo;

	/* 3. The restore as a commit of its own: the pages it wrote. */
	log_before = h->log_end;
	n_before = h->nrecs;
	{
		struct hrec r = {.kind = KIND_RESTORE};
		unsigned char *page = malloc(ps);
		r.seq = next_seq(h);
		r.time_ms = next_time(h);
		r.db_pages = T;
		r.n = nlist;
		rc = page ? b_begin(h, &b, list, nlist) : D1E_NOMEM;
		for (uint32_t k = 0; !rc && k < nlist; k++) {
			rc = read_full(plan.db_fd, page, ps,
				       (uint64_t)(list[k] - 1) * ps);
			if (!rc)
				rc = b_feed(&b, page);
		}
		free(page);
		if (!rc)
			rc = b_end(h, &b, &r);
		if (!rc)
			rc = append(h, &b, &r);
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
			h->nrecs = n_before;
			h->log_end = log_before;
			if (ftruncate(h->log_fd, (off_t)log_before) != 0)
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
	free(plan.src);
	free(list);
	free(jbuf);
	free(used);
	b_free(&b);
	return rc;
}

/* Copy bytes [from, to) of the log into the file fd. */
static int copy_range(int src, int fd, uint64_t from, uint64_t to)
{
	unsigned char *buf = malloc(1 << 20);
	int rc = buf ? 0 : D1E_NOMEM;
	for (uint64_t off = from; !rc && off < to;) {
		size_t n = to - off < (1 << 20) ? (size_t)(to - off) : 1 << 20;
		rc = read_full(src, buf, n, off);
		if (!rc)
			rc = write_full(fd, buf, n, off - from);
		off += n;
	}
	free(buf);
	return rc;
}

/* Write the database as it was after recs[kidx - 1] into the file fd. */
static int materialize(struct hist *h, size_t kidx, int fd)
{
	const struct hrec *k = &h->recs[kidx - 1];
	struct rplan plan = {
	    .db_fd = fd, .ps = h->page_size, .maxp = k->db_pages};
	unsigned char *used = calloc(kidx + 1, 1);
	uint32_t T = k->db_pages;
	int rc = 0;
	plan.src = malloc(((size_t)T + 1) * sizeof(int32_t));
	if (!plan.src || !used) {
		rc = D1E_NOMEM;
		goto out;
	}
	for (uint32_t p = 0; p <= T; p++)
		plan.src[p] = SRC_WANT;
	rc = resolve(h, kidx, T, plan.src, T, used);
	if (rc)
		goto out;
	int bfd = open(h->base_path, O_RDONLY | O_CLOEXEC);
	if (bfd < 0) {
		rc = D1E_IO;
		goto out;
	}
	plan.cur = SRC_BASE;
	rc = each_page(h, bfd, &h->base, put_db, want_cur, &plan);
	close(bfd);
	for (size_t i = 0; !rc && i < kidx; i++) {
		if (!used[i])
			continue;
		plan.cur = (int32_t)i;
		rc = each_page(h, h->log_fd, &h->recs[i], put_db, want_cur,
			       &plan);
	}
	if (!rc && ftruncate(fd, (off_t)T * h->page_size) != 0)
		rc = D1E_IO;
out:
	free(plan.src);
	free(used);
	return rc;
}

/* Load the history again from its files (after compaction). */
static int reload(struct hist *h)
{
	close(h->log_fd);
	h->nrecs = 0;
	h->has_base = 0;
	memset(&h->base, 0, sizeof(h->base));
	h->log_fd = open(h->log_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (h->log_fd < 0)
		return D1E_IO;
	int rc = load_base(h);
	return rc ? rc : load_log(h);
}

int hist_compact(struct hist *h, int64_t keep_ms)
{
	char cpath[4300], btmp[4300], ltmp[4300];
	int64_t cut = now_ms() - keep_ms;
	size_t lo = 0, hi = h->nrecs;
	int cfd = -1, lfd = -1, rc;
	if (!h->has_base)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->recs[mid].time_ms < cut)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* recs[0 .. lo) fell out of the window. Fold them into a new base
	 * once they weigh at least as much as the base (or 1 MiB): that
	 * bounds the cost of compaction by the history it frees. */
	if (lo == 0)
		return 0;
	uint64_t old = h->recs[lo - 1].off + rec_len(&h->recs[lo - 1]);
	uint64_t floor =
	    rec_len(&h->base) > (1u << 20) ? rec_len(&h->base) : (1u << 20);
	if (old < floor)
		return 0;
	struct hrec k = h->recs[lo - 1];
	snprintf(cpath, sizeof(cpath), "%s/compact.db", h->hdir);
	snprintf(ltmp, sizeof(ltmp), "%s.tmp", h->log_path);
	cfd = open(cpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (cfd < 0)
		return D1E_IO;
	rc = materialize(h, lo, cfd);
	close(cfd);
	if (!rc)
		rc = write_base_tmp(h, cpath, &k, btmp, sizeof(btmp));
	unlink(cpath);
	if (rc)
		return rc;
	/* The commits still in the window, into a new log. */
	lfd = open(ltmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	rc = lfd < 0 ? D1E_IO : copy_range(h->log_fd, lfd, old, h->log_end);
	if (!rc && fsync(lfd) != 0)
		rc = D1E_IO;
	if (lfd >= 0)
		close(lfd);
	/* The base first: a crash between the renames leaves the new base
	 * with the old log, whose older commits load_log() skips. */
	if (!rc &&
	    (rename(btmp, h->base_path) != 0 || util_fsync_dir(h->hdir) ||
	     rename(ltmp, h->log_path) != 0 || util_fsync_dir(h->hdir)))
		rc = D1E_IO;
	if (rc) {
		unlink(btmp);
		unlink(ltmp);
		return rc;
	}
	rc = reload(h);
	if (!rc)
		fprintf(stderr,
			"d1d: %s: history before commit %lld compacted into "
			"its base\n",
			h->uuid, (long long)k.seq);
	return rc;
}

void hist_stats(struct hist *h, int64_t *commits, int64_t *bytes)
{
	*commits = (int64_t)h->nrecs;
	*bytes = (int64_t)h->log_end +
		 (h->has_base ? (int64_t)rec_len(&h->base) : 0);
}
