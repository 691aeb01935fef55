/*
 * session: see session.h.  A call ends in one place, session_end(), so
 * relayd, Redis and the counters always agree on why it ended.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libcommon/daemon.h"
#include "libcommon/log.h"
#include "libcommon/store.h"
#include "ctld/call.h"
#include "ctld/ctld.h"
#include "ctld/keys.h"
#include "ctld/nodes.h"
#include "ctld/record.h"
#include "ctld/relay.h"
#include "ctld/session.h"

/* Index of the relay node that holds call (0 without nodes), or
 * NODES_MAX when its relay_node is not in relay_nodes (a node since
 * removed from the list: its calls are adopted as a dead node's). */
static size_t
session_node(struct ctld *c, const struct call *call)
{
	size_t	 i;
	int	 known;

	if (c->nodes == NULL)
		return 0;
	i = nodes_find(c->nodes, call->relay_node, &known);
	return known ? i : NODES_MAX;
}

static void
session_write(struct ctld *c, const struct call *call)
{
	msgpack_sbuffer	 sb;

	msgpack_sbuffer_init(&sb);
	record_encode(&sb, call, c->cfg->node_id);
	if (store_call_put(c->store, call->id, call->created,
	    call->last_signal, sb.data, sb.size) == 1)
		log_debug("[%s] Redis unavailable, record queued", call->id);
	msgpack_sbuffer_destroy(&sb);
}

/*
 * A command only marks its call here; session_flush() writes it once the
 * command is done, before its reply is sent (ng.c, api.c), so a call
 * changed twice by one command is written once.  The write is pipelined
 * (store.h): it is on the socket to Redis, not waited for, so a ctld
 * killed after replying has handed the record over, and Redis stays off
 * the reply's path.
 */
void
session_save(struct ctld *c, struct call *call)
{
	if (c->store == NULL || call->dirty)
		return;
	call->dirty = 1;
	call->dnext = c->dirty;
	c->dirty = call;
}

void
session_flush(struct ctld *c)
{
	struct call	*call;

	while ((call = c->dirty) != NULL) {
		c->dirty = call->dnext;
		call->dnext = NULL;
		call->dirty = 0;
		session_write(c, call);
	}
}

static void
session_unmark(struct ctld *c, struct call *call)
{
	struct call	**pp;

	if (!call->dirty)
		return;
	for (pp = &c->dirty; *pp != NULL; pp = &(*pp)->dnext)
		if (*pp == call) {
			*pp = call->dnext;
			break;
		}
	call->dnext = NULL;
	call->dirty = 0;
}

/*
 * Calls ended while their relay node did not answer (session_end()):
 * relayd may still hold them, a restarting one restores them from its
 * records.  Each gets its call_delete once the node answers again; a
 * node adopted meanwhile hands them to its adopter, which deletes them
 * as orphans (session_adopt_id()).  At most SESSION_GONE_MAX are kept
 * (the oldest is forgotten: relayd's media timeout frees it).
 */
#define SESSION_GONE_MAX	4096
#define SESSION_GONE_BATCH	64

struct session_gone {
	char	*id;
	char	 node[NODES_IDLEN];
};

static void
session_gone_drop(struct ctld *c, size_t i)
{
	free(c->gone[i].id);
	c->gone[i] = c->gone[--c->ngone];
}

static void
session_gone_add(struct ctld *c, const struct call *call)
{
	struct session_gone	*g;

	if (c->nodes == NULL)
		return;
	if (c->gone == NULL && (c->gone = calloc(SESSION_GONE_MAX,
	    sizeof(*c->gone))) == NULL)
		return;
	if (c->ngone == SESSION_GONE_MAX) {
		log_warnx("[%s] too many calls wait for their relay node: "
		    "no call_delete for it", c->gone[0].id);
		session_gone_drop(c, 0);
	}
	g = &c->gone[c->ngone];
	if ((g->id = strdup(call->id)) == NULL)
		return;
	snprintf(g->node, sizeof(g->node), "%s", call->relay_node);
	c->ngone++;
}

/* Forgets the calls waiting for node did (adopted: orphans there). */
static void
session_gone_forget(struct ctld *c, const char *did)
{
	size_t	 i, k;
	int	 known;

	for (i = 0; i < c->ngone; ) {
		k = nodes_find(c->nodes, c->gone[i].node, &known);
		if (known ? strcmp(nodes_id(c->nodes, k), did) == 0 :
		    strcmp(c->gone[i].node, did) == 0)
			session_gone_drop(c, i);
		else
			i++;
	}
}

