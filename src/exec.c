/*
 * exec.c — running D1 requests' SQL the way D1 does (COMPAT.md §2).
 *
 * Splitting. A multi-statement sql is split by SQLite's own parser: each
 * sqlite3_prepare_v3() consumes one statement and hands back the tail, so
 * semicolons inside strings, comments, triggers (BEGIN...END) and CASE
 * never split anything. Empty statements (";;", trailing comments) are
 * skipped, as SQLite's shell does.
 *
 * Parameters. A unit's params bind to its statements in order: the first
 * statement takes as many as it has parameters (sqlite3_bind_parameter_count,
 * so ?NNN counts up to its largest NNN), the next statement the following
 * ones, and so on; all must be used. For a single statement this is exactly
 * D1's rule: the count must match.
 *
 * Atomicity. The caller runs the whole batch inside one transaction (the
 * writer's per-request savepoint, or a read transaction on a reader); any
 * error fails the run and the caller rolls it back.
 *
 * Sandbox. Every connection gets an authorizer implementing D1's rules
 * (no ATTACH, no TEMP objects, no transactions, PRAGMA and virtual-table
 * allow-lists, reserved _cf_ names), SQLITE_DBCONFIG_DEFENSIVE, no
 * extension loading, untrusted schema, and D1's limits. The authorizer only
 * judges user statements: it applies only while one is being prepared
 * (the connection's `judging` flag); d1d's own statements pass.
 *
 * Counting. rows_written counts table rows inserted, updated or deleted
 * (preupdate hook, so trigger-made rows count too) plus, for each, one
 * entry per index of its table (an INSERT into a table with one index
 * writes 2, as in D1); rows_read counts full-scan steps, or the rows
 * returned if more, the closest the stock SQLite gets to D1's patched counters.
 *
 * Per connection (struct conn, freed by exec_conn_teardown before the
 * connection closes): the last 16 prepared statements, keyed by their SQL
 * to the end of the unit (a statement is judged by the sandbox once, when
 * prepared); the index counts behind rows_written; and the statements d1d
 * runs itself (size_after, read BEGIN/COMMIT). Answers are built in memory
 * and capped at lim->max_result_bytes. A lone VACUUM (exec_wants_alone)
 * runs outside any transaction, with one ATTACH slot for SQLite's own use.
 *
 * Imports (ingest.c) run user statements one at a time through
 * exec_user_prepare() and exec_user_step(): the same authorizer, limits,
 * time limit (per statement) and counters, without the statement cache or
 * a JSON answer.
 */
#include "exec.h"

#include "apierr.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A prepared statement kept for the next request with the same text. The
 * key is the SQL from the statement's first byte to the end of its unit, so
 * a repeated multi-statement sql finds each of its statements. */
#define EXEC_STMT_CACHE		16
#define EXEC_STMT_CACHE_MAX_SQL 4096

struct cached_stmt {
	char *sql; /* malloc'd key, NULL when the slot is free */
	size_t len;
	size_t stmt_len; /* the statement's own length (to its tail) */
	sqlite3_stmt *st;
	int pragma; /* preparing it set touched_pragma */
	uint64_t used;
};

/* Per-connection state, reached from SQLite's callbacks. */
struct conn {
	sqlite3 *db;
	int writer;
	int judging;	      /* preparing user SQL: the authorizer applies */
	int altering;	      /* ...and it is an ALTER TABLE */
	const char *deny_why; /* the authorizer's reason for its last denial */
	int touched_pragma;   /* a user PRAGMA changed connection state */
	int64_t deadline_us;  /* monotonic; 0 = none */
	int timed_out;
	atomic_int *cancel; /* an import's job: stop when set */
	int64_t budget_us;  /* monotonic end of exec_run's budget; 0 = none */
	int over_budget;
	/* A user's statement is stepping: only then do the limits above
	 * apply. d1d's own statements around it (BEGIN and COMMIT of a
	 * reader, size_after, index counts) are never stopped: SQLite calls
	 * the progress handler at the end of any statement, and an
	 * interrupted COMMIT would leave a reader in its read transaction,
	 * answering every later request from that old snapshot. */
	int user_stepping;
	int64_t rows_written;
	/* Rows changed per table during the current statement, so that one
	 * index entry per index can be added once the statement is done (no
	 * SQL may run inside the preupdate hook). Tables past the array's end
	 * are counted without their indexes. */
	struct {
		char name[64];
		int64_t rows;
	} touched[8];
	int ntouched;
	const struct exec_limits *lim;
	/* PRAGMA page_count, freelist_count and page_size for size_after:
	 * plain PRAGMA statements, because their table-valued forms
	 * (pragma_page_count()) prepare a new statement at every run. Even
	 * so SQLite compiles page_count and page_size anew at each run
	 * (0.65 µs each; freelist_count and schema_version it does not), so
	 * the writer keeps the page size (psize, below). */
	sqlite3_stmt *size_stmt[3];
	/* A reader's last size_after and the data version it was read at
	 * (SQLITE_FCNTL_DATA_VERSION, which changes with the content of the
	 * snapshot): the PRAGMAs run only when the database has changed. */
	int size_known;
	unsigned size_version;
	int64_t size_bytes;
	/* The writer's page size and the schema cookie it was read under. */
	int64_t psize, psize_version;
	sqlite3_stmt *index_stmt; /* number of indexes of a table */
	/* index_stmt's answers, kept until a statement may change the schema
	 * (CREATE, DROP, ALTER, VACUUM), a request fails (its DDL is rolled
	 * back), or the schema cookie is not the one they were read under (a
	 * group's COMMIT failed and rolled back DDL of requests that had
	 * succeeded). At worst a stale entry misstates rows_written.
	 */
	struct {
		char name[64];
		int64_t nindex;
	} icache[16];
	int nicache;
	int64_t icache_version;	    /* schema_version of icache's answers */
	sqlite3_stmt *version_stmt; /* the writer's PRAGMA schema_version */
	sqlite3_stmt *begin_stmt,
	    *commit_stmt; /* a reader's read transaction */
	struct cached_stmt cache[EXEC_STMT_CACHE];
	uint64_t tick;
};

