/*
 * query: the `query` and `delete` ng commands and the statistics structure
 * both return (ng-protocol.md section 4 "query"; transcripts 02, 15, 16):
 *
 *   created, created_us, last signal, SSRC {}, tags { <tag or
 *   "<untagged N>">: { tag, via-branch?, label?, created, subscriptions,
 *   subscribers, medias [ { index, type, protocol, codec?, streams [ {
 *   local port, local address, family, endpoint, advertised endpoint,
 *   crypto suite?, last packet, flags, SSRC?, stats } ], flags } ] } },
 *   totals { RTP {packets, bytes, errors}, RTCP {...}, SRTP? {decrypted,
 *   encrypted} }
 *
 * SDES-SRTP (docs/srtp.md): a media whose party speaks SRTP has the flag
 * "SDES", its streams the suite in force ("crypto suite", as rtpengine
 * shows it) and in stats rtpsec's "SRTP decrypted" / "SRTP encrypted" /
 * "SRTP auth failures" / "SRTP replay drops" (relayd's counters of that
 * stream); a call that used SRTP has the totals' "SRTP" with the same four.  Plain calls look as before.
 *
 * Party data comes from ctld's call model, counters from relayd's
 * call_query (or call_delete's final counters).  When relayd does not
 * answer, the structure is built with zero counters rather than failing:
 * Kamailio reads MOS and labels from a delete reply and must get one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/daemon.h"
#include "libcommon/ipc.h"
#include "libcommon/log.h"
#include "libcommon/sdp.h"
#include "ctld/call.h"
#include "ctld/ctld.h"
#include "ctld/ngcmd.h"
#include "ctld/relay.h"
#include "ctld/session.h"

#define NOTFOUND	"Call-ID not found or tags didn't match"

struct totals {
	uint64_t	 pk[2], by[2], er[2];	/* [0] RTP, [1] RTCP */
	uint64_t	 dec, enc;		/* SRTP packets, both streams */
	uint64_t	 auth, replay;		/* SRTP drops, both streams */
};

#define CK(x)	do { if ((x) == -1) return -1; } while (0)
#define CKP(x)	do { if ((x) == NULL) return -1; } while (0)

static const char *
fam_name(int f)
{
	return f == 6 ? "IPv6" : "IPv4";
}

/* The relayd leg map of leg id, or NULL. */
static const msgpack_object *
q_leg(const msgpack_object_array *legs, const char *leg)
{
	const char	*s;
	size_t		 i, len;

	for (i = 0; legs != NULL && i < legs->size; i++)
		if (legs->ptr[i].type == MSGPACK_OBJECT_MAP &&
		    ipc_get_str(&legs->ptr[i], "leg", &s, &len) == 0 &&
		    len == strlen(leg) && memcmp(s, leg, len) == 0)
			return &legs->ptr[i];
	return NULL;
}

/* The streams array of media index idx (1-based) in a relayd leg. */
static const msgpack_object_array *
q_streams(const msgpack_object *leg, size_t idx)
{
	const msgpack_object_array	*ma;
	uint64_t			 v;
	size_t				 i;

	if (leg == NULL || (ma = ipc_get_array(leg, "media")) == NULL)
		return NULL;
	for (i = 0; i < ma->size; i++)
		if (ipc_get_uint(&ma->ptr[i], "index", &v) == 0 && v == idx)
			return ipc_get_array(&ma->ptr[i], "streams");
	return NULL;
}

static int
q_endpoint(struct ngarena *a, struct ngval *d, const char *key,
    const char *addr, int family, uint64_t port)
{
	struct ngval	*e;

	CKP(e = ngval_put_dict(a, d, key));
	if (addr == NULL || addr[0] == '\0' || port == 0)
		return 0;
	CK(ngval_put_str(a, e, "family", fam_name(family)));
	CK(ngval_put_str(a, e, "address", addr));
	CK(ngval_put_int(a, e, "port", (int64_t)port));
	return 0;
}

