/*
 * ctld: the control daemon of rtpsec.  It speaks rtpengine's ng protocol to
 * SIP proxies (UDP and TCP), the same commands over its ZeroMQ API, keeps
 * the call records (in memory, written to Redis), and drives relayd (and
 * keyd, for the SDES keys of SRTP calls).
 *
 * main() only sets up: configuration, sockets, confinement, then one poll
 * loop over the ZeroMQ sockets and the ng fds (timeout <= 200 ms) that
 * also runs the timers: stats publishing, reply-cache rotation, delete
 * delay reaping, Redis reconnection and rewriting the records after a
 * Redis failure, relay node pings and adoption of a dead node's calls,
 * and reconciliation with relayd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "libcommon/log.h"
#include "libcommon/privsep.h"
#include "libcommon/store.h"
#include "ctld/acl.h"
#include "ctld/api.h"
#include "ctld/call.h"
#include "ctld/ctld.h"
#include "ctld/keys.h"
#include "ctld/ngcache.h"
#include "ctld/ngnet.h"
#include "ctld/ngpersist.h"
#include "ctld/nodes.h"
#include "ctld/relay.h"
#include "ctld/session.h"

#define CTLD_POLL_MS		200
#define CTLD_RECONCILE_MS	5000
#define CTLD_TIMERS_MS		100	/* delete delays, record refresh */
#define CTLD_CACHE_ENTRIES	200000
#define CTLD_CACHE_BYTES	(256UL * 1024 * 1024)

static uint64_t
cache_period_ms(const struct config *cfg)
{
	int	 s = cfg->reply_cache_s > 1 ? cfg->reply_cache_s : 2;

	return (uint64_t)s * 1000 / 2;
}

