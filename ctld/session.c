/*
 * session: see session.h.  A call ends in one place, session_end(), so
 * relayd, Redis and the counters always agree on why it ended.
 */
#include <stdlib.h>
#include <string.h>

#include "libcommon/daemon.h"
#include "libcommon/log.h"
#include "libcommon/store.h"
#include "ctld/call.h"
#include "ctld/ctld.h"
#include "ctld/record.h"
#include "ctld/relay.h"
#include "ctld/session.h"

void
session_save(struct ctld *c, const struct call *call)
{
	msgpack_sbuffer	 sb;

	if (c->store == NULL)
		return;
	msgpack_sbuffer_init(&sb);
	record_encode(&sb, call, c->cfg->node_id);
	if (store_call_put(c->store, call->id, call->created,
	    call->last_signal, sb.data, sb.size) == 1)
		log_debug("[%s] Redis unavailable, record queued", call->id);
	msgpack_sbuffer_destroy(&sb);
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
	if (c->store != NULL)
		store_call_del(c->store, call->id);
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

static void
session_restore_one(void *arg, const char *id, const void *data, size_t len)
{
	struct ctld	*c = arg;
	struct call	*tmp, *call;
	size_t		 i;

	if ((tmp = calloc(1, sizeof(*tmp))) == NULL)
		return;
	if (record_decode(data, len, tmp) == -1 || strcmp(tmp->id, id) != 0 ||
	    calls_find(c->calls, tmp->id, strlen(tmp->id)) != NULL ||
	    (call = calls_add(c->calls, tmp->id, strlen(tmp->id))) == NULL) {
		log_warnx("[%s] unreadable call record in Redis, skipped", id);
		for (i = 0; i < tmp->nparty; i++)
			free(tmp->party[i].media);
		free(tmp);
		return;
	}
	call->created = tmp->created;
	call->created_us = tmp->created_us;
	call->last_signal = tmp->last_signal;
	call->delete_at_ms = tmp->delete_at_ms;
	call->nparty = tmp->nparty;
	call->next_untagged = tmp->next_untagged;
	call->next_leg = tmp->next_leg;
	memcpy(call->party, tmp->party, sizeof(call->party));
	free(tmp);
}

int
session_restore(struct ctld *c)
{
	int	 n;

	if (c->store == NULL)
		return 0;
	if ((n = store_calls_load(c->store, session_restore_one, c)) > 0)
		log_info("restored %d calls from Redis", n);
	return n;
}
