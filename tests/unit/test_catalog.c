/* Unit tests of the catalog, auth and dbfile modules on a real data dir. */
#include "apierr.h"
#include "auth.h"
#include "catalog.h"
#include "dbfile.h"
#include "util.h"
#include "test.h"

#include <sqlite3.h>
#include <sys/stat.h>

static struct cat_db make_db(const char *account, const char *name)
{
	struct cat_db d = {0};
	util_uuid_v4(d.uuid);
	snprintf(d.account_id, sizeof(d.account_id), "%s", account);
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.read_replication, sizeof(d.read_replication), "disabled");
	d.created_us = util_now_us();
	return d;
}

static int count_cb(const struct cat_db *d, void *ctx)
{
	(void)d;
	(*(int *)ctx)++;
	return 0;
}

TEST(catalog_accounts_tokens_databases)
{
	const char *dir = test_tmpdir();
	struct catalog *c = NULL;
	char acct[CAT_ID_LEN + 1], other[CAT_ID_LEN + 1], tid[CAT_ID_LEN + 1];
	char token[AUTH_TOKEN_LEN + 1];
	unsigned char hash[32];
	struct cat_principal who;
	char path[512];
	struct stat st;

	CHECK(catalog_open(dir, &c) == 0);
	snprintf(path, sizeof(path), "%s/catalog.sqlite", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	CHECK(catalog_account_create(c, "a", "A@x.io", -1, acct) == 0);
	CHECK(catalog_account_create(c, "b", "b@x.io", 1, other) == 0);
	CHECK(strlen(acct) == CAT_ID_LEN &&
	      strspn(acct, "0123456789abcdef") == CAT_ID_LEN);

	/* Tokens: only the hash is stored; revocation is immediate. */
	CHECK(auth_token_new(token, hash) == 0);
	CHECK(strlen(token) == AUTH_TOKEN_LEN);
	CHECK(catalog_token_insert(c, acct, hash, 1, "t", tid) == 0);
	CHECK(catalog_token_lookup(c, hash, &who) == 0);
	CHECK_STR(who.account_id, acct);
	CHECK(who.read_only == 1);

	char bearer[64];
	snprintf(bearer, sizeof(bearer), "Bearer %s", token);
	CHECK(auth_authenticate(c, bearer, NULL, NULL, &who) == 0);
	CHECK(auth_authenticate(c, NULL, NULL, NULL, &who) == D1E_AUTH_MISSING);
	CHECK(auth_authenticate(c, "Bearer nope", NULL, NULL, &who) ==
	      D1E_AUTH_INVALID);
	CHECK(auth_authenticate(c, "Basic abc", NULL, NULL, &who) ==
	      D1E_AUTH_INVALID);
	CHECK(auth_authenticate(c, NULL, "a@X.IO", token, &who) == 0);
	CHECK(auth_authenticate(c, NULL, "b@x.io", token, &who) ==
	      D1E_AUTH_INVALID);
	CHECK(auth_authorize(&who, acct, 0) == 0);
	CHECK(auth_authorize(&who, acct, 1) == D1E_READ_ONLY);
	CHECK(auth_authorize(&who, other, 0) == D1E_ACCOUNT);
	CHECK(auth_authorize(&who, "short", 0) == D1E_ACCOUNT);

	CHECK(catalog_token_revoke(c, tid) == 0);
	CHECK(catalog_token_lookup(c, hash, &who) == D1E_AUTH_INVALID);
	CHECK(catalog_token_revoke(c, "0000") == D1E_NOT_FOUND);

	/* Databases: unique names per account, limits, lookup by both. */
	struct cat_db d1 = make_db(acct, "one"), d2 = make_db(acct, "one");
	struct cat_db found;
	CHECK(catalog_db_insert(c, &d1, -1) == 0);
	CHECK(catalog_db_insert(c, &d2, -1) == D1E_DB_EXISTS);
	struct cat_db o1 = make_db(other, "one"), o2 = make_db(other, "two");
	CHECK(catalog_db_insert(c, &o1, 1) == 0);
	CHECK(catalog_db_insert(c, &o2, 1) == D1E_DB_LIMIT);
	CHECK(catalog_db_find(c, acct, "one", &found) == 0);
	CHECK_STR(found.uuid, d1.uuid);
	CHECK(catalog_db_find(c, acct, d1.uuid, &found) == 0);
	CHECK(catalog_db_find(c, other, d1.uuid, &found) == D1E_DB_NOT_FOUND);
	CHECK(catalog_db_exists(c, d1.uuid) == 1);

	int n = 0;
	int64_t total = 0;
	CHECK(catalog_db_list(c, acct, NULL, 0, 10, count_cb, &n, &total) == 0);
	CHECK(n == 1 && total == 1);
	n = 0;
	CHECK(catalog_db_list(c, acct, "zz", 0, 10, count_cb, &n, &total) == 0);
	CHECK(n == 0 && total == 0);
	n = 0;
	CHECK(catalog_db_list(c, acct, NULL, 1, 10, count_cb, &n, &total) == 0);
	CHECK(n == 0 && total == 1);

	CHECK(catalog_db_set_replication(c, d1.uuid, "auto") == 0);
	CHECK(catalog_db_find(c, acct, "one", &found) == 0);
	CHECK_STR(found.read_replication, "auto");
	CHECK(catalog_db_delete(c, d1.uuid) == 0);
	CHECK(catalog_db_delete(c, d1.uuid) == D1E_DB_NOT_FOUND);
	CHECK(catalog_db_exists(c, d1.uuid) == 0);

	catalog_free(c);
	/* Reopening keeps everything. */
	CHECK(catalog_open(dir, &c) == 0);
	CHECK(catalog_db_find(c, other, "one", &found) == 0);
	catalog_free(c);
	util_rm_rf(dir);
}

static int keep_none(const char *uuid, void *ctx)
{
	(void)uuid;
	(void)ctx;
	return 0;
}

TEST(dbfile_create_size_sweep)
{
	const char *dir = test_tmpdir();
	char uuid[UUID_STR_LEN + 1], path[512];
	struct stat st;
	util_uuid_v4(uuid);
	CHECK(dbfile_create(dir, uuid) == 0);
	CHECK(dbfile_create(dir, uuid) == D1E_IO); /* already there */
	CHECK(dbfile_size(dir, uuid) > 0);
	CHECK(dbfile_path(dir, uuid, path, sizeof(path)) == 0);
	CHECK(stat(path, &st) == 0);
	/* 0600 without touching the process's umask, and so is the WAL. */
	mode_t old = umask(022);
	char uuid2[UUID_STR_LEN + 1], path2[512], wal[530];
	sqlite3 *db = NULL;
	util_uuid_v4(uuid2);
	CHECK(dbfile_create(dir, uuid2) == 0);
	CHECK(umask(022) == 022);
	CHECK(dbfile_path(dir, uuid2, path2, sizeof(path2)) == 0);
	CHECK(stat(path2, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(sqlite3_open(path2, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "CREATE TABLE t(a)", NULL, NULL, NULL) == 0);
	snprintf(wal, sizeof(wal), "%s-wal", path2);
	CHECK(stat(wal, &st) == 0 && (st.st_mode & 0777) == 0600);
	sqlite3_close(db);
	umask(old);
	CHECK(dbfile_sweep(dir, keep_none, NULL) == 0);
	CHECK(stat(path, &st) != 0);
	CHECK(dbfile_create(dir, "../../etc") == D1E_INTERNAL);
	util_rm_rf(dir);
}

/* Lookups kept per thread are dropped at once when another handle (as
 * another process would) revokes the token or deletes the database, with
 * no pause between: the WAL-index header changes with every commit. */
TEST(catalog_kept_lookups_follow_other_writers)
{
	const char *dir = test_tmpdir();
	struct catalog *c = NULL, *other = NULL;
	char acct[CAT_ID_LEN + 1], tid[CAT_ID_LEN + 1];
	char token[AUTH_TOKEN_LEN + 1];
	unsigned char hash[32];
	struct cat_principal who;
	struct cat_db found;

	CHECK(catalog_open(dir, &c) == 0);
	CHECK(catalog_open(dir, &other) == 0);
	CHECK(catalog_account_create(c, "a", "a@x.io", -1, acct) == 0);
	CHECK(auth_token_new(token, hash) == 0);
	CHECK(catalog_token_insert(c, acct, hash, 0, "t", tid) == 0);
	struct cat_db d = make_db(acct, "kept");
	CHECK(catalog_db_insert(c, &d, 10) == 0);
	for (int i = 0; i < 3; i++) { /* the second and third are kept */
		CHECK(catalog_token_lookup(c, hash, &who) == 0);
		CHECK(catalog_db_find(c, acct, "kept", &found) == 0);
		CHECK_STR(found.uuid, d.uuid);
	}
	CHECK(catalog_token_revoke(other, tid) == 0);
	CHECK(catalog_token_lookup(c, hash, &who) == D1E_AUTH_INVALID);
	CHECK(catalog_db_find(c, acct, "kept", &found) == 0);
	CHECK(catalog_db_delete(other, d.uuid) == 0);
	CHECK(catalog_db_find(c, acct, "kept", &found) == D1E_DB_NOT_FOUND);
	struct cat_db again = make_db(acct, "kept");
	CHECK(catalog_db_insert(other, &again, 10) == 0);
	CHECK(catalog_db_find(c, acct, "kept", &found) == 0);
	CHECK_STR(found.uuid, again.uuid);
	catalog_free(other);
	catalog_free(c);
}
