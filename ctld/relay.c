/*
 * relay: requests from ctld to relayd, see relay.h and docs/ipc.md.
 * Each encoder sits next to the decoder of its reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/ipc.h"
#include "libcommon/log.h"
#include "ctld/relay.h"

struct relay {
	struct ipc_client	*client;
	int			 timeout_ms;
	int			 down;	/* the last request got no reply */
};

struct relay *
relay_new(const char *endpoint, int timeout_ms)
{
	struct relay	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->client = ipc_client_new(endpoint)) == NULL) {
		free(r);
		return NULL;
	}
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : 500;
	return r;
}

void
relay_destroy(struct relay **rp)
{
	if (*rp == NULL)
		return;
	ipc_client_destroy(&(*rp)->client);
	free(*rp);
	*rp = NULL;
}

int
relay_down(const struct relay *r)
{
	return r->down;
}

void
relay_set_timeout(struct relay *r, int timeout_ms)
{
	if (timeout_ms > 0)
		r->timeout_ms = timeout_ms;
}

/* Sends w and checks the reply's ok; 0 with *rr parsed, else -1 with the
 * reason in rr->error. */
static int
relay_call(struct relay *r, struct ipc_w *w, uint64_t id, struct ipc_r *rr)
{
	int	 rc;

	rc = ipc_client_call(r->client, w, id, r->timeout_ms, rr);
	ipc_w_free(w);
	r->down = rc == -1;
	if (rc == -1) {
		if (rr->error[0] == '\0')
			snprintf(rr->error, sizeof(rr->error), "relayd unreachable");
		return -1;
	}
	if (!rr->ok) {
		if (rr->error[0] == '\0')
			snprintf(rr->error, sizeof(rr->error), "relayd failed");
		return -1;
	}
	return 0;
}

static void
relay_leg_alloc_w(struct ipc_w *w, uint64_t id, const char *call,
    const struct party *p, size_t nmedia)
{
	ipc_w_init(w);
	ipc_w_begin(w, IPC_OP_LEG_ALLOC, id, 3);
	ipc_w_str(w, "call", call);
	ipc_w_str(w, "leg", p->leg);
	ipc_w_uint(w, "media", nmedia);
}

static int
relay_leg_alloc_r(const struct ipc_r *rr, struct party *p, size_t nmedia,
    char *err, size_t errlen)
{
	const msgpack_object_array	*ports;
	uint64_t			 fam, rtp, rtcp;
	char				 laddr[SDP_ADDRLEN];
	size_t				 i;

	if (ipc_get_strz(rr->root, "addr", laddr, sizeof(laddr)) == -1 ||
	    ipc_get_uint(rr->root, "family", &fam) == -1 ||
	    (ports = ipc_get_array(rr->root, "ports")) == NULL ||
	    ports->size < nmedia || call_str_setz(&p->laddr, laddr) == -1) {
		snprintf(err, errlen, "malformed leg_alloc reply");
		return -1;
	}
	p->lfamily = fam == 6 ? 6 : 4;
	for (i = 0; i < nmedia; i++) {
		const msgpack_object	*o = &ports->ptr[i];

		if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 ||
		    ipc_obj_uint(&o->via.array.ptr[0], &rtp) == -1 ||
		    ipc_obj_uint(&o->via.array.ptr[1], &rtcp) == -1 ||
		    rtp > 65535 || rtcp > 65535) {
			snprintf(err, errlen, "malformed leg_alloc reply");
			return -1;
		}
		p->media[i].local_rtp = (uint16_t)rtp;
		p->media[i].local_rtcp = (uint16_t)rtcp;
	}
	return 0;
}

static void
relay_leg_update_w(struct ipc_w *w, uint64_t id, const char *call,
    const struct party *p, const char *peer, int with_media)
{
	size_t	 i, n = 0;

	if (with_media)
		for (i = 0; i < p->nmedia; i++)
			if (p->media[i].rtp != 0 && p->media[i].addr[0] != '\0')
				n++;
	ipc_w_init(w);
	ipc_w_begin(w, IPC_OP_LEG_UPDATE, id, 3 + (peer != NULL));
	ipc_w_str(w, "call", call);
	ipc_w_str(w, "leg", p->leg);
	if (peer != NULL)
		ipc_w_str(w, "peer", peer);
	ipc_w_key(w, "media");
	msgpack_pack_array(&w->pk, n);
	for (i = 0; with_media && i < p->nmedia; i++) {
		const struct media	*m = &p->media[i];

		if (m->rtp == 0 || m->addr[0] == '\0')
			continue;
		msgpack_pack_map(&w->pk, 4);
		ipc_w_uint(w, "index", i + 1);
		ipc_w_str(w, "addr", m->addr);
		ipc_w_uint(w, "rtp", m->rtp);
		ipc_w_uint(w, "rtcp", m->rtcp);
	}
}

