/*
 * fuzz_history.c — libFuzzer target for the time-travel history reader: a
 * corrupted base image, log or restore journal must give an error (or be
 * cut back to its last whole record), never a crash, and a restore from
 * whatever loaded must stay within the database file.
 *
 * Input: a 4-byte little-endian length L, L bytes of the base image
 * (history/base-0000000000000000.d1h), then the rest as the log segment
 * history/log-0000000000000001.d1h. The corpus holds histories d1d wrote.
 */
#include "apierr.h"
#include "history.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void put(const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	if (n && write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

/* Each input starts from an empty history directory: a restore of an
 * earlier input leaves files (a synced mark, a journal) behind. */
static void clean(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/history", dir);
	DIR *d = opendir(path);
	if (!d)
		abort();
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/history/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	snprintf(path, sizeof(path), "%s/restore.journal", dir);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t page[4096] = {'S', 'Q', 'L', 'i', 't',  'e',
					   ' ', 'f', 'o', 'r', 'm',  'a',
					   't', ' ', '3', 0,   0x10, 0};
	struct hist *h;
	char bm[HIST_BOOKMARK_SIZE], nb[HIST_BOOKMARK_SIZE],
	    pb[HIST_BOOKMARK_SIZE];
	const char *msg;
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/d1d-fuzz-history-%d",
			 (int)getpid());
		mkdir(dir, 0700);
		snprintf(bm, sizeof(bm), "%s/history", dir);
		mkdir(bm, 0700);
	}
	if (size < 4)
		return 0;
	uint32_t l = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
		     (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
	if (l > size - 4)
		l = (uint32_t)(size - 4);
	clean();
	put("history/base-0000000000000000.d1h", data + 4, l);
	put("history/log-0000000000000001.d1h", data + 4 + l, size - 4 - l);
	put("db.sqlite", page, sizeof(page));
	if (hist_open(dir, "00000000-0000-4000-8000-000000000000", &h) != 0)
		return 0;
	hist_bookmark(h, bm);
	if (hist_bookmark_at(h, 0, nb, &msg) == 0 && strcmp(nb, bm) > 0)
		abort(); /* the oldest point sorts after the newest */
	if (hist_bookmark_at(h, INT64_MAX, nb, &msg) != 0 || strcmp(nb, bm))
		abort(); /* the future is now */
	/* Restore to an early point: reads the records it needs. */
	if (hist_bookmark_at(h, 0, nb, &msg) == 0 ||
	    hist_bookmark_at(h, 1700000000000, nb, &msg) == 0)
		hist_restore(h, nb, bm, pb, &msg);
	hist_free(h);
	return 0;
}
