/*
 * session: the life of a call across ctld, relayd and Redis: creation,
 * saving the record, deletion now or after a delay (delete-delay reaping),
 * relayd's media timeouts, reconciliation with relayd's call_list, and
 * restoring calls from Redis at start-up.
 *
 * Counters: calls_created when an offer created a call; calls_deleted
 * when a call ended by delete (now or reaped later) or was found gone from
 * relayd while pending deletion; calls_timedout when relayd timed it out
 * (event) or no longer had a live call.  rtpsec_calls_active = calls not
 * pending deletion.
 */
#ifndef CTLD_SESSION_H
#define CTLD_SESSION_H

#include <stdint.h>

#include "libcommon/ipc.h"
#include "ctld/call.h"

struct ctld;

enum session_end {
	SESSION_DELETED,	/* delete command, reaped delete-delay */
	SESSION_TIMEDOUT,	/* relayd: no media */
	SESSION_ABORTED		/* offer failed: never counted as created */
};

/* Marks the call's record to be written to Redis by the next
 * session_flush(); no-op without a store. */
void	session_save(struct ctld *, struct call *);
/* Writes (or queues, Redis being down) the records of the marked calls:
 * called once a command has run, before its reply is sent, and every
 * loop turn. */
void	session_flush(struct ctld *);
/* Frees the call everywhere: relayd (unless it is known gone), Redis,
 * ctld.  *cp is NULLed.  When final is not NULL (zeroed by the caller)
 * and relayd answered, final holds the call_delete reply (final->root
 * set); the caller frees it with ipc_r_free() in every case. */
void	session_end(struct ctld *, struct call **, enum session_end,
	    int relay_gone, struct ipc_r *final);
/* Deletes one branch party (its relayd leg) now. */
void	session_end_party(struct ctld *, struct call *, int party);
/* Reaps calls and branches whose delete delay has passed. */
void	session_reap(struct ctld *, uint64_t now_ms);
/* relayd reported that call id timed out. */
void	session_timeout(struct ctld *, const char *id, size_t len);
/* Drops the calls relayd no longer has (call_list). */
void	session_reconcile(struct ctld *);
/* Rewrites the records of calls not refreshed for a third of call_ttl,
 * a bounded batch per loop turn, so that no live call's record expires. */
void	session_refresh(struct ctld *, uint64_t now_ms);
/* Loads this node's records from Redis; returns how many, or -1 when
 * Redis is unreachable (session_resync() then tries again). */
int	session_restore(struct ctld *);
/* After a Redis failure, once it is back: writes every live call's
 * record again, in batches; probes the connection once a second.  Every
 * loop turn, after store_tick(). */
void	session_resync(struct ctld *, uint64_t now_ms);
/* Sends call_delete for the calls ended while their node did not answer
 * (session_end()) to that node once it answers again, a bounded batch
 * per loop turn; every loop turn. */
void	session_gone_flush(struct ctld *);
void	session_gone_free(struct ctld *);
/* A live node adopts dead node i's calls (nodes.h); 0, or -1 to retry. */
int	session_adopt(struct ctld *, size_t dead);
/* The calls of a relay node not in relay_nodes (records written under
 * an earlier list) are adopted as a dead node's, one such node per call;
 * every reconcile round. */
void	session_adopt_unknown(struct ctld *);

#endif
