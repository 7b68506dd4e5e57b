/*
 * fuzz_signurl.c — libFuzzer target for signed URLs: hostile method,
 * path, expires and sig must be refused cleanly, and a URL that the signer
 * made for one (method, path, time) must check for exactly that one.
 */
#include "apierr.h"
#include "signurl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct signer *s;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[4096], url[8192];
	const char *f[4] = {"", "", "", ""};
	const char *why;
	if (!s) {
		unsigned char key[SIGNURL_KEY_BYTES] = {7};
		if (signurl_new(key, &s))
			abort();
	}
	if (size >= sizeof(buf))
		return 0;
	/* Four NUL-separated fields: method, path, expires, sig. */
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *p = buf;
	for (int i = 0; i < 4 && p <= buf + size; i++) {
		f[i] = p;
		p += strlen(p) + 1;
	}
	int rc = signurl_check(s, f[0], f[1], f[2], f[3], 0, &why);
	if (rc != 0 && rc != D1E_BAD_SIGNATURE)
		abort();
	/* Round trip: what we sign checks, for that method and path only. */
	if (f[1][0] == '/' && !strchr(f[1], '?') &&
	    signurl_make(s, "", f[0], f[1], 100, url, sizeof(url)) == 0) {
		char *q = strrchr(url, '?');
		*q = '\0';
		char *exp = q + 9, *sig = strstr(q + 1, "&sig=");
		*sig = '\0';
		sig += 5;
		if (signurl_check(s, f[0], url, exp, sig, 100, &why) != 0)
			abort();
		if (signurl_check(s, f[0], url, exp, sig, 101, &why) == 0)
			abort();
		if (strcmp(f[0], "X") != 0 &&
		    signurl_check(s, "X", url, exp, sig, 0, &why) == 0)
			abort();
	}
	return 0;
}
