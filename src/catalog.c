/*
 * catalog.c — the catalog: which accounts, tokens and databases exist.
 *
 * The catalog is itself a SQLite database, DATA_DIR/catalog.sqlite (mode
 * 0600), in WAL mode with synchronous=FULL: a database that the API said was
 * created is in the catalog after a crash. Its schema, versioned with
 * PRAGMA user_version:
 *
 *   accounts(id TEXT PK  -- 32 lowercase hex, random
 *            name, email, created_us INTEGER,
 *            max_databases INTEGER NULL)  -- NULL: the server default
 *   tokens(id TEXT PK, account_id, hash BLOB UNIQUE  -- SHA-256 of the token
 *          read_only INTEGER, name, created_us, revoked_us NULL)
 *   databases(seq INTEGER PK  -- creation order
 *             uuid TEXT UNIQUE, account_id, name, created_us,
 *             jurisdiction NULL, location_hint NULL, read_replication,
 *             UNIQUE(account_id, name))
 *
 * The plain token never reaches the catalog; only its hash does, so a copy of
 * the data dir does not give away working credentials.
 *
 * Locking: one connection per catalog for writes and the rare reads,
 * serialized by c->mu; the per-request lookups use per-thread read
 * connections (see struct hotconn). Every call takes
 * the mutex for its whole duration, so a multi-statement operation (the
 * limit check and insert of a database) is atomic with respect to other
 * threads; BEGIN IMMEDIATE makes it atomic against other processes too (the
 * admin CLI may write while the server runs; busy_timeout absorbs that).
 */
#include "catalog.h"

#include "apierr.h"
#include "util.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CATALOG_SCHEMA_VERSION 1

/* Statements run on every API request, prepared once and kept. */
enum { Q_TOKEN_LOOKUP, Q_ACCOUNT_GET, Q_DB_BY_UUID, Q_DB_BY_NAME, Q__COUNT };

struct catalog {
	sqlite3 *db;
	pthread_mutex_t mu;
	sqlite3_stmt *hot[Q__COUNT]; /* for the fallback below */
	char path[4096];
	/* The first WAL_HDR bytes of the -shm file, mapped read-only; NULL
	 * when it could not be (then nothing is kept, see struct hotconn). */
	const unsigned char *shm;
	uint64_t epoch; /* tells this catalog from an earlier one */
};

/*
 * The hot lookups (token, account, database) run on every API request from
 * every HTTP thread. Serializing them on c->db would make all requests
 * queue on one mutex, so each thread gets its own read connection to the
 * catalog, opened on first use and closed when the thread exits. WAL readers
 * never block each other, and each lookup is its own read transaction, so
 * a token revoked by `d1d token revoke` in another process fails at once.
 * If a thread cannot open its connection, it falls back to c->db under
 * c->mu.
 *
 * Each thread also keeps the answers of its last lookups (a token, a few
 * databases), which spares most requests both catalog read transactions
 * (SQLite's lock calls and shared-memory mutex, the hottest in the
 * profile). They are used only while the catalog has not been written
 * since they were read, by this process or any other. Every commit, from
 * any process, rewrites the WAL-index header: the first 48 bytes of the
 * catalog's -shm file, whose iChange field counts transactions and whose
 * mxFrame and salts move with each commit and WAL restart (the format is
 * SQLite's documented walformat, section 2.2). Each thread compares that
 * header, read from a read-only mapping of the -shm file, with the copy it
 * took when it read its answers: no system call per request, and no
 * window in which a change goes unseen, since a commit is visible to a
 * reader only once its header is written. The header is read before the
 * lookup it tags, so a commit racing with a lookup can only make the
 * answers look older than they are (and be dropped), never newer. A torn
 * read of a header being written differs from the copy and drops the
 * answers too. Only found rows are kept; a miss is always looked up.
 *
 * The mapping stays valid because this process keeps c->db open: SQLite
 * removes or truncates the -shm file only when the last connection to the
 * catalog, in any process, closes.
 */
#define WAL_HDR 48
#define HOT_DBS 8

struct hot_db {
	char account_id[CAT_ID_LEN + 1];
	char ref[CAT_NAME_MAX + 1]; /* as asked: a name or a uuid */
	struct cat_db db;
};

