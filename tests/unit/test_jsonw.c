/* Unit tests of the streaming JSON writer. */
#include "jsonw.h"
#include "test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Run the writer and compare its output with want. */
static void expect(struct jsonw *w, const char *want)
{
	size_t len;
	char *out = jsonw_take(w, &len);
	CHECK(out != NULL);
	if (!out)
		return;
	char *z = strndup(out, len);
	CHECK_STR(z, want);
	free(z);
	free(out);
}

TEST(jsonw_nesting_and_commas)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "a");
	jsonw_arr_begin(&w);
	jsonw_int(&w, 1);
	jsonw_null(&w);
	jsonw_bool(&w, 1);
	jsonw_obj_begin(&w);
	jsonw_obj_end(&w);
	jsonw_arr_end(&w);
	jsonw_key(&w, "b");
	jsonw_str(&w, "x");
	jsonw_obj_end(&w);
	expect(&w, "{\"a\":[1,null,true,{}],\"b\":\"x\"}");
}

TEST(jsonw_integers_exact)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_arr_begin(&w);
	jsonw_int(&w, INT64_MAX);
	jsonw_int(&w, INT64_MIN);
	jsonw_int(&w, 9007199254740993LL); /* 2^53 + 1 */
	jsonw_arr_end(&w);
	expect(&w,
	       "[9223372036854775807,-9223372036854775808,9007199254740993]");
}

TEST(jsonw_doubles_shortest_roundtrip)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_arr_begin(&w);
	jsonw_double(&w, 0.1);
	jsonw_double(&w, 1.5);
	jsonw_double(&w, 1e300);
	jsonw_double(&w, 0.0 / 0.0);
	jsonw_double(&w, 1.0 / 3.0);
	jsonw_arr_end(&w);
	expect(&w, "[0.1,1.5,1e+300,null,0.3333333333333333]");
}

TEST(jsonw_escapes_control_and_quotes)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_strn(&w, "a\"b\\c\n\r\t\x01\x1f/", 11);
	expect(&w, "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f/\"");
}

/* Every ASCII byte alone: as it is, or its escape, exactly as RFC 8259
 * says (the writer's table of plain bytes against a spelled-out rule). */
TEST(jsonw_every_ascii_byte)
{
	for (int c = 0; c < 0x80; c++) {
		char in = (char)c, want[16];
		switch (c) {
		case '"': snprintf(want, sizeof(want), "\"\\\"\""); break;
		case '\\': snprintf(want, sizeof(want), "\"\\\\\""); break;
		case '\n': snprintf(want, sizeof(want), "\"\\n\""); break;
		case '\r': snprintf(want, sizeof(want), "\"\\r\""); break;
		case '\t': snprintf(want, sizeof(want), "\"\\t\""); break;
		case '\b': snprintf(want, sizeof(want), "\"\\b\""); break;
		case '\f': snprintf(want, sizeof(want), "\"\\f\""); break;
		default:
			if (c < 0x20)
				snprintf(want, sizeof(want), "\"\\u%04x\"", c);
			else
				snprintf(want, sizeof(want), "\"%c\"", c);
		}
		struct jsonw w;
		jsonw_init(&w);
		jsonw_strn(&w, &in, 1);
		expect(&w, want);
	}
}

TEST(jsonw_utf8_valid_passes_invalid_replaced)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_arr_begin(&w);
	jsonw_str(&w, "h\xc3\xa9llo \xf0\x9f\x98\x80"); /* é and an emoji */
	jsonw_str(&w, "\xff");				/* never valid */
	jsonw_str(&w, "\xc0\xaf");			/* overlong '/' */
	jsonw_str(&w, "\xed\xa0\x80");			/* surrogate */
	jsonw_str(&w, "\xe2\x82");			/* truncated */
	jsonw_arr_end(&w);
	expect(&w, "[\"h\xc3\xa9llo \xf0\x9f\x98\x80\",\"\xef\xbf\xbd\","
		   "\"\xef\xbf\xbd\xef\xbf\xbd\","
		   "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\","
		   "\"\xef\xbf\xbd\xef\xbf\xbd\"]");
}

TEST(jsonw_embedded_nul_escaped)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_strn(&w, "a\0b", 3);
	expect(&w, "\"a\\u0000b\"");
}

TEST(jsonw_depth_limit_fails_cleanly)
{
	struct jsonw w;
	size_t len;
	jsonw_init(&w);
	for (int i = 0; i < JSONW_MAX_DEPTH + 5; i++)
		jsonw_arr_begin(&w);
	CHECK(jsonw_failed(&w));
	CHECK(jsonw_take(&w, &len) == NULL);
	CHECK(len == 0);
}

TEST(jsonw_large_output_grows)
{
	struct jsonw w;
	size_t len;
	jsonw_init(&w);
	jsonw_arr_begin(&w);
	for (int i = 0; i < 100000; i++)
		jsonw_int(&w, i);
	jsonw_arr_end(&w);
	char *out = jsonw_take(&w, &len);
	CHECK(out && out[0] == '[' && out[len - 1] == ']');
	CHECK(len == 588891);
	free(out);
}

TEST(jsonw_ms_as_double_would_print)
{
	static const int64_t us[] = {0,	   1,	 10,   47,    100,	 999,
				     1000, 1500, 1234, 60000, 123456789, -5};
	struct jsonw w;
	jsonw_init(&w);
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < sizeof(us) / sizeof(us[0]); i++)
		jsonw_ms(&w, us[i]);
	jsonw_arr_end(&w);
	/* A negative duration (a clock step) is 0. */
	expect(&w,
	       "[0,0.001,0.01,0.047,0.1,0.999,1,1.5,1.234,60,123456.789,0]");
}