/* ---- parsing the body ---- */

static int parse_unit(json_t *o, struct exec_unit *u, const char *where,
		      struct arena *a, const char **msg)
{
	json_t *sql = json_object_get(o, "sql");
	json_t *params = json_object_get(o, "params");
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "sql") != 0 && strcmp(key, "params") != 0) {
			*msg =
			    arena_printf(a,
					 "Invalid property: %s%.64s => unknown "
					 "field (expected sql and params)",
					 where, key);
			return D1E_BAD_REQUEST;
		}
	}
	if (!json_is_string(sql)) {
		*msg = arena_printf(a, "Invalid property: %ssql => %s", where,
				    sql ? "expected a string" : "required");
		return D1E_BAD_REQUEST;
	}
	u->sql = json_string_value(sql);
	u->len = json_string_length(sql);
	u->params = NULL;
	if (params && !json_is_null(params)) {
		if (!json_is_array(params)) {
			*msg = arena_printf(
			    a,
			    "Invalid property: %sparams => expected "
			    "an array",
			    where);
			return D1E_BAD_REQUEST;
		}
		size_t i;
		json_array_foreach(params, i, v)
		{
			if (json_is_array(v) || json_is_object(v)) {
				*msg = arena_printf(
				    a,
				    "Invalid property: %sparams[%zu] => "
				    "expected a string, number, boolean or "
				    "null",
				    where, i);
				return D1E_BAD_REQUEST;
			}
		}
		if (json_array_size(params) > EXEC_MAX_PARAMS) {
			*msg = arena_printf(
			    a,
			    "Too many SQL parameters: %zu (at most "
			    "%d)",
			    json_array_size(params), EXEC_MAX_PARAMS);
			return D1E_BAD_REQUEST;
		}
		u->params = params;
	}
	if (u->len == 0 || strspn(u->sql, " \t\r\n;") == u->len) {
		*msg = arena_printf(a, "Invalid property: %ssql => empty query",
				    where);
		return D1E_BAD_REQUEST;
	}
	return 0;
}

int exec_parse(struct arena *a, json_t *body, struct exec_batch *out,
	       const char **msg)
{
	json_t *batch = json_object_get(body, "batch");
	*msg = NULL;
	if (batch) {
		if (json_object_size(body) != 1) {
			*msg = "Invalid body: give either {sql, params} or "
			       "{batch: [...]}, not both";
			return D1E_BAD_REQUEST;
		}
		if (!json_is_array(batch) || json_array_size(batch) == 0) {
			*msg =
			    "Invalid property: batch => expected a non-empty "
			    "array of {sql, params}";
			return D1E_BAD_REQUEST;
		}
		out->n = json_array_size(batch);
		out->units = arena_alloc(a, sizeof(*out->units) * out->n);
		if (!out->units)
			return D1E_NOMEM;
		for (size_t i = 0; i < out->n; i++) {
			json_t *o = json_array_get(batch, i);
			char where[40];
			snprintf(where, sizeof(where), "batch[%zu].", i);
			if (!json_is_object(o)) {
				*msg =
				    arena_printf(a,
						 "Invalid property: batch[%zu] "
						 "=> expected an object",
						 i);
				return D1E_BAD_REQUEST;
			}
			int rc = parse_unit(o, &out->units[i], where, a, msg);
			if (rc)
				return rc;
		}
		return 0;
	}
	out->n = 1;
	out->units = arena_alloc(a, sizeof(*out->units));
	if (!out->units)
		return D1E_NOMEM;
	return parse_unit(body, out->units, "", a, msg);
}

/* ---- the sandbox ---- */

static int starts_cf(const char *name)
{
	return name && strncasecmp(name, "_cf_", 4) == 0;
}

static const char *const pragma_ok[] = {"table_list",
					"table_info",
					"table_xinfo",
					"index_info",
					"index_list",
					"index_xinfo",
					"foreign_key_check",
					"foreign_key_list",
					"quick_check",
					"optimize",
					NULL};
static const char *const pragma_noarg[] = {"data_version", "page_size", NULL};
static const char *const pragma_toggle[] = {
    "case_sensitive_like",	 "foreign_keys",
    "defer_foreign_keys",	 "ignore_check_constraints",
    "legacy_alter_table",	 "recursive_triggers",
    "reverse_unordered_selects", NULL};
static const char *const vtab_ok[] = {"fts5", "fts5vocab", "rtree", NULL};
static const char *const func_denied[] = {"load_extension",
					  "fts3_tokenizer",
					  "sqlite_compileoption_get",
					  "sqlite_compileoption_used",
					  "sqlite_version",
					  "sqlite_source_id",
					  NULL};