/* One stream; rs is relayd's stream map or NULL. */
static int
q_stream(struct ngarena *a, struct ngval *list, const struct call *call,
    const struct party *p, const struct media *m, int rtcp,
    const msgpack_object *rs, struct totals *t)
{
	struct ngval	*s, *fl, *st;
	char		 ea[SDP_ADDRLEN], aa[SDP_ADDRLEN];
	uint64_t	 lport, eport = 0, aport = 0, last = 0, pk = 0, by = 0;
	uint64_t	 er = 0, ssrc, dec = 0, enc = 0, auth = 0, replay = 0;
	const msgpack_object *o;
	int		 latched = 0, has_ssrc = 0;

	lport = rtcp ? m->local_rtcp : m->local_rtp;
	snprintf(aa, sizeof(aa), "%s", m->addr);
	aport = rtcp ? m->rtcp : m->rtp;
	snprintf(ea, sizeof(ea), "%s", aa);
	eport = aport;
	if (rs != NULL) {
		ipc_get_uint(rs, "local_port", &lport);
		if ((o = ipc_get_map(rs, "advertised")) != NULL &&
		    ipc_get_strz(o, "addr", aa, sizeof(aa)) == 0)
			ipc_get_uint(o, "port", &aport);
		if ((o = ipc_get_map(rs, "endpoint")) != NULL &&
		    ipc_get_strz(o, "addr", ea, sizeof(ea)) == 0)
			ipc_get_uint(o, "port", &eport);
		ipc_get_bool(rs, "latched", &latched);
		ipc_get_uint(rs, "last_packet", &last);
		ipc_get_uint(rs, "packets", &pk);
		ipc_get_uint(rs, "bytes", &by);
		ipc_get_uint(rs, "errors", &er);
		has_ssrc = ipc_get_uint(rs, "ssrc", &ssrc) == 0;
		ipc_get_uint(rs, "srtp_decrypted", &dec);
		ipc_get_uint(rs, "srtp_encrypted", &enc);
		if ((o = ipc_get_map(rs, "drops")) != NULL) {
			ipc_get_uint(o, "srtp_auth", &auth);
			ipc_get_uint(o, "srtp_replay", &replay);
		}
	}
	t->dec += dec;
	t->enc += enc;
	t->auth += auth;
	t->replay += replay;
	t->pk[rtcp] += pk;
	t->by[rtcp] += by;
	t->er[rtcp] += er;
	CKP(s = ngval_dict(a));
	CK(ngval_append(list, s));
	CK(ngval_put_int(a, s, "local port", (int64_t)lport));
	CK(ngval_put_str(a, s, "local address", p->laddr));
	CK(ngval_put_str(a, s, "family", fam_name(p->lfamily)));
	CK(q_endpoint(a, s, "endpoint", ea, strchr(ea, ':') ? 6 : 4, eport));
	CK(q_endpoint(a, s, "advertised endpoint", aa, strchr(aa, ':') ? 6 : 4,
	    aport));
	if (m->srtp && m->suite[0] != '\0')
		CK(ngval_put_str(a, s, "crypto suite", m->suite));
	CK(ngval_put_int(a, s, "last packet",
	    (int64_t)(last != 0 ? last : call->last_signal)));
	CKP(fl = ngval_put_list(a, s, "flags"));
	CK(ngval_append(fl, ngval_strz(a, rtcp ? "RTCP" : "RTP")));
	if (aa[0] != '\0' && aport != 0)
		CK(ngval_append(fl, ngval_strz(a, "filled")));
	if (latched)
		CK(ngval_append(fl, ngval_strz(a, "confirmed")));
	if (has_ssrc)
		CK(ngval_put_int(a, s, "SSRC", (int64_t)(ssrc & 0xffffffffu)));
	CKP(st = ngval_put_dict(a, s, "stats"));
	CK(ngval_put_int(a, st, "packets", (int64_t)pk));
	CK(ngval_put_int(a, st, "bytes", (int64_t)by));
	CK(ngval_put_int(a, st, "errors", (int64_t)er));
	if (m->srtp) {
		CK(ngval_put_int(a, st, "SRTP decrypted", (int64_t)dec));
		CK(ngval_put_int(a, st, "SRTP encrypted", (int64_t)enc));
		CK(ngval_put_int(a, st, "SRTP auth failures", (int64_t)auth));
		CK(ngval_put_int(a, st, "SRTP replay drops", (int64_t)replay));
	}
	return 0;
}

static int
q_media(struct ngarena *a, struct ngval *list, const struct call *call,
    const struct party *p, size_t i, const msgpack_object *leg,
    struct totals *t)
{
	const struct media		*m = &p->media[i];
	const msgpack_object_array	*rs;
	const msgpack_object		*rtp = NULL, *rtcp = NULL;
	struct ngval			*d, *sl, *fl;
	size_t				 j;
	int				 b;

