/*
 * util.c — helpers (see util.h). Randomness comes from OpenSSL's CSPRNG,
 * which seeds itself from the kernel; constant-time comparison is OpenSSL's.
 */
#include "util.h"

#include "apierr.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int util_random(void *buf, size_t n)
{
	if (n > (size_t)0x7fffffff || RAND_bytes(buf, (int)n) != 1)
		return D1E_INTERNAL;
	return 0;
}

void util_hex(const void *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = in;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int util_uuid_v4(char *out)
{
	unsigned char b[16];
	char h[33];
	if (util_random(b, sizeof(b)))
		return D1E_INTERNAL;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	util_hex(b, sizeof(b), h);
	snprintf(out, UUID_STR_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8,
		 h + 12, h + 16, h + 20);
	return 0;
}

static int is_hexdigit(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

int util_is_uuid(const char *s)
{
	for (int i = 0; i < UUID_STR_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!is_hexdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return s[UUID_STR_LEN] == '\0';
}

int64_t util_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t util_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void util_iso8601(int64_t us, char *out)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	/* strftime cannot overflow where snprintf of ints might in theory. */
	size_t n = strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm);
	unsigned frac = (unsigned)((us % 1000000 + 1000000) % 1000000);
	for (int i = 5; i >= 0; i--, frac /= 10)
		out[n + 1 + (size_t)i] = (char)('0' + frac % 10);
	out[n] = '.';
	out[n + 7] = 'Z';
	out[n + 8] = '\0';
}

int util_mkdir_p(const char *dir, unsigned mode)
{
	char path[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(path))
		return D1E_IO;
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char c = path[i];
		path[i] = '\0';
		if (mkdir(path, mode) != 0 && errno != EEXIST)
			return D1E_IO;
		path[i] = c;
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT)
		return -1;
	return 0;
}

int util_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : D1E_IO;
	/* FTW_PHYS: never follow a symlink out of the tree being removed. */
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return D1E_IO;
	return 0;
}

int util_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return D1E_IO;
	int rc = fsync(fd) == 0 ? 0 : D1E_IO;
	close(fd);
	return rc;
}

int64_t util_file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return 0;
	return (int64_t)st.st_size;
}

int util_ct_memcmp(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n);
}

int util_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Two decimal digits per step: half the divisions of one digit per step. */
const char util_digits2[] = "00010203040506070809"
			    "10111213141516171819"
			    "20212223242526272829"
			    "30313233343536373839"
			    "40414243444546474849"
			    "50515253545556575859"
			    "60616263646566676869"
			    "70717273747576777879"
			    "80818283848586878889"
			    "90919293949596979899";

char *util_utoa_end(uint64_t u, char *end)
{
	while (u >= 100) {
		unsigned d = (unsigned)(u % 100) * 2;
		u /= 100;
		*--end = util_digits2[d + 1];
		*--end = util_digits2[d];
	}
	if (u >= 10) {
		*--end = util_digits2[u * 2 + 1];
		*--end = util_digits2[u * 2];
	} else {
		*--end = (char)('0' + u);
	}
	return end;
}

/* OpenSSL 3 looks an algorithm up by name (locks, a hash table) each time
 * EVP_sha256() is handed to EVP_Digest; fetched once, it is not (2% of a
 * point SELECT's CPU time). Kept for the process's life. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void util_sha256(const void *in, size_t n, unsigned char out[32])
{
	unsigned int len = 32;
	pthread_once(&sha256_once, sha256_fetch);
	EVP_Digest(in, n, out, &len, sha256_md ? sha256_md : EVP_sha256(),
		   NULL);
}
