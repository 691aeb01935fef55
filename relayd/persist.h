/*
 * persist: relayd's media state in Redis, so that a restarted relayd, or
 * another node taking over a dead one, resumes every call mid-stream
 * (DESIGN.md "State: Redis", docs/redis.md "relay records").
 *
 * One record per call, `rtpsec:relay:{<call-id>}`, in the set
 * `rtpsec:node:<node_id>:relays`, written through libcommon/store (the
 * same pipelining, TTL and write-back after a Redis outage as ctld's call
 * records): legs and peers, each media's address and ports, advertised
 * and latched endpoints, and per SRTP direction keyd's wrapped key (never
 * a key in the clear: only keyd can unwrap it) with each SSRC's rollover
 * counter and highest sequence number.
 *
 * A call is written when a request changed it (before the reply goes
 * out), when a worker latched a stream or an SSRC's seq entered another
 * quarter of its cycle (persist_tick, every PERSIST_TICK_MS), and every
 * third of the TTL.  Control thread only.
 */
#ifndef RTPSEC_RELAYD_PERSIST_H
#define RTPSEC_RELAYD_PERSIST_H

#include <stdint.h>

#include "libcommon/ipc.h"
#include "relayd/call.h"

#define PERSIST_VERSION		1
#define PERSIST_TICK_MS		100
/* How long a restore waits for keyd to answer (it may be restarting
 * too). */
#define PERSIST_KEYD_WAIT_MS	2000
/* How long a restore waits for its ports to be free (a killed relayd's
 * io_uring rings release its sockets after it is gone). */
#define PERSIST_PORT_WAIT_MS	1000
/* Writes a flush may leave unanswered before the rest waits a turn. */
#define PERSIST_INFLIGHT	1024

/* Legs a record may hold (a call forked to many branches has one leg
 * per party). */
#define PERSIST_MAXLEGS		32

/* A relay record, parsed and checked (persist_parse). */
struct persist_rmedia {
	uint16_t		 port;		/* RTP; RTCP is port + 1 */
	struct relay_addr	 adv[2];	/* RTP, RTCP; len 0: unset */
	struct relay_addr	 lat[2];	/* len 0: not latched */
	const msgpack_object	*k[2];		/* in, out: { w, r }, or NULL */
	const void		*w[2];		/* the wrapped keys */
	size_t			 wlen[2];
};

struct persist_rleg {
	char			 id[RELAY_IDLEN];
	char			 peer[RELAY_IDLEN];	/* "" none */
	char			 addr[64];		/* bound address */
	size_t			 nmedia;
	struct persist_rmedia	 media[RELAY_MAX_MEDIA];
};

struct persist_rec {
	uint64_t		 created;
	size_t			 nlegs;
	size_t			 nkeys;		/* SRTP directions */
	struct persist_rleg	 legs[PERSIST_MAXLEGS];
};

/* Parses a record's data (a msgpack map, unpacked by the caller after
 * ipc_framing_ok) into pr, pointing into it; 0, or -1 with a reason. */
int	persist_parse(const msgpack_object *, struct persist_rec *pr,
	    char *err, size_t errlen);

/* Connects to Redis and makes the keyd client; 0 or -1 (logged). */
int	persist_init(struct relayd *);
void	persist_fini(struct relayd *);
/* The call changed: write it at the next persist_flush(). */
void	persist_mark(struct relayd *, struct call *);
/* The call ends: delete its record (call it before freeing the call). */
void	persist_forget(struct relayd *, struct call *);
/* Writes the calls marked since the last flush. */
void	persist_flush(struct relayd *);
/* Reads Redis's answers, picks up what the workers changed, refreshes
 * TTLs and, after Redis came back, writes every call again. */
void	persist_tick(struct relayd *, uint64_t now_ms);
/* Restores this node's calls; returns how many, or -1 if Redis is down:
 * then persist_tick tries again every second and call_list answers
 * "restoring" until it worked (ctld must not take the empty list for
 * calls lost). */
int	persist_restore(struct relayd *);
/* The node_adopt op (docs/ipc.md). */
void	persist_op_adopt(struct relayd *, const struct ipc_r *,
	    struct ipc_w *);

#endif