static int in_list(const char *s, const char *const *list)
{
	for (int i = 0; s && list[i]; i++)
		if (strcasecmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static int deny(struct conn *c, const char *why)
{
	c->deny_why = why;
	return SQLITE_DENY;
}

static int authorize(void *ud, int action, const char *a1, const char *a2,
		     const char *dbname, const char *trigger)
{
	struct conn *c = ud;
	(void)trigger;
	if (!c->judging)
		return SQLITE_OK;
	/* Only main may be used. SQLITE_ALTER_TABLE is the exception to the
	 * argument order: its schema is a1, and the fifth argument holds the
	 * column name of RENAME/DROP COLUMN. While it prepares an ALTER TABLE,
	 * SQLite itself reads the (always empty) temp schema to rewrite
	 * references, which is allowed then only. */
	if (action == SQLITE_ALTER_TABLE
		? (a1 && strcmp(a1, "main") != 0)
		: (dbname && strcmp(dbname, "main") != 0 &&
		   !(c->altering && strcmp(dbname, "temp") == 0)))
		return deny(c, "only the main database can be used");
	switch (action) {
	case SQLITE_ATTACH:
	case SQLITE_DETACH: return deny(c, "ATTACH and DETACH are not allowed");
	case SQLITE_CREATE_TEMP_INDEX:
	case SQLITE_CREATE_TEMP_TABLE:
	case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_CREATE_TEMP_VIEW:
	case SQLITE_DROP_TEMP_INDEX:
	case SQLITE_DROP_TEMP_TABLE:
	case SQLITE_DROP_TEMP_TRIGGER:
	case SQLITE_DROP_TEMP_VIEW:
		return deny(c, "TEMP tables, indexes, triggers and views are "
			       "not allowed");
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		return deny(c,
			    "BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE "
			    "are not allowed: each request is already one "
			    "transaction; send several statements in one sql "
			    "or use batch");
	case SQLITE_PRAGMA:
		if (in_list(a1, pragma_ok))
			return SQLITE_OK;
		if (in_list(a1, pragma_noarg) && !a2)
			return SQLITE_OK;
		if (in_list(a1, pragma_toggle)) {
			if (a2)
				c->touched_pragma = 1;
			return SQLITE_OK;
		}
		return deny(c, "this PRAGMA is not allowed");
	case SQLITE_FUNCTION:
		if (in_list(a2, func_denied))
			return deny(c, "this function is not allowed");
		return SQLITE_OK;
	case SQLITE_CREATE_VTABLE:
	case SQLITE_DROP_VTABLE:
		if (!in_list(a2, vtab_ok))
			return deny(c, "only fts5, fts5vocab and rtree virtual "
				       "tables are allowed");
		return starts_cf(a1) ? deny(c, "names starting with _cf_ are "
					       "reserved")
				     : SQLITE_OK;
	case SQLITE_CREATE_TABLE:
	case SQLITE_CREATE_INDEX:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_CREATE_VIEW:
	case SQLITE_DROP_TABLE:
	case SQLITE_DROP_INDEX:
	case SQLITE_DROP_TRIGGER:
	case SQLITE_DROP_VIEW:
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
	case SQLITE_ALTER_TABLE:
		if (action == SQLITE_ALTER_TABLE ? starts_cf(a2)
						 : starts_cf(a1))
			return deny(c, "names starting with _cf_ are reserved");
		return SQLITE_OK;
	case SQLITE_READ:
		if (starts_cf(a1))
			return deny(c, "names starting with _cf_ are reserved");
		/* Table-valued PRAGMA functions (SELECT * FROM pragma_x)
		 * answer to the same allow-list as the PRAGMA statement. */
		if (a1 && strncasecmp(a1, "pragma_", 7) == 0 &&
		    !in_list(a1 + 7, pragma_ok) &&
		    !in_list(a1 + 7, pragma_noarg) &&
		    !in_list(a1 + 7, pragma_toggle))
			return deny(c, "this PRAGMA is not allowed");
		/* Eponymous virtual tables that expose more than the data. */
		if (a1 && (!strcasecmp(a1, "dbstat") ||
			   !strcasecmp(a1, "sqlite_stmt") ||
			   !strcasecmp(a1, "sqlite_dbpage")))
			return deny(c, "this table is not allowed");
		return SQLITE_OK;
	default: return SQLITE_OK;
	}
}

static void on_preupdate(void *ud, sqlite3 *db, int op, const char *dbname,
			 const char *table, sqlite3_int64 k1, sqlite3_int64 k2)
{
	struct conn *c = ud;
	(void)db;
	(void)op;
	(void)dbname;
	(void)k1;
	(void)k2;
	c->rows_written++;
	for (int i = 0; i < c->ntouched; i++) {
		if (strcmp(c->touched[i].name, table) == 0) {
			c->touched[i].rows++;
			return;
		}
	}
	if (c->ntouched < (int)(sizeof(c->touched) / sizeof(c->touched[0])) &&
	    strlen(table) < sizeof(c->touched[0].name)) {
		strcpy(c->touched[c->ntouched].name, table);
		c->touched[c->ntouched].rows = 1;
		c->ntouched++;
	}
}

/* The writer's schema cookie, or -1. */
static int64_t schema_version(struct conn *c)
{
	int64_t v = -1;
	if (sqlite3_step(c->version_stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(c->version_stmt, 0);
	sqlite3_reset(c->version_stmt);
	return v;
}

/* Add the index entries of the rows the statement changed. */
static void count_index_writes(struct conn *c)
{
	for (int i = 0; i < c->ntouched; i++) {
		const char *name = c->touched[i].name;
		int64_t n = -1;
		for (int k = 0; k < c->nicache && n < 0; k++)
			if (strcmp(c->icache[k].name, name) == 0)
				n = c->icache[k].nindex;
		if (n < 0) {
			sqlite3_bind_text(c->index_stmt, 1, name, -1,
					  SQLITE_STATIC);
			n = sqlite3_step(c->index_stmt) == SQLITE_ROW
				? sqlite3_column_int64(c->index_stmt, 0)
				: 0;
			sqlite3_reset(c->index_stmt);
			sqlite3_clear_bindings(c->index_stmt);
			if (c->nicache <
			    (int)(sizeof(c->icache) / sizeof(c->icache[0]))) {
				strcpy(c->icache[c->nicache].name, name);
				c->icache[c->nicache++].nindex = n;
			}
		}
		c->rows_written += c->touched[i].rows * n;
	}
	c->ntouched = 0;
}

static int on_progress(void *ud)
{
	struct conn *c = ud;
	if (!c->user_stepping)
		return 0;
	if (c->deadline_us || c->budget_us) {
		int64_t now = util_mono_us();
		if (c->deadline_us && now > c->deadline_us) {
			c->timed_out = 1;
			return 1;
		}
		if (c->budget_us && now > c->budget_us) {
			c->over_budget = 1;
			return 1;
		}
	}
	return c->cancel && atomic_load(c->cancel);
}

void exec_user_cancel_flag(void *conn_ctx, atomic_int *cancel)
{
	struct conn *c = conn_ctx;
	c->cancel = cancel;
}

int exec_conn_setup(sqlite3 *db, int writer, void *ctx, void **conn_ctx)
{
	const struct exec_limits *lim = ctx;
	struct conn *c = calloc(1, sizeof(*c));
	int on = 1, off = 0;
	*conn_ctx = NULL;
	if (!c)
		return D1E_NOMEM;
	c->psize_version = -1; /* no page size read yet */
	c->db = db;
	c->writer = writer;
	c->lim = lim;

	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, on, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, off, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, off, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, on, NULL);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, EXEC_MAX_PARAMS);
	sqlite3_limit(db, SQLITE_LIMIT_COLUMN, 100);
	sqlite3_limit(db, SQLITE_LIMIT_FUNCTION_ARG, 32);
	sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 50);
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH,
		      lim->max_value_bytes > 0 &&
			      lim->max_value_bytes < 1000000000
			  ? (int)lim->max_value_bytes
			  : 2000000);

	int rc = sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
	if (rc == SQLITE_OK && writer && lim->max_db_bytes > 0) {
		char sql[96];
		snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%lld",
			 (long long)(lim->max_db_bytes / 4096));
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	static const char *const size_sql[3] = {
	    "PRAGMA page_count", "PRAGMA freelist_count", "PRAGMA page_size"};
	for (int i = 0; i < 3 && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v3(db, size_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT,
					&c->size_stmt[i], NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db,
					"SELECT count(*) FROM sqlite_schema "
					"WHERE type = 'index' AND tbl_name = ?",
					-1, SQLITE_PREPARE_PERSISTENT,
					&c->index_stmt, NULL);
	if (rc == SQLITE_OK && writer)
		rc = sqlite3_prepare_v3(db, "PRAGMA schema_version", -1,
					SQLITE_PREPARE_PERSISTENT,
					&c->version_stmt, NULL);
	if (rc == SQLITE_OK && !writer)
		rc = sqlite3_prepare_v3(db, "BEGIN", -1,
					SQLITE_PREPARE_PERSISTENT,
					&c->begin_stmt, NULL);
	if (rc == SQLITE_OK && !writer)
		rc = sqlite3_prepare_v3(db, "COMMIT", -1,
					SQLITE_PREPARE_PERSISTENT,
					&c->commit_stmt, NULL);
	if (rc != SQLITE_OK) {
		for (int i = 0; i < 3; i++)
			sqlite3_finalize(c->size_stmt[i]);
		sqlite3_finalize(c->index_stmt);
		sqlite3_finalize(c->version_stmt);
		sqlite3_finalize(c->begin_stmt);
		sqlite3_finalize(c->commit_stmt);
		free(c);
		return D1E_IO;
	}
	sqlite3_set_authorizer(db, authorize, c);
	sqlite3_preupdate_hook(db, on_preupdate, c);
	sqlite3_progress_handler(db, 1000, on_progress, c);
	*conn_ctx = c; /* freed by exec_conn_teardown(), before the close */
	return 0;
}

void exec_conn_teardown(void *conn_ctx)
{
	struct conn *c = conn_ctx;
	if (!c)
		return;
	/* Called before sqlite3_close(), which fails while a statement is
	 * unfinalized; the callbacks must not outlive c either. */
	for (int i = 0; i < 3; i++)
		sqlite3_finalize(c->size_stmt[i]);
	sqlite3_finalize(c->index_stmt);
	sqlite3_finalize(c->version_stmt);
	sqlite3_finalize(c->begin_stmt);
	sqlite3_finalize(c->commit_stmt);
	for (int i = 0; i < EXEC_STMT_CACHE; i++) {
		sqlite3_finalize(c->cache[i].st);
		free(c->cache[i].sql);
	}
	sqlite3_set_authorizer(c->db, NULL, NULL);
	sqlite3_preupdate_hook(c->db, NULL, NULL);
	sqlite3_progress_handler(c->db, 0, NULL, NULL);
	free(c);
}

/* ---- errors ---- */

static const char *code_name(int rc)
{
	static const char *const names[] = {
	    "SQLITE_OK",	"SQLITE_ERROR",	     "SQLITE_INTERNAL",
	    "SQLITE_PERM",	"SQLITE_ABORT",	     "SQLITE_BUSY",
	    "SQLITE_LOCKED",	"SQLITE_NOMEM",	     "SQLITE_READONLY",
	    "SQLITE_INTERRUPT", "SQLITE_IOERR",	     "SQLITE_CORRUPT",
	    "SQLITE_NOTFOUND",	"SQLITE_FULL",	     "SQLITE_CANTOPEN",
	    "SQLITE_PROTOCOL",	"SQLITE_EMPTY",	     "SQLITE_SCHEMA",
	    "SQLITE_TOOBIG",	"SQLITE_CONSTRAINT", "SQLITE_MISMATCH",
	    "SQLITE_MISUSE",	"SQLITE_NOLFS",	     "SQLITE_AUTH",
	    "SQLITE_FORMAT",	"SQLITE_RANGE",	     "SQLITE_NOTADB",
	    "SQLITE_NOTICE",	"SQLITE_WARNING"};
	rc &= 0xff;
	return rc >= 0 && rc < (int)(sizeof(names) / sizeof(names[0]))
		   ? names[rc]
		   : "SQLITE_ERROR";
}

/* SQLITE_FULL means either the size limit (max_page_count) or a full
 * disk, and SQLite does not say which. The limit is the answer when the
 * database is within reach of it: one statement rarely adds more than
 * EXEC_FULL_MARGIN bytes. A database that cannot even be measured is in
 * the pager's error state, which only a real I/O failure causes. */
#define EXEC_FULL_MARGIN ((int64_t)64 << 20)

static int near_size_limit(struct conn *c)
{
	sqlite3_stmt *st = NULL;
	int64_t bytes = -1;
	if (c->lim->max_db_bytes <= 0)
		return 0;
	if (sqlite3_prepare_v2(c->db,
			       "SELECT (SELECT page_count FROM "
			       "pragma_page_count()) * (SELECT page_size FROM "
			       "pragma_page_size())",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		bytes = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return bytes >= 0 && bytes + EXEC_FULL_MARGIN >= c->lim->max_db_bytes;
}

/* Format SQLite's error the way D1 does: "<errmsg>[ at offset N]: CODE". */
static int sql_error(struct exec_run *x, struct conn *c, int rc)
{
	sqlite3 *db = c->db;
	int prim = rc & 0xff;
	int off = sqlite3_error_offset(db);
	if (c->over_budget)
		return D1E_WOULD_BLOCK; /* not the request's fault: re-run */
	if (c->timed_out) {
		snprintf(x->err, sizeof(x->err),
			 "Query exceeded the time limit of %lld ms and was "
			 "stopped; nothing was changed: SQLITE_INTERRUPT",
			 (long long)c->lim->timeout_ms);
		return D1E_SQL;
	}
	if (c->cancel && atomic_load(c->cancel)) {
		snprintf(x->err, sizeof(x->err), "Cancelled: SQLITE_INTERRUPT");
		return D1E_SQL;
	}
	if (prim == SQLITE_FULL && c->writer && near_size_limit(c)) {
		snprintf(x->err, sizeof(x->err), "Exceeded maximum DB size.");
		return D1E_SQL;
	}
	/* The storage failed us: not the request's fault, so a 5xx. */
	if (prim == SQLITE_FULL) {
		snprintf(x->err, sizeof(x->err),
			 "Storage full: the server has no disk space left for "
			 "this write; nothing of this request was applied: "
			 "SQLITE_FULL");
		return D1E_FULL;
	}
	if (prim == SQLITE_IOERR) {
		snprintf(x->err, sizeof(x->err),
			 "Storage failure: %s; nothing of this request was "
			 "applied: SQLITE_IOERR",
			 sqlite3_errmsg(db));
		return D1E_IO;
	}
	/* A denial can surface as SQLITE_AUTH, or as SQLITE_ERROR ("not
	 * authorized to use function") or SQLITE_SCHEMA from within SQLite's
	 * own re-prepare; the authorizer's reason is the one to report. */
	if (c->deny_why) {
		snprintf(x->err, sizeof(x->err),
			 "not authorized: %s: SQLITE_AUTH", c->deny_why);
		return D1E_SQL;
	}
	if (off >= 0)
		snprintf(x->err, sizeof(x->err), "%s at offset %d: %s",
			 sqlite3_errmsg(db), off, code_name(prim));
	else
		snprintf(x->err, sizeof(x->err), "%s: %s", sqlite3_errmsg(db),
			 code_name(prim));
	return D1E_SQL;
}

static int plain_error(struct exec_run *x, const char *msg)
{
	snprintf(x->err, sizeof(x->err), "%s", msg);
	return D1E_SQL;
}

/* ---- running ---- */

static int bind_params(struct exec_run *x, struct conn *c, sqlite3_stmt *st,
		       json_t *params, size_t *next)
{
	int n = sqlite3_bind_parameter_count(st);
	size_t have = params ? json_array_size(params) : 0;
	if ((size_t)n > have - *next || (have < *next))
		return plain_error(x, "Wrong number of parameter bindings for "
				      "SQL query.");
	for (int i = 1; i <= n; i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);
		if (name && name[0] != '?')
			return plain_error(x, "Only ? and ?NNN parameters are "
					      "supported, not named ones "
					      "(:name, @name, $name).");
		json_t *v = json_array_get(params, *next + (size_t)i - 1);
		int rc;
		switch (json_typeof(v)) {
		case JSON_STRING:
			rc = sqlite3_bind_text64(st, i, json_string_value(v),
						 json_string_length(v),
						 SQLITE_STATIC, SQLITE_UTF8);
			break;
		case JSON_INTEGER:
			rc = sqlite3_bind_int64(st, i, json_integer_value(v));
			break;
		case JSON_REAL:
			rc = sqlite3_bind_double(st, i, json_real_value(v));
			break;
		case JSON_TRUE: rc = sqlite3_bind_int(st, i, 1); break;
		case JSON_FALSE: rc = sqlite3_bind_int(st, i, 0); break;
		default: rc = sqlite3_bind_null(st, i);
		}
		if (rc == SQLITE_NOMEM)
			return D1E_NOMEM;
		if (rc != SQLITE_OK) /* SQLITE_TOOBIG: a value over the limit */
			return sql_error(x, c, rc);
	}
	*next += (size_t)n;
	return 0;
}

static void write_value(struct jsonw *w, sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER: jsonw_int(w, sqlite3_column_int64(st, i)); break;
	case SQLITE_FLOAT: jsonw_double(w, sqlite3_column_double(st, i)); break;
	case SQLITE_TEXT:
		jsonw_strn(w, (const char *)sqlite3_column_text(st, i),
			   (size_t)sqlite3_column_bytes(st, i));
		break;
	case SQLITE_BLOB: {
		const unsigned char *b = sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i);
		jsonw_arr_begin(w);
		for (int k = 0; k < n; k++)
			jsonw_int(w, b[k]);
		jsonw_arr_end(w);
		break;
	}
	default: jsonw_null(w);
	}
}

