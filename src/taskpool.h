/*
 * taskpool.h — an elastic pool of worker threads for work that may block.
 *
 * The HTTP threads are few (one per core) and must never wait; whatever
 * might (a long query, a group's COMMIT, a database being opened) is handed
 * to a task pool. A task that finds no idle worker gets a new thread (up to
 * the pool's maximum), so a task that blocks for seconds never holds up the
 * ones queued after it; workers beyond `keep` end after a few idle seconds.
 * See taskpool.c.
 */
#ifndef D1D_TASKPOOL_H
#define D1D_TASKPOOL_H

struct taskpool;

typedef void (*taskpool_fn)(void *arg);

/* A pool that keeps up to keep idle workers and runs at most max at once;
 * its threads are named name (static, at most 15 characters: what top
 * and perf show). *out is freed with taskpool_free(). 0 or D1E_NOMEM. */
int taskpool_new(const char *name, int keep, int max, struct taskpool **out);

/* Run fn(arg) on a worker, soon. arg belongs to the caller (the task frees
 * it if it must). Returns 0 once queued, or D1E_NOMEM (no memory, or no
 * worker could be started): fn will then never run. */
int taskpool_run(struct taskpool *tp, taskpool_fn fn, void *arg);

/* Wait for every queued and running task to finish, then free the pool.
 * No task may be queued after (or during) this call. */
void taskpool_free(struct taskpool *tp);

#endif