void
session_gone_flush(struct ctld *c)
{
	struct ipc_r	 r;
	size_t		 i, k;
	int		 known, n = 0;

	for (i = 0; i < c->ngone && n < SESSION_GONE_BATCH; ) {
		struct session_gone	*g = &c->gone[i];

		k = nodes_find(c->nodes, g->node, &known);
		if (known && (nodes_silent(c->nodes, k) ||
		    !nodes_answering(c->nodes, k))) {
			i++;
			continue;
		}
		/* a node no longer listed is adopted; a call of the same
		 * id made since is another call */
		if (known && calls_find(c->calls, g->id,
		    strlen(g->id)) == NULL) {
			n++;
			if (relay_call_delete(nodes_relay(c->nodes, k), g->id,
			    NULL, &r) == -1)
				log_info("[%s] relayd call_delete after its "
				    "node answered again: %s", g->id, r.error);
			else
				log_info("[%s] deleted in relay node %s, back",
				    g->id, nodes_id(c->nodes, k));
			ipc_r_free(&r);
		}
		session_gone_drop(c, i);
	}
}

void
session_gone_free(struct ctld *c)
{
	while (c->ngone > 0)
		session_gone_drop(c, 0);
	free(c->gone);
	c->gone = NULL;
}

/* Adds an ended call's life to the duration totals of `statistics`. */
static void
session_duration(struct ctld *c, const struct call *call)
{
	struct timespec	 ts;
	double		 d;

	clock_gettime(CLOCK_REALTIME, &ts);
	d = (double)ts.tv_sec - (double)call->created +
	    ((double)ts.tv_nsec / 1e9 - (double)call->created_us / 1e6);
	if (d < 0)
		d = 0;
	c->ended++;
	c->duration_sum += d;
	c->duration_sum2 += d * d;
}

/*
 * sdes_forget of a call's (or one leg's) key sets, after relayd's
 * call_delete wiped its copies (docs/srtp.md).  Best effort: a keyd that
 * did not answer lately is not asked (it lost its sets if it restarted),
 * and a failure is only logged, so keyd never holds up a delete.
 */
static void
session_forget(struct ctld *c, const struct call *call, const char *leg)
{
	char	 err[256];

	if (c->keys == NULL || keys_down(c->keys))
		return;
	if (keys_sdes_forget(c->keys, call->id, leg, err, sizeof(err)) == -1)
		log_warnx("[%s] keyd sdes_forget: %s", call->id, err);
}

void
session_end(struct ctld *c, struct call **cp, enum session_end why,
    int relay_gone, struct ipc_r *final)
{
	struct call	*call = *cp;
	struct ipc_r	 r;

	if (call == NULL)
		return;
	/* a node that does not answer would only spend the deadline (and
	 * ng waits behind it): the call_delete waits until it answers
	 * again (a restart), or its adopter finds no record of the call
	 * and deletes it there (session_adopt()) */
	if (!relay_gone && ctld_relay(c, call) != NULL &&
	    !ctld_relay_answering(c, call)) {
		log_warnx("[%s] relay node %s does not answer: call ended, "
		    "call_delete sent once it answers", call->id,
		    call->relay_node[0] ? call->relay_node :
		    nodes_id(c->nodes, 0));
		session_gone_add(c, call);
		relay_gone = 1;
	}
	if (!relay_gone && ctld_relay(c, call) != NULL) {
		struct ipc_r	*rp = final != NULL ? final : &r;

		if (relay_call_delete(ctld_relay(c, call), call->id, NULL,
		    rp) == -1) {
			log_warnx("[%s] relayd call_delete: %s", call->id,
			    rp->error);
			ipc_r_free(rp);
		} else if (rp == &r)
			ipc_r_free(&r);
	}
	if (call_has_srtp(call))
		session_forget(c, call, NULL);
	session_unmark(c, call);
	if (c->resync == call)
		c->resync = call->next;
	if (c->store != NULL)
		store_call_del(c->store, call->id);
	if (why != SESSION_ABORTED)
		session_duration(c, call);
	switch (why) {
	case SESSION_DELETED:
		c->calls_deleted++;
		log_info("[%s] call deleted", call->id);
		break;
	case SESSION_TIMEDOUT:
		c->calls_timedout++;
		log_info("[%s] call timed out", call->id);
		break;
	case SESSION_ABORTED:
		break;
	}
	calls_remove(c->calls, cp);
}

