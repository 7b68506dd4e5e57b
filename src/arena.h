/*
 * arena.h — per-request bump allocator.
 *
 * Every HTTP request owns one arena; everything a handler allocates for the
 * request (parsed path pieces, query arguments, error messages, copies of
 * strings pulled out of JSON) comes from it and is released in one call when
 * the request ends. Nothing allocated from an arena is ever freed on its own.
 * An arena is used by one thread at a time (the thread serving its request).
 */
#ifndef D1D_ARENA_H
#define D1D_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head; /* newest block first */
	size_t used;		  /* bytes handed out from head */
};

/* Prepare an empty arena; allocates nothing until the first request. */
void arena_init(struct arena *a);

/* Free every block of the arena; the arena can be reused afterwards. */
void arena_release(struct arena *a);

/* Return n zeroed bytes aligned for any type, owned by the arena, or NULL
 * when memory is exhausted. */
void *arena_alloc(struct arena *a, size_t n);

/* Copy the n bytes at s into the arena and NUL-terminate them. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);

/* printf into the arena; the result is owned by the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap);

#endif
