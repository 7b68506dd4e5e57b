/*
 * history.h — time travel: every commit of a database kept, restorable.
 * The design and the on-disk format are described at the top of history.c.
 */
#ifndef D1D_HISTORY_H
#define D1D_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct hist;

/* A bookmark: "%08x-%08x-%08x-%032x" plus the terminator. */
#define HIST_BOOKMARK_SIZE 64

/* Open the history of the database in directory dir (which holds
 * db.sqlite), creating it if missing, and finish a restore a crash
 * interrupted. Must run before SQLite opens the database. *out is freed
 * with hist_free(). Returns 0 or a D1E_* error. */
int hist_open(const char *dir, const char *uuid, struct hist **out);
void hist_free(struct hist *h);

/* When hist_open() finds the history damaged (D1E_CORRUPT), the database
 * itself is still whole: move the history aside (kept for inspection as
 * history.damaged-<time>, removed with the database), so that the next
 * hist_open() begins a new one. Earlier bookmarks no longer restore. */
int hist_quarantine(const char *dir, const char *uuid);

/* Whether the history has its base image yet (a new history has not). */
int hist_has_base(const struct hist *h);

/* Record the database file as the base image (commit 0). The file must be
 * whole: its WAL checkpointed and truncated. */
int hist_make_base(struct hist *h);

/* Capture the commits in the WAL that the history does not have yet: the
 * WAL holds wal_frames frames. Called at each commit point of the writer
 * and once when the database is opened. Returns the number of commits
 * recorded (0 for an empty commit), or a D1E_* error. */
int hist_capture(struct hist *h, int wal_frames);

/* Make every recorded commit durable: before a checkpoint may move frames
 * out of the WAL. */
int hist_sync(struct hist *h);

/* The bookmark of the last commit. */
void hist_bookmark(struct hist *h, char *out);

/* The bookmark of the last commit at or before time_ms (Unix ms). A time
 * before the first retained commit is D1E_BAD_REQUEST, with *msg saying
 * why (static string). */
int hist_bookmark_at(struct hist *h, int64_t time_ms, char *out,
		     const char **msg);

/* Parse an ISO 8601 time ("2026-11-24T10:00:00Z", fractions and offsets
 * allowed) into Unix ms. 0 or D1E_BAD_REQUEST. */
int hist_parse_time(const char *s, int64_t *ms);

/* Restore the database file to the state at bookmark: the database must
 * be closed by every connection and whole (WAL checkpointed and
 * truncated). Writes the new commit's bookmark into newbm and the one
 * before the restore into prevbm. A bookmark that is malformed, of
 * another database or out of the history is D1E_BAD_REQUEST with *msg
 * (static). */
int hist_restore(struct hist *h, const char *bookmark, char *newbm,
		 char *prevbm, const char **msg);

/* Housekeeping, called at the writer's commit points and at open (under
 * the commit lock): publishes a finished snapshot; drops the history
 * older than keep_ms (Unix ms ago) that a newer base image makes
 * unneeded; and starts a snapshot (a new base image, built by a thread
 * of its own while writes go on) when the history since the newest base,
 * or the history retention could drop, weighs as much as a base image. */
int hist_maintain(struct hist *h, int64_t keep_ms);

/* Figures: commits recorded, bytes of history on disk. */
void hist_stats(struct hist *h, int64_t *commits, int64_t *bytes);

#endif
