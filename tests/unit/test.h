/*
 * test.h — a minimal unit-test harness. Each TEST() registers itself before
 * main() runs; main.c runs them all and ends with the line
 * "N passed, N failed". CHECK() records a failure and goes on; the test
 * counts as failed if any CHECK in it failed.
 */
#ifndef D1D_TEST_H
#define D1D_TEST_H

#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
extern int test_failures; /* CHECK failures in the running test */

#define TEST(name)                                                             \
	static void test_##name(void);                                         \
	__attribute__((constructor)) static void reg_##name(void)              \
	{                                                                      \
		test_register(#name, test_##name);                             \
	}                                                                      \
	static void test_##name(void)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n",         \
				__FILE__, __LINE__, #cond);                    \
			test_failures++;                                       \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                       \
			fprintf(stderr, "  %s:%d: \"%s\" != \"%s\"\n",         \
				__FILE__, __LINE__, a_ ? a_ : "(null)",        \
				b_ ? b_ : "(null)");                           \
			test_failures++;                                       \
		}                                                              \
	} while (0)

/* A fresh empty directory under $TMPDIR for one test; the caller removes
 * it with util_rm_rf(). Returns a static buffer. */
const char *test_tmpdir(void);

#endif
