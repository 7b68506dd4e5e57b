/*
 * signurl.c — HMAC-SHA256 signed URLs.
 *
 * A signed URL is BASE + PATH + "?expires=E&sig=S" where E is a Unix time
 * in seconds and S the lowercase hex of
 *
 *     HMAC-SHA256(key, METHOD "\n" PATH "\n" E)
 *
 * The path names the database and the file (api_export.c, api_import.c
 * build it), so a signature is valid for exactly one method on one file of
 * one database until E: changing any of them, or the signature, gives a
 * 403. The comparison is in constant time.
 *
 * The key is 32 random bytes in DATA_DIR/url-signing.key, created with mode
 * 0600 (O_EXCL, then fsync'd with its directory) on the first start and
 * read on every later one, so URLs survive a restart. Deleting the file
 * revokes every URL handed out.
 */
#include "signurl.h"

#include "apierr.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIGNURL_KEY_FILE "url-signing.key"
#define SIGNURL_SIG_HEX	 64

struct signer {
	unsigned char key[SIGNURL_KEY_BYTES];
};

int signurl_new(const unsigned char key[SIGNURL_KEY_BYTES], struct signer **out)
{
	struct signer *s = calloc(1, sizeof(*s));
	if (!s)
		return D1E_NOMEM;
	memcpy(s->key, key, SIGNURL_KEY_BYTES);
	*out = s;
	return 0;
}

void signurl_free(struct signer *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s);
}

/* Read exactly n bytes; 0 or -1. */
static int read_all(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

static int create_key(const char *data_dir, const char *path,
		      unsigned char *key)
{
	int rc = util_random(key, SIGNURL_KEY_BYTES);
	if (rc)
		return rc;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 1 : D1E_IO;
	rc = D1E_IO;
	if (write(fd, key, SIGNURL_KEY_BYTES) == SIGNURL_KEY_BYTES &&
	    fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = D1E_IO;
	if (!rc)
		rc = util_fsync_dir(data_dir);
	if (rc)
		unlink(path);
	return rc;
}

int signurl_open(const char *data_dir, struct signer **out)
{
	char path[1200];
	unsigned char key[SIGNURL_KEY_BYTES];
	struct stat st;
	int rc, fd = -1;
	*out = NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", data_dir,
			     SIGNURL_KEY_FILE) >= sizeof(path))
		return D1E_IO;
	rc = create_key(data_dir, path, key);
	if (rc == 1) { /* it exists: use it */
		rc = D1E_IO;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 &&
		    st.st_size == SIGNURL_KEY_BYTES &&
		    read_all(fd, key, SIGNURL_KEY_BYTES) == 0)
			rc = 0;
		else
			fprintf(stderr,
				"d1d: %s is unreadable or not %d bytes; remove "
				"it to make a new one\n",
				path, SIGNURL_KEY_BYTES);
		if (fd >= 0)
			close(fd);
	}
	if (!rc)
		rc = signurl_new(key, out);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

static int sign(const struct signer *s, const char *method, const char *path,
		const char *expires, char hex[SIGNURL_SIG_HEX + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t n = strlen(method) + strlen(path) + strlen(expires) + 2;
	char *msg = malloc(n + 1);
	if (!msg)
		return D1E_NOMEM;
	snprintf(msg, n + 1, "%s\n%s\n%s", method, path, expires);
	unsigned char *ok = HMAC(EVP_sha256(), s->key, SIGNURL_KEY_BYTES,
				 (const unsigned char *)msg, n, mac, &maclen);
	free(msg);
	if (!ok || maclen != SIGNURL_SIG_HEX / 2)
		return D1E_INTERNAL;
	util_hex(mac, maclen, hex);
	return 0;
}

int signurl_make(const struct signer *s, const char *base, const char *method,
		 const char *path, int64_t expires, char *out, size_t cap)
{
	char exp[24], hex[SIGNURL_SIG_HEX + 1];
	if (path[0] != '/' || strchr(path, '?'))
		return D1E_INTERNAL;
	snprintf(exp, sizeof(exp), "%lld", (long long)expires);
	int rc = sign(s, method, path, exp, hex);
	if (rc)
		return rc;
	if ((size_t)snprintf(out, cap, "%s%s?expires=%s&sig=%s", base, path,
			     exp, hex) >= cap)
		return D1E_INTERNAL;
	return 0;
}

int signurl_check(const struct signer *s, const char *method, const char *path,
		  const char *expires, const char *sig, int64_t now,
		  const char **why)
{
	char hex[SIGNURL_SIG_HEX + 1];
	uint64_t exp;
	*why = NULL;
	if (!expires || !sig) {
		*why = "the URL is not signed (expires and sig are missing)";
		return D1E_BAD_SIGNATURE;
	}
	if (util_parse_u64(expires, (uint64_t)1 << 40, &exp) ||
	    strlen(sig) != SIGNURL_SIG_HEX) {
		*why = "the URL's signature is malformed";
		return D1E_BAD_SIGNATURE;
	}
	int rc = sign(s, method, path, expires, hex);
	if (rc)
		return rc;
	/* Checked before the expiry, so that a forged URL never learns
	 * whether its time would have been valid. */
	if (util_ct_memcmp(hex, sig, SIGNURL_SIG_HEX) != 0) {
		*why = "the URL's signature does not match";
		return D1E_BAD_SIGNATURE;
	}
	if ((int64_t)exp < now) {
		*why = "the URL has expired";
		return D1E_BAD_SIGNATURE;
	}
	return 0;
}
