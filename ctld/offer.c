/*
 * offer: the `offer` and `answer` ng commands (ng-protocol.md section 4).
 *
 * from-tag names the offerer in both; the answer's SDP belongs to to-tag.
 * At offer, relayd allocates a leg for the offerer (P) and one for the
 * callee side (Q, "<untagged N>" until the answer names it; one per
 * via-branch); P's leg learns P's endpoints, both learn their peer, and
 * the offer handed on to the callee carries Q's ports.  At answer Q's leg
 * learns Q's endpoints and the answer handed back carries P's ports.
 * leg_alloc is idempotent in relayd, so a re-offer keeps its ports.
 *
 * SDES-SRTP (docs/srtp.md): the offer decides per media whether P's and
 * Q's sides speak SRTP (sdes_neg) before any state changes, so an offer
 * without a usable a=crypto line leaves nothing behind; keyd is asked
 * only after relayd holds both legs (keyd installs the keys there), and
 * a plain call never talks to keyd.  Our a=crypto lines are held in
 * secret buffers only until the SDP is written, then wiped.
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "libcommon/buf.h"
#include "libcommon/log.h"
#include "libcommon/sdes.h"
#include "libcommon/sdp.h"
#include "ctld/call.h"
#include "ctld/ctld.h"
#include "ctld/keys.h"
#include "ctld/ngcmd.h"
#include "ctld/nodes.h"
#include "ctld/offer.h"
#include "ctld/relay.h"
#include "ctld/sdes_neg.h"
#include "ctld/sdp_rewrite.h"
#include "ctld/session.h"


static int
oa_str(const struct ngval *d, const char *k, const char **s, size_t *len)
{
	if (ngval_get_str(d, k, s, len) == -1) {
		*s = NULL;
		*len = 0;
		return -1;
	}
	return 0;
}

/* The first of several aliases that is present. */
static void
oa_str2(const struct ngval *d, const char *k1, const char *k2,
    const char **s, size_t *len)
{
	if (oa_str(d, k1, s, len) == -1)
		oa_str(d, k2, s, len);
}

static void
oa_copy(char *dst, size_t size, const struct ngval *d, const char *k)
{
	const char	*s;
	size_t		 len;

	dst[0] = '\0';
	if (ngval_get_str(d, k, &s, &len) == 0 && call_str_fits(s, len, size))
		call_strlcpy(dst, size, s, len);
}

