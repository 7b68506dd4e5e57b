/*
 * config.c — settings (see config.h). Every flag has an environment
 * variable of the same name, upper-cased and prefixed with D1D_, so that a
 * deployment can be described in either form.
 */
#include "config.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every flag of the settings table below but the test-only ones, in its
 * order; cli.test.mjs checks that each flag here is accepted. */
const char config_usage[] =
    "Options of serve (each also read from the environment variable shown):\n"
    "  --listen HOST:PORT      address to listen on (D1D_LISTEN; default\n"
    "                          127.0.0.1:8789; port 0 picks a free port)\n"
    "  --data-dir DIR          all state: catalog, databases (D1D_DATA_DIR;\n"
    "                          default ./data)\n"
    "  --public-url URL        base URL clients reach this server at, used in\n"
    "                          signed URLs (D1D_PUBLIC_URL; default from "
    "--listen)\n"
    "  --max-databases N       databases per account unless the account sets "
    "its\n"
    "                          own limit (D1D_MAX_DATABASES; default 50000)\n"
    "  --max-body-bytes N      largest JSON request body (D1D_MAX_BODY_BYTES;\n"
    "                          default 10485760, at least 1024)\n"
    "  --region R              served_by_region in query meta (D1D_REGION;\n"
    "                          default WEUR)\n"
    "  --colo C                served_by_colo in query meta (D1D_COLO; "
    "default\n"
    "                          LCL)\n"
    "  --no-bootstrap          do not create a default account and token when\n"
    "                          the data dir has no account "
    "(D1D_NO_BOOTSTRAP=1)\n"
    "  --query-timeout-ms N    a query running longer is stopped and changes\n"
    "                          nothing (D1D_QUERY_TIMEOUT_MS; default 30000;\n"
    "                          0: no limit)\n"
    "  --max-db-bytes N        largest size of one database\n"
    "                          (D1D_MAX_DB_BYTES; default 10000000000; 0: no\n"
    "                          limit)\n"
    "  --max-value-bytes N     largest string or BLOB value\n"
    "                          (D1D_MAX_VALUE_BYTES; default 2000000)\n"
    "  --max-open-dbs N        databases kept open at once; others are opened\n"
    "                          when used (D1D_MAX_OPEN_DBS; default 128)\n"
    "  --readers N             read-only connections per open database, 1 to\n"
    "                          16 (D1D_READERS; default 4)\n"
    "  --synchronous full|normal  full (default): an acknowledged write\n"
    "                          survives power loss; normal: it survives a\n"
    "                          crash of d1d, not of the machine, and writes\n"
    "                          are faster (D1D_SYNCHRONOUS)\n"
    "  --max-result-bytes N    largest JSON answer a query may build\n"
    "                          (D1D_MAX_RESULT_BYTES; default 67108864)\n"
    "  --max-upload-bytes N    largest SQL file an import may upload\n"
    "                          (D1D_MAX_UPLOAD_BYTES; default 10000000000)\n"
    "  --history-retention-s N time travel reaches back N seconds\n"
    "                          (D1D_HISTORY_RETENTION_S; default 2592000,\n"
    "                          30 days)\n";

static int set_str(char *dst, size_t cap, const char *v, const char *what)
{
	if (strlen(v) >= cap) {
		fprintf(stderr, "d1d: %s is too long (at most %zu bytes)\n",
			what, cap - 1);
		return -1;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

int config_set_listen(struct config *cfg, const char *s)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;
	if (!colon || util_parse_u64(colon + 1, 65535, &port)) {
		fprintf(stderr,
			"d1d: --listen wants HOST:PORT (e.g. 127.0.0.1:8789), "
			"got '%s'\n",
			s);
		return -1;
	}
	size_t hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(cfg->listen_host)) {
		fprintf(stderr, "d1d: --listen host is too long\n");
		return -1;
	}
	memcpy(cfg->listen_host, s, hl);
	cfg->listen_host[hl] = '\0';
	if (hl == 0)
		strcpy(cfg->listen_host, "0.0.0.0");
	cfg->listen_port = (int)port;
	return 0;
}

static int set_int(int64_t *dst, const char *v, uint64_t max, const char *what)
{
	uint64_t n;
	if (util_parse_u64(v, max, &n)) {
		fprintf(stderr,
			"d1d: %s wants a whole number up to %llu, got '%s'\n",
			what, (unsigned long long)max, v);
		return -1;
	}
	*dst = (int64_t)n;
	return 0;
}

/* The one table of settings: flag, environment variable, and setter. */
enum kind {
	K_LISTEN,
	K_DATA,
	K_URL,
	K_MAXDB,
	K_BODY,
	K_REGION,
	K_COLO,
	K_NOBOOT,
	K_TIMEOUT,
	K_DBBYTES,
	K_VALBYTES,
	K_OPENDBS,
	K_READERS,
	K_SYNC,
	K_RESULT,
	K_UPLOAD,
	K_URL_TTL,
	K_JOB_IDLE,
	K_HISTORY
};
static const struct {
	const char *flag, *env;
	enum kind kind;
} settings[] = {
    {"--listen", "D1D_LISTEN", K_LISTEN},
    {"--data-dir", "D1D_DATA_DIR", K_DATA},
    {"--public-url", "D1D_PUBLIC_URL", K_URL},
    {"--max-databases", "D1D_MAX_DATABASES", K_MAXDB},
    {"--max-body-bytes", "D1D_MAX_BODY_BYTES", K_BODY},
    {"--region", "D1D_REGION", K_REGION},
    {"--colo", "D1D_COLO", K_COLO},
    {"--no-bootstrap", "D1D_NO_BOOTSTRAP", K_NOBOOT},
    {"--query-timeout-ms", "D1D_QUERY_TIMEOUT_MS", K_TIMEOUT},
    {"--max-db-bytes", "D1D_MAX_DB_BYTES", K_DBBYTES},
    {"--max-value-bytes", "D1D_MAX_VALUE_BYTES", K_VALBYTES},
    {"--max-open-dbs", "D1D_MAX_OPEN_DBS", K_OPENDBS},
    {"--readers", "D1D_READERS", K_READERS},
    {"--synchronous", "D1D_SYNCHRONOUS", K_SYNC},
    {"--max-result-bytes", "D1D_MAX_RESULT_BYTES", K_RESULT},
    {"--max-upload-bytes", "D1D_MAX_UPLOAD_BYTES", K_UPLOAD},
    {"--history-retention-s", "D1D_HISTORY_RETENTION_S", K_HISTORY},
    /* Not in the usage: for tests, which cannot wait an hour or 15 s. */
    {"--signed-url-ttl-s", "D1D_SIGNED_URL_TTL_S", K_URL_TTL},
    {"--job-idle-ms", "D1D_JOB_IDLE_MS", K_JOB_IDLE},
};

