/*
 * apierr.c — the error table (see apierr.h). Codes and messages follow
 * Cloudflare's (COMPAT.md §2) wherever D1 has one.
 */
#include "apierr.h"

static const struct apierr_info table[D1E__COUNT] = {
    [0] = {200, 0, "OK"},
    [-D1E_NOMEM] = {500, 7500, "Internal error: out of memory"},
    [-D1E_INTERNAL] = {500, 7500, "Internal error"},
    [-D1E_IO] = {500, 7500, "Internal error: storage failure"},
    [-D1E_BAD_REQUEST] = {400, 7400, "Bad request"},
    [-D1E_BODY_TOO_LARGE] = {413, 7400, "Request body too large"},
    [-D1E_NO_ROUTE] = {404, 7000, "No route for that URI"},
    [-D1E_BAD_METHOD] = {405, 10405, "Method not allowed"},
    [-D1E_AUTH_MISSING] = {401, 10000, "Authentication error"},
    [-D1E_AUTH_INVALID] = {401, 9109, "Invalid access token"},
    [-D1E_ACCOUNT] = {403, 7403,
		      "The given account is not valid or is not authorized "
		      "to access this service"},
    [-D1E_READ_ONLY] = {403, 10000,
			"Authentication error: the API token is read-only"},
    [-D1E_DB_NOT_FOUND] = {404, 7404, "The database could not be found"},
    [-D1E_DB_EXISTS] = {400, 7502, "A database with that name already exists."},
    [-D1E_DB_LIMIT] = {400, 7406,
		       "This account has reached the maximum number of D1 "
		       "databases"},
    [-D1E_NOT_FOUND] = {404, 7000, "Not found"},
    [-D1E_SQL] = {400, 7500, "SQL error"},
    [-D1E_NEEDS_WRITER] = {500, 7500, "Internal error"},
    /* 507 Insufficient Storage: a 5xx, so the SDK retries it twice (a
     * failed write applied nothing, so a retry is safe), then reports it;
     * not a 4xx, because the request itself was fine. */
    [-D1E_FULL] = {507, 7500,
		   "Storage full: the server has no disk space left for this "
		   "write; nothing of it was applied"},
    [-D1E_BAD_SIGNATURE] = {403, 10000,
			    "Authentication error: invalid or expired signed "
			    "URL"},
    /* Not 409 or 429: the SDK would retry at once, and a retry cannot
     * succeed until the import ends. */
    [-D1E_IMPORT_BUSY] = {400, 7500,
			  "Currently processing a long-running import."},
    [-D1E_CORRUPT] = {500, 7500, "Internal error: damaged file"},
    [-D1E_WOULD_BLOCK] = {500, 7500, "Internal error"},
};

const struct apierr_info *apierr_info(int rc)
{
	if (rc > 0 || rc <= -D1E__COUNT)
		rc = D1E_INTERNAL;
	return &table[-rc];
}