	CKP(d = ngval_dict(a));
	CK(ngval_append(list, d));
	CK(ngval_put_int(a, d, "index", (int64_t)i + 1));
	CK(ngval_put_str(a, d, "type", m->type[0] ? m->type : "audio"));
	CK(ngval_put_str(a, d, "protocol", m->proto[0] ? m->proto : "RTP/AVP"));
	if (m->codec[0] != '\0')
		CK(ngval_put_str(a, d, "codec", m->codec));
	if ((rs = q_streams(leg, i + 1)) != NULL)
		for (j = 0; j < rs->size; j++) {
			if (ipc_get_bool(&rs->ptr[j], "rtcp", &b) == -1)
				continue;
			if (b && rtcp == NULL)
				rtcp = &rs->ptr[j];
			else if (!b && rtp == NULL)
				rtp = &rs->ptr[j];
		}
	CKP(sl = ngval_put_list(a, d, "streams"));
	CK(q_stream(a, sl, call, p, m, 0, rtp, t));
	CK(q_stream(a, sl, call, p, m, 1, rtcp, t));
	CKP(fl = ngval_put_list(a, d, "flags"));
	if (p->have_sdp)
		CK(ngval_append(fl, ngval_strz(a, "initialized")));
	if (m->dir != SDP_RECVONLY && m->dir != SDP_INACTIVE)
		CK(ngval_append(fl, ngval_strz(a, "send")));
	if (m->dir != SDP_SENDONLY && m->dir != SDP_INACTIVE)
		CK(ngval_append(fl, ngval_strz(a, "recv")));
	if (m->srtp)
		CK(ngval_append(fl, ngval_strz(a, "SDES")));
	return 0;
}

/* 1 when parties i and j are peers (offer/answer). */
static int
q_related(const struct call *call, size_t i, size_t j)
{
	return i != j && !call->party[j].gone && (call->party[i].peer ==
	    (int)j || call->party[j].peer == (int)i);
}

static int
q_subs(struct ngarena *a, struct ngval *d, const char *key,
    const struct call *call, size_t i)
{
	struct ngval	*l, *e;
	size_t		 j;

	CKP(l = ngval_put_list(a, d, key));
	for (j = 0; j < call->nparty; j++) {
		if (!q_related(call, i, j))
			continue;
		CKP(e = ngval_dict(a));
		CK(ngval_append(l, e));
		CK(ngval_put_str(a, e, "tag", call->party[j].tag));
		CK(ngval_put_str(a, e, "type", "offer/answer"));
	}
	return 0;
}

static int
q_party(struct ngarena *a, struct ngval *tags, const struct call *call,
    size_t i, const msgpack_object_array *legs, struct totals *t)
{
	const struct party	*p = &call->party[i];
	const msgpack_object	*leg = q_leg(legs, p->leg);
	struct ngval		*d, *ml;
	char			 key[CALL_TAGLEN + 16];
	size_t			 m;

	party_key(p, key, sizeof(key));
	CKP(d = ngval_put_dict(a, tags, key));
	CK(ngval_put_str(a, d, "tag", p->tag));
	if (p->via_branch[0] != '\0')
		CK(ngval_put_str(a, d, "via-branch", p->via_branch));
	if (p->label[0] != '\0')
		CK(ngval_put_str(a, d, "label", p->label));
	CK(ngval_put_int(a, d, "created", (int64_t)p->created));
	CK(q_subs(a, d, "subscriptions", call, i));
	CK(q_subs(a, d, "subscribers", call, i));
	CKP(ml = ngval_put_list(a, d, "medias"));
	for (m = 0; m < p->nmedia; m++)
		CK(q_media(a, ml, call, p, m, leg, t));
	return 0;
}

static int
q_totals(struct ngarena *a, struct ngval *reply, const struct call *call,
    const struct totals *t)
{
	struct ngval	*d, *x;
	int		 k;

	CKP(d = ngval_put_dict(a, reply, "totals"));
	for (k = 0; k < 2; k++) {
		CKP(x = ngval_put_dict(a, d, k ? "RTCP" : "RTP"));
		CK(ngval_put_int(a, x, "packets", (int64_t)t->pk[k]));
		CK(ngval_put_int(a, x, "bytes", (int64_t)t->by[k]));
		CK(ngval_put_int(a, x, "errors", (int64_t)t->er[k]));
	}
	if (call_has_srtp(call)) {
		CKP(x = ngval_put_dict(a, d, "SRTP"));
		CK(ngval_put_int(a, x, "decrypted", (int64_t)t->dec));
		CK(ngval_put_int(a, x, "encrypted", (int64_t)t->enc));
		CK(ngval_put_int(a, x, "auth failures", (int64_t)t->auth));
		CK(ngval_put_int(a, x, "replay drops", (int64_t)t->replay));
	}
	return 0;
}