int
relay_legs(struct relay *r, const char *call, const struct relay_leg_op *ops,
    size_t n, char *err, size_t errlen)
{
	struct ipc_w		 w[RELAY_MAX_OPS];
	const struct ipc_w	*wp[RELAY_MAX_OPS];
	struct ipc_r		 rr[RELAY_MAX_OPS];
	uint64_t		 id[RELAY_MAX_OPS];
	size_t			 i;
	int			 rc, failed = 0;

	if (n == 0 || n > RELAY_MAX_OPS) {
		snprintf(err, errlen, "bad relayd request batch");
		return -1;
	}
	for (i = 0; i < n; i++) {
		id[i] = ipc_client_next_id(r->client);
		if (ops[i].alloc)
			relay_leg_alloc_w(&w[i], id[i], call, ops[i].p,
			    ops[i].nmedia);
		else
			relay_leg_update_w(&w[i], id[i], call, ops[i].p,
			    ops[i].peer, ops[i].with_media);
		wp[i] = &w[i];
	}
	rc = ipc_client_call_many(r->client, wp, id, n, r->timeout_ms, rr);
	r->down = 0;
	for (i = 0; rc == -1 && i < n; i++)
		if (rr[i].root == NULL)
			r->down = 1;
	/* the first failure in request order is the one to report: relayd
	 * ran them in that order, and what follows may only echo it */
	for (i = 0; i < n; i++) {
		if (!failed) {
			if (rr[i].root == NULL) {
				snprintf(err, errlen, "%s", rr[i].error[0] ?
				    rr[i].error : "relayd unreachable");
				failed = 1;
			} else if (!rr[i].ok) {
				snprintf(err, errlen, "%s", rr[i].error[0] ?
				    rr[i].error : "relayd failed");
				failed = 1;
			} else if (ops[i].alloc && relay_leg_alloc_r(&rr[i],
			    ops[i].p, ops[i].nmedia, err, errlen) == -1)
				failed = 1;
		}
		ipc_r_free(&rr[i]);
		ipc_w_free(&w[i]);
	}
	return failed ? -1 : 0;
}

int
relay_leg_alloc(struct relay *r, const char *call, struct party *p,
    size_t nmedia, char *err, size_t errlen)
{
	struct relay_leg_op	 op = { .alloc = 1, .p = p, .nmedia = nmedia };

	return relay_legs(r, call, &op, 1, err, errlen);
}

int
relay_call_delete(struct relay *r, const char *call, const char *leg,
    struct ipc_r *rr)
{
	struct ipc_w	 w;
	uint64_t	 id = ipc_client_next_id(r->client);

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_CALL_DELETE, id, 1 + (leg != NULL));
	ipc_w_str(&w, "call", call);
	if (leg != NULL)
		ipc_w_str(&w, "leg", leg);
	return relay_call(r, &w, id, rr);
}

int
relay_call_query(struct relay *r, const char *call, struct ipc_r *rr)
{
	struct ipc_w	 w;
	uint64_t	 id = ipc_client_next_id(r->client);

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_CALL_QUERY, id, 1);
	ipc_w_str(&w, "call", call);
	return relay_call(r, &w, id, rr);
}

int
relay_call_list(struct relay *r, struct ipc_r *rr)
{
	struct ipc_w	 w;
	uint64_t	 id = ipc_client_next_id(r->client);

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_CALL_LIST, id, 0);
	return relay_call(r, &w, id, rr);
}

int
relay_node_adopt(struct relay *r, const char *node, int timeout_ms,
    struct ipc_r *rr)
{
	struct ipc_w	 w;
	uint64_t	 id = ipc_client_next_id(r->client);
	int		 saved = r->timeout_ms, rc;

	ipc_w_init(&w);
	ipc_w_begin(&w, IPC_OP_NODE_ADOPT, id, 1);
	ipc_w_str(&w, "node", node);
	/* restoring a node's calls takes longer than one request */
	if (timeout_ms > r->timeout_ms)
		r->timeout_ms = timeout_ms;
	rc = relay_call(r, &w, id, rr);
	r->timeout_ms = saved;
	return rc;
}
