/*
 * jobs.h — background jobs that clients poll: exports and imports. See
 * jobs.c for the rules (pacing, cancellation, retention, file sweeping).
 */
#ifndef D1D_JOBS_H
#define D1D_JOBS_H

#include "arena.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum job_kind { JOB_EXPORT, JOB_IMPORT };
enum job_state { JOB_ACTIVE, JOB_COMPLETE, JOB_ERROR };

struct jobs;
struct job;

/* The job's body, run on its own thread. It ends by calling job_complete()
 * or job_error() (if it does neither, the job fails as an internal error).
 * free_ctx (may be NULL) frees ctx once the thread is done. */
typedef void (*job_run_fn)(struct job *j, void *ctx);
typedef void (*job_free_fn)(void *ctx);

/* The registry, with its sweeper thread. Jobs not polled for idle_ms are
 * cancelled; finished jobs and the files in DATA_DIR/exports and
 * DATA_DIR/imports are removed ttl_s after they were made. *out is freed
 * with jobs_free(), which cancels and waits for every job. */
int jobs_new(const char *data_dir, int64_t idle_ms, int64_t ttl_s,
	     struct jobs **out);
void jobs_free(struct jobs *js);

int64_t jobs_ttl_s(const struct jobs *js);
int64_t jobs_idle_ms(const struct jobs *js);
/* DATA_DIR/exports or DATA_DIR/imports (created by jobs_new). Static. */
const char *jobs_dir(const struct jobs *js, enum job_kind kind);

/* Start a job for database db at bookmark; key tells jobs of the same
 * database and bookmark apart (an export's options). On success *out holds
 * a reference, given back with jobs_put(). On failure ctx is freed. */
int jobs_start(struct jobs *js, enum job_kind kind, const char *db,
	       const char *bookmark, const char *key, job_run_fn run,
	       job_free_fn free_ctx, void *ctx, struct job **out);

/* A job of that kind for db (and bookmark and key, unless NULL); with
 * active set, only a running one. NULL if none; else a reference. */
struct job *jobs_find(struct jobs *js, enum job_kind kind, const char *db,
		      const char *bookmark, const char *key, int active);
void jobs_put(struct jobs *js, struct job *j);

/* Cancel the jobs of a database about to be deleted, and wait for them. */
void jobs_cancel_db(struct jobs *js, const char *db);

/* What a poll answers. Strings are arena-owned copies. */
struct job_view {
	enum job_state state;
	const char *bookmark;
	const char **msgs; /* the messages since the last poll */
	size_t nmsgs;
	const char *error;	 /* JOB_ERROR */
	const char *result_json; /* JOB_COMPLETE: a JSON object */
};

/* Answer a poll: wait until the job is no longer active or wait_ms has
 * passed (clients poll back to back; the server sets the pace), then
 * describe it and hand over its pending messages. 0 or D1E_NOMEM. */
int jobs_poll(struct jobs *js, struct job *j, int64_t wait_ms, struct arena *a,
	      struct job_view *v);

/* From the job's own thread. */
void job_message(struct job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* result_json (copied) is a JSON object; path (copied, may be NULL) is a
 * file that is removed if no poll ever sees the completion. */
void job_complete(struct job *j, const char *result_json, const char *path);
void job_error(struct job *j, const char *msg);
/* Set when the job must stop: then it ends with job_error(job_cancel_why). */
atomic_int *job_cancel_flag(struct job *j);
const char *job_cancel_why(const struct job *j);
const char *job_id(const struct job *j);
const char *job_bookmark(const struct job *j);

#endif