const char *
offer_parse(const struct ngval *d, int answer, struct offer_req *o)
{
	const struct ngval	*flags, *l, *v;

	memset(o, 0, sizeof(*o));
	if (oa_str(d, "sdp", &o->sdp, &o->sdp_len) == -1)
		return "No SDP body in message";
	if (oa_str(d, "call-id", &o->callid, &o->callid_len) == -1 ||
	    o->callid_len == 0)
		return "No call-id in message";
	if (oa_str(d, "from-tag", &o->from, &o->from_len) == -1 ||
	    o->from_len == 0)
		return "No from-tag in message";
	if (oa_str(d, "to-tag", &o->to, &o->to_len) == -1 && answer)
		return "No to-tag in message";
	if (answer && o->to_len == 0)
		return "No to-tag in message";
	if (!call_str_fits(o->callid, o->callid_len, CALL_IDLEN))
		return "Call-ID too long";
	if (!call_str_fits(o->from, o->from_len, CALL_TAGLEN) ||
	    !call_str_fits(o->to, o->to_len, CALL_TAGLEN))
		return "Tag too long";
	/* optional strings: one that is no C string of a tag's size is
	 * ignored as if absent */
	oa_str(d, "via-branch", &o->via, &o->via_len);
	oa_str2(d, "label", "from-label", &o->label, &o->label_len);
	oa_str2(d, "set-label", "to-label", &o->set_label, &o->set_label_len);
	if (!call_str_fits(o->via, o->via_len, CALL_TAGLEN))
		o->via = NULL, o->via_len = 0;
	if (!call_str_fits(o->label, o->label_len, CALL_TAGLEN))
		o->label = NULL, o->label_len = 0;
	if (!call_str_fits(o->set_label, o->set_label_len, CALL_TAGLEN))
		o->set_label = NULL, o->set_label_len = 0;
	oa_copy(o->media_addr, sizeof(o->media_addr), d, "media-address");

	flags = ngval_get(d, "flags");
	sdes_neg_opts(d, &o->sdes);
	if ((l = ngval_get(d, "replace")) != NULL) {
		o->rw.replace_origin = ngval_has(l, "origin");
		o->rw.replace_session_conn = ngval_has(l, "session-connection");
		o->rw.sdp_version = ngval_has(l, "SDP-version");
	}
	if (flags != NULL) {
		o->rw.replace_origin |= ngval_has(flags, "replace-origin");
		o->rw.replace_session_conn |=
		    ngval_has(flags, "replace-session-connection");
		o->rw.no_rtcp_attr = ngval_has(flags, "no-rtcp-attribute");
		o->rw.full_rtcp_attr = ngval_has(flags, "full-rtcp-attribute");
	}
	/* ICE (ng-protocol.md section 5): only force-relay and optional keep
	 * the sender's candidates; remove, force and default (absent: force
	 * if the sender used ICE) replace them with the relay's.  ctld makes
	 * no candidates of its own yet, so those strip ICE: the sender's
	 * candidates handed on would let ICE bypass the relay. */
	v = ngval_get(d, "ICE");
	o->rw.ice_remove = v == NULL || !(ngval_streq(v, "force-relay") ||
	    ngval_streq(v, "optional"));
	if ((l = ngval_get(d, "supports")) != NULL)
		o->load_limit = ngval_has(l, "load limit");
	/* trust-address is the default; SIP-source-address uses the
	 * address the SIP message came from, with the SDP's ports */
	if (flags != NULL && ngval_has(flags, "SIP-source-address") &&
	    !ngval_has(flags, "trust-address") &&
	    (l = ngval_get(d, "received-from")) != NULL &&
	    l->type == NGV_LIST && l->count == 2 && l->child->next != NULL &&
	    l->child->next->type == NGV_STR &&
	    call_str_fits(l->child->next->s, l->child->next->len,
	    sizeof(o->sip_addr)))
		call_strlcpy(o->sip_addr, sizeof(o->sip_addr),
		    l->child->next->s, l->child->next->len);
	if ((l = ngval_get(d, "direction")) != NULL && l->type == NGV_LIST) {
		int	 i = 0;

		for (v = l->child; v != NULL && i < 2; v = v->next, i++)
			if (v->type == NGV_STR &&
			    call_str_fits(v->s, v->len, sizeof(o->dir[i])))
				call_strlcpy(o->dir[i], sizeof(o->dir[i]),
				    v->s, v->len);
	}
	return NULL;
}

/* Sets a party's string field when the request gave a value. */
static void
oa_set(const char **field, const char *s, size_t len)
{
	if (s != NULL && len > 0)
		(void)call_str_set(field, s, len);
}

/* Copies what the party's own SDP says about its media into p. */
static int
oa_learn(struct party *p, const struct sdp_session *sdp, size_t n,
    const struct offer_req *o, int set_codec, struct party *peer)
{
	struct sdp_media_info	 mi;
	size_t			 i;

	if (party_set_nmedia(p, n > p->nmedia ? n : p->nmedia) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		struct media	*m = &p->media[i];

		if (sdp_media_info(sdp, i, &mi) == -1)
			return -1;
		if (call_str_setz(&m->type, mi.type) == -1 ||
		    call_str_setz(&m->proto, mi.proto) == -1 ||
		    call_str_setz(&m->addr, o->sip_addr[0] != '\0' ?
		    o->sip_addr : mi.addr) == -1)
			return -1;
		m->family = strchr(m->addr, ':') != NULL ? 6 : 4;
		m->rtp = (uint16_t)mi.rtp_port;
		m->rtcp = mi.rtp_port == 0 ? 0 : (uint16_t)mi.rtcp_port;
		m->dir = (uint8_t)mi.dir;
		if (set_codec) {
			if (call_str_setz(&m->codec, mi.codec) == -1)
				return -1;
			if (peer != NULL && i < peer->nmedia &&
			    call_str_setz(&peer->media[i].codec,
			    mi.codec) == -1)
				return -1;
		}
		if (peer != NULL && i < peer->nmedia &&
		    (!set_codec || peer->media[i].type[0] == '\0') &&
		    (call_str_setz(&peer->media[i].type, mi.type) == -1 ||
		    call_str_setz(&peer->media[i].proto, mi.proto) == -1))
			return -1;
	}
	p->have_sdp = 1;
	return 0;
}

