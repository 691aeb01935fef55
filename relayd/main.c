/*
 * relayd: the media relay daemon (DESIGN.md "relayd hot path").
 *
 * main only parses flags and the configuration, binds the ROUTER and PUB
 * sockets, starts the packet workers (io.c), confines the process and
 * runs the control loop: ROUTER requests (call.c), the PUB `stats`
 * message every stats_interval_ms (stats.c) and the media timeout sweep
 * once a second.  A timeout `event` is published three times, one second
 * apart, so a subscriber that reconnects in between still sees it; ctld
 * also reconciles with call_list.  SIGTERM stops the workers and exits 0.
 */
#include <sys/resource.h>

#include <stdlib.h>
#include <string.h>

#include "libcommon/config.h"
#include "libcommon/daemon.h"
#include "libcommon/ipc.h"
#include "libcommon/log.h"
#include "libcommon/privsep.h"
#include "relayd/call.h"
#include "relayd/persist.h"
#include "relayd/srtp.h"
#include "relayd/stats.h"

#define RELAYD_EVENTQ		256
#define RELAYD_EVENT_REPEAT	3

struct pending {
	char		 call[256];
	int		 left;		/* publications still to do */
	uint64_t	 due_ms;
};

static struct relayd	 relayd;
static zsock_t		*pub;
static uint64_t		 pubseq;
static struct pending	 eventq[RELAYD_EVENTQ];

static void
relayd_publish_events(uint64_t now)
{
	struct ipc_w	 w;
	int		 i;

	for (i = 0; i < RELAYD_EVENTQ; i++) {
		if (eventq[i].left == 0 || eventq[i].due_ms > now)
			continue;
		ipc_w_init(&w);
		stats_event(&relayd, &w, ++pubseq, "timeout", eventq[i].call);
		(void)ipc_pub_send(pub, &w);
		ipc_w_free(&w);
		eventq[i].left--;
		eventq[i].due_ms = now + 1000;
	}
}

static void
relayd_on_timeout(void *arg, const char *call)
{
	int	 i;

	(void)arg;
	for (i = 0; i < RELAYD_EVENTQ; i++)
		if (eventq[i].left == 0) {
			snprintf(eventq[i].call, sizeof(eventq[i].call), "%s",
			    call);
			eventq[i].left = RELAYD_EVENT_REPEAT;
			eventq[i].due_ms = 0;
			return;
		}
	log_warnx("[%s] event queue full: timeout not published", call);
}

/*
 * SIGHUP: logging etc. apply at once; [relayd] is read at start only
 * (docs/relayd.md).  The media sockets stay bound to the old interface,
 * so SDP must keep advertising it: a new interface or advertised address
 * in the file would send callers' media where nothing listens.
 */
static void
relayd_reload(struct config *cfg)
{
	struct config	 old = *cfg;

	if (daemon_reload_config(cfg) == -1)
		return;
	if (strcmp(cfg->interface, old.interface) != 0 ||
	    strcmp(cfg->advertised, old.advertised) != 0 ||
	    cfg->port_min != old.port_min || cfg->port_max != old.port_max ||
	    cfg->workers != old.workers ||
	    strcmp(cfg->io_engine, old.io_engine) != 0 ||
	    cfg->media_timeout != old.media_timeout)
		log_warnx("SIGHUP: [relayd] settings take effect at the next "
		    "start; keeping the running ones");
	memcpy(cfg->interface, old.interface, sizeof(cfg->interface));
	memcpy(cfg->advertised, old.advertised, sizeof(cfg->advertised));
	cfg->port_min = old.port_min;
	cfg->port_max = old.port_max;
	cfg->workers = old.workers;
	memcpy(cfg->io_engine, old.io_engine, sizeof(cfg->io_engine));
	cfg->media_timeout = old.media_timeout;
}

static void
relayd_request(zsock_t *router)
{
	zframe_t	*ident, *msg;
	struct ipc_r	 q;
	struct ipc_w	 w;

	if (ipc_router_recv(router, &ident, &msg) == -1) {
		relayd.ipc_dropped[CALL_IPCDROP_MALFORMED]++;
		return;
	}
	ipc_w_init(&w);
	if (ipc_r_parse(&q, zframe_data(msg), zframe_size(msg)) == -1) {
		relayd.ipc_dropped[CALL_IPCDROP_MALFORMED]++;
		log_warnx("malformed request: %s", q.error);
		if (q.id != 0) {
			ipc_w_reply(&w, q.op == IPC_OP_UNKNOWN ? IPC_OP_PING :
			    q.op, q.id, 0, q.error, 0);
			(void)ipc_router_send(router, ident, &w);
		}
	} else {
		call_handle(&relayd, &q, &w);
		/* the change is on its way to Redis before ctld hears of it:
		 * a crash after the reply cannot lose it */
		persist_flush(&relayd);
		if (ipc_router_send(router, ident, &w) == -1)
			log_warnx("cannot send reply to %s request",
			    ipc_op_name(q.op));
	}
	ipc_r_free(&q);
	ipc_w_free(&w);
	/* srtp_set carries keys: wipe what we hold of the request */
	explicit_bzero(zframe_data(msg), zframe_size(msg));
	zframe_destroy(&ident);
	zframe_destroy(&msg);
}

