/*
 * sdes: keyd's SDES key service (RFC 4568; docs/ipc.md "keyd ROUTER").
 *
 * ctld asks keyd for the a=crypto lines of the SDP it writes towards a leg
 * (sdes_offer, sdes_answer), tells it which of them the peer chose
 * (sdes_select) and what key the peer sent (sdes_remote); keyd installs
 * the keys in relayd itself with `srtp_set`, so the keys relayd protects
 * with never pass through ctld's requests to relayd, and the keys relayd
 * unprotects with come from the peer's line only.  Each srtp_set also
 * carries the key `wrapped` under keyd's KEK (kek.h), which relayd stores
 * so that it can get the key back with srtp_unwrap after a restart.
 *
 * A key set is the keys keyd generated for one (call, leg, media): after
 * an offer, one key per offered suite with tags 1..n; after a select or
 * an answer, the one key in force towards that leg.  A suite's key is kept
 * across re-offers and re-answers (as rtpengine does), so a repeated offer
 * yields the same lines and relayd keeps its contexts.  The peer's keys
 * are pushed to relayd and not kept.
 *
 * Invariants: at most KEYD_SDES_MAX_SETS sets; call-id at most 255 bytes,
 * leg at most 127; every key buffer is wiped before it is freed or reused
 * (the sets, the formatted lines, the srtp_set message); no key reaches a
 * log line or an error message.  Sets live in a hash table keyed by the
 * call-id under a per-process random SipHash key, as SIP Call-IDs are
 * chosen by the callers.
 *
 * Relay nodes: with several relayd nodes ([ctld] relay_nodes,
 * libcommon/nodes.h) a call's keys go to the node that holds its media,
 * which ctld names in the request's `node`; without one they go to the
 * first node.  keyd has one relayd client per node, made at creation
 * (before keyd confines itself); a node keyd does not know is refused
 * ("unknown relay node"), never guessed: relayd would not know the call.
 *
 * keyd is single-threaded: the store is owned by its loop.  A push to
 * relayd waits at most the deadline given at creation; relayd down makes
 * the op fail with "relayd unavailable", never hang.
 */
#ifndef RTPSEC_KEYD_SDES_H
#define RTPSEC_KEYD_SDES_H

#include <stddef.h>

#include "libcommon/ipc.h"
#include "libcommon/nodes.h"

struct keyd_kek;

#define KEYD_SDES_MAX_SETS	100000
#define KEYD_SDES_BUCKETS	16384
#define KEYD_SDES_CALLLEN	256	/* call-id + NUL */
#define KEYD_SDES_LEGLEN	128	/* leg id + NUL (relayd's RELAY_IDLEN) */
#define KEYD_SDES_MAX_MEDIA	255	/* media index 1..255 */
#define KEYD_SDES_BATCH_REQUESTS 32	/* requests served as one batch */
#define KEYD_SDES_BATCH_PUSHES	64	/* pushes in flight in a batch */

struct keyd_sdes;

/* A service pushing keys to the relay nodes nodes[0..n) (1..NODES_MAX;
 * their ROUTERs, ctl; the first is the default), waiting at most
 * timeout_ms for each push; each key pushed also goes out wrapped under
 * kek (kek.h; borrowed: it must outlive the service).  Owned by the
 * caller; NULL on failure. */
struct keyd_sdes *keyd_sdes_new_nodes(const struct node_addr *nodes,
	    size_t n, int timeout_ms, const struct keyd_kek *kek);
/* The same with the one unnamed node at relayd_ctl: a request naming a
 * node other than "" is refused. */
struct keyd_sdes *keyd_sdes_new(const char *relayd_ctl, int timeout_ms,
	    const struct keyd_kek *kek);
/* Relay nodes of the service, and the id of node i. */
size_t	keyd_sdes_nodes(const struct keyd_sdes *);
const char *keyd_sdes_node_id(const struct keyd_sdes *, size_t i);
/* Wipes every key set and frees them; NULLs *sp. */
void	keyd_sdes_destroy(struct keyd_sdes **sp);
void	keyd_sdes_set_timeout(struct keyd_sdes *, int timeout_ms);
/* Key sets held. */
size_t	keyd_sdes_count(const struct keyd_sdes *);

/*
 * Serves q (op sdes_offer, sdes_select, sdes_answer, sdes_remote or
 * sdes_forget): writes the reply into w (initialized by the caller, who
 * sends and then ipc_w_free()s it; w is switched to ipc_w_secret() as it
 * may carry keys).  Returns 0 when the request was served (ok or an error
 * of the op), -1 when it was refused for a missing or ill-typed field
 * (the caller counts it as bad_field).
 */
int	keyd_sdes_request(struct keyd_sdes *, const struct ipc_r *q,
	    struct ipc_w *w);

/*
 * Batches: between _begin and _end, the srtp_set pushes the requests make
 * are sent at once and their replies read together at _end, so a batch of
 * requests waits for relayd once instead of once per push (with several
 * relay nodes, once per node pushed to, within one deadline in all).  A request's
 * reply is then only valid if _end did not call failed(arg, req, err) for
 * it (req: the number given to _batch_req before serving it); the caller
 * replaces it with an error reply then.  The keys the request stored stay
 * until ctld's sdes_forget, as when ctld gives up on the call.  A push
 * that cannot be sent at all fails its request at once, as outside a
 * batch, and so do the batch's later pushes to that node (each would
 * wait out the deadline again).  _end returns the number of failed
 * pushes.
 */
void	keyd_sdes_batch_begin(struct keyd_sdes *);
void	keyd_sdes_batch_req(struct keyd_sdes *, size_t req);
size_t	keyd_sdes_batch_end(struct keyd_sdes *, void (*failed)(void *,
	    size_t req, const char *err), void *arg);

#endif