/* Rewrites sdp for the party `to` (the SDP carries to's leg ports) and
 * puts it in the reply.  Returns NULL or an error reason. */
static const char *
oa_rewrite(struct ng_req *req, const struct sdp_session *sdp, size_t n,
    struct offer_req *o, const struct party *to)
{
	struct sdp_rewrite_media	 rm[SDP_MAX_MEDIA];
	struct sdp_media_info		 mi;
	struct buf			 out;
	const char			*err = NULL;
	size_t				 i;
	int				 rc;

	for (i = 0; i < n; i++) {
		if (sdp_media_info(sdp, i, &mi) == -1 || i >= to->nmedia)
			return "Failed to parse SDP";
		rm[i].rtp_port = mi.rtp_port == 0 ? 0 : to->media[i].local_rtp;
		rm[i].rtcp_port = mi.rtp_port == 0 ? 0 : to->media[i].local_rtcp;
	}
	o->rw.addr = o->media_addr[0] != '\0' ? o->media_addr : to->laddr;
	o->rw.family = strchr(o->rw.addr, ':') != NULL ? 6 : 4;
	o->rw.media = rm;
	o->rw.nmedia = n;
	buf_init(&out);
	buf_secret(&out);	/* may hold a=crypto keys */
	rc = sdp_rewrite(sdp, &o->rw, &out, &err);
	if (rc == 0 && !out.oom &&
	    ngval_put_strn(req->arena, req->reply, "sdp", out.p ? out.p : "",
	    out.len) == 0) {
		buf_wipe(&out);
		return NULL;
	}
	buf_wipe(&out);
	return err != NULL ? err : "Out of memory";
}

/* The SDES decisions of an offer, made before any state changes. */
struct oa_srtp {
	int		 any;		/* SRTP on some side, or a new proto */
	char		 qproto[SDP_MAX_MEDIA][SDES_NEG_PROTOLEN];
	const char	*protos[SDP_MAX_MEDIA];	/* towards Q, NULL keep */
	int		 psrtp[SDP_MAX_MEDIA], qsrtp[SDP_MAX_MEDIA];
	const char	*pline[SDP_MAX_MEDIA];	/* P's chosen a=crypto value */
	size_t		 plen[SDP_MAX_MEDIA];
	enum sdes_suite	 psuite[SDP_MAX_MEDIA];
	uint32_t	 ptag[SDP_MAX_MEDIA];
	unsigned	 pparams[SDP_MAX_MEDIA];	/* its SDES_P_* */
};

/* Fills s for an offer; NULL, or the ng error of an SRTP offerer's media
 * without a usable a=crypto line. */
static const char *
oa_srtp_plan(const struct sdp_session *sdp, size_t n,
    const struct offer_req *o, struct oa_srtp *s)
{
	struct sdp_media_info	 mi;
	const char		*qp;
	size_t			 i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < n; i++) {
		if (sdp_media_info(sdp, i, &mi) == -1)
			return "Failed to parse SDP";
		qp = sdes_neg_callee_proto(&o->sdes, mi.proto);
		snprintf(s->qproto[i], sizeof(s->qproto[i]), "%s", qp);
		if (strcmp(qp, mi.proto) != 0) {
			s->protos[i] = s->qproto[i];
			s->any = 1;
		}
		if (mi.rtp_port == 0)
			continue;
		s->psrtp[i] = sdes_neg_is_srtp(mi.proto);
		s->qsrtp[i] = sdes_neg_is_srtp(qp);
		s->any |= s->psrtp[i] | s->qsrtp[i];
		if (s->psrtp[i] && sdes_neg_pick(sdp, i, &s->pline[i],
		    &s->plen[i], &s->psuite[i], &s->ptag[i],
		    &s->pparams[i]) == -1)
			return "no usable crypto suite";
	}
	return NULL;
}