void
session_end_party(struct ctld *c, struct call *call, int i)
{
	struct party	*p = &call->party[i];
	struct ipc_r	 r;
	size_t		 j;

	if (ctld_relay(c, call) != NULL && !ctld_relay_answering(c, call))
		log_warnx("[%s] relay node does not answer: branch %s ended "
		    "without call_delete", call->id, p->leg);
	else if (ctld_relay(c, call) != NULL) {
		if (relay_call_delete(ctld_relay(c, call), call->id, p->leg,
		    &r) == -1)
			log_warnx("[%s] relayd call_delete %s: %s", call->id,
			    p->leg, r.error);
		ipc_r_free(&r);
	}
	if (party_has_srtp(p))
		session_forget(c, call, p->leg);
	p->gone = 1;
	p->delete_at_ms = 0;
	for (j = 0; j < call->nparty; j++)
		if (call->party[j].peer == i)
			call->party[j].peer = -1;
	log_info("[%s] branch %s deleted", call->id, p->via_branch);
	session_save(c, call);
}

void
session_reap(struct ctld *c, uint64_t now_ms)
{
	struct call	*call, *next;
	size_t		 i;

	for (call = calls_first(c->calls); call != NULL; call = next) {
		next = call->next;
		if (call->delete_at_ms != 0 && now_ms >= call->delete_at_ms) {
			session_end(c, &call, SESSION_DELETED, 0, NULL);
			continue;
		}
		for (i = 0; i < call->nparty; i++)
			if (!call->party[i].gone &&
			    call->party[i].delete_at_ms != 0 &&
			    now_ms >= call->party[i].delete_at_ms)
				session_end_party(c, call, (int)i);
	}
}

void
session_timeout(struct ctld *c, const char *id, size_t len)
{
	struct call	*call;

	if ((call = calls_find(c->calls, id, len)) == NULL) {
		log_debug("timeout event for unknown call %.*s",
		    (int)(len > 128 ? 128 : len), id);
		return;
	}
	/* relayd repeats the event for a few seconds (docs/relayd.md): a
	 * call of the same id offered since then is another call, and
	 * relayd holds it again */
	if (ctld_relay(c, call) != NULL && ctld_relay_answering(c, call)) {
		struct ipc_r	 r;
		int		 held;

		held = relay_call_query(ctld_relay(c, call), call->id, &r) == 0;
		ipc_r_free(&r);
		if (held) {
			log_info("[%s] timeout event of an earlier call of this "
			    "id, ignored", call->id);
			return;
		}
	}
	session_end(c, &call, call->delete_at_ms != 0 ? SESSION_DELETED :
	    SESSION_TIMEDOUT, 1, NULL);
}

/*
 * call_list of each node, and the calls a node that answered no longer
 * has end.  A call is judged only against the node that holds it, and
 * only when that node answered: a dead node's calls wait for their
 * adoption (session_adopt()), a restarting relayd's for its restore.
 */
void
session_reconcile(struct ctld *c)
{
	static uint64_t			 round;
	struct ipc_r			 r;
	const msgpack_object_array	*a;
	struct call			*call, *next;
	struct relay			*rl;
	const char			*s;
	size_t				 i, k, nn, len;
	int				 answered[NODES_MAX];

	if (c->relay == NULL && c->nodes == NULL)
		return;
	nn = c->nodes != NULL ? nodes_count(c->nodes) : 1;
	round++;
	for (k = 0; k < nn; k++) {
		rl = c->nodes != NULL ? nodes_relay(c->nodes, k) : c->relay;
		answered[k] = 0;
		/* a node that does not answer its pings would only spend
		 * the deadline */
		if (c->nodes != NULL && !nodes_answering(c->nodes, k))
			continue;
		if (relay_call_list(rl, &r) == -1 ||
		    (a = ipc_get_array(r.root, "calls")) == NULL) {
			log_debug("reconcile: relayd call_list: %s", r.error);
			ipc_r_free(&r);
			continue;
		}
		answered[k] = 1;
		for (i = 0; i < a->size; i++)
			if (ipc_obj_str(&a->ptr[i], &s, &len) == 0 &&
			    (call = calls_find(c->calls, s, len)) != NULL &&
			    session_node(c, call) == k)
				call->seen = round;
		ipc_r_free(&r);
	}
	for (call = calls_first(c->calls); call != NULL; call = next) {
		next = call->next;
		if (call->seen == round || (k = session_node(c, call)) >=
		    nn || !answered[k])
			continue;
		log_info("[%s] relayd no longer has the call", call->id);
		session_end(c, &call, call->delete_at_ms != 0 ?
		    SESSION_DELETED : SESSION_TIMEDOUT, 1, NULL);
	}
}