static int64_t db_size(struct conn *c)
{
	int64_t v[3] = {0, 0, 0};
	unsigned version = 0;
	int versioned =
	    !c->writer &&
	    sqlite3_file_control(c->db, "main", SQLITE_FCNTL_DATA_VERSION,
				 &version) == SQLITE_OK;
	if (versioned && c->size_known && version == c->size_version)
		return c->size_bytes;
	/* PRAGMA page_size is compiled anew at every run; it changes only
	 * with VACUUM, which changes the schema cookie (a cheap PRAGMA). */
	int64_t cookie = c->writer ? schema_version(c) : -1;
	int n = c->writer && cookie >= 0 && cookie == c->psize_version ? 2 : 3;
	v[2] = c->psize;
	for (int i = 0; i < n; i++) {
		if (sqlite3_step(c->size_stmt[i]) == SQLITE_ROW)
			v[i] = sqlite3_column_int64(c->size_stmt[i], 0);
		sqlite3_reset(c->size_stmt[i]);
	}
	if (c->writer) {
		c->psize = v[2];
		c->psize_version = cookie;
	}
	c->size_known = versioned;
	c->size_version = version;
	c->size_bytes = (v[0] - v[1]) * v[2];
	return c->size_bytes;
}

/* The answer is built in memory: it is capped, so that one query cannot
 * take the server's memory with it. Checked after every value (one row can
 * hold a hundred 2 MB BLOBs). */