static void
oa_wipe(struct buf *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		buf_wipe(&b[i]);
}

/*
 * The relay node keyd installs the call's keys in: the one its relayd
 * requests go to now (ctld_relay(); after a take-over, the adopting
 * node).  NULL with a single node: keyd's default, the same node.
 */
static const char *
oa_keys_node(struct ctld *c, const struct call *call)
{
	if (c->nodes == NULL || nodes_count(c->nodes) < 2)
		return NULL;
	return nodes_id(c->nodes, nodes_find(c->nodes, call->relay_node,
	    NULL));
}

/* The call's relay node for a message ("" is the first node). */
static const char *
oa_node_name(struct ctld *c, const struct call *call)
{
	if (call->relay_node[0] != '\0' || c->nodes == NULL)
		return call->relay_node;
	return nodes_id(c->nodes, 0);
}

/*
 * Offer steps 1 and 2 of docs/srtp.md for every media: keyd's lines for
 * Q into lines[i] (and sec[i]), P's key and ours for P installed.
 * Returns 0, or -1 with the reason in err.
 */
static int
oa_srtp_offer(struct ctld *c, struct call *call, struct party *p,
    struct party *q, size_t n, const struct offer_req *o,
    const struct oa_srtp *s, struct buf *lines, const char **sec,
    char *err, size_t errlen)
{
	const char	*names[SDES_NSUITES];
	size_t		 i, nn;

	for (i = 0; i < n; i++) {
		p->media[i].srtp = s->psrtp[i];
		q->media[i].srtp = s->qsrtp[i];
		if (!s->psrtp[i]) {
			call_str_clear(&p->media[i].suite);
			p->media[i].tag = 0;
			p->media[i].sdes_params = 0;
		}
		if (!s->qsrtp[i]) {
			call_str_clear(&q->media[i].suite);
			q->media[i].tag = 0;
			q->media[i].sdes_params = 0;
		}
	}
	for (i = 0; i < n; i++) {
		if (!s->psrtp[i] && !s->qsrtp[i])
			continue;
		if (c->keys == NULL) {
			snprintf(err, errlen, "no keyd");
			return -1;
		}
		call->srtp = 1;
		if (s->qsrtp[i]) {
			nn = sdes_neg_suites(&o->sdes, c->cfg->sdes_suites,
			    names);
			if (keys_sdes_offer(c->keys, call->id, q->leg,
			    (unsigned)i + 1, names, nn, o->sdes.pad,
			    o->sdes.params, &lines[i], err, errlen) == -1)
				return -1;
			sec[i] = lines[i].p;
		}
		if (s->psrtp[i]) {
			const char	*suite = sdes_suite_name(s->psuite[i]);

			if (keys_sdes_remote_answer(c->keys,
			    oa_keys_node(c, call), call->id, p->leg,
			    (unsigned)i + 1, s->pline[i], s->plen[i], suite,
			    s->ptag[i], o->sdes.pad, s->pparams[i], NULL, err,
			    errlen) == -1)
				return -1;
			/* RFC 4568 6.3: our answer line mirrors the
			 * offerer's session parameters */
			p->media[i].sdes_params = (uint16_t)s->pparams[i];
			if (call_str_setz(&p->media[i].suite, suite) == -1) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			p->media[i].tag = s->ptag[i];
		}
	}
	return 0;
}

/*
 * Answer steps 3 and 4: Q's chosen line and key installed, our line for
 * P into lines[i] (and sec[i]); protos[i] gets P's own protocol.  Returns
 * 0, or -1 with *ngerr the ng error and err the reason to log.
 */
