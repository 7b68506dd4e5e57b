/*
 * server.h — the state one running d1d shares across its threads.
 */
#ifndef D1D_SERVER_H
#define D1D_SERVER_H

#include "catalog.h"
#include "config.h"
#include "dbpool.h"
#include "exec.h"

#include <stdatomic.h>

struct jobs;
struct signer;

struct server {
	struct config cfg;
	struct catalog *cat;
	struct dbpool *pool;
	struct exec_limits limits;
	char base_url[600];    /* http://host:port, where clients reach us */
	atomic_int inflight;   /* requests between first byte and completion */
	struct jobs *jobs;     /* exports and imports under way (jobs.c) */
	struct signer *signer; /* signed URLs (signurl.c) */
};

#endif
