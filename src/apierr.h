/*
 * apierr.h — the one table that maps d1d's internal errors to API errors.
 *
 * Functions across d1d return int: 0 for success, a negative D1E_* value for
 * failure. Only the HTTP layer turns a D1E_* into what a client sees: the HTTP
 * status, the Cloudflare error code and a default message, all from the table
 * in apierr.c. The statuses are chosen with the clients in mind (COMPAT.md):
 * the SDK retries 408/409/429/5xx, so an error that a retry cannot fix never
 * uses those.
 */
#ifndef D1D_APIERR_H
#define D1D_APIERR_H

enum d1_err {
	D1E_OK = 0,
	D1E_NOMEM = -1,	      /* out of memory */
	D1E_INTERNAL = -2,    /* a bug or an unexpected library failure */
	D1E_IO = -3,	      /* the file system failed us */
	D1E_BAD_REQUEST = -4, /* malformed input; the detail says what */
	D1E_BODY_TOO_LARGE = -5,
	D1E_NO_ROUTE = -6,
	D1E_BAD_METHOD = -7,
	D1E_AUTH_MISSING = -8, /* no credentials at all */
	D1E_AUTH_INVALID = -9, /* credentials that match no live token */
	D1E_ACCOUNT =
	    -10, /* token is not for this account (or no such account) */
	D1E_READ_ONLY = -11, /* a write with a read-only token */
	D1E_DB_NOT_FOUND = -12,
	D1E_DB_EXISTS = -13,
	D1E_DB_LIMIT = -14,
	D1E_NOT_FOUND = -15, /* a CLI lookup (account, token) found nothing */
	D1E_SQL = -16,	     /* SQLite refused the statement; detail says why */
	D1E_NEEDS_WRITER =
	    -17,	/* internal: a read-only connection met a write */
	D1E_FULL = -18, /* the disk is full (ENOSPC), not a size limit */
	D1E_BAD_SIGNATURE = -19, /* a signed URL tampered with or expired */
	D1E_IMPORT_BUSY = -20,	 /* a write while an import runs */
	D1E_CORRUPT = -21,	 /* a file of d1d's own is damaged */
	D1E_WOULD_BLOCK =
	    -22, /* internal: this thread must not wait; go where one may */
	D1E__COUNT = 23
};

struct apierr_info {
	int http_status;
	int code;	     /* Cloudflare's error code */
	const char *message; /* used when the caller gives no detail */
};

/* The table row for rc (a D1E_* value); unknown values map to D1E_INTERNAL.
 * The row is static: never freed. */
const struct apierr_info *apierr_info(int rc);

#endif