static int
oa_srtp_answer(struct ctld *c, struct call *call, struct party *p,
    struct party *q, const struct sdp_session *sdp, size_t n,
    int pad, struct buf *lines, const char **sec, const char **protos,
    const char **ngerr, char *err, size_t errlen)
{
	struct sdp_media_info	 mi;
	const char		*val;
	size_t			 i, len;
	enum sdes_suite		 suite;
	uint32_t		 tag;
	unsigned		 params;

	*ngerr = "Failed to set up SRTP";
	for (i = 0; i < n; i++) {
		struct media	*pm = &p->media[i], *qm = &q->media[i];

		if (strstr(pm->proto, "RTP/") != NULL)
			protos[i] = pm->proto;
		if (sdp_media_info(sdp, i, &mi) == -1) {
			snprintf(err, errlen, "unparsable SDP");
			return -1;
		}
		if (mi.rtp_port == 0 || (!qm->srtp && !pm->srtp))
			continue;
		if (c->keys == NULL) {
			snprintf(err, errlen, "no keyd");
			return -1;
		}
		if (qm->srtp) {
			if (sdes_neg_pick(sdp, i, &val, &len, &suite,
			    &tag, &params) == -1) {
				*ngerr = "no usable crypto suite";
				snprintf(err, errlen, "media %zu: no usable "
				    "a=crypto line in the answer", i + 1);
				return -1;
			}
			if (keys_sdes_select_remote(c->keys,
			    oa_keys_node(c, call), call->id, q->leg,
			    (unsigned)i + 1, tag, sdes_suite_name(suite),
			    params, val, len, err, errlen) == -1)
				return -1;
			if (call_str_setz(&qm->suite,
			    sdes_suite_name(suite)) == -1) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			qm->tag = tag;
			qm->sdes_params = (uint16_t)params;
		}
		if (pm->srtp && pm->suite[0] != '\0') {
			if (keys_sdes_answer(c->keys, oa_keys_node(c, call),
			    call->id, p->leg,
			    (unsigned)i + 1, pm->suite, pm->tag, pad,
			    pm->sdes_params, &lines[i], err, errlen) == -1)
				return -1;
			sec[i] = lines[i].p;
		}
	}
	return 0;
}

/* The callee-side party of an offer from P, or -1. */
static int
oa_find_callee(const struct call *call, int pi, const struct offer_req *o)
{
	const struct party	*p = &call->party[pi];
	size_t			 i;
	int			 q;

	if (o->to_len > 0 && (q = call_party_by_tag(call, o->to,
	    o->to_len)) >= 0 && q != pi)
		return q;
	if (o->via_len > 0) {
		for (i = 0; i < call->nparty; i++) {
			const struct party	*c = &call->party[i];

			if ((int)i != pi && !c->gone && (c->peer == pi ||
			    p->peer == (int)i) &&
			    strlen(c->via_branch) == o->via_len &&
			    memcmp(c->via_branch, o->via, o->via_len) == 0)
				return (int)i;
		}
		return -1;
	}
	if (p->peer >= 0 && !call->party[p->peer].gone)
		return p->peer;
	for (i = 0; i < call->nparty; i++)
		if ((int)i != pi && !call->party[i].gone &&
		    call->party[i].peer == pi)
			return (int)i;
	return -1;
}

/* The party an answer to P belongs to (to-tag, else an untagged callee of
 * P on the same via-branch, else P's peer), or -1. */
static int
oa_find_answerer(const struct call *call, int pi, const struct offer_req *o)
{
	size_t	 i;
	int	 q;

	if ((q = call_party_by_tag(call, o->to, o->to_len)) >= 0 && q != pi)
		return q;
	for (i = 0; i < call->nparty; i++) {
		const struct party	*c = &call->party[i];

		if ((int)i == pi || c->gone || c->tag[0] != '\0' ||
		    c->peer != pi)
			continue;
		if (o->via_len == 0 || (strlen(c->via_branch) == o->via_len &&
		    memcmp(c->via_branch, o->via, o->via_len) == 0))
			return (int)i;
	}
	q = call->party[pi].peer;
	return q >= 0 && !call->party[q].gone ? q : -1;
}

static enum ng_result
oa_relay_error(struct ng_req *req, const struct offer_req *o, const char *err)
{
	log_warnx("[%.*s] relayd: %s", (int)o->callid_len, o->callid, err);
	if (strcmp(err, "Ran out of ports") == 0)
		return ngcmd_error(req, "Ran out of ports");
	return ngcmd_error(req, "Media relay unavailable");
}

#define OA_NODE_SILENT	"Media relay unavailable (relay node not " \
			"answering, call being taken over)"

