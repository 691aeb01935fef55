/*
 * statsd: the metrics daemon (DESIGN.md, docs/metrics.md).
 *
 * main parses the flags and the configuration, starts the HTTP server
 * (http.c: binds http_listen, starts microhttpd's thread), connects one
 * SUB socket to each daemon's PUB endpoint, confines the process, and
 * runs the loop: every PUB message goes to the store (collect.c), which
 * the HTTP thread renders on each scrape.  statsd holds no secrets and
 * sends nothing to the other daemons.  SIGTERM exits 0; SIGHUP reloads
 * the configuration (down_after_ms applies at once, http_listen and the
 * endpoints need a restart).
 *
 * Its counter state lives in Redis too (persist.c): it is loaded before
 * the HTTP server starts, so that no scrape ever sees counters restart,
 * and saved from the loop (after each message when a publisher restarted,
 * else every stats_interval_ms, at most once a second).
 */
#include <stdlib.h>
#include <string.h>

#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "libcommon/ipc.h"
#include "libcommon/log.h"
#include "libcommon/privsep.h"
#include "statsd/collect.h"
#include "statsd/http.h"
#include "statsd/persist.h"

/* the loop's poll: how late a due save or a Redis answer can be seen */
#define STATSD_POLL_MS	100

static void
statsd_recv(struct collect *c, zsock_t *sub, enum collect_daemon d)
{
	zmsg_t		*m;
	zframe_t	*f;

	if ((m = zmsg_recv(sub)) == NULL)
		return;
	if (zmsg_size(m) != 1) {
		collect_count_drop(c, COLLECT_DROP_MALFORMED);
		log_debug("%s: dropped a %zu-part message",
		    collect_daemon_names[d], zmsg_size(m));
		zmsg_destroy(&m);
		return;
	}
	f = zmsg_first(m);
	if (collect_message(c, d, zframe_data(f), zframe_size(f),
	    daemon_now_ms()) == -1)
		log_debug("%s: dropped a malformed PUB message",
		    collect_daemon_names[d]);
	zmsg_destroy(&m);
}

int
main(int argc, char **argv)
{
	struct config	 cfg;
	struct collect	*collect;
	struct http	*http;
	struct persist	*persist;
	zsock_t		*sub[COLLECT_DAEMON_COUNT];
	zpoller_t	*poller;
	void		*which;
	const char	*endpoint[COLLECT_DAEMON_COUNT];
	char		 err[256];
	int		 d;

	daemon_start(argc, argv, "statsd", &cfg);
	if ((collect = collect_new(cfg.down_after_ms, COLLECT_MAX_SERIES,
	    daemon_now_ms())) == NULL)
		fatalx("out of memory");
	/* the saved state first: no scrape must see counters restart */
	collect_expect_restore(collect);
	if ((persist = persist_new(cfg.redis, cfg.node_id,
	    cfg.stats_interval_ms, collect)) == NULL)
		fatalx("bad redis address %s", cfg.redis);
	persist_tick(persist, daemon_now_ms());
	if ((http = http_start(cfg.http_listen, collect, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);

	endpoint[COLLECT_DAEMON_RELAYD] = cfg.relayd_pub;
	endpoint[COLLECT_DAEMON_CTLD] = cfg.ctld_pub;
	endpoint[COLLECT_DAEMON_KEYD] = cfg.keyd_pub;
	for (d = 0; d < COLLECT_DAEMON_COUNT; d++)
		if ((sub[d] = ipc_sub(endpoint[d])) == NULL)
			fatalx("cannot subscribe to %s", endpoint[d]);
	if ((poller = zpoller_new(sub[0], NULL)) == NULL)
		fatalx("zpoller_new");
	for (d = 1; d < COLLECT_DAEMON_COUNT; d++)
		if (zpoller_add(poller, sub[d]) == -1)
			fatalx("zpoller_add");

	/* microhttpd's thread and libzmq's threads exist by now */
	privsep_confine(&cfg, "statsd", http_syscalls);
	log_info("ready: metrics on http://%s/metrics, subscribed to %s %s %s",
	    cfg.http_listen, cfg.relayd_pub, cfg.ctld_pub, cfg.keyd_pub);

	while (!daemon_quit) {
		if (daemon_reload) {
			if (daemon_reload_config(&cfg) == 0)
				collect_set_down_after(collect,
				    cfg.down_after_ms);
		}
		which = zpoller_wait(poller, STATSD_POLL_MS);
		for (d = 0; which != NULL && d < COLLECT_DAEMON_COUNT; d++)
			if (which == sub[d])
				statsd_recv(collect, sub[d],
				    (enum collect_daemon)d);
		persist_tick(persist, daemon_now_ms());
	}
	log_info("stopping");
	http_stop(&http);
	persist_destroy(&persist);
	zpoller_destroy(&poller);
	for (d = 0; d < COLLECT_DAEMON_COUNT; d++)
		zsock_destroy(&sub[d]);
	collect_destroy(&collect);
	return 0;
}
