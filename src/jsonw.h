/*
 * jsonw.h — streaming JSON writer.
 *
 * Responses are written front to back into one growable buffer, with no
 * intermediate tree: query results (the hot path) go straight from
 * sqlite3_column_*() into the output. The writer tracks nesting so callers
 * never place commas themselves. Errors are sticky: after an allocation
 * failure every call is a no-op and jsonw_failed() says so, so a handler
 * checks once at the end instead of after every value.
 *
 * Text is emitted as valid UTF-8 whatever comes in: bytes that are not
 * well-formed UTF-8 (SQLite TEXT may hold anything) become U+FFFD.
 */
#ifndef D1D_JSONW_H
#define D1D_JSONW_H

#include <stddef.h>
#include <stdint.h>

#define JSONW_MAX_DEPTH 64

struct jsonw {
	char *buf; /* malloc'd; owned by the writer until jsonw_take() */
	size_t len, cap;
	int depth;
	int failed;
	unsigned char
	    first[JSONW_MAX_DEPTH]; /* 1 while the container is empty */
	unsigned char after_key;    /* a key was written, value pending */
};

void jsonw_init(struct jsonw *w);
/* Make room for n more bytes now. A writer filled on another thread is
 * given its buffer by the thread that will free it, so that glibc's
 * per-thread cache serves both ends. 0, or -1 (the writer failed). */
int jsonw_reserve(struct jsonw *w, size_t n);
/* Free the buffer (if not taken). */
void jsonw_release(struct jsonw *w);
/* Hand the buffer to the caller, who frees it with free(); *len gets its
 * length. The writer is left empty. Returns NULL if the writer failed. */
char *jsonw_take(struct jsonw *w, size_t *len);
int jsonw_failed(const struct jsonw *w);

void jsonw_obj_begin(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr_begin(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);
/* An object key; the next call writes its value. */
void jsonw_key(struct jsonw *w, const char *k);
void jsonw_keyn(struct jsonw *w, const char *k, size_t n);

void jsonw_str(struct jsonw *w, const char *s); /* NULL writes null */
void jsonw_strn(struct jsonw *w, const char *s, size_t n);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_double(struct jsonw *w, double v); /* NaN/Inf write null */
/* A duration in microseconds as milliseconds, exact: 1234 -> 1.234. */
void jsonw_ms(struct jsonw *w, int64_t us);
void jsonw_bool(struct jsonw *w, int v);
void jsonw_null(struct jsonw *w);
/* Bytes that are already valid JSON for one value. */
void jsonw_raw(struct jsonw *w, const char *s, size_t n);

#endif
