/* Unit tests of dump.c: the value formatters against printf's own
 * %.15g/%.17g, and dumps that must read back into exactly the same values,
 * stop promptly when cancelled, and export a contentless fts5 table. */
#include "apierr.h"
#include "dump.h"
#include "test.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static const char *fmt_int(int64_t v, char *buf)
{
	buf[dump_fmt_int(v, buf)] = '\0';
	return buf;
}

static const char *fmt_real(double v, char *buf)
{
	buf[dump_fmt_real(v, buf)] = '\0';
	return buf;
}

/* What the dump wrote before it had its own printer: the reference. */
static void ref_real(double v, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, cap, "%.17g", v);
	if (!strpbrk(buf, ".e"))
		strcat(buf, ".0");
}

/* The formatter agrees with the reference, and reads back bit for bit. */
static int real_ok(double v)
{
	char got[DUMP_REAL_MAX + 1], want[64];
	fmt_real(v, got);
	ref_real(v, want, sizeof(want));
	double back = strtod(got, NULL);
	if (strcmp(got, want) != 0 || memcmp(&back, &v, sizeof(v)) != 0) {
		fprintf(stderr, "  %a: got %s, want %s\n", v, got, want);
		return 0;
	}
	return 1;
}

TEST(dump_fmt_int_extremes)
{
	char b[DUMP_INT_MAX + 1];
	CHECK_STR(fmt_int(0, b), "0");
	CHECK_STR(fmt_int(-1, b), "-1");
	CHECK_STR(fmt_int(9, b), "9");
	CHECK_STR(fmt_int(10, b), "10");
	CHECK_STR(fmt_int(-100, b), "-100");
	CHECK_STR(fmt_int(9007199254740993, b), "9007199254740993");
	CHECK_STR(fmt_int(INT64_MAX, b), "9223372036854775807");
	CHECK_STR(fmt_int(INT64_MIN, b), "-9223372036854775808");
}

TEST(dump_fmt_real_exact_strings)
{
	char b[DUMP_REAL_MAX + 1];
	CHECK_STR(fmt_real(1.0, b), "1.0");
	CHECK_STR(fmt_real(-2.5, b), "-2.5");
	CHECK_STR(fmt_real(0.1, b), "0.1");
	CHECK_STR(fmt_real(0.1 + 0.2, b), "0.30000000000000004");
	CHECK_STR(fmt_real(1.0 / 3, b), "0.33333333333333331");
	CHECK_STR(fmt_real(3.141592653589793, b), "3.1415926535897931");
	CHECK_STR(fmt_real(100.0, b), "100.0");
	CHECK_STR(fmt_real(1e15, b), "1e+15");
	CHECK_STR(fmt_real(123456789012345.0, b), "123456789012345.0");
	/* a tie at 15 digits, which do not read back: 17 */
	CHECK_STR(fmt_real(1234567890123455.0, b), "1234567890123455.0");
	CHECK_STR(fmt_real(9007199254740993.0, b), "9007199254740992.0");
	CHECK_STR(fmt_real(1e300, b), "1e+300");
	CHECK_STR(fmt_real(-2.5e-300, b), "-2.5e-300");
	CHECK_STR(fmt_real(0.0001, b), "0.0001");
	CHECK_STR(fmt_real(0.00001, b), "1e-05");
	CHECK_STR(fmt_real(1.5e-7, b), "1.5e-07");
	CHECK_STR(fmt_real(ldexp(1, -25), b), "2.9802322387695312e-08");
	CHECK_STR(fmt_real(DBL_MAX, b), "1.7976931348623157e+308");
	CHECK_STR(fmt_real(4.9406564584124654e-324, b),
		  "4.94065645841247e-324");
	CHECK_STR(fmt_real(0.0, b), "0.0");
	CHECK_STR(fmt_real(-0.0, b), "-0.0");
	CHECK_STR(fmt_real(INFINITY, b), "9e999");
	CHECK_STR(fmt_real(-INFINITY, b), "-9e999");
	CHECK_STR(fmt_real(NAN, b), "NULL");
}

/* Powers of ten and their neighbours, the edges of the fast path's range,
 * values that round up to the next power, and ties. */
TEST(dump_fmt_real_edges_match_printf)
{
	int bad = 0;
	for (int e = -330; e <= 310; e++) {
		double p = strtod("1e0", NULL) * pow(10, e);
		if (!isfinite(p) || p == 0)
			continue;
		double v[] = {p,
			      nextafter(p, 0),
			      nextafter(p, INFINITY),
			      p * 9.999999999999999,
			      p * 0.99999999999999994,
			      p * 1.5,
			      -p / 7};
		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			bad += isfinite(v[i]) && !real_ok(v[i]);
	}
	for (int e = -1074; e <= 1023; e++)
		bad += !real_ok(ldexp(1, e)) + !real_ok(ldexp(3, e - 1));
	bad += !real_ok(DBL_MIN) + !real_ok(nextafter(DBL_MIN, 0));
	bad += !real_ok(1234567890123445.0) + !real_ok(1234567890123455.0);
	CHECK(bad == 0);
}

