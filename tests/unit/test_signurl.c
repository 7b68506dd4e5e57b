/*
 * test_signurl.c — signed URLs: valid for their method, path and time
 * only; the key file is made once, 0600, and reused.
 */
#include "apierr.h"
#include "signurl.h"
#include "test.h"
#include "util.h"

#include <sys/stat.h>

/* Split a URL made with base "" into path, expires and sig. */
static void parts(char *url, char **path, char **exp, char **sig)
{
	*path = url;
	char *q = strchr(url, '?');
	*q = '\0';
	*exp = strstr(q + 1, "expires=") + 8;
	*sig = strstr(q + 1, "&sig=");
	**sig = '\0';
	*sig += 5;
}

TEST(signurl_roundtrip_and_tampering)
{
	unsigned char key[SIGNURL_KEY_BYTES] = {1, 2, 3};
	struct signer *s, *other;
	char url[512], *path, *exp, *sig;
	const char *why;
	CHECK(signurl_new(key, &s) == 0);
	key[0] = 9;
	CHECK(signurl_new(key, &other) == 0);
	CHECK(signurl_make(s, "", "GET", "/d1/x/db/f.sql", 1000, url,
			   sizeof(url)) == 0);
	parts(url, &path, &exp, &sig);
	CHECK_STR(exp, "1000");
	CHECK(strlen(sig) == 64);
	CHECK(signurl_check(s, "GET", path, exp, sig, 999, &why) == 0);
	CHECK(signurl_check(s, "GET", path, exp, sig, 1000, &why) == 0);
	CHECK(signurl_check(s, "GET", path, exp, sig, 1001, &why) ==
	      D1E_BAD_SIGNATURE);
	CHECK(strstr(why, "expired") != NULL);
	CHECK(signurl_check(s, "PUT", path, exp, sig, 0, &why) ==
	      D1E_BAD_SIGNATURE);
	CHECK(signurl_check(s, "GET", "/d1/x/db/g.sql", exp, sig, 0, &why) ==
	      D1E_BAD_SIGNATURE);
	CHECK(signurl_check(s, "GET", path, "1001", sig, 0, &why) ==
	      D1E_BAD_SIGNATURE);
	CHECK(signurl_check(other, "GET", path, exp, sig, 0, &why) ==
	      D1E_BAD_SIGNATURE);
	CHECK(signurl_check(s, "GET", path, NULL, sig, 0, &why) ==
	      D1E_BAD_SIGNATURE);
	CHECK(signurl_check(s, "GET", path, "-1", sig, 0, &why) ==
	      D1E_BAD_SIGNATURE);
	CHECK(signurl_check(s, "GET", path, exp, "abc", 0, &why) ==
	      D1E_BAD_SIGNATURE);
	sig[3] = sig[3] == 'a' ? 'b' : 'a';
	CHECK(signurl_check(s, "GET", path, exp, sig, 0, &why) ==
	      D1E_BAD_SIGNATURE);
	CHECK(strstr(why, "does not match") != NULL);
	/* A path with a query string, or relative, is not signed. */
	CHECK(signurl_make(s, "", "GET", "x", 1, url, sizeof(url)) != 0);
	CHECK(signurl_make(s, "", "GET", "/a?b", 1, url, sizeof(url)) != 0);
	CHECK(signurl_make(s, "http://h", "GET", "/a", 1, url, 10) != 0);
	signurl_free(s);
	signurl_free(other);
}

TEST(signurl_key_file)
{
	const char *dir = test_tmpdir();
	char path[512], url1[256], url2[256];
	struct signer *a, *b;
	struct stat st;
	CHECK(signurl_open(dir, &a) == 0);
	snprintf(path, sizeof(path), "%s/url-signing.key", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	      st.st_size == SIGNURL_KEY_BYTES);
	CHECK(signurl_open(dir, &b) == 0); /* the same key again */
	CHECK(signurl_make(a, "", "GET", "/p", 5, url1, sizeof(url1)) == 0);
	CHECK(signurl_make(b, "", "GET", "/p", 5, url2, sizeof(url2)) == 0);
	CHECK_STR(url1, url2);
	signurl_free(a);
	signurl_free(b);
	/* A damaged key file is an error, not a silent new key. */
	FILE *f = fopen(path, "w");
	fputs("short", f);
	fclose(f);
	CHECK(signurl_open(dir, &a) != 0);
	util_rm_rf(dir);
}