/* 1 when call is one of the dead node's: index dead, or, for a node not
 * in relay_nodes (dead == NODES_MAX), named did. */
static int
session_on(struct ctld *c, const struct call *call, size_t dead,
    const char *did)
{
	size_t	 k = session_node(c, call);

	if (dead < NODES_MAX)
		return k == dead;
	return k == NODES_MAX && strcmp(call->relay_node, did) == 0;
}

/* The call named by o, when it is one of the dead node's: it moves to
 * node lid (its record rewritten).  1 moved, 0 not the dead node's (or
 * already moved), -1 unknown to ctld. */
static int
session_move(struct ctld *c, const msgpack_object *o, size_t dead,
    const char *did, const char *lid)
{
	struct call	*call;
	const char	*s;
	size_t		 len;

	if (ipc_obj_str(o, &s, &len) == -1)
		return 0;
	if ((call = calls_find(c->calls, s, len)) == NULL)
		return -1;
	if (!session_on(c, call, dead, did) ||
	    call_str_setz(&call->relay_node, lid) == -1)
		return 0;
	session_save(c, call);
	return 1;
}

/*
 * Relay node did (index dead, or NODES_MAX for a node not in relay_nodes)
 * stopped answering: a node that answers adopts its calls from Redis
 * (node_adopt, docs/ipc.md), and the calls it holds move to it (their
 * records rewritten).
 *
 * What it holds is its call_list, not only node_adopt's reply: an
 * adoption that outlived our deadline, or one ctld restarted in the middle
 * of, goes on in relayd, and the retry's reply names only what is left
 * (relayd's node_adopt is idempotent, but a call it adopted and then
 * lost the set entry of is named by call_list alone).  A call of the
 * dead node the adopter does not hold was not in Redis: relayd cannot
 * carry it, and it ends, but only once call_list answered: without it,
 * nothing ends and the adoption is tried again.  A call node_adopt
 * names that ctld does not know (deleted while its node was dead) is
 * deleted on the adopter.  Returns 0, or -1 (tried again later).
 */
