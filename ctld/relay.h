/*
 * relay: ctld's client of one relay node's relayd ROUTER (docs/ipc.md:
 * leg_alloc, leg_update, call_delete, call_query, call_list,
 * node_adopt); nodes.h holds one per node.  Every request has the
 * deadline given at creation (ipc_timeout_ms): a relayd that is down or
 * slow yields -1 and a reason, never a hang.
 */
#ifndef CTLD_RELAY_H
#define CTLD_RELAY_H

#include <stddef.h>

#include "libcommon/ipc.h"
#include "ctld/call.h"

struct relay;

struct relay	*relay_new(const char *endpoint, int timeout_ms);
void		 relay_destroy(struct relay **);
void		 relay_set_timeout(struct relay *, int timeout_ms);
/* 1 when the last request got no reply at all (relayd down or too slow),
 * 0 when relayd answered (even with an error). */
int		 relay_down(const struct relay *);

/* leg_alloc for p's leg with nmedia media: fills p->laddr, p->lfamily and
 * media[i].local_rtp/local_rtcp (p->media must hold nmedia entries).
 * Returns 0, or -1 with the reason (relayd's error, e.g. "Ran out of
 * ports", or the transport's) in err. */
int	relay_leg_alloc(struct relay *, const char *call, struct party *p,
	    size_t nmedia, char *err, size_t errlen);
/*
 * One leg_alloc or leg_update of a batch.  relay_legs() sends the whole
 * batch before it reads a reply (one round trip instead of n: relayd runs
 * them in order), fills what each leg_alloc returns as relay_leg_alloc()
 * does, and returns 0, or -1 with the first failure in order in err.
 */
#define RELAY_MAX_OPS	4
struct relay_leg_op {
	int		 alloc;		/* leg_alloc, else leg_update */
	struct party	*p;
	size_t		 nmedia;	/* leg_alloc */
	const char	*peer;		/* leg_update */
	int		 with_media;	/* leg_update */
};
int	relay_legs(struct relay *, const char *call,
	    const struct relay_leg_op *, size_t n, char *err, size_t errlen);
/* call_delete of the whole call (leg NULL) or one leg; on 0, *r holds the
 * reply (its "legs" is call_query's structure); free it with ipc_r_free().
 * -1: r->error says why (r freed by the caller either way). */
int	relay_call_delete(struct relay *, const char *call, const char *leg,
	    struct ipc_r *r);
int	relay_call_query(struct relay *, const char *call, struct ipc_r *r);
int	relay_call_list(struct relay *, struct ipc_r *r);
/* node_adopt: this node takes over dead node's calls from Redis; the
 * reply's "calls" names them.  timeout_ms: the deadline of this request
 * (longer than the usual one). */
int	relay_node_adopt(struct relay *, const char *node, int timeout_ms,
	    struct ipc_r *r);

#endif
