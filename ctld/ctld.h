/*
 * ctld: the state one ctld process shares between its modules.
 *
 * ctld is single-threaded: one poll loop (main.c) serves the ng sockets,
 * the ZeroMQ control API, relayd's events and the timers, so nothing here
 * needs a lock.  Requests to relayd are synchronous with a deadline
 * (ipc_timeout_ms): a missing relayd turns into an error reply, never a
 * hang; so do requests to keyd (SDES keys), which only SRTP calls make.  Redis is written behind the call model (libcommon/store.c): the
 * reply never waits for a Redis that is down.
 */
#ifndef CTLD_CTLD_H
#define CTLD_CTLD_H

#include <stdint.h>

#include "libcommon/config.h"
#include "ctld/ngcmd.h"

/* X(ENUM, "reason label"): ng messages dropped without a reply. */
#define CTLD_NG_DROPS(X)						\
	X(NOT_ALLOWED, "not_allowed")	/* source not in ng_allow */	\
	X(NO_COOKIE, "no_cookie")	/* no space, empty or overlong cookie */	\
	X(TCP_OVERFLOW, "tcp_overflow")	/* TCP message too large */	\
	X(TCP_MALFORMED, "tcp_malformed")	/* unframable TCP data */	\
	X(SEND_ERROR, "send_error")	/* reply could not be sent */

#define CTLD_NG_DROP_ENUM(e, s)	CTLD_NG_DROP_##e,
enum ctld_ng_drop {
	CTLD_NG_DROPS(CTLD_NG_DROP_ENUM)
	CTLD_NG_DROP_COUNT
};

/* X(ENUM, "reason label"): IPC messages dropped (docs/ipc.md). */
#define CTLD_IPC_DROPS(X)						\
	X(MALFORMED, "malformed")	/* not a valid rtpsec message */	\
	X(UNEXPECTED, "unexpected")	/* valid, but not for us */	\
	X(SEND_ERROR, "send_error")

#define CTLD_IPC_DROP_ENUM(e, s)	CTLD_IPC_DROP_##e,
enum ctld_ipc_drop {
	CTLD_IPC_DROPS(CTLD_IPC_DROP_ENUM)
	CTLD_IPC_DROP_COUNT
};

#define CTLD_MAX_PROXIES	32	/* per-source counters in statistics */

struct call;
struct calls;
struct relay;
struct nodes;
struct keys;
struct store;
struct ngcache;
struct ngpersist;
struct acl;

struct ctld_proxy {
	char		 addr[64];
	uint64_t	 count[NG_CMD_COUNT];
	uint64_t	 errors;
};

struct ctld {
	struct config	*cfg;
	uint64_t	 started;	/* unix s */
	uint64_t	 started_ms;	/* monotonic */
	struct calls	*calls;
	struct relay	*relay;		/* NULL in unit tests; the first
					 * node's when nodes is set */
	struct nodes	*nodes;		/* relay nodes; NULL in unit tests */
	struct keys	*keys;		/* keyd client; NULL in unit tests */
	struct store	*store;		/* NULL in unit tests */
	struct ngcache	*cache;
	struct ngpersist *ngp;		/* ng replies in Redis; NULL in unit
					 * tests */
	struct acl	*allow;
	struct call	*dirty;		/* records to write (session.c) */
	/* rewriting every record after Redis came back (session.c) */
	struct call	*resync;	/* next call to rewrite; NULL none */
	int		 resyncing;
	uint64_t	 store_epoch;	/* store_epoch() last seen */
	uint64_t	 next_probe_ms;
	int		 restore_failed;	/* retry session_restore() */
	uint64_t	 next_restore_ms;
	/* calls ended while their relay node did not answer: call_delete
	 * goes there once it answers again (session.c) */
	struct session_gone *gone;
	size_t		 ngone;

	/* counters, cumulative since start */
	uint64_t	 calls_created;
	uint64_t	 calls_deleted;
	uint64_t	 calls_timedout;
	uint64_t	 calls_rejected;
	uint64_t	 ng_requests[NG_CMD_COUNT + 1][NG_RES_COUNT];
	uint64_t	 ng_dropped[CTLD_NG_DROP_COUNT];
	uint64_t	 ipc_dropped[CTLD_IPC_DROP_COUNT];
	struct ctld_proxy proxies[CTLD_MAX_PROXIES];
	int		 nproxies;

	/* ended calls' durations (statistics: avg/total/stddev) */
	uint64_t	 ended;
	double		 duration_sum;		/* seconds */
	double		 duration_sum2;		/* seconds squared */

	/* relayd's totals from its PUB stats (statistics command) */
	struct ctld_relay_totals {
		uint64_t packets, bytes, errors;	/* cumulative */
		uint64_t at_ms;				/* monotonic, 0 never */
		uint64_t packetrate, byterate, errorrate; /* per second,
							     last interval */
	} relay_totals;
};

/* The relayd client of the node that holds call (nodes.c). */
struct relay	*ctld_relay(struct ctld *, const struct call *);
/* 1 when that node is worth a request now; 0 for a node dead or silent
 * (nodes_silent()), or not in relay_nodes: a request would only spend
 * ipc_timeout_ms, and ng would wait behind it. */
int		 ctld_relay_answering(struct ctld *, const struct call *);
const char	*ctld_ng_drop_name(enum ctld_ng_drop);
const char	*ctld_ipc_drop_name(enum ctld_ipc_drop);
/* Counts a request of cmd from src in the per-proxy table. */
void		 ctld_count_proxy(struct ctld *, const char *src,
		    enum ng_cmd, int error);
/* Takes relayd's cumulative packet, byte and drop counters (its PUB
 * stats message) and derives the rates since the previous one. */
void		 ctld_relay_totals(struct ctld *, uint64_t packets,
		    uint64_t bytes, uint64_t errors, uint64_t now_ms);

#endif