static int
session_adopt_id(struct ctld *c, size_t dead, const char *did)
{
	const msgpack_object_array	*a;
	struct ipc_r			 r, l;
	struct relay			*rl;
	struct call			*call, *next;
	const char			*s, *lid;
	size_t				 i, k, len, n = 0, lost = 0;
	size_t				 orphans = 0;
	int				 pass;

	/* Redis was down when ctld started: its calls are not known yet,
	 * and every call adopted would look like an orphan */
	if (c->restore_failed)
		return -1;
	/* a node that answers its pings, else one that missed a round at
	 * most: a node already silent would take the request for nothing */
	for (pass = 0; pass < 2; pass++) {
		for (k = 0; k < nodes_count(c->nodes); k++)
			if (k != dead && (pass == 0 ?
			    nodes_answering(c->nodes, k) :
			    !nodes_silent(c->nodes, k)))
				break;
		if (k < nodes_count(c->nodes))
			break;
	}
	if (k == nodes_count(c->nodes)) {
		log_warnx("relay node %s is dead and no node answers to adopt "
		    "its calls", did);
		return -1;
	}
	lid = nodes_id(c->nodes, k);
	rl = nodes_relay(c->nodes, k);
	if (relay_node_adopt(rl, did, NODES_ADOPT_TIMEOUT_MS, &r) == -1 ||
	    (a = ipc_get_array(r.root, "calls")) == NULL) {
		log_warnx("relay node %s could not adopt node %s's calls: %s",
		    lid, did, r.error[0] ? r.error : "malformed reply");
		/* no reply: it may still be at it, its pings queued behind
		 * (its reply to the retry says what it holds) */
		if (relay_down(rl))
			nodes_grace(c->nodes, k, daemon_now_ms() +
			    NODES_ADOPT_TIMEOUT_MS);
		ipc_r_free(&r);
		return -1;
	}
	for (i = 0; i < a->size; i++)
		if (session_move(c, &a->ptr[i], dead, did, lid) == 1)
			n++;
	if (relay_call_list(rl, &l) == -1 ||
	    (a = ipc_get_array(l.root, "calls")) == NULL) {
		/* "restoring" too: what it holds is not known yet */
		log_warnx("relay node %s adopted %zu calls of node %s but its "
		    "call_list failed (%s): no call ended, trying again", lid,
		    n, did, l.error[0] ? l.error : "malformed reply");
		ipc_r_free(&l);
		ipc_r_free(&r);
		session_flush(c);
		return -1;
	}
	for (i = 0; i < a->size; i++)
		if (session_move(c, &a->ptr[i], dead, did, lid) == 1)
			n++;
	ipc_r_free(&l);
	/* orphans: their records were in the node's set, ctld has none */
	a = ipc_get_array(r.root, "calls");
	for (i = 0; i < a->size; i++) {
		char	 id[CALL_IDLEN];

		if (ipc_obj_str(&a->ptr[i], &s, &len) == -1 ||
		    calls_find(c->calls, s, len) != NULL || len >= CALL_IDLEN)
			continue;
		memcpy(id, s, len);
		id[len] = '\0';
		log_info("[%s] adopted by relay node %s but unknown here: "
		    "deleted there", id, lid);
		if (relay_call_delete(rl, id, NULL, &l) == -1)
			log_warnx("[%s] relayd call_delete: %s", id, l.error);
		ipc_r_free(&l);
		orphans++;
	}
	ipc_r_free(&r);
	for (call = calls_first(c->calls); call != NULL; call = next) {
		next = call->next;
		if (!session_on(c, call, dead, did))
			continue;
		log_warnx("[%s] relay node %s died and node %s did not adopt "
		    "the call", call->id, did, lid);
		session_end(c, &call, SESSION_TIMEDOUT, 1, NULL);
		lost++;
	}
	session_gone_forget(c, did);
	session_flush(c);
	log_info("relay node %s took over %zu calls of dead node %s (%zu "
	    "lost, %zu orphans deleted)", lid, n, did, lost, orphans);
	return 0;
}

int
session_adopt(struct ctld *c, size_t dead)
{
	uint64_t	 t0 = daemon_now_ms();
	int		 rc;

	if (c->nodes == NULL)
		return -1;
	rc = session_adopt_id(c, dead, nodes_id(c->nodes, dead));
	/* ctld waited on the adopter meanwhile, not the nodes on us */
	nodes_stalled(c->nodes, daemon_now_ms() - t0);
	return rc;
}

void
session_adopt_unknown(struct ctld *c)
{
	struct call	*call;
	char		 did[NODES_IDLEN];
	uint64_t	 t0 = daemon_now_ms();

	if (c->nodes == NULL)
		return;
	for (call = calls_first(c->calls); call != NULL; call = call->next)
		if (session_node(c, call) == NODES_MAX)
			break;
	if (call == NULL)
		return;
	snprintf(did, sizeof(did), "%s", call->relay_node);
	(void)session_adopt_id(c, NODES_MAX, did);
	nodes_stalled(c->nodes, daemon_now_ms() - t0);
}

/*
 * Redis came back after a failure (ctld connected again): it may have
 * restarted empty (no persistence) and lost every record, not only the
 * writes queued while it was away.  Every live call is written again,
 * paced by Redis's replies: a turn stops once SESSION_RESYNC_INFLIGHT
 * writes wait for theirs (or it wrote as many), and the loop turns every
 * 1 ms meanwhile, so ng is never held up and Redis never gets a queue it
 * cannot answer within the store's timeout; c->resync is the next one
 * (session_end() moves it past a call that ends).
 *
 * A connection nobody writes on does not notice that Redis went away:
 * once a second one record is rewritten anyway (the first call's, which
 * also refreshes its TTL), so a dead connection is found and replaced
 * within a second or two even while no command comes in.
 */
#define SESSION_RESYNC_INFLIGHT	1024
#define SESSION_PROBE_MS	1000
#define SESSION_RESTORE_MS	1000

