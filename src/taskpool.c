/*
 * taskpool.c — an elastic pool of worker threads (see taskpool.h).
 *
 * Tasks wait in one FIFO list. A queued task is taken by an idle worker;
 * when there are more queued tasks than idle workers, a new worker is
 * started (up to max), so that a task never waits behind another that
 * blocks: the same guarantee a thread per connection gave, with threads
 * only for the work that is actually under way. A worker that has been idle
 * for TASKPOOL_IDLE_MS ends unless it is one of the `keep` kept for the
 * next burst. Under steady load the workers never sleep between tasks.
 *
 * Every worker is joined, by taskpool_free() or by the next spawn after it
 * ended: a thread's exit runs the destructors of its thread-local state
 * (SQLite's and OpenSSL's), which must be done before the process exits.
 * An ending worker puts itself on the `exited` list, under the mutex, and
 * touches the pool no more.
 *
 * Locking: tp->mu guards everything in struct taskpool; it is never held
 * while a task runs.
 */
#include "taskpool.h"

#include "apierr.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define TASKPOOL_IDLE_MS    5000
#define TASKPOOL_STACK_SIZE ((size_t)1024 * 1024)

struct worker {
	pthread_t th;
	struct taskpool *tp;
	struct worker *next; /* on tp->exited */
};

struct task {
	taskpool_fn fn;
	void *arg;
	struct task *next;
};

struct taskpool {
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* a task was queued, or the pool stops */
	pthread_cond_t gone; /* the last worker ended */
	struct task *head, *tail;
	int queued;   /* tasks in the list */
	int idle;     /* workers waiting on cv */
	int nthreads; /* workers alive */
	int keep, max;
	int stopping;
	const char *name;
	struct worker *exited; /* ended, not joined yet */
};

int taskpool_new(const char *name, int keep, int max, struct taskpool **out)
{
	pthread_condattr_t ca;
	struct taskpool *tp = calloc(1, sizeof(*tp));
	*out = NULL;
	if (!tp)
		return D1E_NOMEM;
	tp->name = name;
	tp->keep = keep;
	tp->max = max > 0 ? max : 1;
	pthread_mutex_init(&tp->mu, NULL);
	/* Idle timeouts on the monotonic clock: a clock change must not end
	 * (or keep) every worker at once. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&tp->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&tp->gone, NULL);
	*out = tp;
	return 0;
}

static void *worker(void *arg)
{
	struct worker *self = arg;
	struct taskpool *tp = self->tp;
	pthread_setname_np(pthread_self(), tp->name);
	pthread_mutex_lock(&tp->mu);
	for (;;) {
		int timed_out = 0;
		while (!tp->head && !tp->stopping && !timed_out) {
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += TASKPOOL_IDLE_MS / 1000;
			tp->idle++;
			timed_out = pthread_cond_timedwait(&tp->cv, &tp->mu,
							   &until) == ETIMEDOUT;
			tp->idle--;
			if (timed_out && tp->nthreads <= tp->keep)
				timed_out = 0; /* one of those kept */
		}
		struct task *t = tp->head;
		if (!t)
			break; /* stopping, or idle for long enough */
		tp->head = t->next;
		if (!tp->head)
			tp->tail = NULL;
		tp->queued--;
		pthread_mutex_unlock(&tp->mu);
		t->fn(t->arg);
		free(t);
		pthread_mutex_lock(&tp->mu);
	}
	tp->nthreads--;
	self->next = tp->exited;
	tp->exited = self;
	if (tp->nthreads == 0)
		pthread_cond_broadcast(&tp->gone);
	pthread_mutex_unlock(&tp->mu);
	return NULL;
}

/* Join the workers that have ended. Caller holds tp->mu; it is released
 * while joining (an ended worker no longer needs it). */
static void reap(struct taskpool *tp)
{
	struct worker *w = tp->exited;
	tp->exited = NULL;
	if (!w)
		return;
	pthread_mutex_unlock(&tp->mu);
	while (w) {
		struct worker *next = w->next;
		pthread_join(w->th, NULL);
		free(w);
		w = next;
	}
	pthread_mutex_lock(&tp->mu);
}

/* Start one more worker. Caller holds tp->mu. 0 or D1E_NOMEM. */
static int spawn(struct taskpool *tp)
{
	pthread_attr_t attr;
	struct worker *w = malloc(sizeof(*w));
	int rc = 0;
	if (!w)
		return D1E_NOMEM;
	w->tp = tp;
	w->next = NULL;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, TASKPOOL_STACK_SIZE);
	if (pthread_create(&w->th, &attr, worker, w) == 0) {
		tp->nthreads++;
	} else {
		free(w);
		rc = D1E_NOMEM;
	}
	pthread_attr_destroy(&attr);
	return rc;
}

int taskpool_run(struct taskpool *tp, taskpool_fn fn, void *arg)
{
	int rc = 0;
	struct task *t = malloc(sizeof(*t));
	if (!t)
		return D1E_NOMEM;
	t->fn = fn;
	t->arg = arg;
	t->next = NULL;
	pthread_mutex_lock(&tp->mu);
	assert(!tp->stopping);
	/* Every queued task needs a worker of its own: an idle worker that
	 * was signalled still counts as idle until it wakes, and is counted
	 * against the task it was signalled for. */
	if (tp->queued + 1 > tp->idle && tp->nthreads < tp->max) {
		if (tp->exited)
			reap(tp);
		rc = spawn(tp);
		if (rc && tp->nthreads > 0)
			rc = 0; /* the task waits for a busy worker */
	}
	if (rc) {
		pthread_mutex_unlock(&tp->mu);
		free(t);
		return rc;
	}
	if (tp->tail)
		tp->tail->next = t;
	else
		tp->head = t;
	tp->tail = t;
	tp->queued++;
	pthread_cond_signal(&tp->cv);
	pthread_mutex_unlock(&tp->mu);
	return 0;
}

void taskpool_free(struct taskpool *tp)
{
	if (!tp)
		return;
	pthread_mutex_lock(&tp->mu);
	tp->stopping = 1;
	pthread_cond_broadcast(&tp->cv);
	while (tp->nthreads > 0)
		pthread_cond_wait(&tp->gone, &tp->mu);
	reap(tp);
	assert(!tp->head);
	pthread_mutex_unlock(&tp->mu);
	pthread_mutex_destroy(&tp->mu);
	pthread_cond_destroy(&tp->cv);
	pthread_cond_destroy(&tp->gone);
	free(tp);
}