/*
 * A call whose relay node stopped answering (dead, not yet adopted, or
 * restarting): the offer or answer fails at once, before the call is
 * changed, instead of waiting ipc_timeout_ms on the node (ng waits
 * behind it); the proxy retries once a node has adopted the call.
 * 1 when so.
 */
static int
oa_node_silent(struct ctld *c, const struct call *call,
    const struct offer_req *o)
{
	if (ctld_relay(c, call) == NULL || ctld_relay_answering(c, call))
		return 0;
	log_warnx("[%.*s] relay node %s of the call does not answer: "
	    "refused", (int)o->callid_len, o->callid, oa_node_name(c, call));
	return 1;
}

/*
 * Port exhaustion destroys the call, as rtpengine does, also on a
 * re-offer or an answer (reference section 3): by then the party model
 * holds the new SDP and relayd may have grown one leg, and a call half
 * grown would keep ports its SDP never advertised.
 */
static void
oa_out_of_ports(struct ctld *c, struct call **cp, const char *rerr)
{
	if (*cp == NULL || strcmp(rerr, "Ran out of ports") != 0)
		return;
	log_warnx("[%s] ran out of ports: destroying the call", (*cp)->id);
	session_end(c, cp, SESSION_DELETED, 0, NULL);
}

static int
oa_limit_reached(struct ctld *c)
{
	int	 max = c->cfg->max_sessions;

	if (max == 0)
		return 0;
	return max < 0 || calls_active(c->calls) >= (size_t)max;
}

static uint64_t
oa_now(uint64_t *us)
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	*us = (uint64_t)tv.tv_usec;
	return (uint64_t)tv.tv_sec;
}

