/*
 * fuzz_auth.c — libFuzzer target for request authentication as http.c
 * drives it: auth_authenticate() on the Authorization, X-Auth-Email and
 * X-Auth-Key header values, against a real catalog holding two accounts
 * and their tokens, then auth_authorize() on an account id.
 *
 * Input: up to four fields separated by '\n': Authorization, X-Auth-Email,
 * X-Auth-Key, the path's account id. A missing field is an absent header.
 * In every field "@T", "@R", "@B" and "@E" stand for the first account's
 * read-write token, its read-only token, the second account's token and
 * the first account's email, so that the fuzzer reaches the paths where
 * credentials are valid. The oracle: a request is accepted only with a
 * token exactly as minted, in the forms auth.h describes, and then as that
 * token's account and with its read-only flag; a token reaches only its own
 * account.
 */
#include "apierr.h"
#include "auth.h"
#include "catalog.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NTOK 3

static struct catalog *cat;
static char dir[64];
static const char *email = "owner@example.com";
static struct {
	char tok[AUTH_TOKEN_LEN + 1];
	char account[CAT_ID_LEN + 1];
	int read_only;
} toks[NTOK];

static void cleanup(void)
{
	catalog_free(cat);
	util_rm_rf(dir);
}

static void setup(void)
{
	char a[CAT_ID_LEN + 1], b[CAT_ID_LEN + 1], id[CAT_ID_LEN + 1];
	unsigned char h[32];
	snprintf(dir, sizeof(dir), "/tmp/d1d-fuzz-auth-XXXXXX");
	if (!mkdtemp(dir) || catalog_open(dir, &cat) ||
	    catalog_account_create(cat, "one", email, -1, a) ||
	    catalog_account_create(cat, "two", "two@example.com", -1, b))
		abort();
	for (int i = 0; i < NTOK; i++) {
		snprintf(toks[i].account, sizeof(toks[i].account), "%s",
			 i < 2 ? a : b);
		toks[i].read_only = i == 1;
		if (auth_token_new(toks[i].tok, h) ||
		    catalog_token_insert(cat, toks[i].account, h,
					 toks[i].read_only, "t", id))
			abort();
	}
	atexit(cleanup);
}

/* The field [s, s+n) with the placeholders expanded, malloc'd. */
static char *expand(const char *s, size_t n)
{
	char *out = malloc(n * AUTH_TOKEN_LEN + 1), *w = out;
	if (!out)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *sub = NULL;
		if (s[i] == '@' && i + 1 < n) {
			switch (s[i + 1]) {
			case 'T': sub = toks[0].tok; break;
			case 'R': sub = toks[1].tok; break;
			case 'B': sub = toks[2].tok; break;
			case 'E': sub = email; break;
			}
		}
		if (sub) {
			w += sprintf(w, "%s", sub);
			i++;
		} else {
			*w++ = s[i];
		}
	}
	*w = '\0';
	return out;
}

/* The minted token that t (n bytes) is exactly, or -1. */
static int which(const char *t, size_t n)
{
	for (int i = 0; i < NTOK; i++)
		if (n == AUTH_TOKEN_LEN && memcmp(t, toks[i].tok, n) == 0)
			return i;
	return -1;
}

/* What auth.h promises: the token a request presents, or -1. */
static int expected(const char *authz, const char *em, const char *key)
{
	if (authz && *authz) {
		if (strncasecmp(authz, "Bearer ", 7) != 0)
			return -1;
		const char *p = authz + 7;
		while (*p == ' ')
			p++;
		size_t n = strlen(p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		return which(p, n);
	}
	if (key && *key && em && *em) {
		int k = which(key, strlen(key));
		/* Every token's account email: the second one's differs. */
		const char *want = k == 2 ? "two@example.com" : email;
		return k >= 0 && strcasecmp(em, want) == 0 ? k : -1;
	}
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *f[4] = {NULL, NULL, NULL, NULL};
	const char *p = (const char *)data, *end = p + size;
	struct cat_principal who;
	if (!cat)
		setup();
	for (int i = 0; i < 4 && p <= end; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		f[i] = expand(p, n);
		p += n + 1;
	}
	memset(&who, 0, sizeof(who));
	int rc = auth_authenticate(cat, f[0], f[1], f[2], &who);
	int k = expected(f[0], f[1], f[2]);
	if (rc != 0 && rc != D1E_AUTH_MISSING && rc != D1E_AUTH_INVALID)
		abort();
	if ((rc == 0) != (k >= 0))
		abort();
	if (rc == D1E_AUTH_MISSING && ((f[0] && *f[0]) || (f[2] && *f[2])))
		abort();
	if (rc == 0) {
		if (strcmp(who.account_id, toks[k].account) != 0 ||
		    who.read_only != toks[k].read_only)
			abort();
		const char *acct = f[3] ? f[3] : "";
		for (int write = 0; write < 2; write++) {
			int a = auth_authorize(&who, acct, write);
			int mine = strcmp(acct, who.account_id) == 0;
			int want = !mine			? D1E_ACCOUNT
				   : write && toks[k].read_only ? D1E_READ_ONLY
								: 0;
			if (a != want)
				abort();
		}
	}
	for (int i = 0; i < 4; i++)
		free(f[i]);
	return 0;
}
