/*
 * keyd: the key daemon (DESIGN.md "Daemons and trust boundaries").
 *
 * main parses the flags and the configuration, binds the ROUTER
 * (keyd_ctl) and PUB (keyd_pub) sockets, confines the process, and runs
 * the loop: ROUTER requests (ctl.c) and the PUB `stats` message every
 * stats_interval_ms.  keyd faces nothing outside the host.  SIGTERM exits
 * 0; SIGHUP reloads the configuration (the endpoints need a restart).
 */
#include <stdlib.h>

#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "libcommon/ipc.h"
#include "libcommon/log.h"
#include "libcommon/privsep.h"
#include "keyd/ctl.h"

static void
keyd_serve(struct keyd *k, zsock_t *router)
{
	zframe_t	*ident, *msg;
	struct ipc_w	 w;

	if (ipc_router_recv(router, &ident, &msg) == -1) {
		k->dropped[KEYD_DROP_MALFORMED]++;
		log_warnx("dropped a request of the wrong shape");
		return;
	}
	ipc_w_init(&w);
	if (keyd_request(k, zframe_data(msg), zframe_size(msg), &w) &&
	    ipc_router_send(router, ident, &w) == -1)
		log_warnx("cannot send a reply");
	ipc_w_free(&w);
	zframe_destroy(&ident);
	zframe_destroy(&msg);
}

int
main(int argc, char **argv)
{
	struct config	 cfg;
	struct keyd	 keyd;
	struct ipc_w	 w;
	zsock_t		*router, *pub;
	zpoller_t	*poller;
	uint64_t	 now, next_stats, pubseq = 0;

	daemon_start(argc, argv, "keyd", &cfg);
	keyd_init(&keyd, &cfg);
	if ((router = ipc_bind(ZMQ_ROUTER, cfg.keyd_ctl)) == NULL ||
	    (pub = ipc_bind(ZMQ_PUB, cfg.keyd_pub)) == NULL)
		fatalx("cannot bind the ZeroMQ sockets");
	privsep_own_endpoint(&cfg, cfg.keyd_ctl);
	privsep_own_endpoint(&cfg, cfg.keyd_pub);
	privsep_confine(&cfg, "keyd", NULL);
	if ((poller = zpoller_new(router, NULL)) == NULL)
		fatalx("zpoller_new");
	log_info("ready: control %s, pub %s", cfg.keyd_ctl, cfg.keyd_pub);

	next_stats = daemon_now_ms();
	while (!daemon_quit) {
		if (daemon_reload)
			(void)daemon_reload_config(&cfg);
		if (zpoller_wait(poller, 200) == router)
			keyd_serve(&keyd, router);
		now = daemon_now_ms();
		if (now >= next_stats) {
			next_stats = now + cfg.stats_interval_ms;
			ipc_w_init(&w);
			keyd_stats(&keyd, &w, ++pubseq);
			(void)ipc_pub_send(pub, &w);
			ipc_w_free(&w);
		}
	}
	log_info("stopping");
	zpoller_destroy(&poller);
	zsock_destroy(&router);
	zsock_destroy(&pub);
	return 0;
}
