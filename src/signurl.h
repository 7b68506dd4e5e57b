/*
 * signurl.h — signed URLs: how d1d hands out a URL that works without an
 * API token (an export to download, an upload slot for an import), for a
 * limited time, for one method and one path only. See signurl.c.
 */
#ifndef D1D_SIGNURL_H
#define D1D_SIGNURL_H

#include <stddef.h>
#include <stdint.h>

#define SIGNURL_KEY_BYTES 32

struct signer;

/* The signer of data_dir: its key is DATA_DIR/url-signing.key, created
 * (0600, random) on first use. *out is freed with signurl_free(). Returns 0
 * or a D1E_* error. */
int signurl_open(const char *data_dir, struct signer **out);
/* A signer with the given key (tests, fuzzing). */
int signurl_new(const unsigned char key[SIGNURL_KEY_BYTES],
		struct signer **out);
void signurl_free(struct signer *s);

/* Write base + path + "?expires=E&sig=HEX" into out[cap], signed for
 * method. path must start with '/' and contain no '?'. Returns 0, or
 * D1E_INTERNAL if it does not fit. */
int signurl_make(const struct signer *s, const char *base, const char *method,
		 const char *path, int64_t expires, char *out, size_t cap);

/* Check a request: method and path as received, the expires and sig query
 * arguments (NULL when absent), now in Unix seconds. 0 if the URL was made
 * by signurl_make() for this method and path and has not expired, else
 * D1E_BAD_SIGNATURE with *why (static) saying which. */
int signurl_check(const struct signer *s, const char *method, const char *path,
		  const char *expires, const char *sig, int64_t now,
		  const char **why);

#endif