/*
 * Fills reply with the statistics of call.  only >= 0 limits "tags" to
 * that party and its peers.  legs: relayd's "legs" array, or NULL.
 */
static int
query_build(struct ngarena *a, struct ngval *reply, const struct call *call,
    int only, const msgpack_object_array *legs)
{
	struct ngval	*tags;
	struct totals	 t, dummy;
	size_t		 i;

	memset(&t, 0, sizeof(t));
	CK(ngval_put_int(a, reply, "created", (int64_t)call->created));
	CK(ngval_put_int(a, reply, "created_us", (int64_t)call->created_us));
	CK(ngval_put_int(a, reply, "last signal", (int64_t)call->last_signal));
	CKP(ngval_put_dict(a, reply, "SSRC"));
	CKP(tags = ngval_put_dict(a, reply, "tags"));
	for (i = 0; i < call->nparty; i++) {
		if (call->party[i].gone)
			continue;
		if (only < 0 || (int)i == only || q_related(call, only, i))
			CK(q_party(a, tags, call, i, legs, &t));
		else {
			/* totals cover the whole call */
			struct ngarena	*tmp = ngarena_new();
			struct ngval	*td;

			if (tmp == NULL || (td = ngval_dict(tmp)) == NULL ||
			    q_party(tmp, td, call, i, legs, &dummy) == -1) {
				ngarena_destroy(&tmp);
				return -1;
			}
			for (int k = 0; k < 2; k++) {
				t.pk[k] += dummy.pk[k];
				t.by[k] += dummy.by[k];
				t.er[k] += dummy.er[k];
			}
			t.dec += dummy.dec;
			t.enc += dummy.enc;
			memset(&dummy, 0, sizeof(dummy));
			ngarena_destroy(&tmp);
		}
	}
	return q_totals(a, reply, call, &t);
}

/* The party a query or delete names by from-tag (else to-tag), -1 none,
 * -2 when a tag was given but is not in the call. */
static int
q_named(const struct ng_req *req, const struct call *call)
{
	const char	*s;
	size_t		 len;
	int		 i;

	if (ngval_get_str(req->dict, "from-tag", &s, &len) == 0 && len > 0) {
		if ((i = call_party_by_tag(call, s, len)) >= 0)
			return i;
		if (ngval_get_str(req->dict, "to-tag", &s, &len) == 0 &&
		    len > 0 && (i = call_party_by_tag(call, s, len)) >= 0)
			return i;
		return -2;
	}
	if (ngval_get_str(req->dict, "to-tag", &s, &len) == 0 && len > 0)
		return (i = call_party_by_tag(call, s, len)) >= 0 ? i : -2;
	return -1;
}

static struct call *
q_call(struct ctld *c, const struct ng_req *req)
{
	const char	*id;
	size_t		 len;

	if (ngval_get_str(req->dict, "call-id", &id, &len) == -1)
		return NULL;
	return calls_find(c->calls, id, len);
}

/* rtpengine (bencode_dictionary_get_str): a call-id that is not a string
 * is no call-id at all. */
static int
q_has_callid(const struct ng_req *req)
{
	const char	*id;
	size_t		 len;

	return ngval_get_str(req->dict, "call-id", &id, &len) == 0;
}

/* relayd's "legs" for call (call_query), or NULL; *r freed by the
 * caller in every case. */
static const msgpack_object_array *
q_relay_legs(struct ctld *c, const struct call *call, struct ipc_r *r)
{
	memset(r, 0, sizeof(*r));
	if (ctld_relay(c, call) == NULL)
		return NULL;
	/* a node that stopped answering (dead, not yet adopted) would only
	 * spend the deadline: ctld's own data, without relayd's counters */
	if (!ctld_relay_answering(c, call)) {
		log_warnx("[%s] relay node does not answer: query without "
		    "media counters", call->id);
		return NULL;
	}
	if (relay_call_query(ctld_relay(c, call), call->id, r) == -1) {
		log_warnx("[%s] relayd call_query: %s", call->id, r->error);
		return NULL;
	}
	return ipc_get_array(r->root, "legs");
}

