/*
 * api: the ZeroMQ control API, the metrics publisher and relayd's event
 * subscriber; see api.h and docs/ipc.md.
 *
 * Metrics are declared once, in CTLD_METRICS below (name, help is in
 * docs/ipc.md); labelled families are expanded from the ng command,
 * result and drop tables, so a new command or reason shows up here by
 * itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcommon/daemon.h"
#include "libcommon/ipc.h"
#include "libcommon/log.h"
#include "libcommon/ngmsgpack.h"
#include "libcommon/ngval.h"
#include "libcommon/store.h"
#include "ctld/api.h"
#include "ctld/call.h"
#include "ctld/ctld.h"
#include "ctld/ngcmd.h"
#include "ctld/nodes.h"
#include "ctld/session.h"

#define API_BATCH	64	/* messages served per wake-up */

/* X(name, value expression): ctld's unlabelled metrics. */
#define CTLD_METRICS(X)							\
	X("rtpsec_calls_active", calls_active(c->calls))		\
	X("rtpsec_calls_created_total", c->calls_created)		\
	X("rtpsec_calls_deleted_total", c->calls_deleted)		\
	X("rtpsec_calls_timedout_total", c->calls_timedout)		\
	X("rtpsec_redis_errors_total",					\
	    c->store != NULL ? store_errors(c->store) : 0)		\
	X("rtpsec_relay_takeovers_total",				\
	    c->nodes != NULL ? nodes_takeovers(c->nodes) : 0)

struct api {
	zsock_t		*router;
	zsock_t		*pub;
	zsock_t		*sub;
	uint64_t	 seq;
};

struct api *
api_new(struct ctld *c)
{
	struct api	*a;
	size_t		 i;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((a->router = ipc_bind(ZMQ_ROUTER, c->cfg->ctld_ctl)) == NULL ||
	    (a->pub = ipc_bind(ZMQ_PUB, c->cfg->ctld_pub)) == NULL ||
	    (a->sub = ipc_sub(c->nodes != NULL ? nodes_pub(c->nodes, 0) :
	    c->cfg->relayd_pub)) == NULL) {
		api_destroy(&a);
		return NULL;
	}
	/* one SUB hears every relay node's events and stats */
	for (i = 1; c->nodes != NULL && i < nodes_count(c->nodes); i++)
		if (zsock_connect(a->sub, "%s", nodes_pub(c->nodes, i)) == -1) {
			log_warnx("api: connect %s failed",
			    nodes_pub(c->nodes, i));
			api_destroy(&a);
			return NULL;
		}
	return a;
}

void
api_destroy(struct api **ap)
{
	struct api	*a = *ap;

	if (a == NULL)
		return;
	zsock_destroy(&a->router);
	zsock_destroy(&a->pub);
	zsock_destroy(&a->sub);
	free(a);
	*ap = NULL;
}

zsock_t *
api_router(struct api *a)
{
	return a->router;
}

zsock_t *
api_sub(struct api *a)
{
	return a->sub;
}

static void
api_reply_error(struct api *a, struct ctld *c, zframe_t *id,
    const struct ipc_r *r, const char *err)
{
	struct ipc_w	 w;

	ipc_w_init(&w);
	ipc_w_reply(&w, r->op, r->id, 0, err, 0);
	if (ipc_router_send(a->router, id, &w) == -1)
		c->ipc_dropped[CTLD_IPC_DROP_SEND_ERROR]++;
	ipc_w_free(&w);
}

static void
api_ping(struct api *a, struct ctld *c, zframe_t *id, const struct ipc_r *r)
{
	struct ipc_w	 w;

	ipc_w_init(&w);
	ipc_w_reply(&w, IPC_OP_PING, r->id, 1, NULL, 4);
	ipc_w_str(&w, "daemon", "ctld");
	ipc_w_str(&w, "node", c->cfg->node_id);
	ipc_w_uint(&w, "pid", (uint64_t)getpid());
	ipc_w_uint(&w, "uptime", daemon_wall_s() - c->started);
	if (ipc_router_send(a->router, id, &w) == -1)
		c->ipc_dropped[CTLD_IPC_DROP_SEND_ERROR]++;
	ipc_w_free(&w);
}