/* Random doubles of every kind (bit patterns, short decimals, fractions)
 * against printf. */
TEST(dump_fmt_real_random_match_printf)
{
	uint64_t s = 0x9e3779b97f4a7c15u;
	int bad = 0;
	for (int i = 0; i < 300000 && bad < 10; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		double v;
		switch (i % 4) {
		case 0: memcpy(&v, &s, sizeof(v)); break;
		case 1:
			v = (double)(s % 100000000) /
			    pow(10, (double)((s >> 40) % 12));
			break;
		case 2:
			v = (double)(s % 1000000) / (double)(1 + (s >> 44));
			break;
		default:
			v = ldexp((double)(s >> 11),
				  (int)((s >> 3) % 300) - 200);
		}
		if (!isnan(v))
			bad += !real_ok(v);
	}
	CHECK(bad == 0);
}

/* ---- whole dumps ---- */

static sqlite3 *open_mem(const char *sql)
{
	sqlite3 *db = NULL;
	CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	char *err = NULL;
	if (sql && sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "  setup: %s\n", err);
		test_failures++;
	}
	sqlite3_free(err);
	return db;
}

/* The dump of db as a string (caller frees), its return code in *rc. */
static char *dump(sqlite3 *db, const struct dump_opts *o,
		  const struct dump_progress *pr, int *rc, char *err,
		  size_t cap)
{
	FILE *f = tmpfile();
	int64_t bytes = -1;
	char *text = NULL;
	CHECK(f != NULL);
	if (!f)
		return NULL;
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	*rc = dump_write(db, o, fileno(f), pr, &bytes, err, cap);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	text = calloc(1, (size_t)bytes + 1);
	CHECK(text != NULL && bytes >= 0);
	if (text && pread(fileno(f), text, (size_t)bytes, 0) != bytes)
		test_failures++;
	fclose(f);
	return text;
}

/* Table t of a and of b hold the same values, exactly: types, the bits
 * of reals (so -0.0 too), the bytes of text and BLOBs. */