static int apply(struct config *cfg, enum kind k, const char *v,
		 const char *what)
{
	switch (k) {
	case K_LISTEN: return config_set_listen(cfg, v);
	case K_DATA:
		return set_str(cfg->data_dir, sizeof(cfg->data_dir), v, what);
	case K_URL:
		return set_str(cfg->public_url, sizeof(cfg->public_url), v,
			       what);
	case K_MAXDB: return set_int(&cfg->max_databases, v, 1000000000, what);
	case K_BODY: {
		/* A refused value leaves the setting as it was. */
		int64_t n;
		if (set_int(&n, v, (uint64_t)1 << 32, what))
			return -1;
		if (n < 1024) {
			fprintf(stderr, "d1d: %s must be at least 1024\n",
				what);
			return -1;
		}
		cfg->max_body_bytes = n;
		return 0;
	}
	case K_REGION:
		return set_str(cfg->region, sizeof(cfg->region), v, what);
	case K_COLO: return set_str(cfg->colo, sizeof(cfg->colo), v, what);
	case K_TIMEOUT:
		return set_int(&cfg->query_timeout_ms, v, 86400000, what);
	case K_DBBYTES:
		return set_int(&cfg->max_db_bytes, v, (uint64_t)1 << 50, what);
	case K_VALBYTES:
		return set_int(&cfg->max_value_bytes, v, 1000000000, what);
	case K_OPENDBS: return set_int(&cfg->max_open_dbs, v, 100000, what);
	case K_READERS: return set_int(&cfg->readers, v, 16, what);
	case K_RESULT:
		return set_int(&cfg->max_result_bytes, v, (uint64_t)1 << 40,
			       what);
	case K_UPLOAD:
		return set_int(&cfg->max_upload_bytes, v, (uint64_t)1 << 50,
			       what);
	case K_URL_TTL:
		return set_int(&cfg->url_ttl_s, v, (uint64_t)86400 * 7, what);
	case K_HISTORY:
		return set_int(&cfg->history_retention_s, v,
			       (uint64_t)86400 * 36500, what);
	case K_JOB_IDLE:
		return set_int(&cfg->job_idle_ms, v, (uint64_t)3600 * 1000,
			       what);
	case K_SYNC:
		if (strcmp(v, "full") != 0 && strcmp(v, "normal") != 0) {
			fprintf(stderr, "d1d: %s wants full or normal\n", what);
			return -1;
		}
		cfg->sync_full = v[0] == 'f';
		return 0;
	case K_NOBOOT:
		cfg->bootstrap = !(v[0] == '1' || v[0] == 'y' || v[0] == 't');
		return 0;
	}
	return -1;
}

int config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->listen_host, "127.0.0.1");
	cfg->listen_port = 8789;
	strcpy(cfg->data_dir, "./data");
	cfg->max_databases = 50000;
	cfg->max_body_bytes = 10LL * 1024 * 1024;
	strcpy(cfg->region, "WEUR");
	strcpy(cfg->colo, "LCL");
	cfg->bootstrap = 1;
	cfg->query_timeout_ms = 30000;
	cfg->max_db_bytes = 10000000000LL;
	cfg->max_value_bytes = 2000000;
	cfg->max_open_dbs = 128;
	cfg->readers = 4;
	cfg->sync_full = 1;
	cfg->max_result_bytes = 64LL << 20;
	cfg->max_upload_bytes = 10000000000LL;
	cfg->url_ttl_s = 3600;
	cfg->job_idle_ms = 15000;
	cfg->history_retention_s = (int64_t)30 * 86400;
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const char *v = getenv(settings[i].env);
		if (v && *v && apply(cfg, settings[i].kind, v, settings[i].env))
			return -1;
	}
	return 0;
}

int config_flag(struct config *cfg, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	for (size_t k = 0; k < sizeof(settings) / sizeof(settings[0]); k++) {
		size_t fl = strlen(settings[k].flag);
		if (strncmp(a, settings[k].flag, fl) != 0)
			continue;
		if (settings[k].kind == K_NOBOOT) {
			if (a[fl] != '\0')
				continue;
			cfg->bootstrap = 0;
			return 1;
		}
		const char *v;
		if (a[fl] == '=') {
			v = a + fl + 1;
		} else if (a[fl] == '\0') {
			if (*i + 1 >= argc) {
				fprintf(stderr, "d1d: %s needs a value\n", a);
				return -1;
			}
			v = argv[++*i];
		} else {
			continue;
		}
		return apply(cfg, settings[k].kind, v, settings[k].flag) ? -1
									 : 1;
	}
	return 0;
}
