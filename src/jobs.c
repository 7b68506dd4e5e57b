/*
 * jobs.c — the registry of exports and imports that run in the background
 * while their clients poll.
 *
 * A job runs on a thread of its own; its client learns how it goes only by
 * polling (wrangler polls back to back). jobs_poll() paces the polls: it
 * answers as soon as the job has finished, else after wait_ms (about a
 * second), with the messages the job wrote since the last poll.
 *
 * Lifetime. A running job that nobody has polled for idle_ms (D1: 15 s) is
 * cancelled: its cancel flag is set, the job stops at its next check and
 * ends with "Cancelled due to no poll() received in 15000ms." (an export
 * removes its partial file, an import rolls back). A finished job stays in
 * the registry, so that its client can still poll it, until ttl_s after it
 * ended; a completed job whose completion no poll has seen within idle_ms
 * is dropped at once with its file (nobody got the URL). Every job holds
 * references (the registry's, and one per poll in progress); it is freed
 * with the last one.
 *
 * Files. Exports are written to DATA_DIR/exports and uploads for imports
 * land in DATA_DIR/imports. The sweeper removes files there ttl_s after
 * their last modification (an export's URL is valid that long from its
 * completion; an upload not imported within the hour is dropped), and at
 * start-up the partial files (*.part*) that a stopped server left.
 *
 * Locking: one mutex (js->mu) for the registry and every job in it; one
 * condition variable signalled at every change of a job. Job threads take
 * the mutex only briefly (a message, the end), never while working.
 */
#include "jobs.h"

#include "apierr.h"
#include "util.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JOBS_MAX_ACTIVE	   16
#define JOBS_MAX_MSGS	   64
#define JOBS_SWEEP_EVERY_S 10

struct job {
	struct jobs *js;
	struct job *next; /* in the registry */
	int refs;
	enum job_kind kind;
	enum job_state state;
	char id[33];
	char db[40];
	char bookmark[64];
	char *key;
	char *msgs[JOBS_MAX_MSGS];
	size_t nmsgs;
	char *error, *result_json, *path;
	int delivered; /* a poll has answered its completion */
	int polling;   /* polls waiting on it now: it is not idle */
	int64_t last_poll_us, finished_us;
	atomic_int cancel;
	char cancel_why[96];
	pthread_t thread;
	int joined;
	job_run_fn run;
	job_free_fn free_ctx;
	void *ctx;
};

struct jobs {
	char dir[2][1100]; /* exports, imports */
	int64_t idle_ms, ttl_s;
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* a job changed */
	pthread_cond_t stop_cv; /* the sweeper should stop */
	int stopping;
	struct job *head;
	pthread_t sweeper;
};

static void job_free(struct job *j)
{
	for (size_t i = 0; i < j->nmsgs; i++)
		free(j->msgs[i]);
	free(j->key);
	free(j->error);
	free(j->result_json);
	free(j->path);
	free(j);
}

/* js->mu held. */
static void unref(struct job *j)
{
	if (--j->refs == 0)
		job_free(j);
}

static struct timespec deadline_in(int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Remove the files of dir older than max_age_s, and every partial file
 * when parts is set. */
static void sweep_dir(const char *dir, int64_t max_age_s, int parts)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	time_t now = time(NULL);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[1400];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if ((parts && strstr(e->d_name, ".part")) ||
		    (int64_t)(now - st.st_mtime) >= max_age_s)
			unlink(path);
	}
	closedir(d);
}

