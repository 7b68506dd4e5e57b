/*
 * main.c — the d1d command: `serve` runs the server; `account` and `token`
 * administer the data dir (they open the catalog directly, so they work
 * whether or not a server is running on the same data dir).
 *
 * Startup of serve: open the catalog, remove database directories that a
 * crash left without a catalog entry, create a default account and token
 * if there is no account yet (printing how to point wrangler at us), then
 * listen. SIGINT/SIGTERM stop it gracefully: no new connections, requests
 * under way finish (up to 30 s), then everything is closed.
 */
#include "apierr.h"
#include "auth.h"
#include "catalog.h"
#include "config.h"
#include "dbfile.h"
#include "dbpool.h"
#include "exec.h"
#include "faultvfs.h"
#include "http.h"
#include "jobs.h"
#include "server.h"
#include "signurl.h"
#include "util.h"

#include <errno.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define D1D_VERSION "0.1.0"

static const char usage[] =
    "d1d " D1D_VERSION
    " — a self-hosted server for the Cloudflare D1 REST API\n"
    "\n"
    "Usage:\n"
    "  d1d serve [options]                    run the server\n"
    "  d1d account create [--name N] [--email E] [--max-databases N]\n"
    "                                         print the new account's id\n"
    "  d1d account list                       id, name, email per line\n"
    "  d1d token create --account ID [--read-only] [--name N]\n"
    "                                         print a new API token\n"
    "  d1d token list [--account ID]          id, account, ro|rw, name, state\n"
    "  d1d token revoke TOKEN_ID\n"
    "  d1d --help | --version\n"
    "\n"
    "Every command takes --data-dir DIR (or D1D_DATA_DIR; default ./data).\n"
    "\n";

static int open_data_dir(const struct config *cfg, struct catalog **cat)
{
	if (util_mkdir_p(cfg->data_dir, 0700)) {
		fprintf(stderr, "d1d: cannot create data dir %s: %s\n",
			cfg->data_dir, strerror(errno));
		return 1;
	}
	return catalog_open(cfg->data_dir, cat) ? 1 : 0;
}

/* Parse the config flags and any of the extra flags named in opts
 * ("--name", ...), whose values land in vals[] (NULL when absent); a
 * bare flag (no value) is one whose name ends in '!'. */
static int parse_args(struct config *cfg, int argc, char **argv,
		      const char *const *opts, const char **vals,
		      const char **positional)
{
	for (int i = 0; i < argc; i++) {
		/* The command's own flags first: `account create
		 * --max-databases` is the account's limit, not serve's. */
		int found = 0;
		for (int o = 0; opts && opts[o]; o++) {
			size_t n = strlen(opts[o]);
			int bare = opts[o][n - 1] == '!';
			if (bare)
				n--;
			if (strncmp(argv[i], opts[o], n) != 0 ||
			    argv[i][n] != '\0')
				continue;
			found = 1;
			if (bare) {
				vals[o] = "1";
			} else if (i + 1 < argc) {
				vals[o] = argv[++i];
			} else {
				fprintf(stderr, "d1d: %s needs a value\n",
					argv[i]);
				return -1;
			}
			break;
		}
		if (found)
			continue;
		int k = config_flag(cfg, argc, argv, &i);
		if (k < 0)
			return -1;
		if (k > 0)
			continue;
		if (argv[i][0] != '-' && positional && !*positional) {
			*positional = argv[i];
			continue;
		}
		fprintf(stderr, "d1d: unknown argument '%s' (see d1d --help)\n",
			argv[i]);
		return -1;
	}
	return 0;
}

static int mint_token(struct catalog *cat, const char *account, int read_only,
		      const char *name, char token[AUTH_TOKEN_LEN + 1])
{
	unsigned char hash[32];
	char id[CAT_ID_LEN + 1];
	int rc = auth_token_new(token, hash);
	if (!rc)
		rc = catalog_token_insert(cat, account, hash, read_only, name,
					  id);
	return rc;
}

/* ---- serve ---- */

static int keep_db(const char *uuid, void *ctx)
{
	return catalog_db_exists(ctx, uuid);
}

