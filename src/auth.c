/*
 * auth.c — tokens and request authentication (see auth.h).
 *
 * Lookup is by the token's hash, so the secret never meets a comparison
 * whose timing depends on it; the final check of the stored hash, and the
 * account id comparison, are constant-time all the same.
 */
#include "auth.h"

#include "apierr.h"
#include "util.h"

#include <openssl/crypto.h>
#include <strings.h>
#include <string.h>

void auth_hash(const char *token, size_t n, unsigned char out[32])
{
	util_sha256(token, n, out);
}

int auth_token_new(char out[AUTH_TOKEN_LEN + 1], unsigned char hash[32])
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_";
	unsigned char r[AUTH_TOKEN_LEN * 3 / 4];
	if (util_random(r, sizeof(r)))
		return D1E_INTERNAL;
	for (size_t i = 0, o = 0; i < sizeof(r); i += 3) {
		unsigned v =
		    (unsigned)r[i] << 16 | (unsigned)r[i + 1] << 8 | r[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	out[AUTH_TOKEN_LEN] = '\0';
	auth_hash(out, AUTH_TOKEN_LEN, hash);
	return 0;
}

/* A plausible token: 1..256 characters of base64url. Anything else is not
 * worth a catalog lookup. */
static int token_shape_ok(const char *t, size_t n)
{
	if (n == 0 || n > 256)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* The hash of the last token this thread saw: clients send the same
 * token with every request, and SHA-256 of it was 2% of a point SELECT.
 * The comparison is constant-time, so the cache tells nothing about the
 * token it holds. */
struct last_token {
	size_t n;
	char token[256];
	unsigned char hash[32];
};
static _Thread_local struct last_token last_token;

static int lookup(struct catalog *cat, const char *t, size_t n,
		  struct cat_principal *who)
{
	struct last_token *lt = &last_token;
	if (!token_shape_ok(t, n))
		return D1E_AUTH_INVALID;
	if (lt->n != n || CRYPTO_memcmp(lt->token, t, n) != 0) {
		auth_hash(t, n, lt->hash);
		memcpy(lt->token, t, n);
		lt->n = n;
	}
	return catalog_token_lookup(cat, lt->hash, who);
}

int auth_authenticate(struct catalog *cat, const char *authorization,
		      const char *x_auth_email, const char *x_auth_key,
		      struct cat_principal *who)
{
	if (authorization && *authorization) {
		const char *p = authorization;
		if (strncasecmp(p, "Bearer ", 7) != 0)
			return D1E_AUTH_INVALID;
		p += 7;
		while (*p == ' ')
			p++;
		size_t n = strlen(p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		return lookup(cat, p, n, who);
	}
	if (x_auth_key && *x_auth_key) {
		struct cat_account acct;
		if (!x_auth_email || !*x_auth_email)
			return D1E_AUTH_INVALID;
		int rc = lookup(cat, x_auth_key, strlen(x_auth_key), who);
		if (rc)
			return rc;
		rc = catalog_account_get(cat, who->account_id, &acct);
		if (rc == D1E_NOT_FOUND)
			return D1E_AUTH_INVALID;
		if (rc)
			return rc;
		if (strcasecmp(acct.email, x_auth_email) != 0)
			return D1E_AUTH_INVALID;
		return 0;
	}
	return D1E_AUTH_MISSING;
}

int auth_authorize(const struct cat_principal *who, const char *account_id,
		   int write)
{
	if (strlen(account_id) != CAT_ID_LEN ||
	    util_ct_memcmp(who->account_id, account_id, CAT_ID_LEN) != 0)
		return D1E_ACCOUNT;
	if (write && who->read_only)
		return D1E_READ_ONLY;
	return 0;
}