enum ng_result
cmd_offer(struct ctld *c, struct ng_req *req)
{
	struct offer_req	 o;
	struct oa_srtp		 srtp;
	struct relay_leg_op	 ops[4];
	struct sdp_session	*sdp;
	struct relay		*rl = NULL;
	struct call		*call;
	struct party		*p, *q;
	struct buf		 lines[SDP_MAX_MEDIA];
	const char		*sec[SDP_MAX_MEDIA];
	const char		*err;
	char			 rerr[256];
	size_t			 n, i;
	uint64_t		 now, us;
	int			 pi, qi, created = 0;

	if ((err = offer_parse(req->dict, 0, &o)) != NULL)
		return ngcmd_error(req, err);
	sdes_neg_restrict(&o.sdes, c->cfg->sdes_suites);
	if ((sdp = sdp_parse(req->arena, o.sdp, o.sdp_len, &err)) == NULL)
		return ngcmd_error(req, err ? err : "Failed to parse SDP");
	if ((n = sdp_media_count(sdp)) == 0 || n > SDP_MAX_MEDIA)
		return ngcmd_error(req, "Incomplete SDP specification");
	if ((err = oa_srtp_plan(sdp, n, &o, &srtp)) != NULL) {
		log_warnx("[%.*s] offer refused: %s", (int)o.callid_len,
		    o.callid, err);
		return ngcmd_error(req, err);
	}
	now = oa_now(&us);
	if ((call = calls_find(c->calls, o.callid, o.callid_len)) != NULL &&
	    oa_node_silent(c, call, &o))
		return ngcmd_error(req, OA_NODE_SILENT);
	if ((call = calls_find(c->calls, o.callid, o.callid_len)) == NULL) {
		if (oa_limit_reached(c)) {
			c->calls_rejected++;
			req->errmsg = "Parallel session limit reached";
			log_info("offer refused: parallel session limit");
			return o.load_limit ? NG_RES_LOAD_LIMIT : NG_RES_ERROR;
		}
		if ((call = calls_add(c->calls, o.callid, o.callid_len)) == NULL)
			return ngcmd_error(req, "Out of memory");
		call->created = now;
		call->created_us = us;
		created = 1;
		/* a new call goes to a live relay node, and stays there */
		if (c->nodes != NULL && call_str_setz(&call->relay_node,
		    nodes_id(c->nodes, nodes_pick(c->nodes))) == -1)
			goto oom;
	} else if (call->delete_at_ms != 0) {
		log_info("[%s] re-offer cancels the pending delete", call->id);
		call->delete_at_ms = 0;
	}
	if ((pi = call_party_by_tag(call, o.from, o.from_len)) < 0 &&
	    (pi = call_party_add(call, o.from, o.from_len, now)) < 0)
		goto full;
	if ((qi = oa_find_callee(call, pi, &o)) < 0) {
		if ((qi = call_party_add(call, o.to_len ? o.to : NULL, o.to_len,
		    now)) < 0)
			goto full;
		oa_set(&call->party[qi].via_branch, o.via, o.via_len);
	}
	p = &call->party[pi];
	q = &call->party[qi];
	p->peer = qi;
	q->peer = pi;
	p->delete_at_ms = q->delete_at_ms = 0;
	oa_set(&p->label, o.label, o.label_len);
	oa_set(&q->label, o.set_label, o.set_label_len);
	if (call_str_setz(&p->direction[0], o.dir[0]) == -1 ||
	    call_str_setz(&p->direction[1], o.dir[1]) == -1)
		goto oom;
	if (party_set_nmedia(q, n > q->nmedia ? n : q->nmedia) == -1 ||
	    oa_learn(p, sdp, n, &o, 0, q) == -1)
		goto oom;
	if ((rl = ctld_relay(c, call)) == NULL) {
		snprintf(rerr, sizeof(rerr), "no relayd");
		goto relay;
	}
	/* one batch, one round trip: relayd runs them in this order, and a
	 * failed leg_alloc fails the leg_update naming its leg too */
	ops[0] = (struct relay_leg_op){ .alloc = 1, .p = p, .nmedia = n };
	ops[1] = (struct relay_leg_op){ .alloc = 1, .p = q, .nmedia = n };
	ops[2] = (struct relay_leg_op){ .p = p, .peer = q->leg,
	    .with_media = 1 };
	ops[3] = (struct relay_leg_op){ .p = q, .peer = p->leg };
	if (relay_legs(rl, call->id, ops, 4, rerr, sizeof(rerr)) == -1)
		goto relay;
	memset(sec, 0, sizeof(sec));
	for (i = 0; i < n; i++)
		buf_init(&lines[i]);
	if (oa_srtp_offer(c, call, p, q, n, &o, &srtp, lines, sec, rerr,
	    sizeof(rerr)) == -1) {
		oa_wipe(lines, n);
		goto srtp;
	}
	if (srtp.any) {
		o.rw.protos = srtp.protos;
		o.rw.sec_lines = sec;
	}
	err = oa_rewrite(req, sdp, n, &o, q);
	oa_wipe(lines, n);
	if (err != NULL) {
		if (created)
			session_end(c, &call, SESSION_ABORTED, 0, NULL);
		return ngcmd_error(req, err);
	}
	call->last_signal = now;
	if (created) {
		c->calls_created++;
		log_info("[%s] call created by offer from %s", call->id,
		    p->tag);
	}
	session_save(c, call);
	return NG_RES_OK;
 relay:
	/* a relayd that did not answer is not asked again: the deadline
	 * is spent, and relayd's media timeout frees what it may hold */
	if (created)
		session_end(c, &call, SESSION_ABORTED, rl == NULL ||
		    relay_down(rl), NULL);
	else
		oa_out_of_ports(c, &call, rerr);
	return oa_relay_error(req, &o, rerr);
 srtp:
	/* as for ports: a new call that cannot get its keys is not left
	 * half made (its legs freed, keyd's sets forgotten if it answers) */
	log_warnx("[%s] SRTP set-up failed: %s", call->id, rerr);
	if (created)
		session_end(c, &call, SESSION_ABORTED, 0, NULL);
	return ngcmd_error(req, "Failed to set up SRTP");
 full:
	if (created)
		session_end(c, &call, SESSION_ABORTED, 1, NULL);
	return ngcmd_error(req, "Too many participants in call");
 oom:
	if (created)
		session_end(c, &call, SESSION_ABORTED, 1, NULL);
	return ngcmd_error(req, "Out of memory");
}