static void
api_ng(struct api *a, struct ctld *c, zframe_t *id, const struct ipc_r *r)
{
	const msgpack_object	*cmd;
	struct ngarena		*ar;
	struct ng_req		 req;
	struct ipc_w		 w;
	const char		*err = NULL;

	if ((cmd = ipc_get_map(r->root, "cmd")) == NULL) {
		api_reply_error(a, c, id, r, "cmd missing or not a map");
		return;
	}
	if ((ar = ngarena_new()) == NULL) {
		api_reply_error(a, c, id, r, "out of memory");
		return;
	}
	memset(&req, 0, sizeof(req));
	req.arena = ar;
	req.src = "";
	if ((req.dict = ngmsgpack_from(ar, cmd, &err)) == NULL ||
	    req.dict->type != NGV_DICT ||
	    (req.reply = ngval_dict(ar)) == NULL) {
		api_reply_error(a, c, id, r, err ? err : "cmd is not a map");
		ngarena_destroy(&ar);
		return;
	}
	ngcmd_dispatch(c, &req);
	session_flush(c);	/* the record is on its way before the reply */
	ipc_w_init(&w);
	ipc_w_reply(&w, IPC_OP_NG, r->id, 1, NULL, 1);
	ipc_w_key(&w, "reply");
	ngmsgpack_pack(&w.pk, req.reply);
	if (ipc_router_send(a->router, id, &w) == -1)
		c->ipc_dropped[CTLD_IPC_DROP_SEND_ERROR]++;
	ipc_w_free(&w);
	ngarena_destroy(&ar);
}

void
api_router_ready(struct api *a, struct ctld *c)
{
	zframe_t	*id, *msg;
	struct ipc_r	 r;
	int		 i;

	for (i = 0; i < API_BATCH &&
	    (zsock_events(a->router) & ZMQ_POLLIN); i++) {
		if (ipc_router_recv(a->router, &id, &msg) == -1) {
			c->ipc_dropped[CTLD_IPC_DROP_MALFORMED]++;
			zframe_destroy(&id);
			zframe_destroy(&msg);
			continue;
		}
		if (ipc_r_parse(&r, zframe_data(msg), zframe_size(msg)) == -1) {
			log_warnx("api: malformed request: %s", r.error);
			c->ipc_dropped[CTLD_IPC_DROP_MALFORMED]++;
			/* docs/ipc.md: answered when its id could be read */
			if (r.id != 0) {
				if (r.op == IPC_OP_UNKNOWN)
					r.op = IPC_OP_PING;
				api_reply_error(a, c, id, &r, r.error);
			}
		} else if (r.is_reply) {
			c->ipc_dropped[CTLD_IPC_DROP_UNEXPECTED]++;
		} else if (r.op == IPC_OP_PING)
			api_ping(a, c, id, &r);
		else if (r.op == IPC_OP_NG)
			api_ng(a, c, id, &r);
		else {
			c->ipc_dropped[CTLD_IPC_DROP_UNEXPECTED]++;
			api_reply_error(a, c, id, &r, "unsupported op");
		}
		ipc_r_free(&r);
		zframe_destroy(&id);
		zframe_destroy(&msg);
	}
}

static void	api_relay_stats(struct ctld *, const struct ipc_r *);

void
api_sub_ready(struct api *a, struct ctld *c)
{
	zframe_t	*f;
	struct ipc_r	 r;
	char		 type[32];
	const char	*call;
	size_t		 len;
	int		 i;

	for (i = 0; i < API_BATCH && (zsock_events(a->sub) & ZMQ_POLLIN); i++) {
		if ((f = zframe_recv(a->sub)) == NULL)
			break;
		if (ipc_r_parse(&r, zframe_data(f), zframe_size(f)) == -1) {
			log_warnx("api: malformed message from relayd: %s",
			    r.error);
			c->ipc_dropped[CTLD_IPC_DROP_MALFORMED]++;
		} else if (r.op == IPC_OP_EVENT) {
			if (ipc_get_strz(r.root, "type", type,
			    sizeof(type)) == -1 ||
			    ipc_get_str(r.root, "call", &call, &len) == -1)
				c->ipc_dropped[CTLD_IPC_DROP_MALFORMED]++;
			else if (strcmp(type, "timeout") == 0)
				session_timeout(c, call, len);
		} else if (r.op == IPC_OP_STATS)
			api_relay_stats(c, &r);
		ipc_r_free(&r);
		zframe_destroy(&f);
	}
}

static int
key_is(const msgpack_object *k, const char *s)
{
	return k->via.str.size == strlen(s) &&
	    memcmp(k->via.str.ptr, s, k->via.str.size) == 0;
}