/* js->mu held. Drop j from the registry (its thread has been joined). */
static void drop(struct jobs *js, struct job *j, int remove_file)
{
	for (struct job **p = &js->head; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	if (remove_file && j->path)
		unlink(j->path);
	unref(j);
}

static void *sweeper(void *arg)
{
	struct jobs *js = arg;
	int64_t last_files = 0;
	pthread_mutex_lock(&js->mu);
	while (!js->stopping) {
		struct timespec ts = deadline_in(500);
		pthread_cond_timedwait(&js->stop_cv, &js->mu, &ts);
		int64_t now = util_mono_us();
		for (struct job *j = js->head, *next; j; j = next) {
			next = j->next;
			if (j->state == JOB_ACTIVE) {
				if (!j->polling &&
				    now - j->last_poll_us >
					js->idle_ms * 1000 &&
				    !atomic_load(&j->cancel)) {
					snprintf(j->cancel_why,
						 sizeof(j->cancel_why),
						 "Cancelled due to no poll() "
						 "received in %lldms.",
						 (long long)js->idle_ms);
					atomic_store(&j->cancel, 1);
				}
				continue;
			}
			if (!j->joined) {
				/* It has finished: the join is immediate. */
				pthread_mutex_unlock(&js->mu);
				pthread_join(j->thread, NULL);
				pthread_mutex_lock(&js->mu);
				j->joined = 1;
			}
			int64_t age = now - j->finished_us;
			if (j->state == JOB_COMPLETE && !j->delivered &&
			    age > js->idle_ms * 1000)
				drop(js, j, 1);
			else if (age > js->ttl_s * 1000000)
				drop(js, j, 0);
		}
		if (now - last_files > JOBS_SWEEP_EVERY_S * 1000000LL) {
			last_files = now;
			pthread_mutex_unlock(&js->mu);
			sweep_dir(js->dir[0], js->ttl_s, 0);
			sweep_dir(js->dir[1], js->ttl_s, 0);
			pthread_mutex_lock(&js->mu);
		}
	}
	pthread_mutex_unlock(&js->mu);
	return NULL;
}

int jobs_new(const char *data_dir, int64_t idle_ms, int64_t ttl_s,
	     struct jobs **out)
{
	struct jobs *js = calloc(1, sizeof(*js));
	*out = NULL;
	if (!js)
		return D1E_NOMEM;
	js->idle_ms = idle_ms;
	js->ttl_s = ttl_s;
	snprintf(js->dir[0], sizeof(js->dir[0]), "%s/exports", data_dir);
	snprintf(js->dir[1], sizeof(js->dir[1]), "%s/imports", data_dir);
	if (util_mkdir_p(js->dir[0], 0700) || util_mkdir_p(js->dir[1], 0700)) {
		free(js);
		return D1E_IO;
	}
	/* No job survives a restart: its partial files are garbage. */
	sweep_dir(js->dir[0], ttl_s, 1);
	sweep_dir(js->dir[1], ttl_s, 1);
	pthread_mutex_init(&js->mu, NULL);
	pthread_cond_init(&js->cv, NULL);
	pthread_cond_init(&js->stop_cv, NULL);
	if (pthread_create(&js->sweeper, NULL, sweeper, js) != 0) {
		pthread_mutex_destroy(&js->mu);
		pthread_cond_destroy(&js->cv);
		pthread_cond_destroy(&js->stop_cv);
		free(js);
		return D1E_INTERNAL;
	}
	*out = js;
	return 0;
}

void jobs_free(struct jobs *js)
{
	if (!js)
		return;
	pthread_mutex_lock(&js->mu);
	js->stopping = 1;
	pthread_cond_broadcast(&js->stop_cv);
	for (struct job *j = js->head; j; j = j->next) {
		snprintf(j->cancel_why, sizeof(j->cancel_why),
			 "Cancelled: the server is shutting down.");
		atomic_store(&j->cancel, 1);
	}
	pthread_mutex_unlock(&js->mu);
	pthread_join(js->sweeper, NULL);
	while (js->head) {
		struct job *j = js->head;
		if (!j->joined)
			pthread_join(j->thread, NULL);
		j->joined = 1;
		drop(js, j, j->state != JOB_COMPLETE || !j->delivered);
	}
	pthread_mutex_destroy(&js->mu);
	pthread_cond_destroy(&js->cv);
	pthread_cond_destroy(&js->stop_cv);
	free(js);
}

int64_t jobs_ttl_s(const struct jobs *js)
{
	return js->ttl_s;
}

int64_t jobs_idle_ms(const struct jobs *js)
{
	return js->idle_ms;
}

const char *jobs_dir(const struct jobs *js, enum job_kind kind)
{
	return js->dir[kind == JOB_IMPORT];
}

static void finish(struct job *j, enum job_state st, const char *error,
		   const char *result, const char *path)
{
	struct jobs *js = j->js;
	pthread_mutex_lock(&js->mu);
	if (j->state == JOB_ACTIVE) {
		j->state = st;
		j->error = error ? strdup(error) : NULL;
		j->result_json = result ? strdup(result) : NULL;
		j->path = path ? strdup(path) : NULL;
		if ((error && !j->error) || (result && !j->result_json)) {
			j->state = JOB_ERROR;
			free(j->error);
			j->error = strdup("Internal error: out of memory");
		}
		j->finished_us = util_mono_us();
		pthread_cond_broadcast(&js->cv);
	}
	pthread_mutex_unlock(&js->mu);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	j->run(j, j->ctx);
	finish(j, JOB_ERROR, "Internal error: the job ended without a result",
	       NULL, NULL);
	if (j->free_ctx)
		j->free_ctx(j->ctx);
	j->ctx = NULL;
	return NULL;
}

int jobs_start(struct jobs *js, enum job_kind kind, const char *db,
	       const char *bookmark, const char *key, job_run_fn run,
	       job_free_fn free_ctx, void *ctx, struct job **out)
{
	unsigned char rnd[16];
	int rc = 0, active = 0;
	struct job *j = calloc(1, sizeof(*j));
	*out = NULL;
	if (!j || !(j->key = strdup(key ? key : ""))) {
		rc = D1E_NOMEM;
		goto fail;
	}
	if ((rc = util_random(rnd, sizeof(rnd))))
		goto fail;
	util_hex(rnd, sizeof(rnd), j->id);
	j->js = js;
	j->kind = kind;
	j->state = JOB_ACTIVE;
	snprintf(j->db, sizeof(j->db), "%s", db);
	snprintf(j->bookmark, sizeof(j->bookmark), "%s", bookmark);
	j->last_poll_us = util_mono_us();
	j->run = run;
	j->free_ctx = free_ctx;
	j->ctx = ctx;
	j->refs = 2; /* the registry's and the caller's */

	pthread_mutex_lock(&js->mu);
	for (struct job *o = js->head; o; o = o->next)
		active += o->state == JOB_ACTIVE;
	if (js->stopping || active >= JOBS_MAX_ACTIVE) {
		pthread_mutex_unlock(&js->mu);
		rc = D1E_BAD_REQUEST;
		goto fail;
	}
	if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
		pthread_mutex_unlock(&js->mu);
		rc = D1E_INTERNAL;
		goto fail;
	}
	j->next = js->head;
	js->head = j;
	pthread_mutex_unlock(&js->mu);
	*out = j;
	return 0;
fail:
	if (free_ctx)
		free_ctx(ctx);
	if (j) {
		free(j->key);
		free(j);
	}
	return rc;
}