enum ng_result
cmd_query(struct ctld *c, struct ng_req *req)
{
	struct call	*call;
	struct ipc_r	 r;
	int		 only, rc;

	if (!q_has_callid(req))
		return ngcmd_error(req, "No call-id in message");
	if ((call = q_call(c, req)) == NULL)
		return ngcmd_error(req, "Unknown call-id");
	only = q_named(req, call);
	rc = query_build(req->arena, req->reply, call, only < 0 ? -1 : only,
	    q_relay_legs(c, call, &r));
	ipc_r_free(&r);
	if (rc == 0 && ctld_relay(c, call) != NULL &&
	    !ctld_relay_answering(c, call))
		ngval_put_str(req->arena, req->reply, "warning", "Relay node "
		    "not answering: no media counters");
	if (rc == -1)
		return ngcmd_error(req, "Out of memory");
	return NG_RES_OK;
}

/* The callee branch of P named by via-branch when P has several, or -1. */
static int
q_branch(const struct ng_req *req, const struct call *call, int pi)
{
	const char	*via, *to;
	size_t		 vlen, tlen, i, n = 0;
	int		 found = -1;

	if (ngval_get_str(req->dict, "via-branch", &via, &vlen) == -1 ||
	    vlen == 0 || (ngval_get_str(req->dict, "to-tag", &to, &tlen) == 0 &&
	    tlen > 0))
		return -1;
	for (i = 0; i < call->nparty; i++) {
		const struct party	*q = &call->party[i];

		if ((int)i == pi || q->gone || q->delete_at_ms != 0 ||
		    !q_related(call, pi, i))
			continue;
		n++;
		if (strlen(q->via_branch) == vlen &&
		    memcmp(q->via_branch, via, vlen) == 0)
			found = (int)i;
	}
	return n > 1 ? found : -1;
}

enum ng_result
cmd_delete(struct ctld *c, struct ng_req *req)
{
	struct call	*call;
	struct ipc_r	 r;
	const struct ngval *flags = ngval_get(req->dict, "flags");
	int64_t		 delay = c->cfg->delete_delay;
	uint64_t	 now = daemon_now_ms();
	int		 pi, bi, fatal, rc;

	fatal = flags != NULL && ngval_has(flags, "fatal");
	if (!q_has_callid(req))
		return ngcmd_error(req, "No call-id in message");
	if (ngval_get(req->dict, "delete-delay") != NULL &&
	    (ngval_get_int(req->dict, "delete-delay", &delay) == -1 ||
	    delay < 0))
		delay = c->cfg->delete_delay;
	if ((call = q_call(c, req)) == NULL ||
	    (pi = q_named(req, call)) == -2) {
		if (fatal)
			return ngcmd_error(req, NOTFOUND);
		ngval_put_str(req->arena, req->reply, "warning", NOTFOUND);
		return NG_RES_OK;
	}
	call->last_signal = daemon_wall_s();
	if (pi == -1) {
		/* no tags: the whole call, and a bare reply */
		if (delay > 0) {
			call->delete_at_ms = now + (uint64_t)delay * 1000;
			session_save(c, call);
		} else
			session_end(c, &call, SESSION_DELETED, 0, NULL);
		return NG_RES_OK;
	}
	memset(&r, 0, sizeof(r));
	if ((bi = q_branch(req, call, pi)) >= 0) {
		/* one branch of a forked offer */
		rc = query_build(req->arena, req->reply, call, -1,
		    q_relay_legs(c, call, &r));
		if (delay > 0) {
			call->party[bi].delete_at_ms = now +
			    (uint64_t)delay * 1000;
			session_save(c, call);
		} else
			session_end_party(c, call, bi);
	} else if (delay > 0) {
		/* a party and its peers: here, the whole call */
		rc = query_build(req->arena, req->reply, call, -1,
		    q_relay_legs(c, call, &r));
		call->delete_at_ms = now + (uint64_t)delay * 1000;
		session_save(c, call);
	} else {
		struct call	*ended = call;

		/* the reply describes the call as it was when it ended, with
		 * relayd's final counters: session_end() unlinks it, and it
		 * is freed once the reply is built */
		call->keep = 1;
		session_end(c, &call, SESSION_DELETED, 0, &r);
		rc = query_build(req->arena, req->reply, ended, -1,
		    r.root != NULL ? ipc_get_array(r.root, "legs") : NULL);
		call_destroy(&ended);
	}
	ipc_r_free(&r);
	if (rc == -1)
		return ngcmd_error(req, "Out of memory");
	return NG_RES_OK;
}
