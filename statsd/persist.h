/*
 * persist: statsd's counter state in Redis, so that a restart of statsd
 * does not restart the counters it exports (docs/metrics.md, "Restarts").
 *
 * One HASH per statsd, `rtpsec:stats:<node_id>` on the `[common] redis`
 * server ctld uses; one field per publisher, "<daemon>/<node>", holding
 * its identity (pid, started) and each counter's offset and last value,
 * and a field "statsd" for statsd's own counters (collect.h has the blob).
 * statsd loads the hash when it starts, before it serves a scrape, and
 * writes the publishers that changed as often as the daemons publish
 * (stats_interval_ms, at most once a second), and at once when an offset
 * changed (a publisher restarted).  While persisting, statsd exports its
 * counters as of the last save (collect.h), so that period is also how
 * far they lag.
 *
 * Redis must never stop /metrics: the save is pipelined (sent, its answer
 * read on a later tick), connect and reply timeouts are short
 * (PERSIST_TIMEOUT_MS; PERSIST_START_TIMEOUT_MS for the first load, which
 * comes before statsd serves anything), and while Redis is unreachable
 * statsd goes on without persistence, retrying every PERSIST_RETRY_MS and
 * counting each failure in rtpsec_redis_errors_total{daemon="statsd"}.
 */
#ifndef RTPSEC_STATSD_PERSIST_H
#define RTPSEC_STATSD_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "statsd/collect.h"

#define PERSIST_TIMEOUT_MS	100
#define PERSIST_START_TIMEOUT_MS 900	/* the load before serving */
#define PERSIST_RETRY_MS	1000
#define PERSIST_SAVE_MS		1000	/* the longest save period */
#define PERSIST_SAVE_MIN_MS	100	/* the shortest */
#define PERSIST_KEYLEN		512

struct persist;

/* spec: "host:port", "[v6]:port" or "unix:PATH" (relative to the run
 * directory); save_ms: the save period, clamped to PERSIST_SAVE_MIN_MS ..
 * PERSIST_SAVE_MS.  NULL when spec does not parse or memory runs out.
 * Does not connect: persist_tick() does. */
struct persist	*persist_new(const char *spec, const char *node_id,
		    int save_ms, struct collect *);
void		 persist_destroy(struct persist **);

/* Reads Redis's answer to the last save, (re)connects, loads the saved
 * state once, and saves when due.  Call it every loop turn; it waits for
 * Redis at most PERSIST_TIMEOUT_MS per step. */
void		 persist_tick(struct persist *, uint64_t now_ms);

/* 1 once the saved state is loaded and Redis is connected. */
int		 persist_up(const struct persist *);

/* The key of node_id's state; -1 when it does not fit. */
int		 persist_key(char *, size_t, const char *node_id);

#endif
