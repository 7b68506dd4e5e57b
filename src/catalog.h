/*
 * catalog.h — the catalog: accounts, API tokens and databases.
 *
 * See catalog.c for the schema and the locking rules.
 */
#ifndef D1D_CATALOG_H
#define D1D_CATALOG_H

#include <stdint.h>

#define CAT_ID_LEN    32 /* account and token ids: lowercase hex */
#define CAT_NAME_MAX  64
#define CAT_EMAIL_MAX 254

struct catalog;

struct cat_account {
	char id[CAT_ID_LEN + 1];
	char name[CAT_NAME_MAX + 1];
	char email[CAT_EMAIL_MAX + 1];
	int64_t max_databases; /* -1: the server's default applies */
};

struct cat_principal {
	char token_id[CAT_ID_LEN + 1];
	char account_id[CAT_ID_LEN + 1];
	int read_only;
};

struct cat_token {
	char id[CAT_ID_LEN + 1];
	char account_id[CAT_ID_LEN + 1];
	char name[CAT_NAME_MAX + 1];
	int read_only;
	int revoked;
};

struct cat_db {
	char uuid[37];
	char account_id[CAT_ID_LEN + 1];
	char name[CAT_NAME_MAX + 1];
	int64_t created_us;
	char jurisdiction[16];	   /* "" when none */
	char location_hint[8];	   /* "" when none */
	char read_replication[16]; /* "auto" or "disabled" */
};

/* Open (creating if needed) the catalog in data_dir. *out is freed with
 * catalog_free(). Returns 0 or a D1E_* error. */
int catalog_open(const char *data_dir, struct catalog **out);
void catalog_free(struct catalog *c);

/* Accounts. catalog_account_create() writes the new id into out_id. */
int catalog_account_create(struct catalog *c, const char *name,
			   const char *email, int64_t max_databases,
			   char out_id[CAT_ID_LEN + 1]);
/* D1E_NOT_FOUND if there is no such account. */
int catalog_account_get(struct catalog *c, const char *id,
			struct cat_account *out);
int catalog_account_count(struct catalog *c, int64_t *out);
/* Calls fn for each account in creation order; fn returning non-zero stops
 * the walk and becomes the return value. */
int catalog_account_each(struct catalog *c,
			 int (*fn)(const struct cat_account *, void *),
			 void *ctx);

/* Tokens. Only the SHA-256 of a token is stored; hash is 32 bytes. */
int catalog_token_insert(struct catalog *c, const char *account_id,
			 const unsigned char hash[32], int read_only,
			 const char *name, char out_id[CAT_ID_LEN + 1]);
/* The live (unrevoked) token with this hash, or D1E_AUTH_INVALID. */
int catalog_token_lookup(struct catalog *c, const unsigned char hash[32],
			 struct cat_principal *out);
/* D1E_NOT_FOUND if no token has that id. */
int catalog_token_revoke(struct catalog *c, const char *token_id);
/* account_id may be NULL for all accounts. */
int catalog_token_each(struct catalog *c, const char *account_id,
		       int (*fn)(const struct cat_token *, void *), void *ctx);

/* Databases. ref is a uuid or a database name; D1E_DB_NOT_FOUND if the
 * account has no such database. */
int catalog_db_find(struct catalog *c, const char *account_id, const char *ref,
		    struct cat_db *out);
/* Insert db unless the account already has a database of that name
 * (D1E_DB_EXISTS) or already has limit databases (D1E_DB_LIMIT). */
int catalog_db_insert(struct catalog *c, const struct cat_db *db,
		      int64_t limit);
/* Page through the account's databases in creation order, optionally only
 * those whose name contains name_part. *total gets the number matching. */
int catalog_db_list(struct catalog *c, const char *account_id,
		    const char *name_part, int64_t offset, int64_t limit,
		    int (*fn)(const struct cat_db *, void *), void *ctx,
		    int64_t *total);
int catalog_db_set_replication(struct catalog *c, const char *uuid,
			       const char *mode);
/* D1E_DB_NOT_FOUND if the row was already gone. */
int catalog_db_delete(struct catalog *c, const char *uuid);
/* 1 if a database with this uuid exists in any account, 0 if not, or a
 * negative D1E_* error. */
int catalog_db_exists(struct catalog *c, const char *uuid);

#endif
