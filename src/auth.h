/*
 * auth.h — API tokens: minting, hashing, and deciding who a request is.
 *
 * A token is 40 characters of base64url (240 random bits). The catalog keeps
 * only its SHA-256. A request authenticates with `Authorization: Bearer T`
 * or with `X-Auth-Email: E` + `X-Auth-Key: T` (Cloudflare's legacy pair,
 * which some tools still send); in the second form E must be the email of
 * the token's account.
 */
#ifndef D1D_AUTH_H
#define D1D_AUTH_H

#include "catalog.h"

#include <stddef.h>

#define AUTH_TOKEN_LEN 40

/* SHA-256 of the n bytes of token into out. */
void auth_hash(const char *token, size_t n, unsigned char out[32]);

/* Mint a token into out[AUTH_TOKEN_LEN + 1] and its hash into hash. */
int auth_token_new(char out[AUTH_TOKEN_LEN + 1], unsigned char hash[32]);

/* Decide who is calling from the three headers (each may be NULL).
 * Returns 0 with *who filled in, D1E_AUTH_MISSING when no credentials were
 * given, D1E_AUTH_INVALID when they match no live token. */
int auth_authenticate(struct catalog *cat, const char *authorization,
		      const char *x_auth_email, const char *x_auth_key,
		      struct cat_principal *who);

/* May who act on account_id? D1E_ACCOUNT when the token belongs to another
 * account, D1E_READ_ONLY when write is set and the token is read-only. */
int auth_authorize(const struct cat_principal *who, const char *account_id,
		   int write);

#endif