/*
 * Every media port is a socket: raise the soft fd limit to the hard one
 * and say so when the port range still cannot be fully used.
 */
static void
relayd_nofile(const struct config *cfg)
{
	struct rlimit	 rl;
	rlim_t		 need;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	need = (rlim_t)(cfg->port_max - cfg->port_min + 1) + 256;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warnx("open file limit %llu: at most about %llu of the "
		    "%d media ports can be open (about %llu calls)",
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)(rl.rlim_cur - 256),
		    cfg->port_max - cfg->port_min + 1,
		    (unsigned long long)(rl.rlim_cur - 256) / 4);
}

int
main(int argc, char **argv)
{
	static const char *const extra[] = {
		"socket", "bind", "setsockopt", "getsockopt", "close",
		"recvmmsg", "sendmmsg", "recvfrom", "sendto",
		"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
		"clone", "clone3", "futex", "set_robust_list", "rseq",
		"mprotect", "madvise", "munmap", "mmap", "sched_getaffinity",
		"sched_yield", "getpid", "gettid", "tgkill", "exit",
		/* the io_uring engine: rings are set up before confinement */
		"io_uring_enter",
		NULL
	};
	struct config	 cfg;
	struct ipc_w	 w;
	zsock_t		*router;
	zpoller_t	*poller;
	char		 err[256];
	uint64_t	 now, next_stats, next_sweep, next_persist;
	int		 n;

	daemon_start(argc, argv, "relayd", &cfg);
	relayd_nofile(&cfg);
	if (srtpx_init() == -1)		/* before confinement: see srtp.c */
		fatalx("cannot initialize libsrtp2");
	if (call_init(&relayd, &cfg, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (persist_init(&relayd) == -1)
		fatalx("cannot set up the Redis store");
	if ((router = ipc_bind(ZMQ_ROUTER, cfg.relayd_ctl)) == NULL ||
	    (pub = ipc_bind(ZMQ_PUB, cfg.relayd_pub)) == NULL)
		fatalx("cannot bind the ZeroMQ sockets");
	privsep_own_endpoint(&cfg, cfg.relayd_ctl);
	privsep_own_endpoint(&cfg, cfg.relayd_pub);
	if (io_start(relayd.io) == -1)
		fatalx("cannot start the packet workers");
	privsep_confine(&cfg, "relayd", extra);
	if ((poller = zpoller_new(router, NULL)) == NULL)
		fatalx("zpoller_new");
	/* before the first request is read: ctld's call_list sees them */
	if ((n = persist_restore(&relayd)) > 0)
		log_info("%d calls restored from Redis", n);
	log_info("ready: %d %s workers, media %s ports %d-%d, control %s",
	    io_nworkers(relayd.io), io_engine_name(relayd.io), cfg.interface, cfg.port_min, cfg.port_max,
	    cfg.relayd_ctl);

	now = daemon_now_ms();
	next_stats = now;
	next_sweep = now + 1000;
	next_persist = now + PERSIST_TICK_MS;
	while (!daemon_quit) {
		if (daemon_reload) {
			daemon_reload = 0;
			relayd_reload(&cfg);
		}
		if (zpoller_wait(poller, PERSIST_TICK_MS) == router)
			relayd_request(router);
		now = daemon_now_ms();
		if (now >= next_persist) {
			next_persist = now + PERSIST_TICK_MS;
			persist_tick(&relayd, now);
		}
		if (now >= next_sweep) {
			next_sweep = now + 1000;
			call_sweep(&relayd, daemon_wall_s(), relayd_on_timeout,
			    NULL);
		}
		relayd_publish_events(now);
		if (cfg.stats_interval_ms > 0 && now >= next_stats) {
			next_stats = now + cfg.stats_interval_ms;
			ipc_w_init(&w);
			stats_build(&relayd, &w, ++pubseq);
			(void)ipc_pub_send(pub, &w);
			ipc_w_free(&w);
		}
	}
	log_info("stopping");
	zpoller_destroy(&poller);
	persist_flush(&relayd);
	persist_fini(&relayd);
	call_fini(&relayd);
	zsock_destroy(&router);
	zsock_destroy(&pub);
	return 0;
}
