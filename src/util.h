/*
 * util.h — small helpers with no better home: randomness and ids, time
 * stamps, hex, and the few file-system operations d1d needs (make a tree,
 * remove a tree, fsync a directory).
 */
#ifndef D1D_UTIL_H
#define D1D_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 36 /* without the NUL */

/* Fill buf with n cryptographically strong random bytes. 0 or D1E_INTERNAL. */
int util_random(void *buf, size_t n);

/* Write a random version-4 uuid, lowercase, into out[UUID_STR_LEN + 1]. */
int util_uuid_v4(char *out);

/* 1 if s is a uuid in 8-4-4-4-12 hex form (either case), else 0. */
int util_is_uuid(const char *s);

/* SHA-256 of n bytes into out. */
void util_sha256(const void *in, size_t n, unsigned char out[32]);

/* Lowercase hex of n bytes into out[2n + 1]. */
void util_hex(const void *in, size_t n, char *out);

/* Microseconds since the Unix epoch, from the real-time clock. */
int64_t util_now_us(void);
/* Monotonic microseconds, for durations. */
int64_t util_mono_us(void);

/* ISO 8601 UTC with microseconds, e.g. 2022-11-15T18:25:44.442097Z, into
 * out[28]. */
void util_iso8601(int64_t us, char *out);

/* "00".."99": the two digits of n at util_digits2[2n], [2n + 1]. */
extern const char util_digits2[201];
/* The decimal digits of u written right-aligned, ending just before end
 * (20 bytes are room for any u): returns where they start. No NUL. */
char *util_utoa_end(uint64_t u, char *end);

/* Create dir and its parents with the given mode. 0 or D1E_IO. */
int util_mkdir_p(const char *dir, unsigned mode);

/* Remove path and everything under it; a missing path is not an error.
 * 0 or D1E_IO. */
int util_rm_rf(const char *path);

/* fsync the directory dir so that entries created or removed in it are
 * durable. 0 or D1E_IO. */
int util_fsync_dir(const char *dir);

/* Size of the file at path in bytes, 0 if it does not exist. */
int64_t util_file_size(const char *path);

/* Compare n bytes in time independent of their content: 0 when equal. */
int util_ct_memcmp(const void *a, const void *b, size_t n);

/* Parse a whole decimal string as a non-negative integer no larger than
 * max. 0 on success, -1 otherwise. */
int util_parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif
