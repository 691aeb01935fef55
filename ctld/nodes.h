/*
 * nodes: the relay nodes ctld drives ([ctld] relay_nodes; by default the
 * one node [common] node_id at relayd_ctl/relayd_pub).
 *
 * Each node has its own relayd client (relay.h) for the calls placed on
 * it, and a second one for liveness pings, sent without waiting and
 * collected on the next round (nodes_tick()), so a dead node never holds
 * the loop up.  A node that has not answered a ping for relay_dead_ms is
 * dead; relay_dead_ms must exceed a relayd restart (supervisord restarts
 * it within 0.1 s, and it restores its calls before it answers, waiting
 * up to 2 s for keyd to unwrap their keys: about 2.5 s in all), or a
 * restart would be taken for a death and the calls moved away under the
 * restarted relayd's feet (NODES_DEAD_MIN_MS, warned about at start).
 *
 * ctld's own stalls (a request that waited, a slow loop turn) are not
 * the nodes' silence (nodes_stalled()).  A node silent for
 * NODES_SILENT_MS gets no request for its calls (ctld_relay_answering()):
 * a dead node's calls fail fast until they are adopted.
 *
 * New calls go round robin over the live nodes; a call's node is in its
 * record (`relay_node`, "" = the first node), and every relayd request of
 * the call goes to that node (ctld_relay()).  A dead node's calls are
 * adopted by a live node (node_adopt, docs/ipc.md; session_adopt()).
 */
#ifndef CTLD_NODES_H
#define CTLD_NODES_H

#include <stddef.h>
#include <stdint.h>

#include "libcommon/config.h"
#include "libcommon/nodes.h"	/* NODES_MAX, the list's parser */

#define NODES_PING_MS		250
#define NODES_ADOPT_TIMEOUT_MS	5000	/* restoring a node's calls */
#define NODES_STALL_MS		(2 * NODES_PING_MS)
#define NODES_SILENT_MS		(4 * NODES_PING_MS)
/*
 * relay_dead_ms must exceed a relayd restart: supervisord's restart
 * (~0.1 s), relayd's restore with its keyd wait (2 s, relayd
 * PERSIST_KEYD_WAIT_MS) and a margin; below this ctld warns at start.
 */
#define NODES_DEAD_MIN_MS	3000

struct relay;
struct nodes;

/* From cfg (relay_nodes, or the default node); NULL with a reason in
 * err when relay_nodes does not parse. */
struct nodes	*nodes_new(const struct config *, uint64_t now_ms, char *err,
		    size_t errlen);
void		 nodes_destroy(struct nodes **);
void		 nodes_set_timeout(struct nodes *, int timeout_ms);
size_t		 nodes_count(const struct nodes *);
/* Index of the node named id ("" or unknown: the first node, and
 * *known = 0 for an unknown one when known is not NULL). */
size_t		 nodes_find(const struct nodes *, const char *id, int *known);
const char	*nodes_id(const struct nodes *, size_t);
const char	*nodes_pub(const struct nodes *, size_t);
struct relay	*nodes_relay(struct nodes *, size_t);
int		 nodes_alive(const struct nodes *, size_t);
/* Not dead, and its latest ping was answered: worth a request now. */
int		 nodes_answering(const struct nodes *, size_t);
/* Dead, or no ping answered for NODES_SILENT_MS: a request would only
 * spend its deadline (ctld_relay_answering()).  Longer than
 * nodes_answering()'s window, which a healthy node may miss by a loop
 * turn (its reply is read at the next ping round), or a lost first ping
 * at start: a request is refused only for a real silence. */
int		 nodes_silent(const struct nodes *, size_t);
/*
 * ctld itself was blocked ms (a request that waited on a node, a slow
 * loop turn): every node's silence clock moves forward by as much, so a
 * stall of ctld is never taken for a node's silence.  nodes_tick() also
 * does this for any loop turn longer than NODES_STALL_MS.
 */
void		 nodes_stalled(struct nodes *, uint64_t ms);
/* Node i's silence does not count until until_ms (it is busy with a
 * request of ours, e.g. a node_adopt that outlived its deadline: its
 * pings wait behind it). */
void		 nodes_grace(struct nodes *, size_t, uint64_t until_ms);
/* A node for a new call, round robin over those answering, else over
 * those not dead, else the first. */
size_t		 nodes_pick(struct nodes *);
/* Pings; returns the index of a node dead and not yet adopted whose
 * adoption is due (first at death, then every relay_dead_ms while it
 * fails), or -1. */
int		 nodes_tick(struct nodes *, uint64_t now_ms);
/* The adoption of node i is done (ok) or failed (retried later). */
void		 nodes_adopted(struct nodes *, size_t, int ok, uint64_t now_ms);
uint64_t	 nodes_takeovers(const struct nodes *);
/* Per-node cumulative relay counters (its PUB stats), summed over the
 * nodes into *packets, *bytes, *errors. */
void		 nodes_stats(struct nodes *, const char *id, uint64_t packets,
		    uint64_t bytes, uint64_t errors, uint64_t *sp,
		    uint64_t *sb, uint64_t *se);

#endif