static int too_large(struct exec_run *x, struct conn *c)
{
	if (c->lim->max_result_bytes <= 0 ||
	    x->out.len <= (size_t)c->lim->max_result_bytes)
		return 0;
	snprintf(x->err, sizeof(x->err),
		 "Result too large: answers are limited to %lld bytes; add a "
		 "LIMIT or select fewer columns",
		 (long long)c->lim->max_result_bytes);
	return 1;
}

/* Step one prepared statement, writing its QueryResult. */
static int run_stmt(struct exec_run *x, struct conn *c, sqlite3_stmt *st)
{
	struct jsonw *w = &x->out;
	sqlite3 *db = c->db;
	int64_t changes0 = sqlite3_total_changes64(db);
	int64_t written0 = c->rows_written;
	int64_t nrows = 0, t0 = util_mono_us();

	c->ntouched = 0;
	/* Step before asking for the columns: a statement prepared before a
	 * schema change (a cached one) is re-prepared inside sqlite3_step(),
	 * and only then do its column count and names describe the table
	 * as it is now. */
	c->user_stepping = 1;
	int rc = sqlite3_step(st);
	int ncol = sqlite3_column_count(st);
	jsonw_obj_begin(w);
	jsonw_key(w, "results");
	if (x->raw) {
		jsonw_obj_begin(w);
		jsonw_key(w, "columns");
		jsonw_arr_begin(w);
		for (int i = 0; i < ncol; i++)
			jsonw_str(w, sqlite3_column_name(st, i));
		jsonw_arr_end(w);
		jsonw_key(w, "rows");
	}
	jsonw_arr_begin(w);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		nrows++;
		if (x->raw) {
			jsonw_arr_begin(w);
			for (int i = 0; i < ncol; i++) {
				write_value(w, st, i);
				if (too_large(x, c))
					return D1E_SQL;
			}
			jsonw_arr_end(w);
			continue;
		}
		/* Duplicate names: the last one wins, as in D1. */
		jsonw_obj_begin(w);
		for (int i = 0; i < ncol; i++) {
			const char *name = sqlite3_column_name(st, i);
			int later = 0;
			for (int k = i + 1; k < ncol && !later; k++)
				later =
				    !strcmp(name, sqlite3_column_name(st, k));
			if (later)
				continue;
			jsonw_key(w, name);
			write_value(w, st, i);
			if (too_large(x, c))
				return D1E_SQL;
		}
		jsonw_obj_end(w);
	}
	c->user_stepping = 0;
	if (rc != SQLITE_DONE)
		return sql_error(x, c, rc);
	count_index_writes(c);
	jsonw_arr_end(w);
	if (x->raw)
		jsonw_obj_end(w);

	int64_t us = util_mono_us() - t0;
	int64_t changes = sqlite3_total_changes64(db) - changes0;
	int64_t written = c->rows_written - written0;
	/* Full-scan steps count every row a scan visits (a 2x3 cross join
	 * visits 8, as in D1); a lookup that scans nothing still read the
	 * rows it returned. */
	int64_t read =
	    sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
	if (read < nrows)
		read = nrows;
	jsonw_key(w, "success");
	jsonw_bool(w, 1);
	jsonw_key(w, "meta");
	jsonw_obj_begin(w);
	jsonw_key(w, "served_by_region");
	jsonw_str(w, x->region);
	jsonw_key(w, "served_by_colo");
	jsonw_str(w, x->colo);
	jsonw_key(w, "served_by_primary");
	jsonw_bool(w, 1);
	jsonw_key(w, "timings");
	jsonw_obj_begin(w);
	jsonw_key(w, "sql_duration_ms");
	jsonw_ms(w, us);
	jsonw_obj_end(w);
	jsonw_key(w, "duration");
	jsonw_ms(w, us);
	jsonw_key(w, "changes");
	jsonw_int(w, changes);
	jsonw_key(w, "last_row_id");
	jsonw_int(w, sqlite3_last_insert_rowid(db));
	jsonw_key(w, "changed_db");
	jsonw_bool(w, changes > 0 || written > 0 || !sqlite3_stmt_readonly(st));
	jsonw_key(w, "size_after");
	jsonw_int(w, db_size(c));
	jsonw_key(w, "rows_read");
	jsonw_int(w, read);
	jsonw_key(w, "rows_written");
	jsonw_int(w, written);
	jsonw_obj_end(w);
	jsonw_obj_end(w);
	return 0;
}