static int bootstrap(struct server *srv)
{
	int64_t n;
	char id[CAT_ID_LEN + 1], token[AUTH_TOKEN_LEN + 1];
	int rc = catalog_account_count(srv->cat, &n);
	if (rc || n > 0 || !srv->cfg.bootstrap)
		return rc;
	rc = catalog_account_create(srv->cat, "default", "admin@d1d.local", -1,
				    id);
	if (!rc)
		rc = mint_token(srv->cat, id, 0, "bootstrap", token);
	if (rc)
		return rc;
	printf("d1d: first start: created account %s and an API token.\n"
	       "d1d: the token is shown only now; `d1d token create --account "
	       "%s` makes another.\n"
	       "d1d: point wrangler and the SDK at this server with:\n"
	       "export CLOUDFLARE_API_BASE_URL=%s/client/v4\n"
	       "export CLOUDFLARE_ACCOUNT_ID=%s\n"
	       "export CLOUDFLARE_API_TOKEN=%s\n",
	       id, id, srv->base_url, id, token);
	fflush(stdout);
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	struct server srv;
	sigset_t sigs;
	int sig, port = 0, rc = 1;

	memset(&srv, 0, sizeof(srv));
	/* SQLite's memory statistics take a global mutex on every allocation;
	 * with many threads that mutex is the hottest lock in the process. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (config_init(&srv.cfg) ||
	    parse_args(&srv.cfg, argc, argv, NULL, NULL, NULL))
		return 2;
	/* For tests only: storage faults on demand (faultvfs.c). */
	const char *fault = getenv("D1D_FAULT_FILE");
	if (fault && *fault) {
		if (faultvfs_register(fault))
			return 1;
		fprintf(stderr,
			"d1d: test mode: injecting storage faults as "
			"%s says\n",
			fault);
	}
	if (open_data_dir(&srv.cfg, &srv.cat))
		return 1;
	if (dbfile_sweep(srv.cfg.data_dir, keep_db, srv.cat))
		fprintf(stderr, "d1d: warning: could not clean up every "
				"leftover database directory\n");

	/* Block the stop signals in every thread; main waits for them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	srv.limits.timeout_ms = srv.cfg.query_timeout_ms;
	srv.limits.max_db_bytes = srv.cfg.max_db_bytes;
	srv.limits.max_value_bytes = srv.cfg.max_value_bytes;
	srv.limits.max_result_bytes = srv.cfg.max_result_bytes;
	if (dbpool_new(srv.cfg.data_dir, (int)srv.cfg.max_open_dbs,
		       (int)srv.cfg.readers, srv.cfg.sync_full, exec_conn_setup,
		       exec_conn_teardown, &srv.limits, &srv.pool))
		goto out;
	dbpool_set_history_keep(srv.pool, srv.cfg.history_retention_s * 1000);
	if (signurl_open(srv.cfg.data_dir, &srv.signer) ||
	    jobs_new(srv.cfg.data_dir, srv.cfg.job_idle_ms, srv.cfg.url_ttl_s,
		     &srv.jobs)) {
		fprintf(stderr, "d1d: cannot set up exports and imports in "
				"the data dir\n");
		goto out;
	}
	if (http_start(&srv, &port))
		goto out;
	if (srv.cfg.public_url[0])
		snprintf(srv.base_url, sizeof(srv.base_url), "%s",
			 srv.cfg.public_url);
	else
		snprintf(srv.base_url, sizeof(srv.base_url), "http://%s%s%s:%d",
			 strchr(srv.cfg.listen_host, ':') ? "[" : "",
			 strcmp(srv.cfg.listen_host, "0.0.0.0") == 0
			     ? "127.0.0.1"
			     : srv.cfg.listen_host,
			 strchr(srv.cfg.listen_host, ':') ? "]" : "", port);
	if (bootstrap(&srv)) {
		fprintf(stderr, "d1d: could not create the default account\n");
		http_stop(&srv, 0);
		goto out;
	}
	printf("d1d: listening on %s (data dir %s)\n", srv.base_url,
	       srv.cfg.data_dir);
	fflush(stdout);

	while (sigwait(&sigs, &sig) != 0)
		;
	fprintf(stderr, "d1d: %s received, finishing requests under way\n",
		sig == SIGINT ? "SIGINT" : "SIGTERM");
	http_stop(&srv, 30000);
	rc = 0;
out:
	jobs_free(srv.jobs); /* before the pool: jobs hold databases */
	signurl_free(srv.signer);
	dbpool_free(srv.pool);
	catalog_free(srv.cat);
	return rc;
}

/* ---- account ---- */

static int print_account(const struct cat_account *a, void *ctx)
{
	(void)ctx;
	printf("%s\t%s\t%s\n", a->id, a->name, a->email);
	return 0;
}