int
main(int argc, char **argv)
{
	static const char *const extra[] = { NULL };
	struct config	 cfg;
	struct ctld	 c;
	struct api	*api;
	struct ngnet	*net;
	zmq_pollitem_t	 it[2 + 2 + NGNET_MAX_CONNS];
	char		 err[256];
	uint64_t	 now, next_stats, next_reconcile, next_timers = 0;
	int		 n, k, dead;

	daemon_start(argc, argv, "ctld", &cfg);
	memset(&c, 0, sizeof(c));
	c.cfg = &cfg;
	c.started = daemon_wall_s();
	c.started_ms = daemon_now_ms();
	if ((c.calls = calls_new()) == NULL)
		fatalx("out of memory");
	if ((c.allow = acl_new(cfg.ng_allow, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((c.cache = ngcache_new(CTLD_CACHE_ENTRIES, CTLD_CACHE_BYTES,
	    cache_period_ms(&cfg), c.started_ms)) == NULL)
		fatalx("out of memory");
	if ((net = ngnet_new(cfg.ng_listen, cfg.ng_tcp)) == NULL)
		fatalx("cannot listen for ng on %s", cfg.ng_listen);
	if ((c.nodes = nodes_new(&cfg, c.started_ms, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	c.relay = nodes_relay(c.nodes, 0);
	if ((api = api_new(&c)) == NULL)
		fatalx("cannot set up the ZeroMQ sockets");
	privsep_own_endpoint(&cfg, cfg.ctld_ctl);
	privsep_own_endpoint(&cfg, cfg.ctld_pub);
	if ((c.keys = keys_new(cfg.keyd_ctl, cfg.ipc_timeout_ms)) == NULL)
		fatalx("cannot create the keyd client");
	if ((c.store = store_new(cfg.redis, cfg.node_id, cfg.call_ttl)) == NULL)
		fatalx("bad redis address %s", cfg.redis);
	if ((c.ngp = ngpersist_new(cfg.redis, cfg.reply_cache_s)) == NULL)
		fatalx("bad redis address %s", cfg.redis);
	privsep_confine(&cfg, "ctld", extra);
	session_restore(&c);
	log_info("ready: ng %s, control %s, %zu relay node%s (first %s at %s)",
	    cfg.ng_listen, cfg.ctld_ctl, nodes_count(c.nodes),
	    nodes_count(c.nodes) == 1 ? "" : "s", nodes_id(c.nodes, 0),
	    cfg.relay_nodes[0] != '\0' ? "relay_nodes" : cfg.relayd_ctl);

	now = daemon_now_ms();
	next_stats = now;
	next_reconcile = now + CTLD_RECONCILE_MS;
	while (!daemon_quit) {
		if (daemon_reload) {
			struct acl	*acl;

			daemon_reload_config(&cfg);
			if ((acl = acl_new(cfg.ng_allow, err,
			    sizeof(err))) == NULL)
				log_warnx("SIGHUP: keeping ng_allow: %s", err);
			else {
				acl_destroy(&c.allow);
				c.allow = acl;
			}
			nodes_set_timeout(c.nodes, cfg.ipc_timeout_ms);
			ngpersist_set_ttl(c.ngp, cfg.reply_cache_s);
			keys_set_timeout(c.keys, cfg.ipc_timeout_ms);
			ngcache_set_period(c.cache, cache_period_ms(&cfg));
		}
		it[0] = (zmq_pollitem_t){ zsock_resolve(api_router(api)), 0,
		    ZMQ_POLLIN, 0 };
		it[1] = (zmq_pollitem_t){ zsock_resolve(api_sub(api)), 0,
		    ZMQ_POLLIN, 0 };
		k = 2 + ngnet_pollitems(net, it + 2, NGNET_MAX_CONNS + 2);
		/* records being written again after a Redis failure go out
		 * a batch per turn: turn quickly until they are all out */
		n = zmq_poll(it, k, c.resyncing ? 1 : CTLD_POLL_MS);
		if (n == -1 && zmq_errno() != EINTR) {
			log_warnx("zmq_poll: %s", zmq_strerror(zmq_errno()));
			continue;
		}
		if (n > 0) {
			if (it[0].revents & ZMQ_POLLIN)
				api_router_ready(api, &c);
			if (it[1].revents & ZMQ_POLLIN)
				api_sub_ready(api, &c);
			ngnet_ready(net, &c, it + 2, k - 2);
		}
		session_flush(&c);
		now = daemon_now_ms();
		ngcache_tick(c.cache, now);
		/* both walk every call: not on every message */
		if (now >= next_timers) {
			session_reap(&c, now);
			session_refresh(&c, now);
			next_timers = now + CTLD_TIMERS_MS;
		}
		store_tick(c.store, now);
		ngpersist_tick(c.ngp, now);
		session_resync(&c, now);
		if ((dead = nodes_tick(c.nodes, now)) >= 0)
			nodes_adopted(c.nodes, (size_t)dead,
			    session_adopt(&c, (size_t)dead) == 0,
			    daemon_now_ms());
		if (now >= next_reconcile) {
			session_reconcile(&c);
			session_adopt_unknown(&c);
			next_reconcile = now + CTLD_RECONCILE_MS;
		}
		if (c.ngone > 0)
			session_gone_flush(&c);
		if (now >= next_stats) {
			api_publish_stats(api, &c);
			next_stats = now + (cfg.stats_interval_ms > 0 ?
			    (uint64_t)cfg.stats_interval_ms : 1000);
		}
	}
	session_flush(&c);
	log_info("exiting: %zu calls in memory", calls_count(c.calls));
	session_gone_free(&c);
	api_destroy(&api);
	ngnet_destroy(&net);
	c.relay = NULL;
	nodes_destroy(&c.nodes);
	ngpersist_destroy(&c.ngp);
	keys_destroy(&c.keys);
	store_destroy(&c.store);
	ngcache_destroy(&c.cache);
	acl_destroy(&c.allow);
	calls_destroy(&c.calls);
	return 0;
}