enum ng_result
cmd_answer(struct ctld *c, struct ng_req *req)
{
	struct offer_req	 o;
	struct sdp_session	*sdp;
	struct call		*call;
	struct party		*p, *q;
	struct relay_leg_op	 ops[2];
	struct relay		*rl;
	struct buf		 lines[SDP_MAX_MEDIA];
	const char		*sec[SDP_MAX_MEDIA], *protos[SDP_MAX_MEDIA];
	const char		*err;
	char			 rerr[256];
	size_t			 n, i;
	uint64_t		 now, us;
	int			 pi, qi;

	if ((err = offer_parse(req->dict, 1, &o)) != NULL)
		return ngcmd_error(req, err);
	if ((call = calls_find(c->calls, o.callid, o.callid_len)) == NULL ||
	    call->delete_at_ms != 0 ||
	    (pi = call_party_by_tag(call, o.from, o.from_len)) < 0 ||
	    (qi = oa_find_answerer(call, pi, &o)) < 0)
		return ngcmd_error(req, "Unknown call-id");
	if ((sdp = sdp_parse(req->arena, o.sdp, o.sdp_len, &err)) == NULL)
		return ngcmd_error(req, err ? err : "Failed to parse SDP");
	if ((n = sdp_media_count(sdp)) == 0 || n > SDP_MAX_MEDIA)
		return ngcmd_error(req, "Incomplete SDP specification");
	if (oa_node_silent(c, call, &o))
		return ngcmd_error(req, OA_NODE_SILENT);
	now = oa_now(&us);
	p = &call->party[pi];
	q = &call->party[qi];
	if ((q->tag[0] == '\0' || call_party_by_tag(call, o.to, o.to_len) < 0) &&
	    call_str_set(&q->tag, o.to, o.to_len) == -1)
		return ngcmd_error(req, "Out of memory");
	oa_set(&q->via_branch, q->via_branch[0] ? NULL : o.via, o.via_len);
	oa_set(&q->label, o.label, o.label_len);
	oa_set(&p->label, o.set_label, o.set_label_len);
	if (call_str_setz(&q->direction[0], o.dir[0]) == -1 ||
	    call_str_setz(&q->direction[1], o.dir[1]) == -1)
		return ngcmd_error(req, "Out of memory");
	p->peer = qi;
	q->peer = pi;
	if ((rl = ctld_relay(c, call)) == NULL) {
		snprintf(rerr, sizeof(rerr), "no relayd");
		return oa_relay_error(req, &o, rerr);
	}
	/* more media in the answer than offered: ports for them too */
	if ((n > q->nmedia && (party_set_nmedia(q, n) == -1 ||
	    relay_leg_alloc(rl, call->id, q, n, rerr, sizeof(rerr)) == -1)) ||
	    (n > p->nmedia && (party_set_nmedia(p, n) == -1 ||
	    relay_leg_alloc(rl, call->id, p, n, rerr, sizeof(rerr)) == -1))) {
		oa_out_of_ports(c, &call, rerr);
		return oa_relay_error(req, &o, rerr);
	}
	if (oa_learn(q, sdp, n, &o, 1, p) == -1)
		return ngcmd_error(req, "Out of memory");
	ops[0] = (struct relay_leg_op){ .p = q, .peer = p->leg,
	    .with_media = 1 };
	ops[1] = (struct relay_leg_op){ .p = p, .peer = q->leg };
	if (relay_legs(rl, call->id, ops, 2, rerr, sizeof(rerr)) == -1)
		return oa_relay_error(req, &o, rerr);
	memset(sec, 0, sizeof(sec));
	memset(protos, 0, sizeof(protos));
	for (i = 0; i < n; i++)
		buf_init(&lines[i]);
	if (oa_srtp_answer(c, call, p, q, sdp, n, o.sdes.pad, lines, sec,
	    protos, &err, rerr, sizeof(rerr)) == -1) {
		oa_wipe(lines, n);
		log_warnx("[%s] SRTP answer: %s", call->id, rerr);
		return ngcmd_error(req, err);
	}
	o.rw.protos = protos;
	if (party_has_srtp(p) || party_has_srtp(q))
		o.rw.sec_lines = sec;
	err = oa_rewrite(req, sdp, n, &o, p);
	oa_wipe(lines, n);
	if (err != NULL)
		return ngcmd_error(req, err);
	call->last_signal = now;
	log_info("[%s] answered by %s", call->id, q->tag);
	session_save(c, call);
	return NG_RES_OK;
}
