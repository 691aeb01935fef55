/*
 * keyd: the key daemon (DESIGN.md "Daemons and trust boundaries").
 *
 * main parses the flags and the configuration, binds the ROUTER
 * (keyd_ctl) and PUB (keyd_pub) sockets, confines the process, and runs
 * the loop: ROUTER requests (ctl.c, the SDES key service in sdes.c) and
 * the PUB `stats` message every stats_interval_ms.  keyd faces nothing
 * outside the host; it connects to relayd's ROUTER (relayd_ctl) to install
 * SRTP keys.  SIGTERM exits 0; SIGHUP reloads the configuration (the
 * endpoints need a restart).
 */
#include <stdlib.h>
#include <string.h>

#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "libcommon/ipc.h"
#include "libcommon/log.h"
#include "libcommon/privsep.h"
#include "keyd/ctl.h"
#include "keyd/sdes.h"

/* Beyond privsep's base list.  RAND_bytes(3) (sdes_keygen) seeds and
 * reseeds its DRBG with getrandom(2); the base list has it too, but keyd's
 * keys must not depend on that staying so.  OpenSSL reads its
 * configuration at the first RAND_bytes, which keyd_sdes_new() makes
 * before the chroot. */
static const char *const keyd_syscalls[] = { "getrandom", NULL };

/* keyd's deadline for a push to relayd: half of ctld's deadline for the
 * request that caused it, so that ctld hears "relayd unavailable" from
 * keyd rather than a timeout of its own. */
static int
keyd_relayd_timeout(const struct config *cfg)
{
	return cfg->ipc_timeout_ms > 1 ? cfg->ipc_timeout_ms / 2 : 1;
}

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
	/* an sdes_remote request carries the peer's key */
	explicit_bzero(zframe_data(msg), zframe_size(msg));
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
	if ((keyd.sdes = keyd_sdes_new(cfg.relayd_ctl,
	    keyd_relayd_timeout(&cfg))) == NULL)
		fatalx("cannot set up the SDES key service");
	privsep_own_endpoint(&cfg, cfg.keyd_ctl);
	privsep_own_endpoint(&cfg, cfg.keyd_pub);
	privsep_confine(&cfg, "keyd", keyd_syscalls);
	if ((poller = zpoller_new(router, NULL)) == NULL)
		fatalx("zpoller_new");
	log_info("ready: control %s, pub %s", cfg.keyd_ctl, cfg.keyd_pub);

	next_stats = daemon_now_ms();
	while (!daemon_quit) {
		if (daemon_reload && daemon_reload_config(&cfg) == 0)
			keyd_sdes_set_timeout(keyd.sdes,
			    keyd_relayd_timeout(&cfg));
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
	keyd_sdes_destroy(&keyd.sdes);
	zsock_destroy(&router);
	zsock_destroy(&pub);
	return 0;
}
