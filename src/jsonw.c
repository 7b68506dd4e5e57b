/*
 * jsonw.c — streaming JSON writer (see jsonw.h).
 *
 * The string escaper is the hot loop of every query answer: it copies runs of
 * plain ASCII with one memcpy and only decodes UTF-8 where a byte is >= 0x80,
 * validating it by the rules of RFC 3629 (no overlongs, no surrogates,
 * nothing above U+10FFFF).
 */
#include "jsonw.h"

#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
	w->first[0] = 1;
}

void jsonw_release(struct jsonw *w)
{
	free(w->buf);
	jsonw_init(w);
}

int jsonw_failed(const struct jsonw *w)
{
	return w->failed;
}

char *jsonw_take(struct jsonw *w, size_t *len)
{
	char *b = w->buf;
	*len = w->len;
	if (w->failed) {
		free(b);
		b = NULL;
		*len = 0;
	}
	jsonw_init(w);
	return b;
}

int jsonw_reserve(struct jsonw *w, size_t n)
{
	if (w->failed)
		return -1;
	if (w->cap - w->len >= n)
		return 0;
	size_t cap = w->cap ? w->cap : 1024;
	while (cap - w->len < n) {
		if (cap > SIZE_MAX / 2) {
			w->failed = 1;
			return -1;
		}
		cap *= 2;
	}
	char *b = realloc(w->buf, cap);
	if (!b) {
		w->failed = 1;
		return -1;
	}
	w->buf = b;
	w->cap = cap;
	return 0;
}

/* jsonw_reserve()'s test, inlined where every byte is written. */
static inline int room(struct jsonw *w, size_t n)
{
	return !w->failed && w->cap - w->len >= n ? 0 : jsonw_reserve(w, n);
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	if (room(w, n) == 0) {
		memcpy(w->buf + w->len, s, n);
		w->len += n;
	}
}

static void putc1(struct jsonw *w, char c)
{
	if (room(w, 1) == 0)
		w->buf[w->len++] = c;
}

/* Called before every value and key: the comma between siblings. */
static void sep(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (!w->first[w->depth])
		putc1(w, ',');
	w->first[w->depth] = 0;
}

static void open(struct jsonw *w, char c)
{
	sep(w);
	putc1(w, c);
	if (w->depth + 1 >= JSONW_MAX_DEPTH) {
		w->failed = 1;
		return;
	}
	w->first[++w->depth] = 1;
}

static void close_(struct jsonw *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	putc1(w, c);
}

void jsonw_obj_begin(struct jsonw *w)
{
	open(w, '{');
}
void jsonw_obj_end(struct jsonw *w)
{
	close_(w, '}');
}
void jsonw_arr_begin(struct jsonw *w)
{
	open(w, '[');
}
void jsonw_arr_end(struct jsonw *w)
{
	close_(w, ']');
}

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 if the bytes
 * there are not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0xC2 || c > 0xF4)
		return 0;
	if (c < 0xE0)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c < 0xF0) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0; /* surrogate */
		return 3;
	}
	if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
	    (s[3] & 0xC0) != 0x80)
		return 0;
	if (c == 0xF0 && s[1] < 0x90)
		return 0; /* overlong */
	if (c == 0xF4 && s[1] >= 0x90)
		return 0; /* above U+10FFFF */
	return 4;
}

/* 1 for the bytes a JSON string holds as they are: printable ASCII but
 * the quote (0x22) and the backslash (0x5c). A table, because every key
 * and string value of an answer is scanned byte by byte. */
/* clang-format off */
static const unsigned char plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 30 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 50 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 70 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 80 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 90 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* a0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* b0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* c0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* d0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* e0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* f0 */
};
/* clang-format on */

static void put_escaped(struct jsonw *w, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	putc1(w, '"');
	while (i < n) {
		size_t run = i;
		while (run < n && plain[s[run]])
			run++;
		if (run > i) {
			put(w, str + i, run - i);
			i = run;
			if (i == n)
				break;
		}
		unsigned char c = s[i];
		if (c >= 0x80) {
			size_t k = utf8_len(s + i, n - i);
			if (k) {
				put(w, str + i, k);
				i += k;
			} else {
				put(w, "\xEF\xBF\xBD", 3);
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': put(w, "\\\"", 2); break;
		case '\\': put(w, "\\\\", 2); break;
		case '\n': put(w, "\\n", 2); break;
		case '\r': put(w, "\\r", 2); break;
		case '\t': put(w, "\\t", 2); break;
		case '\b': put(w, "\\b", 2); break;
		case '\f': put(w, "\\f", 2); break;
		default: {
			char u[6] = {'\\', 'u',		'0',
				     '0',  hex[c >> 4], hex[c & 15]};
			put(w, u, 6);
		}
		}
		i++;
	}
	putc1(w, '"');
}

void jsonw_keyn(struct jsonw *w, const char *k, size_t n)
{
	sep(w);
	put_escaped(w, k, n);
	putc1(w, ':');
	w->after_key = 1;
}

void jsonw_key(struct jsonw *w, const char *k)
{
	jsonw_keyn(w, k, strlen(k));
}

void jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
	sep(w);
	put_escaped(w, s, n);
}

void jsonw_str(struct jsonw *w, const char *s)
{
	if (!s) {
		jsonw_null(w);
		return;
	}
	jsonw_strn(w, s, strlen(s));
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	char b[24], *end = b + sizeof(b);
	char *p = util_utoa_end(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, end);
	if (v < 0)
		*--p = '-';
	sep(w);
	put(w, p, (size_t)(end - p));
}

void jsonw_double(struct jsonw *w, double v)
{
	char b[32];
	if (!isfinite(v)) {
		jsonw_null(w);
		return;
	}
	/* The shortest of %.15g..%.17g that reads back as the same double, so
	 * 0.1 prints as 0.1 and not 0.10000000000000001. */
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(b, sizeof(b), "%.*g", prec, v);
		if (strtod(b, NULL) == v)
			break;
	}
	/* A double that happens to be integral still reads back as a number;
	 * JSON has one number type, so no ".0" is added. */
	sep(w);
	put(w, b, (size_t)n);
}

void jsonw_ms(struct jsonw *w, int64_t us)
{
	char b[32], *end = b + sizeof(b), *p = end;
	if (us < 0)
		us = 0;
	int frac = (int)(us % 1000), digits = 3;
	/* The shortest form, as jsonw_double prints us/1000.0: 1.5, 2, 0.047.
	 */
	while (digits > 0 && frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	for (int i = 0; i < digits; i++, frac /= 10)
		*--p = (char)('0' + frac % 10);
	if (digits)
		*--p = '.';
	p = util_utoa_end((uint64_t)(us / 1000), p);
	sep(w);
	put(w, p, (size_t)(end - p));
}

void jsonw_bool(struct jsonw *w, int v)
{
	sep(w);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void jsonw_null(struct jsonw *w)
{
	sep(w);
	put(w, "null", 4);
}

void jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	sep(w);
	put(w, s, n);
}
