/* Unit tests of settings: defaults, flags, listen addresses. */
#include "config.h"
#include "test.h"

TEST(config_defaults_and_flags)
{
	struct config cfg;
	char *argv[] = {"--listen",
			"0.0.0.0:9000",
			"--data-dir=/tmp/x",
			"--max-databases",
			"7",
			"--no-bootstrap",
			"--bogus"};
	int argc = 7, i;
	CHECK(config_init(&cfg) == 0);
	CHECK_STR(cfg.listen_host, "127.0.0.1");
	CHECK(cfg.listen_port == 8789);
	CHECK(cfg.bootstrap == 1);
	CHECK(cfg.query_timeout_ms == 30000);
	i = 0;
	CHECK(config_flag(&cfg, argc, argv, &i) == 1 && i == 1);
	CHECK_STR(cfg.listen_host, "0.0.0.0");
	CHECK(cfg.listen_port == 9000);
	i = 2;
	CHECK(config_flag(&cfg, argc, argv, &i) == 1);
	CHECK_STR(cfg.data_dir, "/tmp/x");
	i = 3;
	CHECK(config_flag(&cfg, argc, argv, &i) == 1 && i == 4);
	CHECK(cfg.max_databases == 7);
	i = 5;
	CHECK(config_flag(&cfg, argc, argv, &i) == 1 && cfg.bootstrap == 0);
	i = 6;
	CHECK(config_flag(&cfg, argc, argv, &i) == 0);
}

TEST(config_listen_forms)
{
	struct config cfg;
	CHECK(config_init(&cfg) == 0);
	CHECK(config_set_listen(&cfg, "[::1]:80") == 0);
	CHECK_STR(cfg.listen_host, "::1");
	CHECK(cfg.listen_port == 80);
	CHECK(config_set_listen(&cfg, ":0") == 0);
	CHECK_STR(cfg.listen_host, "0.0.0.0");
	CHECK(cfg.listen_port == 0);
	CHECK(config_set_listen(&cfg, "localhost") == -1);
	CHECK(config_set_listen(&cfg, "h:65536") == -1);
	CHECK(config_set_listen(&cfg, "h:x") == -1);
}