struct job *jobs_find(struct jobs *js, enum job_kind kind, const char *db,
		      const char *bookmark, const char *key, int active)
{
	struct job *found = NULL;
	pthread_mutex_lock(&js->mu);
	for (struct job *j = js->head; j; j = j->next) {
		if (j->kind != kind || strcmp(j->db, db) != 0 ||
		    (bookmark && strcmp(j->bookmark, bookmark) != 0) ||
		    (key && strcmp(j->key, key) != 0) ||
		    (active && j->state != JOB_ACTIVE))
			continue;
		j->refs++;
		found = j;
		break;
	}
	pthread_mutex_unlock(&js->mu);
	return found;
}

void jobs_put(struct jobs *js, struct job *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&js->mu);
	unref(j);
	pthread_mutex_unlock(&js->mu);
}

void jobs_cancel_db(struct jobs *js, const char *db)
{
	pthread_mutex_lock(&js->mu);
	for (;;) {
		int running = 0;
		for (struct job *j = js->head; j; j = j->next) {
			if (strcmp(j->db, db) != 0 || j->state != JOB_ACTIVE)
				continue;
			if (!atomic_load(&j->cancel)) {
				snprintf(j->cancel_why, sizeof(j->cancel_why),
					 "Cancelled: the database was "
					 "deleted.");
				atomic_store(&j->cancel, 1);
			}
			running = 1;
		}
		if (!running)
			break;
		struct timespec ts = deadline_in(200);
		pthread_cond_timedwait(&js->cv, &js->mu, &ts);
	}
	pthread_mutex_unlock(&js->mu);
}

int jobs_poll(struct jobs *js, struct job *j, int64_t wait_ms, struct arena *a,
	      struct job_view *v)
{
	int rc = 0;
	struct timespec ts = deadline_in(wait_ms);
	pthread_mutex_lock(&js->mu);
	j->polling++;
	while (j->state == JOB_ACTIVE && !js->stopping &&
	       pthread_cond_timedwait(&js->cv, &js->mu, &ts) == 0)
		;
	j->polling--;
	j->last_poll_us = util_mono_us();
	memset(v, 0, sizeof(*v));
	v->state = j->state;
	v->bookmark = arena_strdup(a, j->bookmark);
	v->msgs = arena_alloc(a, sizeof(*v->msgs) * (j->nmsgs + 1));
	if (!v->bookmark || !v->msgs) {
		rc = D1E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < j->nmsgs; i++) {
		v->msgs[i] = arena_strdup(a, j->msgs[i]);
		if (!v->msgs[i]) {
			rc = D1E_NOMEM;
			goto out;
		}
	}
	v->nmsgs = j->nmsgs;
	if (j->error && !(v->error = arena_strdup(a, j->error)))
		rc = D1E_NOMEM;
	if (j->result_json &&
	    !(v->result_json = arena_strdup(a, j->result_json)))
		rc = D1E_NOMEM;
	if (rc)
		goto out;
	for (size_t i = 0; i < j->nmsgs; i++)
		free(j->msgs[i]);
	j->nmsgs = 0;
	if (j->state == JOB_COMPLETE)
		j->delivered = 1;
out:
	pthread_mutex_unlock(&js->mu);
	return rc;
}

void job_message(struct job *j, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	pthread_mutex_lock(&j->js->mu);
	if (j->nmsgs == JOBS_MAX_MSGS) { /* nobody reads: keep the newest */
		free(j->msgs[0]);
		memmove(j->msgs, j->msgs + 1,
			(JOBS_MAX_MSGS - 1) * sizeof(*j->msgs));
		j->nmsgs--;
	}
	j->msgs[j->nmsgs++] = m;
	pthread_mutex_unlock(&j->js->mu);
}

void job_complete(struct job *j, const char *result_json, const char *path)
{
	finish(j, JOB_COMPLETE, NULL, result_json, path);
}

void job_error(struct job *j, const char *msg)
{
	finish(j, JOB_ERROR, msg, NULL, NULL);
}

atomic_int *job_cancel_flag(struct job *j)
{
	return &j->cancel;
}

const char *job_cancel_why(const struct job *j)
{
	return j->cancel_why;
}

const char *job_id(const struct job *j)
{
	return j->id;
}

const char *job_bookmark(const struct job *j)
{
	return j->bookmark;
}