void
session_resync(struct ctld *c, uint64_t now_ms)
{
	struct call	*call;
	uint64_t	 epoch;
	int		 n = 0;

	if (c->store == NULL)
		return;
	if (c->restore_failed && now_ms >= c->next_restore_ms) {
		/* Redis was down when ctld started: load the records once
		 * it is back, before they are written from memory */
		c->next_restore_ms = now_ms + SESSION_RESTORE_MS;
		if (session_restore(c) >= 0)
			c->restore_failed = 0;
		else
			return;
	}
	/* a new connection after an earlier one: Redis may have lost
	 * everything (a refused write stays queued in the store and needs
	 * no more than that) */
	epoch = store_epoch(c->store);
	if (epoch != c->store_epoch) {
		if (c->store_epoch != 0) {
			c->resyncing = 1;
			c->resync = NULL;
		}
		c->store_epoch = epoch;
	}
	if (!store_connected(c->store))
		return;
	if (c->resyncing && c->resync == NULL && store_pending(c->store) == 0) {
		if ((c->resync = calls_first(c->calls)) == NULL) {
			c->resyncing = 0;
			return;
		}
		log_info("Redis is back: writing the records of %zu calls "
		    "again", calls_count(c->calls));
	}
	if (c->resyncing) {
		for (call = c->resync; call != NULL &&
		    n < SESSION_RESYNC_INFLIGHT && store_connected(c->store) &&
		    store_inflight(c->store) < SESSION_RESYNC_INFLIGHT;
		    call = call->next, n++) {
			session_unmark(c, call);
			call->saved_ms = now_ms;
			session_write(c, call);
		}
		if ((c->resync = call) == NULL) {
			c->resyncing = 0;
			log_info("Redis is back: every call's record written");
		}
		return;
	}
	if (now_ms >= c->next_probe_ms) {
		c->next_probe_ms = now_ms + SESSION_PROBE_MS;
		if ((call = calls_first(c->calls)) != NULL) {
			session_unmark(c, call);
			session_write(c, call);
		}
	}
}

/*
 * A record's TTL is refreshed only by a write (docs/redis.md), and a call
 * may live longer than call_ttl without any signalling: rewrite each
 * call's record every third of call_ttl, counted from when this loop
 * first sees the call (just written by its offer, or restored: written
 * within the last third by the previous ctld), at most
 * SESSION_REFRESH_BATCH per loop turn so that ng commands never wait
 * behind a burst of writes.
 */
#define SESSION_REFRESH_BATCH	32

void
session_refresh(struct ctld *c, uint64_t now_ms)
{
	struct call	*call;
	uint64_t	 period;
	int		 n = 0;

	if (c->store == NULL || !store_connected(c->store))
		return;
	period = (uint64_t)(c->cfg->call_ttl > 0 ? c->cfg->call_ttl :
	    86400) * 1000 / 3;
	for (call = calls_first(c->calls); call != NULL &&
	    n < SESSION_REFRESH_BATCH; call = call->next) {
		if (call->saved_ms == 0)
			call->saved_ms = now_ms;
		if (now_ms - call->saved_ms < period)
			continue;
		call->saved_ms = now_ms;
		session_unmark(c, call);
		session_write(c, call);
		n++;
	}
}

static void
session_restore_one(void *arg, const char *id, const void *data, size_t len)
{
	struct ctld	*c = arg;
	struct call	*call;

	/* a retried restore finds the calls made since: memory is newer */
	if (calls_find(c->calls, id, strlen(id)) != NULL)
		return;
	if ((call = record_decode(data, len)) == NULL ||
	    strcmp(call->id, id) != 0) {
		log_warnx("[%s] unreadable call record in Redis, skipped", id);
		call_destroy(&call);
		return;
	}
	/* once per call: a call is restored once */
	if (session_node(c, call) == NODES_MAX)
		log_warnx("[%s] relay node %s is not in relay_nodes: the call "
		    "is taken for a dead node's, to be adopted", id,
		    call->relay_node);
	calls_insert(c->calls, call);
}

int
session_restore(struct ctld *c)
{
	size_t	 before;
	int	 n;

	if (c->store == NULL)
		return 0;
	before = calls_count(c->calls);
	if ((n = store_calls_load(c->store, session_restore_one, c)) > 0)
		log_info("restored %zu of %d calls from Redis",
		    calls_count(c->calls) - before, n);
	if (n == -1 && !c->restore_failed) {
		log_warnx("Redis unreachable: no call restored yet, trying "
		    "again every second");
		c->restore_failed = 1;
	}
	return n;
}
