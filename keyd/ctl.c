/*
 * ctl: keyd's request dispatch and `stats` message, see ctl.h.
 *
 * Ops are dispatched through a table indexed by enum ipc_op; an op
 * without a handler is refused, never executed half-way.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "libcommon/daemon.h"
#include "libcommon/log.h"
#include "keyd/ctl.h"

#define KEYD_DROP_NAME(e, s)	s,
const char *const keyd_drop_names[KEYD_DROP_COUNT] = {
	KEYD_DROPS(KEYD_DROP_NAME)
};

typedef void (*keyd_handler)(struct keyd *, const struct ipc_r *,
    struct ipc_w *);

static void
ctl_ping(struct keyd *k, const struct ipc_r *q, struct ipc_w *w)
{
	ipc_w_reply(w, q->op, q->id, 1, NULL, 4);
	ipc_w_str(w, "daemon", "keyd");
	ipc_w_str(w, "node", k->cfg->node_id);
	ipc_w_uint(w, "pid", (uint64_t)getpid());
	ipc_w_uint(w, "uptime", (daemon_now_ms() - k->started_ms) / 1000);
}

/* The sdes_* ops (sdes.c); refused while keyd has no key service. */
static void
ctl_sdes(struct keyd *k, const struct ipc_r *q, struct ipc_w *w)
{
	if (k->sdes == NULL) {
		k->dropped[KEYD_DROP_UNKNOWN_OP]++;
		ipc_w_reply(w, q->op, q->id, 0, "unknown op", 0);
	} else if (keyd_sdes_request(k->sdes, q, w) == -1)
		k->dropped[KEYD_DROP_BAD_FIELD]++;
}

/* srtp_unwrap (kek.c): a key relayd stored wrapped. */
static void
ctl_unwrap(struct keyd *k, const struct ipc_r *q, struct ipc_w *w)
{
	int	 rc;

	if (k->kek == NULL) {
		k->dropped[KEYD_DROP_UNKNOWN_OP]++;
		ipc_w_reply(w, q->op, q->id, 0, "unknown op", 0);
	} else if ((rc = keyd_kek_request(k->kek, q, w)) == -1)
		k->dropped[KEYD_DROP_BAD_FIELD]++;
	else if (rc == 0)
		k->unwrap_ok++;
	else
		k->unwrap_failed++;
}

static const keyd_handler keyd_handlers[IPC_OP_COUNT] = {
	[IPC_OP_PING] = ctl_ping,
	[IPC_OP_SDES_OFFER] = ctl_sdes,
	[IPC_OP_SDES_SELECT] = ctl_sdes,
	[IPC_OP_SDES_ANSWER] = ctl_sdes,
	[IPC_OP_SDES_REMOTE] = ctl_sdes,
	[IPC_OP_SDES_FORGET] = ctl_sdes,
	[IPC_OP_SRTP_UNWRAP] = ctl_unwrap,
};

void
keyd_init(struct keyd *k, const struct config *cfg)
{
	memset(k, 0, sizeof(*k));
	k->cfg = cfg;
	k->started = daemon_wall_s();
	k->started_ms = daemon_now_ms();
}

int
keyd_request(struct keyd *k, const void *data, size_t len, struct ipc_w *w)
{
	struct ipc_r	 q;
	int		 answer = 1;

	if (ipc_r_parse(&q, data, len) == -1) {
		k->dropped[KEYD_DROP_MALFORMED]++;
		log_warnx("malformed request: %s", q.error);
		if ((answer = q.id != 0))
			ipc_w_reply(w, q.op == IPC_OP_UNKNOWN ? IPC_OP_PING :
			    q.op, q.id, 0, q.error, 0);
	} else if (q.is_reply || keyd_handlers[q.op] == NULL) {
		k->requests++;
		k->dropped[KEYD_DROP_UNKNOWN_OP]++;
		log_debug("refused %s request", ipc_op_name(q.op));
		ipc_w_reply(w, q.op, q.id, 0, "unknown op", 0);
	} else {
		k->requests++;
		keyd_handlers[q.op](k, &q, w);
	}
	ipc_r_free(&q);
	return answer;
}

void
keyd_stats(struct keyd *k, struct ipc_w *w, uint64_t seq)
{
	char	 key[80];
	int	 i;

	ipc_w_begin(w, IPC_OP_STATS, seq, 5);
	ipc_w_str(w, "daemon", "keyd");
	ipc_w_str(w, "node", k->cfg->node_id);
	ipc_w_uint(w, "pid", (uint64_t)getpid());
	ipc_w_uint(w, "started", k->started);
	ipc_w_key(w, "metrics");
	msgpack_pack_map(&w->pk, 4 + KEYD_DROP_COUNT);
	ipc_pack_str(&w->pk, "rtpsec_keyd_requests_total");
	msgpack_pack_uint64(&w->pk, k->requests);
	ipc_pack_str(&w->pk, "rtpsec_keyd_unwrap_total{result=\"ok\"}");
	msgpack_pack_uint64(&w->pk, k->unwrap_ok);
	ipc_pack_str(&w->pk, "rtpsec_keyd_unwrap_total{result=\"failed\"}");
	msgpack_pack_uint64(&w->pk, k->unwrap_failed);
	ipc_pack_str(&w->pk, "rtpsec_keyd_key_sets");
	msgpack_pack_uint64(&w->pk, k->sdes != NULL ?
	    keyd_sdes_count(k->sdes) : 0);
	for (i = 0; i < KEYD_DROP_COUNT; i++) {
		snprintf(key, sizeof(key),
		    "rtpsec_ipc_dropped_total{reason=\"%s\"}",
		    keyd_drop_names[i]);
		ipc_pack_str(&w->pk, key);
		msgpack_pack_uint64(&w->pk, k->dropped[i]);
	}
}