static int same_values(sqlite3 *a, sqlite3 *b)
{
	sqlite3_stmt *sa = NULL, *sb = NULL;
	int same = 1, ra, rb;
	const char *q = "SELECT v FROM t ORDER BY rowid";
	if (sqlite3_prepare_v2(a, q, -1, &sa, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(b, q, -1, &sb, NULL) != SQLITE_OK)
		same = 0;
	for (int row = 0; same; row++) {
		ra = sqlite3_step(sa);
		rb = sqlite3_step(sb);
		if (ra != rb) {
			same = 0;
			break;
		}
		if (ra != SQLITE_ROW)
			break;
		int ta = sqlite3_column_type(sa, 0);
		if (ta != sqlite3_column_type(sb, 0)) {
			same = 0;
		} else if (ta == SQLITE_FLOAT) {
			double x = sqlite3_column_double(sa, 0);
			double y = sqlite3_column_double(sb, 0);
			same = memcmp(&x, &y, sizeof(x)) == 0;
		} else if (ta != SQLITE_NULL) {
			const void *x = sqlite3_column_blob(sa, 0);
			const void *y = sqlite3_column_blob(sb, 0);
			int n = sqlite3_column_bytes(sa, 0);
			same = n == sqlite3_column_bytes(sb, 0) &&
			       (n == 0 || memcmp(x, y, (size_t)n) == 0);
		}
		if (!same)
			fprintf(stderr, "  row %d differs\n", row + 1);
	}
	sqlite3_finalize(sa);
	sqlite3_finalize(sb);
	return same;
}

TEST(dump_values_read_back_exactly)
{
	/* Reals of ordinary magnitudes only: under valgrind, which has no
	 * 80-bit long double, SQLite's own parser misreads some extreme ones
	 * (1e308); the formatter tests above cover those against strtod.
	 * Text of every shape: quotes, line breaks, the markers' own text,
	 * NUL bytes, empty; BLOBs empty and not; large values that take the
	 * slow paths (past DUMP_DIRECT and past the whole buffer). */
	sqlite3 *db = open_mem(
	    "CREATE TABLE t(v);"
	    "INSERT INTO t VALUES (9223372036854775807), "
	    "(-9223372036854775808), (0), (0.0), (-0.0), (0.1), (1e20), "
	    "(-2.5e-7), (123456.789), (9e999), (-9e999), "
	    "(1.0/3), ('it''s'), (''), ('a' || char(10) || 'b'), "
	    "('x' || char(13) || char(10) || 'y'), "
	    "('\\n and ' || char(10) || ' and \\n1 \\r' || char(13)), "
	    "('nul' || char(0) || 'inside'), (char(0)), (x''), (x'00ff10'), "
	    "(NULL), ('üñí ✓'), "
	    "(replace(printf('%.*c', 300000, 'x'), 'x', char(39, 10))), "
	    "(printf('%.*c', 1500000, 'y')), "
	    "(replace(printf('%.*c', 700000, 'x'), 'x', char(13))), "
	    "(randomblob(1200000));");
	struct dump_opts o = {0};
	char err[256];
	int rc = -1;
	char *sql = dump(db, &o, NULL, &rc, err, sizeof(err));
	CHECK(rc == 0);
	CHECK(sql && !strncmp(sql, "PRAGMA defer_foreign_keys=TRUE;\n", 32));
	CHECK(sql && strstr(sql, "'it''s');\n"));
	CHECK(sql && strstr(sql, ",replace('a\\nb','\\n',char(10)));\n"));
	CHECK(sql && strstr(sql, ",replace(replace('x\\r\\ny','\\r',char(13)),"
				 "'\\n',char(10)));\n"));
	/* markers that the text does not contain */
	CHECK(sql &&
	      strstr(sql, ",replace(replace('\\n and \\n2 and \\n1 "
			  "\\r\\r1','\\r1',char(13)),'\\n2',char(10)));\n"));
	CHECK(sql && strstr(sql, ",CAST(X'6e756c00696e73696465' AS "
				 "TEXT));\n"));
	CHECK(sql && strstr(sql, ",X'');\n"));
	CHECK(sql && strstr(sql, ",'');\n"));
	CHECK(sql && strstr(sql, ",-0.0);\n"));
	CHECK(sql && strstr(sql, ",9e999);\n"));
	CHECK(sql && strstr(sql, ",-9223372036854775808);\n"));
	CHECK(sql && strlen(sql) > 1200000 + 1500000 + 1400000 + 2400000);
	sqlite3 *copy = open_mem(sql);
	CHECK(same_values(db, copy));
	free(sql);
	sqlite3_close(copy);
	sqlite3_close(db);
}

struct cancel_ctx {
	atomic_int flag;
	int at_rows; /* the progress call at which to cancel (-1: never) */
};

static void cancel_at(void *ctx, const char *table, int64_t rows)
{
	struct cancel_ctx *c = ctx;
	(void)table;
	if (rows == c->at_rows)
		atomic_store(&c->flag, 1);
}

/* The lines of s that start with what. (By hand: the sanitizers' strstr
 * measures the whole rest of the string at every call.) */
static size_t count(const char *s, const char *what)
{
	size_t n = 0, len = strlen(what);
	for (const char *line = s; line && *line;) {
		n += strncmp(line, what, len) == 0;
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return n;
}

TEST(dump_cancel_stops_within_a_row)
{
	sqlite3 *db = open_mem(
	    "CREATE TABLE t(v);"
	    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
	    "WHERE x < 200000) INSERT INTO t SELECT x FROM c;");
	struct dump_opts o = {0};
	struct cancel_ctx cc = {.at_rows = 0};
	struct dump_progress pr = {cancel_at, &cc, &cc.flag, "stop now", NULL};
	char err[256];
	int rc = 0;
	/* Cancelled as the table begins: at most one row gets out. */
	char *sql = dump(db, &o, &pr, &rc, err, sizeof(err));
	CHECK(rc == D1E_SQL);
	CHECK_STR(err, "stop now");
	CHECK(count(sql, "INSERT INTO") <= 1);
	free(sql);
	/* Cancelled before it starts: it stops in its first statement. */
	cc.at_rows = -1;
	atomic_store(&cc.flag, 1);
	sql = dump(db, &o, &pr, &rc, err, sizeof(err));
	CHECK(rc == D1E_SQL);
	CHECK_STR(err, "stop now");
	CHECK(count(sql, "INSERT INTO") == 0);
	free(sql);
	/* Not cancelled: every row, and the handler is gone afterwards. */
	atomic_store(&cc.flag, 0);
	sql = dump(db, &o, &pr, &rc, err, sizeof(err));
	CHECK(rc == 0);
	CHECK(count(sql, "INSERT INTO") == 200000);
	free(sql);
	atomic_store(&cc.flag, 1);
	CHECK(sqlite3_exec(db, "SELECT count(*) FROM t", NULL, NULL, NULL) ==
	      SQLITE_OK);
	sqlite3_close(db);
}

TEST(dump_contentless_fts5_exported_empty)
{
	sqlite3 *db = open_mem("CREATE VIRTUAL TABLE cl USING fts5(x, "
			       "content='');"
			       "INSERT INTO cl(rowid, x) VALUES (1, 'alpha');");
	struct dump_opts o = {0};
	char err[256];
	int rc = -1;
	char *sql = dump(db, &o, NULL, &rc, err, sizeof(err));
	CHECK(rc == 0);
	CHECK(sql && strstr(sql, "-- The next table is a contentless fts5 "
				 "table (content='')"));
	CHECK(sql && strstr(sql, "empty; index the text again after the "
				 "import.\nCREATE VIRTUAL TABLE cl USING "
				 "fts5(x, content='');\n"));
	CHECK(count(sql, "INSERT") == 0);
	CHECK(sql && !strstr(sql, "cl_"));
	/* It imports as a working, empty table. */
	sqlite3 *copy = open_mem(sql);
	CHECK(sqlite3_exec(copy, "INSERT INTO cl(rowid, x) VALUES (2, 'beta')",
			   NULL, NULL, NULL) == SQLITE_OK);
	free(sql);
	sqlite3_close(copy);
	sqlite3_close(db);
}
