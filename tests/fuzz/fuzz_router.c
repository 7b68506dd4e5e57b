/*
 * fuzz_router.c — libFuzzer target for the path matcher: any method and
 * path must either route or give 404/405 (or, out of memory, D1E_NOMEM),
 * never crash or read out of bounds. Input: METHOD, a space, the path.
 */
#include "apierr.h"
#include "http.h"
#include "router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req r;
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *sp = strchr(buf, ' ');
	memset(&r, 0, sizeof(r));
	arena_init(&r.arena);
	r.method = sp ? (*sp = '\0', buf) : "GET";
	r.path = sp ? sp + 1 : buf;
	int rc;
	const struct route *rt = router_match(&r, &rc);
	if (rt && rc != 0)
		abort();
	if (!rt && rc != D1E_NO_ROUTE && rc != D1E_BAD_METHOD &&
	    rc != D1E_NOMEM)
		abort();
	arena_release(&r.arena);
	free(buf);
	return 0;
}