struct hotconn {
	sqlite3 *db;
	sqlite3_stmt *st[Q__COUNT];
	uint64_t epoch;
	unsigned char hdr[WAL_HDR]; /* the WAL-index header the answers below
				       were read under */
	int have_token;
	unsigned char token_hash[32];
	struct cat_principal token;
	int ndbs, next_db; /* next_db: the entry replaced next */
	struct hot_db dbs[HOT_DBS];
};

static pthread_key_t hot_key;
static pthread_once_t hot_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t next_epoch = 1;

static void hot_close(void *p)
{
	struct hotconn *h = p;
	if (!h)
		return;
	for (int i = 0; i < Q__COUNT; i++)
		sqlite3_finalize(h->st[i]);
	sqlite3_close(h->db);
	free(h);
}

static void hot_key_init(void)
{
	pthread_key_create(&hot_key, hot_close);
}

/* This thread's read connection to c, or NULL. */
static struct hotconn *hot_conn(struct catalog *c)
{
	pthread_once(&hot_once, hot_key_init);
	struct hotconn *h = pthread_getspecific(hot_key);
	if (h && h->epoch == c->epoch)
		return h;
	hot_close(h);
	pthread_setspecific(hot_key, NULL);
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	if (sqlite3_open_v2(c->path, &h->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(h->db, "PRAGMA query_only=1; PRAGMA cache_size=-256",
			 NULL, NULL, NULL) != SQLITE_OK) {
		hot_close(h);
		return NULL;
	}
	sqlite3_busy_timeout(h->db, 5000);
	h->epoch = c->epoch;
	pthread_setspecific(hot_key, h);
	return h;
}

/* Whether h's kept answers may be used and new ones kept: the catalog has
 * not been written since they were read (else they are dropped). */
static int hot_fresh(const struct catalog *c, struct hotconn *h)
{
	unsigned char now[WAL_HDR];
	if (!c->shm)
		return 0;
	/* Another process writes it: read it once, after every load before. */
	atomic_thread_fence(memory_order_acquire);
	memcpy(now, c->shm, WAL_HDR);
	if (memcmp(now, h->hdr, WAL_HDR) != 0) {
		h->have_token = 0;
		h->ndbs = h->next_db = 0;
		memcpy(h->hdr, now, WAL_HDR);
	}
	return 1;
}

/* Map the -shm file's WAL-index header (see struct hotconn). Without it
 * every lookup reads the catalog. */
static void map_shm(struct catalog *c)
{
	char shm[4100];
	struct stat st;
	snprintf(shm, sizeof(shm), "%s-shm", c->path);
	int fd = open(shm, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size >= WAL_HDR) {
		void *m = mmap(NULL, WAL_HDR, PROT_READ, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED)
			c->shm = m;
	}
	close(fd);
}

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS accounts("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,"
    " created_us INTEGER NOT NULL, max_databases INTEGER);"
    "CREATE TABLE IF NOT EXISTS tokens("
    " id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),"
    " hash BLOB NOT NULL UNIQUE, read_only INTEGER NOT NULL,"
    " name TEXT NOT NULL, created_us INTEGER NOT NULL, revoked_us INTEGER);"
    "CREATE TABLE IF NOT EXISTS databases("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE,"
    " account_id TEXT NOT NULL REFERENCES accounts(id),"
    " name TEXT NOT NULL, created_us INTEGER NOT NULL,"
    " jurisdiction TEXT, location_hint TEXT,"
    " read_replication TEXT NOT NULL DEFAULT 'disabled',"
    " UNIQUE(account_id, name));";

static int sql_rc(int src)
{
	if (src == SQLITE_NOMEM)
		return D1E_NOMEM;
	if (src == SQLITE_FULL)
		return D1E_FULL;
	if (src == SQLITE_IOERR || src == SQLITE_CANTOPEN)
		return D1E_IO;
	return D1E_INTERNAL;
}

static int exec(struct catalog *c, const char *sql)
{
	int src = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	if (src != SQLITE_OK) {
		fprintf(stderr, "d1d: catalog: %s\n", sqlite3_errmsg(c->db));
		return sql_rc(src);
	}
	return 0;
}

static int prepare(struct catalog *c, const char *sql, sqlite3_stmt **st)
{
	int src = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);
	if (src != SQLITE_OK) {
		fprintf(stderr, "d1d: catalog: %s\n", sqlite3_errmsg(c->db));
		return sql_rc(src);
	}
	return 0;
}

/* A kept statement for a hot query, ready to bind: on this thread's own
 * connection, or on c->db with c->mu taken (then *locked is set). Give it
 * back with done_hot(). */
static int prepare_hot(struct catalog *c, int which, const char *sql,
		       sqlite3_stmt **st, int *locked)
{
	struct hotconn *h = hot_conn(c);
	sqlite3 *db = h ? h->db : c->db;
	sqlite3_stmt **slot = h ? &h->st[which] : &c->hot[which];
	*locked = !h;
	if (*locked)
		pthread_mutex_lock(&c->mu);
	if (!*slot) {
		int src = sqlite3_prepare_v3(
		    db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
		if (src != SQLITE_OK) {
			fprintf(stderr, "d1d: catalog: %s\n",
				sqlite3_errmsg(db));
			*st = NULL;
			return sql_rc(src);
		}
	}
	*st = *slot;
	return 0;
}

/* Give a kept statement back: reset it so it holds no read lock. */
static void done_hot(struct catalog *c, sqlite3_stmt *st, int locked)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	if (locked)
		pthread_mutex_unlock(&c->mu);
}

/* Step a statement that returns no rows. */
static int step_done(struct catalog *c, sqlite3_stmt *st)
{
	int src = sqlite3_step(st);
	if (src == SQLITE_DONE)
		return 0;
	if (sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_UNIQUE)
		return D1E_DB_EXISTS;
	fprintf(stderr, "d1d: catalog: %s\n", sqlite3_errmsg(c->db));
	return sql_rc(src);
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

int catalog_open(const char *data_dir, struct catalog **out)
{
	char path[4096];
	struct catalog *c = NULL;
	int rc = 0;

	*out = NULL;
	if (snprintf(path, sizeof(path), "%s/catalog.sqlite", data_dir) >=
	    (int)sizeof(path))
		return D1E_IO;
	c = calloc(1, sizeof(*c));
	if (!c)
		return D1E_NOMEM;
	memcpy(c->path, path, sizeof(c->path));
	c->epoch = next_epoch++;
	pthread_mutex_init(&c->mu, NULL);

	mode_t old = umask(077); /* the catalog and its -wal/-shm: 0600 */
	int src = sqlite3_open_v2(path, &c->db,
				  SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				      SQLITE_OPEN_NOMUTEX,
				  NULL);
	umask(old);
	if (src != SQLITE_OK) {
		fprintf(stderr, "d1d: cannot open catalog %s: %s\n", path,
			c->db ? sqlite3_errmsg(c->db) : "out of memory");
		rc = D1E_IO;
		goto out;
	}
	sqlite3_busy_timeout(c->db, 5000);
	rc = exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		     "PRAGMA foreign_keys=ON;");
	if (rc)
		goto out;

	sqlite3_stmt *st = NULL;
	rc = prepare(c, "PRAGMA user_version", &st);
	if (rc)
		goto out;
	int version =
	    sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (version > CATALOG_SCHEMA_VERSION) {
		fprintf(stderr,
			"d1d: catalog %s has schema version %d; this d1d "
			"knows only up to %d\n",
			path, version, CATALOG_SCHEMA_VERSION);
		rc = D1E_IO;
		goto out;
	}
	rc = exec(c, "BEGIN IMMEDIATE");
	if (rc)
		goto out;
	rc = exec(c, schema_sql);
	if (!rc)
		rc = exec(c, "PRAGMA user_version=1");
	if (rc) {
		exec(c, "ROLLBACK");
		goto out;
	}
	rc = exec(c, "COMMIT");
	if (!rc) {
		chmod(path, 0600);
		map_shm(c);
	}
out:
	if (rc) {
		catalog_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void catalog_free(struct catalog *c)
{
	if (!c)
		return;
	for (int i = 0; i < Q__COUNT; i++)
		sqlite3_finalize(c->hot[i]);
	pthread_once(&hot_once, hot_key_init);
	struct hotconn *h = pthread_getspecific(hot_key);
	if (h && h->epoch == c->epoch) {
		hot_close(h);
		pthread_setspecific(hot_key, NULL);
	}
	if (c->shm)
		munmap((void *)c->shm, WAL_HDR);
	sqlite3_close(c->db);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static int new_id(char out[CAT_ID_LEN + 1])
{
	unsigned char b[CAT_ID_LEN / 2];
	if (util_random(b, sizeof(b)))
		return D1E_INTERNAL;
	util_hex(b, sizeof(b), out);
	return 0;
}

/* ---- accounts ---- */

int catalog_account_create(struct catalog *c, const char *name,
			   const char *email, int64_t max_databases,
			   char out_id[CAT_ID_LEN + 1])
{
	sqlite3_stmt *st = NULL;
	int rc = new_id(out_id);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->mu);
	rc = prepare(c,
		     "INSERT INTO accounts(id, name, email, created_us, "
		     "max_databases) VALUES(?,?,?,?,?)",
		     &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, out_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, util_now_us());
	if (max_databases >= 0)
		sqlite3_bind_int64(st, 5, max_databases);
	rc = step_done(c, st);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static void read_account(sqlite3_stmt *st, struct cat_account *a)
{
	copy_col(a->id, sizeof(a->id), st, 0);
	copy_col(a->name, sizeof(a->name), st, 1);
	copy_col(a->email, sizeof(a->email), st, 2);
	a->max_databases = sqlite3_column_type(st, 3) == SQLITE_NULL
			       ? -1
			       : sqlite3_column_int64(st, 3);
}

int catalog_account_get(struct catalog *c, const char *id,
			struct cat_account *out)
{
	sqlite3_stmt *st = NULL;
	int locked;
	int rc =
	    prepare_hot(c, Q_ACCOUNT_GET,
			"SELECT id, name, email, max_databases FROM accounts "
			"WHERE id = ?",
			&st, &locked);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		read_account(st, out);
	else
		rc = src == SQLITE_DONE ? D1E_NOT_FOUND : sql_rc(src);
out:
	done_hot(c, st, locked);
	return rc;
}

int catalog_account_count(struct catalog *c, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&c->mu);
	int rc = prepare(c, "SELECT count(*) FROM accounts", &st);
	if (!rc) {
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW)
			*out = sqlite3_column_int64(st, 0);
		else
			rc = sql_rc(src);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int catalog_account_each(struct catalog *c,
			 int (*fn)(const struct cat_account *, void *),
			 void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct cat_account a;
	int src;
	pthread_mutex_lock(&c->mu);
	int rc = prepare(c,
			 "SELECT id, name, email, max_databases FROM accounts "
			 "ORDER BY created_us, id",
			 &st);
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		read_account(st, &a);
		rc = fn(&a, ctx);
	}
	if (!rc && src != SQLITE_DONE)
		rc = sql_rc(src);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* ---- tokens ---- */

int catalog_token_insert(struct catalog *c, const char *account_id,
			 const unsigned char hash[32], int read_only,
			 const char *name, char out_id[CAT_ID_LEN + 1])
{
	sqlite3_stmt *st = NULL;
	int rc = new_id(out_id);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->mu);
	rc =
	    prepare(c,
		    "INSERT INTO tokens(id, account_id, hash, read_only, name, "
		    "created_us) VALUES(?,?,?,?,?,?)",
		    &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, out_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, read_only ? 1 : 0);
	sqlite3_bind_text(st, 5, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, util_now_us());
	rc = step_done(c, st);
	if (rc == D1E_DB_EXISTS)
		rc = D1E_INTERNAL; /* a SHA-256 collision: never in practice */
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int catalog_token_lookup(struct catalog *c, const unsigned char hash[32],
			 struct cat_principal *out)
{
	sqlite3_stmt *st = NULL;
	int locked;
	struct hotconn *h = hot_conn(c);
	int keep = h && hot_fresh(c, h);
	if (keep && h->have_token &&
	    util_ct_memcmp(h->token_hash, hash, 32) == 0) {
		*out = h->token;
		return 0;
	}
	int rc =
	    prepare_hot(c, Q_TOKEN_LOOKUP,
			"SELECT id, account_id, read_only, hash FROM tokens "
			"WHERE hash = ? AND revoked_us IS NULL",
			&st, &locked);
	if (rc)
		goto out;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW && sqlite3_column_bytes(st, 3) == 32 &&
	    util_ct_memcmp(sqlite3_column_blob(st, 3), hash, 32) == 0) {
		copy_col(out->token_id, sizeof(out->token_id), st, 0);
		copy_col(out->account_id, sizeof(out->account_id), st, 1);
		out->read_only = sqlite3_column_int(st, 2);
		if (keep) {
			memcpy(h->token_hash, hash, 32);
			h->token = *out;
			h->have_token = 1;
		}
	} else if (src == SQLITE_ROW || src == SQLITE_DONE) {
		rc = D1E_AUTH_INVALID;
	} else {
		rc = sql_rc(src);
	}
out:
	done_hot(c, st, locked);
	return rc;
}

int catalog_token_revoke(struct catalog *c, const char *token_id)
{
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&c->mu);
	int rc =
	    prepare(c,
		    "UPDATE tokens SET revoked_us = coalesce(revoked_us, ?) "
		    "WHERE id = ?",
		    &st);
	if (!rc) {
		sqlite3_bind_int64(st, 1, util_now_us());
		sqlite3_bind_text(st, 2, token_id, -1, SQLITE_STATIC);
		rc = step_done(c, st);
		if (!rc && sqlite3_changes(c->db) == 0)
			rc = D1E_NOT_FOUND;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int catalog_token_each(struct catalog *c, const char *account_id,
		       int (*fn)(const struct cat_token *, void *), void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct cat_token t;
	int src;
	pthread_mutex_lock(&c->mu);
	int rc = prepare(c,
			 "SELECT id, account_id, name, read_only, "
			 "revoked_us IS NOT NULL FROM tokens "
			 "WHERE ?1 IS NULL OR account_id = ?1 "
			 "ORDER BY created_us, id",
			 &st);
	if (!rc && account_id)
		sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		copy_col(t.id, sizeof(t.id), st, 0);
		copy_col(t.account_id, sizeof(t.account_id), st, 1);
		copy_col(t.name, sizeof(t.name), st, 2);
		t.read_only = sqlite3_column_int(st, 3);
		t.revoked = sqlite3_column_int(st, 4);
		rc = fn(&t, ctx);
	}
	if (!rc && src != SQLITE_DONE)
		rc = sql_rc(src);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* ---- databases ---- */

#define DB_COLUMNS                                                             \
	"uuid, account_id, name, created_us, coalesce(jurisdiction, ''), "     \
	"coalesce(location_hint, ''), read_replication"

static void read_db(sqlite3_stmt *st, struct cat_db *d)
{
	copy_col(d->uuid, sizeof(d->uuid), st, 0);
	copy_col(d->account_id, sizeof(d->account_id), st, 1);
	copy_col(d->name, sizeof(d->name), st, 2);
	d->created_us = sqlite3_column_int64(st, 3);
	copy_col(d->jurisdiction, sizeof(d->jurisdiction), st, 4);
	copy_col(d->location_hint, sizeof(d->location_hint), st, 5);
	copy_col(d->read_replication, sizeof(d->read_replication), st, 6);
}

int catalog_db_find(struct catalog *c, const char *account_id, const char *ref,
		    struct cat_db *out)
{
	sqlite3_stmt *st = NULL;
	int by_uuid = util_is_uuid(ref);
	int locked;
	struct hotconn *h = hot_conn(c);
	int keep = h && strlen(ref) <= CAT_NAME_MAX && hot_fresh(c, h);
	for (int i = 0; keep && i < h->ndbs; i++) {
		if (strcmp(h->dbs[i].ref, ref) == 0 &&
		    strcmp(h->dbs[i].account_id, account_id) == 0) {
			*out = h->dbs[i].db;
			return 0;
		}
	}
	int rc = by_uuid
		     ? prepare_hot(c, Q_DB_BY_UUID,
				   "SELECT " DB_COLUMNS " FROM databases "
				   "WHERE account_id = ? AND uuid = lower(?)",
				   &st, &locked)
		     : prepare_hot(c, Q_DB_BY_NAME,
				   "SELECT " DB_COLUMNS " FROM databases "
				   "WHERE account_id = ? AND name = ?",
				   &st, &locked);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		read_db(st, out);
		if (keep) {
			struct hot_db *e = &h->dbs[h->next_db];
			h->next_db = (h->next_db + 1) % HOT_DBS;
			if (h->ndbs < HOT_DBS)
				h->ndbs++;
			snprintf(e->account_id, sizeof(e->account_id), "%s",
				 account_id);
			snprintf(e->ref, sizeof(e->ref), "%s", ref);
			e->db = *out;
		}
	} else
		rc = src == SQLITE_DONE ? D1E_DB_NOT_FOUND : sql_rc(src);
out:
	done_hot(c, st, locked);
	return rc;
}

int catalog_db_insert(struct catalog *c, const struct cat_db *db, int64_t limit)
{
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&c->mu);
	int rc = exec(c, "BEGIN IMMEDIATE");
	if (rc)
		goto out;
	rc = prepare(c, "SELECT count(*) FROM databases WHERE account_id = ?",
		     &st);
	if (rc)
		goto rollback;
	sqlite3_bind_text(st, 1, db->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = D1E_INTERNAL;
		goto rollback;
	}
	if (limit >= 0 && sqlite3_column_int64(st, 0) >= limit) {
		rc = D1E_DB_LIMIT;
		goto rollback;
	}
	sqlite3_finalize(st);
	rc =
	    prepare(c,
		    "INSERT INTO databases(uuid, account_id, name, created_us, "
		    "jurisdiction, location_hint, read_replication) "
		    "VALUES(?,?,?,?,nullif(?, ''),nullif(?, ''),?)",
		    &st);
	if (rc)
		goto rollback;
	sqlite3_bind_text(st, 1, db->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, db->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, db->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, db->created_us);
	sqlite3_bind_text(st, 5, db->jurisdiction, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, db->location_hint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, db->read_replication, -1, SQLITE_STATIC);
	rc = step_done(c, st);
	if (!rc) {
		rc = exec(c, "COMMIT");
		goto out;
	}
rollback:
	exec(c, "ROLLBACK");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int catalog_db_list(struct catalog *c, const char *account_id,
		    const char *name_part, int64_t offset, int64_t limit,
		    int (*fn)(const struct cat_db *, void *), void *ctx,
		    int64_t *total)
{
	sqlite3_stmt *st = NULL;
	struct cat_db d;
	int src;
	pthread_mutex_lock(&c->mu);
	/* instr(), not LIKE: a name filter is a plain substring, and '%' or
	 * '_' in it mean themselves. */
	int rc = prepare(c,
			 "SELECT count(*) FROM databases WHERE account_id = ?1 "
			 "AND (?2 IS NULL OR instr(name, ?2) > 0)",
			 &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	if (name_part)
		sqlite3_bind_text(st, 2, name_part, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = D1E_INTERNAL;
		goto out;
	}
	*total = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	rc = prepare(c,
		     "SELECT " DB_COLUMNS
		     " FROM databases WHERE account_id = ?1 "
		     "AND (?2 IS NULL OR instr(name, ?2) > 0) "
		     "ORDER BY seq LIMIT ?3 OFFSET ?4",
		     &st);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	if (name_part)
		sqlite3_bind_text(st, 2, name_part, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit);
	sqlite3_bind_int64(st, 4, offset);
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		read_db(st, &d);
		rc = fn(&d, ctx);
	}
	if (!rc && src != SQLITE_DONE)
		rc = sql_rc(src);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int catalog_db_set_replication(struct catalog *c, const char *uuid,
			       const char *mode)
{
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&c->mu);
	int rc = prepare(
	    c, "UPDATE databases SET read_replication = ? WHERE uuid = ?", &st);
	if (!rc) {
		sqlite3_bind_text(st, 1, mode, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, uuid, -1, SQLITE_STATIC);
		rc = step_done(c, st);
		if (!rc && sqlite3_changes(c->db) == 0)
			rc = D1E_DB_NOT_FOUND;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int catalog_db_delete(struct catalog *c, const char *uuid)
{
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&c->mu);
	int rc = prepare(c, "DELETE FROM databases WHERE uuid = ?", &st);
	if (!rc) {
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
		rc = step_done(c, st);
		if (!rc && sqlite3_changes(c->db) == 0)
			rc = D1E_DB_NOT_FOUND;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int catalog_db_exists(struct catalog *c, const char *uuid)
{
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&c->mu);
	int rc = prepare(c, "SELECT 1 FROM databases WHERE uuid = ?", &st);
	if (!rc) {
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW)
			rc = 1;
		else if (src != SQLITE_DONE)
			rc = sql_rc(src);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return rc;
}