/* Reset the on/off PRAGMAs a request may have changed, so that the next
 * request on this connection starts from D1's defaults. */
static void reset_pragmas(struct conn *c)
{
	if (!c->touched_pragma)
		return;
	sqlite3_exec(c->db,
		     "PRAGMA case_sensitive_like=OFF;"
		     "PRAGMA ignore_check_constraints=OFF;"
		     "PRAGMA legacy_alter_table=OFF;"
		     "PRAGMA recursive_triggers=OFF;"
		     "PRAGMA reverse_unordered_selects=OFF;"
		     "PRAGMA foreign_keys=ON;",
		     NULL, NULL, NULL);
	c->touched_pragma = 0;
}

/* ALTER TABLE ... RENAME gives the authorizer only the old name, so the
 * statement text is checked for the reserved prefix instead: an ALTER
 * statement that mentions _cf_ anywhere is refused. */
/* Does the statement at sql (n bytes) start with keyword kw, after
 * white space and comments? */
static int first_keyword_is(const char *sql, size_t n, const char *kw)
{
	size_t i = 0, k = strlen(kw);
	for (;;) {
		while (i < n && strchr(" \t\r\n\f\v", sql[i]))
			i++;
		if (i + 1 < n && sql[i] == '-' && sql[i + 1] == '-') {
			while (i < n && sql[i] != '\n')
				i++;
		} else if (i + 1 < n && sql[i] == '/' && sql[i + 1] == '*') {
			i += 2;
			while (i + 1 < n &&
			       !(sql[i] == '*' && sql[i + 1] == '/'))
				i++;
			i += 2;
		} else {
			break;
		}
	}
	if (i > n || n - i < k || strncasecmp(sql + i, kw, k) != 0)
		return 0;
	return i + k == n ||
	       !(isalnum((unsigned char)sql[i + k]) || sql[i + k] == '_');
}

