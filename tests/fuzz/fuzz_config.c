/*
 * fuzz_config.c — libFuzzer target for the server's settings: arguments
 * through config_flag() as `d1d serve` parses them, including
 * config_set_listen(). Input: the arguments, separated by '\n'.
 *
 * The oracle: every argument is consumed, passed over or refused; at most
 * one value is taken per flag; the settings that result are in range
 * (ports, NUL-terminated strings that fit their buffers, limits within
 * what config.c accepts).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 16

static FILE *devnull;

static int fits(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char *argv[MAX_ARGS + 1];
	int argc = 0;
	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	char *buf = malloc(size + 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *p = buf; argc < MAX_ARGS;) {
		argv[argc++] = p;
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	argv[argc] = NULL;

	/* config.c explains refusals on stderr: keep the fuzzer's quiet
	 * (sanitizer reports do not go through stdio). */
	FILE *saved = stderr;
	stderr = devnull;
	if (config_init(&cfg))
		abort();
	int ok = 1;
	for (int i = 0; i < argc && ok; i++) {
		int before = i;
		int k = config_flag(&cfg, argc, argv, &i);
		if (k < -1 || k > 1 || i < before || i > before + 1 ||
		    i >= argc)
			abort();
		if (k == 0 && i != before)
			abort();
		ok = k >= 0;
	}
	stderr = saved;

	if (!fits(cfg.listen_host, sizeof(cfg.listen_host)) ||
	    !fits(cfg.data_dir, sizeof(cfg.data_dir)) ||
	    !fits(cfg.public_url, sizeof(cfg.public_url)) ||
	    !fits(cfg.region, sizeof(cfg.region)) ||
	    !fits(cfg.colo, sizeof(cfg.colo)))
		abort();
	if (cfg.listen_port < 0 || cfg.listen_port > 65535 ||
	    cfg.max_body_bytes < 1024 || cfg.max_body_bytes > (1LL << 32) ||
	    cfg.readers < 0 || cfg.readers > 16 || cfg.max_open_dbs < 0 ||
	    cfg.max_open_dbs > 100000 || cfg.max_databases < 0 ||
	    cfg.query_timeout_ms < 0 || cfg.max_db_bytes < 0 ||
	    cfg.max_value_bytes < 0 || cfg.max_result_bytes < 0 ||
	    (cfg.sync_full != 0 && cfg.sync_full != 1))
		abort();
	free(buf);
	return 0;
}
