/*
 * keyd: the key daemon (DESIGN.md "Daemons and trust boundaries").
 *
 * main parses the flags and the configuration, binds the ROUTER
 * (keyd_ctl) and PUB (keyd_pub) sockets, confines the process, and runs
 * the loop: ROUTER requests (ctl.c, the SDES key service in sdes.c) and
 * the PUB `stats` message every stats_interval_ms.  keyd faces nothing
 * outside the host; it connects to the ROUTER of every relay node ([ctld]
 * relay_nodes, else the one relayd at relayd_ctl) to install SRTP keys.  Before it confines itself it reads its key-wrapping key
 * (kek.c; created at the first start), which must outlive every restart:
 * relayd's stored keys are wrapped under it.  SIGTERM exits 0; SIGHUP
 * reloads the configuration (the endpoints, relay_nodes and kek_file need a
 * restart).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "libcommon/ipc.h"
#include "libcommon/log.h"
#include "libcommon/nodes.h"
#include "libcommon/privsep.h"
#include "keyd/ctl.h"
#include "keyd/kek.h"
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

struct keyd_batch {
	zframe_t	*ident[KEYD_SDES_BATCH_REQUESTS];
	zframe_t	*msg[KEYD_SDES_BATCH_REQUESTS];
	struct ipc_w	 w[KEYD_SDES_BATCH_REQUESTS];
	int		 answer[KEYD_SDES_BATCH_REQUESTS];
};

/* A push of request req failed: its reply becomes that error. */
static void
keyd_batch_failed(void *arg, size_t req, const char *err)
{
	struct keyd_batch	*b = arg;
	struct ipc_r		 q;

	if (ipc_r_parse(&q, zframe_data(b->msg[req]),
	    zframe_size(b->msg[req])) == 0) {
		ipc_w_free(&b->w[req]);
		ipc_w_init(&b->w[req]);
		ipc_w_reply(&b->w[req], q.op, q.id, 0, err, 0);
	}
	ipc_r_free(&q);
}

/*
 * Serves the requests waiting on the ROUTER (up to
 * KEYD_SDES_BATCH_REQUESTS) as one batch: their key pushes to relayd go out together and are waited for
 * once (keyd_sdes_batch_end), then every reply is sent.  ctld sends the
 * requests of one offer or answer together, so they share one wait.
 */
static void
keyd_serve(struct keyd *k, zsock_t *router)
{
	struct keyd_batch	 b;
	size_t			 n = 0, i;

	do {
		if (ipc_router_recv(router, &b.ident[n], &b.msg[n]) == -1) {
			k->dropped[KEYD_DROP_MALFORMED]++;
			log_warnx("dropped a request of the wrong shape");
			continue;
		}
		n++;
	} while (n < KEYD_SDES_BATCH_REQUESTS &&
	    (zsock_events(router) & ZMQ_POLLIN));
	if (k->sdes != NULL)
		keyd_sdes_batch_begin(k->sdes);
	for (i = 0; i < n; i++) {
		if (k->sdes != NULL)
			keyd_sdes_batch_req(k->sdes, i);
		ipc_w_init(&b.w[i]);
		b.answer[i] = keyd_request(k, zframe_data(b.msg[i]),
		    zframe_size(b.msg[i]), &b.w[i]);
	}
	if (k->sdes != NULL)
		(void)keyd_sdes_batch_end(k->sdes, keyd_batch_failed, &b);
	for (i = 0; i < n; i++) {
		if (b.answer[i] && ipc_router_send(router, b.ident[i],
		    &b.w[i]) == -1)
			log_warnx("cannot send a reply");
		ipc_w_free(&b.w[i]);
		/* an sdes_remote request carries the peer's key */
		explicit_bzero(zframe_data(b.msg[i]), zframe_size(b.msg[i]));
		zframe_destroy(&b.ident[i]);
		zframe_destroy(&b.msg[i]);
	}
}

/*
 * Reads (or creates) the KEK, then wraps and unwraps a key with it: a KEK
 * or an OpenSSL that cannot do both stops keyd now rather than at the
 * first call, and OpenSSL fetches its AES-GCM before the chroot.
 */
static void
keyd_kek_setup(const struct config *cfg, struct keyd_kek *kek)
{
	struct keyd_kek_bind	 b = { "keyd-self-test", "A", 1, "out" };
	struct sdes_crypto	 c, back;
	struct buf		 blob;
	char			 err[PATH_MAX + 256];
	int			 rc;

	if ((rc = keyd_kek_load(kek, cfg->kek_file, err, sizeof(err))) == -1)
		fatalx("key-wrapping key: %s", err);
	buf_init(&blob);
	if (sdes_keygen(&c, SDES_AEAD_AES_256_GCM, 1) == -1 ||
	    keyd_kek_wrap(kek, &b, &c, &blob) == -1 ||
	    keyd_kek_unwrap(kek, &b, (const uint8_t *)blob.p, blob.len, &back,
	    err, sizeof(err)) == -1 || back.key_len != c.key_len ||
	    memcmp(back.key, c.key, c.key_len) != 0)
		fatalx("key-wrapping key %s: wrap self-test failed",
		    kek->idhex);
	sdes_crypto_wipe(&c);
	sdes_crypto_wipe(&back);
	buf_free(&blob);
	if (rc == 1)
		/* the first start, or the file was lost: then the SRTP keys
		 * Redis holds wrapped under the old one are lost with it */
		log_warnx("key-wrapping key %s created (%s): keys wrapped "
		    "under any earlier key cannot be unwrapped", kek->idhex,
		    cfg->kek_file);
	else
		log_info("key-wrapping key %s loaded (%s)", kek->idhex,
		    cfg->kek_file);
}

int
main(int argc, char **argv)
{
	struct config	 cfg;
	struct keyd	 keyd;
	struct keyd_kek	 kek;
	struct node_addr nodes[NODES_MAX];
	struct ipc_w	 w;
	char		 err[512];
	int		 nnodes;
	zsock_t		*router, *pub;
	zpoller_t	*poller;
	uint64_t	 now, next_stats, pubseq = 0;

	daemon_start(argc, argv, "keyd", &cfg);
	keyd_init(&keyd, &cfg);
	keyd_kek_setup(&cfg, &kek);
	keyd.kek = &kek;
	if ((router = ipc_bind(ZMQ_ROUTER, cfg.keyd_ctl)) == NULL ||
	    (pub = ipc_bind(ZMQ_PUB, cfg.keyd_pub)) == NULL)
		fatalx("cannot bind the ZeroMQ sockets");
	/* the relay nodes ctld drives: a call's keys go to its node */
	if ((nnodes = nodes_parse(&cfg, nodes, err, sizeof(err))) == -1)
		fatalx("%s", err);
	if ((keyd.sdes = keyd_sdes_new_nodes(nodes, (size_t)nnodes,
	    keyd_relayd_timeout(&cfg), &kek)) == NULL)
		fatalx("cannot set up the SDES key service");
	privsep_own_endpoint(&cfg, cfg.keyd_ctl);
	privsep_own_endpoint(&cfg, cfg.keyd_pub);
	privsep_confine(&cfg, "keyd", keyd_syscalls);
	if ((poller = zpoller_new(router, NULL)) == NULL)
		fatalx("zpoller_new");
	log_info("ready: control %s, pub %s, %d relay node%s (default %s at "
	    "%s)", cfg.keyd_ctl, cfg.keyd_pub, nnodes, nnodes == 1 ? "" : "s",
	    nodes[0].id, nodes[0].ctl);

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
	keyd_kek_wipe(&kek);
	return 0;
}
