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
#include "ctld/record.h"
#include "ctld/relay.h"
#include "ctld/session.h"

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
 * The write waits for Redis's EXEC reply (one round trip), so a command
 * only marks its call here and session_flush() writes it once the reply
 * has gone out: Redis stays off the ng reply's path, and a call changed
 * twice before a flush is written once.
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
	if (!relay_gone && c->relay != NULL) {
		struct ipc_r	*rp = final != NULL ? final : &r;

		if (relay_call_delete(c->relay, call->id, NULL, rp) == -1) {
			log_warnx("[%s] relayd call_delete: %s", call->id,
			    rp->error);
			ipc_r_free(rp);
		} else if (rp == &r)
			ipc_r_free(&r);
	}
	if (call_has_srtp(call))
		session_forget(c, call, NULL);
	session_unmark(c, call);
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

	if (c->relay != NULL) {
		if (relay_call_delete(c->relay, call->id, p->leg, &r) == -1)
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
	if (c->relay != NULL) {
		struct ipc_r	 r;
		int		 held;

		held = relay_call_query(c->relay, call->id, &r) == 0;
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

void
session_reconcile(struct ctld *c)
{
	static uint64_t			 round;
	struct ipc_r			 r;
	const msgpack_object_array	*a;
	struct call			*call, *next;
	const char			*s;
	size_t				 i, len;

	if (c->relay == NULL)
		return;
	if (relay_call_list(c->relay, &r) == -1 ||
	    (a = ipc_get_array(r.root, "calls")) == NULL) {
		log_debug("reconcile: relayd call_list: %s", r.error);
		ipc_r_free(&r);
		return;
	}
	round++;
	for (i = 0; i < a->size; i++)
		if (ipc_obj_str(&a->ptr[i], &s, &len) == 0 &&
		    (call = calls_find(c->calls, s, len)) != NULL)
			call->seen = round;
	ipc_r_free(&r);
	for (call = calls_first(c->calls); call != NULL; call = next) {
		next = call->next;
		if (call->seen == round)
			continue;
		log_info("[%s] relayd no longer has the call", call->id);
		session_end(c, &call, call->delete_at_ms != 0 ?
		    SESSION_DELETED : SESSION_TIMEDOUT, 1, NULL);
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

	if ((call = record_decode(data, len)) == NULL ||
	    strcmp(call->id, id) != 0 ||
	    calls_find(c->calls, call->id, strlen(call->id)) != NULL) {
		log_warnx("[%s] unreadable call record in Redis, skipped", id);
		call_destroy(&call);
		return;
	}
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
	return n;
}
