/* Unit tests of util.c and arena.c. */
#include "arena.h"
#include "util.h"
#include "test.h"

#include <stdint.h>
#include <sys/stat.h>

TEST(util_uuid_v4_shape_and_uniqueness)
{
	char a[UUID_STR_LEN + 1], b[UUID_STR_LEN + 1];
	CHECK(util_uuid_v4(a) == 0);
	CHECK(util_uuid_v4(b) == 0);
	CHECK(util_is_uuid(a));
	CHECK(a[14] == '4');
	CHECK(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
	CHECK(strcmp(a, b) != 0);
}

TEST(util_is_uuid_rejects)
{
	CHECK(util_is_uuid("5c0b1f61-2b34-4e9c-92a1-39769b8800f8"));
	CHECK(util_is_uuid("5C0B1F61-2B34-4E9C-92A1-39769B8800F8"));
	CHECK(!util_is_uuid("5c0b1f61-2b34-4e9c-92a1-39769b8800f"));
	CHECK(!util_is_uuid("5c0b1f61-2b34-4e9c-92a1-39769b8800f88"));
	CHECK(!util_is_uuid("5c0b1f612b344e9c92a139769b8800f8xxxx"));
	CHECK(!util_is_uuid("5c0b1f61-2b34-4e9c-92a1-39769b8800fg"));
	CHECK(!util_is_uuid(""));
}

TEST(util_iso8601_format)
{
	char out[32];
	util_iso8601(1668536744442097LL, out);
	CHECK_STR(out, "2022-11-15T18:25:44.442097Z");
	util_iso8601(0, out);
	CHECK_STR(out, "1970-01-01T00:00:00.000000Z");
}

TEST(util_parse_u64_bounds)
{
	uint64_t v;
	CHECK(util_parse_u64("0", 10, &v) == 0 && v == 0);
	CHECK(util_parse_u64("10", 10, &v) == 0 && v == 10);
	CHECK(util_parse_u64("11", 10, &v) == -1);
	CHECK(util_parse_u64("", 10, &v) == -1);
	CHECK(util_parse_u64("-1", 10, &v) == -1);
	CHECK(util_parse_u64("1x", 10, &v) == -1);
	CHECK(util_parse_u64("18446744073709551615", UINT64_MAX, &v) == 0 &&
	      v == UINT64_MAX);
	CHECK(util_parse_u64("18446744073709551616", UINT64_MAX, &v) == -1);
}

TEST(util_mkdir_p_and_rm_rf)
{
	char path[512];
	const char *dir = test_tmpdir();
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	CHECK(util_mkdir_p(path, 0700) == 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(util_rm_rf(dir) == 0);
	CHECK(stat(dir, &st) != 0);
	CHECK(util_rm_rf(dir) == 0); /* already gone is fine */
}

TEST(arena_alloc_aligned_and_large)
{
	struct arena a;
	arena_init(&a);
	for (int i = 0; i < 1000; i++) {
		char *p = arena_alloc(&a, (size_t)(i % 37) + 1);
		CHECK(p && ((uintptr_t)p % 16) == 0);
	}
	char *big = arena_alloc(&a, 1 << 20);
	CHECK(big != NULL);
	if (big)
		memset(big, 'x', 1 << 20);
	char *s = arena_printf(&a, "%s-%d", "n", 42);
	CHECK_STR(s, "n-42");
	CHECK_STR(arena_strndup(&a, "hello", 3), "hel");
	arena_release(&a);
	CHECK(a.head == NULL);
}

TEST(util_sha256_known_vectors)
{
	unsigned char md[32];
	char hex[65];
	util_sha256("abc", 3, md);
	util_hex(md, 32, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223"
		       "b00361a396177a9cb410ff61f20015ad");
	util_sha256("", 0, md);
	util_hex(md, 32, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb924"
		       "27ae41e4649b934ca495991b7852b855");
}

TEST(util_utoa_end_extremes)
{
	static const uint64_t v[] = {0, 9, 10, 99, 100, 12345, UINT64_MAX};
	static const char *const want[] = {
	    "0", "9", "10", "99", "100", "12345", "18446744073709551615"};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char b[21], *end = b + 20;
		*end = '\0';
		CHECK_STR(util_utoa_end(v[i], end), want[i]);
	}
}
