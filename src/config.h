/*
 * config.h — the server's settings: defaults, then environment variables
 * (D1D_*), then command-line flags, each overriding the one before.
 */
#ifndef D1D_CONFIG_H
#define D1D_CONFIG_H

#include <stdint.h>

struct config {
	char listen_host[256];
	int listen_port;
	char data_dir[1024];
	char
	    public_url[512]; /* base of signed URLs; "" = derived from listen */
	int64_t max_databases;	/* per account, unless the account says */
	int64_t max_body_bytes; /* JSON request bodies */
	char region[8];		/* served_by_region */
	char colo[8];		/* served_by_colo */
	int bootstrap;		/* create a default account on first start */
	int64_t query_timeout_ms;
	int64_t max_db_bytes;
	int64_t max_value_bytes;
	int64_t max_result_bytes;
	int64_t max_open_dbs;	  /* databases kept open at once */
	int64_t readers;	  /* read-only connections per open database */
	int sync_full;		  /* synchronous=FULL (default) or NORMAL */
	int64_t max_upload_bytes; /* an import's SQL file */
	int64_t url_ttl_s;	  /* signed URLs and the files behind them */
	int64_t job_idle_ms;	  /* an unpolled export/import is cancelled */
	int64_t history_retention_s; /* time travel's window */
};

/* Fill cfg with defaults and then the D1D_* environment variables. Returns
 * 0, or -1 with a message on stderr for an unusable variable. */
int config_init(struct config *cfg);

/* Apply one flag; *i indexes argv and is advanced past a flag's value.
 * Returns 1 if the flag was consumed, 0 if it is not a config flag, -1 with
 * a message on stderr if its value is wrong. */
int config_flag(struct config *cfg, int argc, char **argv, int *i);

/* Parse "HOST:PORT", "[V6]:PORT" or ":PORT" into the config. */
int config_set_listen(struct config *cfg, const char *s);

/* The text of `d1d --help` about configuration. */
extern const char config_usage[];

#endif