static int cmd_account(int argc, char **argv)
{
	static const char *const opts[] = {"--name", "--email",
					   "--max-databases", NULL};
	const char *vals[3] = {0};
	struct config cfg;
	struct catalog *cat = NULL;
	char id[CAT_ID_LEN + 1];
	uint64_t maxdb = 0;
	int rc = 1;

	if (argc < 1 || config_init(&cfg) ||
	    parse_args(&cfg, argc - 1, argv + 1, opts, vals, NULL)) {
		fprintf(stderr, "usage: d1d account create|list [options]\n");
		return 2;
	}
	if (vals[2] && util_parse_u64(vals[2], 1000000000, &maxdb)) {
		fprintf(stderr, "d1d: --max-databases wants a whole number\n");
		return 2;
	}
	if ((vals[0] && strlen(vals[0]) > CAT_NAME_MAX) ||
	    (vals[1] && strlen(vals[1]) > CAT_EMAIL_MAX)) {
		fprintf(stderr, "d1d: --name (64) or --email (254) too long\n");
		return 2;
	}
	if (open_data_dir(&cfg, &cat))
		return 1;
	if (strcmp(argv[0], "create") == 0) {
		if (catalog_account_create(
			cat, vals[0] ? vals[0] : "account",
			vals[1] ? vals[1] : "admin@d1d.local",
			vals[2] ? (int64_t)maxdb : -1, id) == 0) {
			printf("%s\n", id);
			rc = 0;
		}
	} else if (strcmp(argv[0], "list") == 0) {
		rc = catalog_account_each(cat, print_account, NULL) ? 1 : 0;
	} else {
		fprintf(stderr, "d1d: unknown account command '%s'\n", argv[0]);
		rc = 2;
	}
	catalog_free(cat);
	return rc;
}

/* ---- token ---- */

static int print_token(const struct cat_token *t, void *ctx)
{
	(void)ctx;
	printf("%s\t%s\t%s\t%s\t%s\n", t->id, t->account_id,
	       t->read_only ? "ro" : "rw", t->name,
	       t->revoked ? "revoked" : "active");
	return 0;
}

static int cmd_token(int argc, char **argv)
{
	static const char *const opts[] = {"--account", "--read-only!",
					   "--name", NULL};
	const char *vals[3] = {0}, *pos = NULL;
	struct config cfg;
	struct catalog *cat = NULL;
	struct cat_account acct;
	char token[AUTH_TOKEN_LEN + 1];
	int rc = 1;

	if (argc < 1 || config_init(&cfg) ||
	    parse_args(&cfg, argc - 1, argv + 1, opts, vals, &pos)) {
		fprintf(stderr,
			"usage: d1d token create|list|revoke [options]\n");
		return 2;
	}
	if (vals[2] && strlen(vals[2]) > CAT_NAME_MAX) {
		fprintf(stderr, "d1d: --name is too long (64)\n");
		return 2;
	}
	if (open_data_dir(&cfg, &cat))
		return 1;
	if (strcmp(argv[0], "create") == 0) {
		if (!vals[0]) {
			fprintf(stderr,
				"d1d: token create needs --account ID\n");
			rc = 2;
		} else if (catalog_account_get(cat, vals[0], &acct)) {
			fprintf(stderr, "d1d: no account %s\n", vals[0]);
		} else if (mint_token(cat, acct.id, vals[1] != NULL,
				      vals[2] ? vals[2] : "token",
				      token) == 0) {
			printf("%s\n", token);
			rc = 0;
		}
	} else if (strcmp(argv[0], "list") == 0) {
		rc =
		    catalog_token_each(cat, vals[0], print_token, NULL) ? 1 : 0;
	} else if (strcmp(argv[0], "revoke") == 0 && pos) {
		int r = catalog_token_revoke(cat, pos);
		if (r == D1E_NOT_FOUND)
			fprintf(stderr, "d1d: no token with id %s\n", pos);
		rc = r ? 1 : 0;
	} else {
		fprintf(stderr,
			"usage: d1d token create|list|revoke [options]\n");
		rc = 2;
	}
	catalog_free(cat);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		fputs(config_usage, stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		puts("d1d " D1D_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "account"))
		return cmd_account(argc - 2, argv + 2);
	if (!strcmp(argv[1], "token"))
		return cmd_token(argc - 2, argv + 2);
	fprintf(stderr, "d1d: unknown command '%s' (see d1d --help)\n",
		argv[1]);
	return 2;
}