static int is_alter(const char *sql, size_t n)
{
	return first_keyword_is(sql, n, "ALTER");
}

/* Does the text contain word (case-insensitively)? */
static int mentions(const char *sql, size_t n, const char *word)
{
	size_t k = strlen(word);
	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp(sql + i, word, k) == 0)
			return 1;
	return 0;
}

int exec_starts_with_write(const struct exec_batch *b)
{
	static const char *const verbs[] = {"INSERT",  "UPDATE", "DELETE",
					    "REPLACE", "CREATE", "DROP",
					    "ALTER",   NULL};
	for (int i = 0; verbs[i]; i++)
		if (first_keyword_is(b->units[0].sql, b->units[0].len,
				     verbs[i]))
			return 1;
	return 0;
}

int exec_wants_alone(const struct exec_batch *b)
{
	return b->n == 1 &&
	       first_keyword_is(b->units[0].sql, b->units[0].len, "VACUUM");
}

static int renames_into_cf(const char *sql, size_t n)
{
	return is_alter(sql, n) && mentions(sql, n, "_cf_");
}

/* The cached statement for the SQL at [p, end), or NULL. */
static struct cached_stmt *cache_find(struct conn *c, const char *p, size_t n)
{
	for (int i = 0; i < EXEC_STMT_CACHE; i++) {
		struct cached_stmt *e = &c->cache[i];
		if (e->sql && e->len == n && memcmp(e->sql, p, n) == 0) {
			e->used = ++c->tick;
			return e;
		}
	}
	return NULL;
}

/* Keep st for the SQL at [p, end) in the least recently used slot. On
 * failure the statement is simply not kept (the caller finalizes it). */
static int cache_put(struct conn *c, const char *p, size_t n, size_t stmt_len,
		     sqlite3_stmt *st, int pragma)
{
	struct cached_stmt *e = &c->cache[0];
	if (n > EXEC_STMT_CACHE_MAX_SQL)
		return 0;
	for (int i = 1; i < EXEC_STMT_CACHE; i++)
		if (!c->cache[i].sql || (e->sql && c->cache[i].used < e->used))
			e = &c->cache[i];
	char *key = malloc(n ? n : 1);
	if (!key)
		return 0;
	memcpy(key, p, n);
	sqlite3_finalize(e->st);
	free(e->sql);
	*e = (struct cached_stmt){key, n, stmt_len, st, pragma, ++c->tick};
	return 1;
}

static int run_unit(struct exec_run *x, struct conn *c,
		    const struct exec_unit *u)
{
	const char *p = u->sql, *end = u->sql + u->len;
	size_t next_param = 0;
	int rc = 0;
	while (p < end) {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		struct cached_stmt *hit = cache_find(c, p, (size_t)(end - p));
		if (hit) {
			/* Checked when it was prepared: the sandbox, the limits
			 * and, on a reader, that it only reads. */
			c->touched_pragma |= hit->pragma;
			rc = bind_params(x, c, hit->st, u->params, &next_param);
			if (!rc)
				rc = run_stmt(x, c, hit->st);
			sqlite3_reset(hit->st);
			sqlite3_clear_bindings(hit->st);
			if (rc)
				return rc;
			p += hit->stmt_len;
			continue;
		}
		int pragma_before = c->touched_pragma;
		c->touched_pragma = 0;
		c->deny_why = NULL;
		c->judging = 1;
		c->altering = is_alter(p, (size_t)(end - p));
		int src =
		    sqlite3_prepare_v3(c->db, p, (int)(end - p), 0, &st, &tail);
		c->judging = 0;
		c->altering = 0;
		int pragma = c->touched_pragma; /* this statement's own */
		c->touched_pragma |= pragma_before;
		if (src != SQLITE_OK) {
			sqlite3_finalize(st);
			return sql_error(x, c, src);
		}
		if (!st) { /* only whitespace or comments left */
			p = tail;
			continue;
		}
		if ((size_t)(tail - p) > EXEC_MAX_SQL_BYTES) {
			sqlite3_finalize(st);
			return plain_error(x,
					   "Statement too long: SQL "
					   "statements are limited to 100000 "
					   "bytes: SQLITE_TOOBIG");
		}
		if (first_keyword_is(p, (size_t)(tail - p), "CREATE") ||
		    first_keyword_is(p, (size_t)(tail - p), "DROP") ||
		    first_keyword_is(p, (size_t)(tail - p), "ALTER") ||
		    first_keyword_is(p, (size_t)(tail - p), "VACUUM"))
			c->nicache = 0;
		if (renames_into_cf(p, (size_t)(tail - p))) {
			sqlite3_finalize(st);
			return plain_error(x, "not authorized: names starting "
					      "with _cf_ are reserved: "
					      "SQLITE_AUTH");
		}
		if (first_keyword_is(p, (size_t)(tail - p), "VACUUM")) {
			const char *why =
			    mentions(p, (size_t)(tail - p), "INTO")
				? "not authorized: VACUUM INTO is not allowed: "
				  "SQLITE_AUTH"
			    : (c->writer && (!x->alone || p != u->sql)) ||
				    strspn(tail, " \t\r\n;") !=
					(size_t)(end - tail)
				? "VACUUM must be sent alone, as the only "
				  "statement of its request."
				: NULL;
			if (why) {
				sqlite3_finalize(st);
				return plain_error(x, why);
			}
		}
		if (!c->writer && !sqlite3_stmt_readonly(st)) {
			sqlite3_finalize(st);
			x->needs_writer = 1;
			return D1E_NEEDS_WRITER;
		}
		rc = bind_params(x, c, st, u->params, &next_param);
		/* VACUUM builds the new database in an attached temporary one;
		 * ATTACH itself stays refused by the authorizer. */
		if (x->alone)
			sqlite3_limit(c->db, SQLITE_LIMIT_ATTACHED, 1);
		if (!rc)
			rc = run_stmt(x, c, st);
		if (x->alone)
			sqlite3_limit(c->db, SQLITE_LIMIT_ATTACHED, 0);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (!cache_put(c, p, (size_t)(end - p), (size_t)(tail - p), st,
			       pragma))
			sqlite3_finalize(st);
		if (rc)
			return rc;
		p = tail;
	}
	if (u->params && next_param != json_array_size(u->params))
		return plain_error(x, "Wrong number of parameter bindings for "
				      "SQL query.");
	return 0;
}