/* relayd's cumulative totals, for the ng `statistics` command (statsd
 * serves the full set to Prometheus). */
static void
api_relay_stats(struct ctld *c, const struct ipc_r *r)
{
	const msgpack_object	*m = ipc_get_map(r->root, "metrics");
	const msgpack_object_kv	*kv;
	uint64_t		 packets = 0, bytes = 0, errors = 0;
	static const char	 drop[] = "rtpsec_packets_dropped_total";
	uint32_t		 i;

	if (m == NULL) {
		c->ipc_dropped[CTLD_IPC_DROP_MALFORMED]++;
		return;
	}
	for (i = 0; i < m->via.map.size; i++) {
		kv = &m->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			continue;
		if (key_is(&kv->key, "rtpsec_packets_relayed_total"))
			packets = kv->val.via.u64;
		else if (key_is(&kv->key, "rtpsec_bytes_relayed_total"))
			bytes = kv->val.via.u64;
		else if (kv->key.via.str.size > sizeof(drop) - 1 &&
		    memcmp(kv->key.via.str.ptr, drop, sizeof(drop) - 1) == 0 &&
		    kv->key.via.str.ptr[sizeof(drop) - 1] == '{')
			errors += kv->val.via.u64;
	}
	/* several nodes: the sum of each one's latest totals */
	if (c->nodes != NULL) {
		char	 node[64];

		if (ipc_get_strz(r->root, "node", node, sizeof(node)) == -1)
			node[0] = '\0';
		nodes_stats(c->nodes, node, packets, bytes, errors, &packets,
		    &bytes, &errors);
	}
	ctld_relay_totals(c, packets, bytes, errors, daemon_now_ms());
}

static void
api_metric(struct ipc_w *w, const char *name, uint64_t v)
{
	ipc_pack_str(&w->pk, name);
	msgpack_pack_uint64(&w->pk, v);
}

void
api_publish_stats(struct api *a, struct ctld *c)
{
	struct ipc_w	 w;
	char		 k[160];
	size_t		 n = 0;
	int		 i, r;

#define API_COUNT(name, val)	n++;
	CTLD_METRICS(API_COUNT)
	for (i = 0; i <= NG_CMD_COUNT; i++)
		for (r = 0; r < NG_RES_COUNT; r++)
			if (c->ng_requests[i][r] != 0 || r == NG_RES_OK ||
			    r == NG_RES_ERROR)
				n++;
	n += CTLD_NG_DROP_COUNT + CTLD_IPC_DROP_COUNT;

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_STATS, ++a->seq, 5);
	ipc_w_str(&w, "daemon", "ctld");
	ipc_w_str(&w, "node", c->cfg->node_id);
	ipc_w_uint(&w, "pid", (uint64_t)getpid());
	ipc_w_uint(&w, "started", c->started);
	ipc_w_key(&w, "metrics");
	msgpack_pack_map(&w.pk, n);
#define API_PUT(name, val)	api_metric(&w, name, (uint64_t)(val));
	CTLD_METRICS(API_PUT)
	for (i = 0; i <= NG_CMD_COUNT; i++)
		for (r = 0; r < NG_RES_COUNT; r++) {
			if (c->ng_requests[i][r] == 0 && r != NG_RES_OK &&
			    r != NG_RES_ERROR)
				continue;
			snprintf(k, sizeof(k), "rtpsec_ng_requests_total"
			    "{command=\"%s\",result=\"%s\"}",
			    ngcmd_name((enum ng_cmd)i),
			    ngcmd_result_label((enum ng_result)r));
			api_metric(&w, k, c->ng_requests[i][r]);
		}
	for (i = 0; i < CTLD_NG_DROP_COUNT; i++) {
		snprintf(k, sizeof(k), "rtpsec_ng_dropped_total{reason=\"%s\"}",
		    ctld_ng_drop_name((enum ctld_ng_drop)i));
		api_metric(&w, k, c->ng_dropped[i]);
	}
	for (i = 0; i < CTLD_IPC_DROP_COUNT; i++) {
		snprintf(k, sizeof(k), "rtpsec_ipc_dropped_total{reason=\"%s\"}",
		    ctld_ipc_drop_name((enum ctld_ipc_drop)i));
		api_metric(&w, k, c->ipc_dropped[i]);
	}
	if (ipc_pub_send(a->pub, &w) == -1)
		c->ipc_dropped[CTLD_IPC_DROP_SEND_ERROR]++;
	ipc_w_free(&w);
}