int exec_run(sqlite3 *db, void *conn_ctx, void *arg)
{
	struct exec_run *x = arg;
	struct conn *c = conn_ctx;
	int rc = 0, began = 0;
	(void)db;

	jsonw_release(&x->out);
	x->err[0] = '\0';
	x->needs_writer = 0;
	c->timed_out = 0;
	c->over_budget = 0;
	c->deadline_us = c->lim->timeout_ms > 0
			     ? util_mono_us() + c->lim->timeout_ms * 1000
			     : 0;
	c->budget_us = x->budget_us > 0 ? util_mono_us() + x->budget_us : 0;
	if (c->writer && c->nicache && schema_version(c) != c->icache_version)
		c->nicache = 0;
	if (!c->writer) {
		/* One read transaction for the whole request: every statement
		 * sees one snapshot, and the size_after queries take no read
		 * lock of their own. */
		began = sqlite3_step(c->begin_stmt) == SQLITE_DONE;
		sqlite3_reset(c->begin_stmt);
	}
	jsonw_arr_begin(&x->out);
	for (size_t i = 0; i < x->batch->n && !rc; i++)
		rc = run_unit(x, c, &x->batch->units[i]);
	jsonw_arr_end(&x->out);
	/* Deferred foreign keys are checked at COMMIT, which this request
	 * shares with others; check them now so that a violation fails this
	 * request alone (its savepoint is rolled back). */
	if (!rc && c->writer) {
		int cur = 0, hi = 0;
		sqlite3_db_status(c->db, SQLITE_DBSTATUS_DEFERRED_FKS, &cur,
				  &hi, 0);
		if (cur > 0)
			rc = plain_error(x, "FOREIGN KEY constraint failed: "
					    "SQLITE_CONSTRAINT");
	}
	if (!rc && jsonw_failed(&x->out))
		rc = D1E_NOMEM;
	/* A run that stopped inside a user's statement (a result too large)
	 * left user_stepping set; the COMMIT must not be stopped (see it). A
	 * reader still in a transaction all the same is rolled back. */
	c->user_stepping = 0;
	c->deadline_us = 0;
	c->budget_us = 0;
	if (began) {
		sqlite3_step(c->commit_stmt);
		sqlite3_reset(c->commit_stmt);
	}
	if (!c->writer && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	if (rc)
		c->nicache = 0;
	else if (c->writer && c->nicache)
		c->icache_version = schema_version(c);
	reset_pragmas(c);
	return rc;
}

/* ---- statements run one by one (imports) ---- */

int exec_user_prepare(void *conn_ctx, const char *sql, size_t len,
		      sqlite3_stmt **st, const char **tail, char *err,
		      size_t cap)
{
	struct conn *c = conn_ctx;
	struct exec_run x = {0};
	int rc = 0;
	*st = NULL;
	err[0] = '\0';
	x.err[0] = '\0';
	c->deny_why = NULL;
	c->judging = 1;
	c->altering = is_alter(sql, len);
	int src = sqlite3_prepare_v3(c->db, sql, (int)len, 0, st, tail);
	c->judging = 0;
	c->altering = 0;
	if (src != SQLITE_OK)
		rc = sql_error(&x, c, src);
	else if (*st && renames_into_cf(sql, (size_t)(*tail - sql)))
		rc = plain_error(&x, "not authorized: names starting with "
				     "_cf_ are reserved: SQLITE_AUTH");
	else if (*st && first_keyword_is(sql, len, "VACUUM"))
		rc = plain_error(&x, "VACUUM is not allowed in an import.");
	else if (*st && sqlite3_bind_parameter_count(*st) > 0)
		rc = plain_error(&x, "Wrong number of parameter bindings for "
				     "SQL query.");
	if (rc) {
		sqlite3_finalize(*st);
		*st = NULL;
		snprintf(err, cap, "%s", x.err);
		return rc;
	}
	/* The index counts behind rows_written follow schema changes. */
	if (first_keyword_is(sql, len, "CREATE") ||
	    first_keyword_is(sql, len, "DROP") ||
	    first_keyword_is(sql, len, "ALTER"))
		c->nicache = 0;
	return 0;
}

int exec_user_step(void *conn_ctx, sqlite3_stmt *st, struct exec_counts *n,
		   char *err, size_t cap)
{
	struct conn *c = conn_ctx;
	struct exec_run x = {0};
	int64_t rows = 0, written0 = c->rows_written;
	int64_t changes0 = sqlite3_total_changes64(c->db);
	int rc;
	x.err[0] = '\0';
	err[0] = '\0';
	c->ntouched = 0;
	c->timed_out = 0;
	c->deadline_us = c->lim->timeout_ms > 0
			     ? util_mono_us() + c->lim->timeout_ms * 1000
			     : 0;
	c->user_stepping = 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rows++;
	c->user_stepping = 0;
	if (rc == SQLITE_DONE) {
		count_index_writes(c);
		rc = 0;
	} else {
		rc = sql_error(&x, c, rc);
		snprintf(err, cap, "%s", x.err);
		c->nicache = 0;
	}
	c->deadline_us = 0;
	int64_t read =
	    sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
	n->rows_read += read > rows ? read : rows;
	n->rows_written += c->rows_written - written0;
	n->changes += sqlite3_total_changes64(c->db) - changes0;
	return rc;
}

void exec_user_done(void *conn_ctx)
{
	reset_pragmas(conn_ctx);
}

int64_t exec_conn_size(void *conn_ctx)
{
	return db_size(conn_ctx);
}
